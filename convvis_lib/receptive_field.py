"""Receptive fields: from the architecture (conv/pool arithmetic) and, as a check, from gradients.

A unit at ``(row, col)`` of a layer sees the input pixels
``offset + row * stride ... offset + row * stride + size - 1`` (and the same for
columns). ``size``, ``stride`` and ``offset`` follow from the conv and pooling
modules that run before the layer:

    size   <- size + (kernel - 1) * dilation * stride_so_far
    offset <- offset - padding * stride_so_far
    stride_so_far <- stride_so_far * stride

A padding module (``nn.ZeroPad2d`` and the other 2-D pads, as EfficientNet-Lite0
uses for TensorFlow's asymmetric "same" padding) moves the offset by its top/left
padding only; padding on the bottom/right changes the map size, not where a unit
looks. Depthwise (grouped) convolutions follow the same arithmetic.

The walk assumes that modules are registered in the order they run (true for
FashionNet, EfficientNet-Lite0 and torchvision's AlexNet, VGG and ResNet). A
shortcut that is not a module (EfficientNet's ``x + y``) needs nothing; in a ResNet
block the ``downsample`` shortcut is skipped: it has the same stride as the main
path and a smaller field, so the union of both paths is the main path's field.
Circular padding wraps around the image, so no box describes it: it is refused.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import ConvVisError
from .hooks import layer_function, model_device
from .models import ModelInfo, get_module

Box = tuple[int, int, int, int]  # top, left, bottom, right (inclusive pixel indices)
_SPATIAL = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
_GLOBAL = (nn.Linear, nn.Flatten, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
_PADS = (nn.ZeroPad2d, nn.ConstantPad2d, nn.ReflectionPad2d, nn.ReplicationPad2d)
_CLIPPED = (nn.ReLU6, nn.Hardtanh)  # ReLU6 is a Hardtanh; both zero the gradient above their top


def _pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of the units of one layer, per axis ``(rows, cols)``.

    ``size`` is ``None`` for a layer whose units see the whole input (after a
    fully connected layer or a global pooling).
    """

    size: tuple[int, int] | None
    stride: tuple[int, int]
    offset: tuple[int, int]

    @property
    def is_global(self) -> bool:
        return self.size is None

    def box(self, row: int, col: int, input_hw: tuple[int, int], clip: bool = True) -> Box:
        """Input box ``(top, left, bottom, right)`` seen by the unit at ``(row, col)``.

        Clipped to the image unless ``clip=False`` (then it may reach into the padding).
        """
        h, w = input_hw
        if self.size is None:
            return (0, 0, h - 1, w - 1)
        top = self.offset[0] + row * self.stride[0]
        left = self.offset[1] + col * self.stride[1]
        bottom, right = top + self.size[0] - 1, left + self.size[1] - 1
        if not clip:
            return (top, left, bottom, right)
        if bottom < 0 or right < 0 or top > h - 1 or left > w - 1:
            raise ConvVisError(f"the unit at ({row}, {col}) sees only padding (box {(top, left, bottom, right)} "
                               f"lies outside the {h}x{w} image); call box(..., clip=False) for the unclipped box")
        return (max(top, 0), max(left, 0), min(bottom, h - 1), min(right, w - 1))


def crop_box(image: np.ndarray, box: Box, fill: float = 0.5) -> np.ndarray:
    """Cut ``box`` (inclusive, may reach outside the image) out of an HxW or HxWxC image;
    the parts outside the image are ``fill``."""
    top, left, bottom, right = box
    h, w = image.shape[:2]
    out = np.full((bottom - top + 1, right - left + 1, *image.shape[2:]), fill, dtype=np.float32)
    t, lf, b, r = max(top, 0), max(left, 0), min(bottom, h - 1), min(right, w - 1)
    if t <= b and lf <= r:
        out[t - top:b - top + 1, lf - left:r - left + 1] = image[t:b + 1, lf:r + 1]
    return out


def _modules_up_to(model: nn.Module, target: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules registered before ``target``, then ``target`` and its descendants, in order."""
    named = list(model.named_modules())
    idx = next(i for i, (_, m) in enumerate(named) if m is target)
    prefix = named[idx][0] + "."
    end = idx + 1
    while end < len(named) and (prefix == "." or named[end][0].startswith(prefix)):
        end += 1
    return named[:end]


def _is_circular(module: nn.Module) -> bool:
    return getattr(module, "padding_mode", "zeros") == "circular" or \
        type(module).__name__ == "CircularPad2d"


def _conv_padding(module: nn.Module, k: tuple[int, int], d: tuple[int, int]) -> tuple[int, int]:
    """Top and left padding of a conv or pooling module (``padding="same"`` pads ``d*(k-1)//2`` before)."""
    if module.padding == "valid":
        return (0, 0)
    if module.padding == "same":
        return (d[0] * (k[0] - 1) // 2, d[1] * (k[1] - 1) // 2)
    return _pair(module.padding)


def receptive_field(model: nn.Module, info: ModelInfo | None, layer: str) -> ReceptiveField:
    """Receptive field of the units of ``layer`` (a name from ``info.layers``), from the architecture."""
    target = get_module(model, info, layer)
    size, stride, offset = [1, 1], [1, 1], [0, 0]
    for name, module in _modules_up_to(model, target):
        if "downsample" in name.split("."):
            continue
        if _is_circular(module):
            raise ConvVisError(f"module {name!r} pads circularly (wraps around the image), so no box describes "
                               "its receptive field; allowed: zero, constant, reflection or replication padding")
        if isinstance(module, _GLOBAL):
            return ReceptiveField(None, (stride[0], stride[1]), (0, 0))
        if isinstance(module, _PADS):
            left, _right, top, _bottom = module.padding  # (left, right, top, bottom), as nn.ZeroPad2d takes it
            offset[0] -= top * stride[0]
            offset[1] -= left * stride[1]
            continue
        if not isinstance(module, _SPATIAL):
            continue
        k, s = _pair(module.kernel_size), _pair(module.stride)
        d = _pair(getattr(module, "dilation", 1))
        p = _conv_padding(module, k, d)
        for a in (0, 1):
            size[a] += (k[a] - 1) * d[a] * stride[a]
            offset[a] -= p[a] * stride[a]
            stride[a] *= s[a]
    return ReceptiveField((size[0], size[1]), (stride[0], stride[1]), (offset[0], offset[1]))


def _positive_copy(model: nn.Module) -> nn.Module:
    """A copy with every weight a positive constant (1/fan-in), zero biases, identity batch norms,
    max pooling replaced by average pooling of the same shape, and clipped ReLUs (ReLU6, Hardtanh)
    by plain ReLUs, so no input gradient is zeroed (residual sums can exceed 6 in the copy)."""
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for module in twin.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.fill_(1.0 / module.weight[0].numel())
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()
                module.reset_running_stats()
    for name, module in list(twin.named_modules()):
        parent = twin.get_submodule(name.rsplit(".", 1)[0]) if "." in name else twin
        if isinstance(module, nn.MaxPool2d):
            setattr(parent, name.rsplit(".", 1)[-1],
                    nn.AvgPool2d(module.kernel_size, module.stride, module.padding, module.ceil_mode))
        elif isinstance(module, _CLIPPED):
            setattr(parent, name.rsplit(".", 1)[-1], nn.ReLU())
    return twin


def gradient_receptive_field(model: nn.Module, info: ModelInfo, layer: str, unit: int, row: int, col: int) -> Box:
    """Bounding box of the input pixels whose gradient on unit ``(unit, row, col)`` of ``layer`` is nonzero.

    Works on a copy of ``model`` with positive constant weights and average
    pooling (see :func:`_positive_copy`) and an input of ones, so every path
    from a pixel to the unit carries a positive gradient: the support is the
    full receptive field. The model itself is not touched.
    """
    return gradient_receptive_fields(model, info, layer, [(row, col)], unit)[0]


def gradient_receptive_fields(model: nn.Module, info: ModelInfo, layer: str,
                              positions: list[tuple[int, int]], unit: int = 0) -> list[Box]:
    """:func:`gradient_receptive_field` for several ``(row, col)`` positions, with one model copy."""
    get_module(model, info, layer)
    twin = _positive_copy(model)
    device = model_device(twin)
    x = torch.ones((1, *info.input_size), device=device, requires_grad=True)
    with layer_function(twin, info, layer) as forward:
        act = forward(x)
    if act.ndim != 4:
        raise ConvVisError(f"layer {layer!r} has no spatial map (output shape {tuple(act.shape)}); "
                           "every unit of it sees the whole input")
    _, c, h, w = act.shape
    boxes = []
    for row, col in positions:
        if not (0 <= unit < c and 0 <= row < h and 0 <= col < w):
            raise ConvVisError(f"unit/row/col ({unit}, {row}, {col}) outside layer {layer!r}; "
                               f"allowed: unit 0..{c - 1}, row 0..{h - 1}, col 0..{w - 1}")
        (grad,) = torch.autograd.grad(act[0, unit, row, col], x, retain_graph=True)
        rows, cols = torch.nonzero(grad[0].abs().sum(0) > 0, as_tuple=True)
        if len(rows) == 0:
            raise ConvVisError(f"unit ({unit}, {row}, {col}) of layer {layer!r} depends on no input pixel "
                               "(it sees only padding)")
        boxes.append((int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())))
    return boxes
