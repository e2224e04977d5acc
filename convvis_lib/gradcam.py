"""Grad-CAM and Guided Grad-CAM (Selvaraju et al., 2017): class-discriminative maps from a conv layer.

Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra (2017), "Grad-CAM: Visual Explanations from Deep
Networks via Gradient-based Localization", ICCV 2017, https://arxiv.org/abs/1610.02391.
The maths is in the docstrings of :func:`grad_cam` and :func:`guided_grad_cam`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConvVisError
from .gradients import guided_backprop
from .hooks import capture_activations, eval_mode, model_device
from .models import ModelInfo, get_module
from .preprocess import check_input
from .targets import ClassTarget, class_targets


def spatial_layers(model: nn.Module, info: ModelInfo) -> list[str]:
    """Names in ``info.layers`` whose output is a feature map (N, C, h, w), in forward order."""
    c, h, w = info.input_size
    x = torch.zeros(1, c, h, w, device=model_device(model))
    with eval_mode(model), torch.inference_mode(), capture_activations(model, info, info.layer_names) as acts:
        model(x)
    return [name for name in info.layer_names if name in acts and acts[name].ndim == 4]


def conv_layers(model: nn.Module, info: ModelInfo) -> list[str]:
    """Spatial layers that are also weight layers (conv layers / residual stages), in forward order.

    The last one is the usual Grad-CAM layer: fashionnet ``conv3``, AlexNet ``conv5``, VGG16
    ``conv5_3``, ResNet-18 ``layer4``, EfficientNet-Lite0 ``head``.
    """
    return [name for name in spatial_layers(model, info) if name in info.weights]


def grad_cam(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: ClassTarget = None,
             layer: str = "conv3", upsample: bool = True) -> torch.Tensor:
    """Grad-CAM maps (N, H, W) of class ``target`` at ``layer`` (``(N, h, w)`` with ``upsample=False``).

    Selvaraju et al. (2017), https://arxiv.org/abs/1610.02391. With ``A^k`` the feature maps of
    ``layer`` (its own output, also when an in-place ReLU follows) and ``y^c`` the logit of class c::

        alpha_k = mean_ij  d y^c / d A^k_ij        (one weight per feature map)
        L^c     = ReLU( sum_k alpha_k A^k )        (h x w), stretched bilinearly to H x W

    ``target``: a class index or name, one per image, or ``None`` (each image's prediction).
    Maps are non-negative and not normalised.
    """
    check_input(info, x, model)
    get_module(model, info, layer)  # validate the name before any work
    x = x.detach().requires_grad_(True)  # keeps a graph even when the parameters are frozen
    with eval_mode(model), torch.enable_grad(), capture_activations(model, info, layer, detach=False) as acts:
        logits = model(x)
    act = acts[layer]
    if act.ndim != 4:
        allowed = spatial_layers(model, info) if info is not None else "layers with (N, C, h, w) outputs"
        raise ConvVisError(f"Grad-CAM needs a layer with feature maps; {layer!r} gives shape "
                           f"{tuple(act.shape)}; allowed: {allowed}")
    cls = class_targets(info, target, logits)
    score = logits.gather(1, cls[:, None]).sum()
    (grads,) = torch.autograd.grad(score, act)
    alpha = grads.mean(dim=(2, 3), keepdim=True)          # (N, C, 1, 1): one weight per feature map
    cam = F.relu((alpha * act).sum(dim=1)).detach()       # (N, h, w)
    if upsample:
        cam = F.interpolate(cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    return cam


def guided_grad_cam(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: ClassTarget = None,
                    layer: str = "conv3") -> torch.Tensor:
    """Guided Grad-CAM (N, C, H, W) of class ``target``: sharp and class-discriminative.

    Selvaraju et al. (2017), section 3.1: the guided backpropagation of the logit ``y^c``
    (Springenberg et al., 2015) times the upsampled Grad-CAM map, pixel by pixel::

        G^c = (d y^c / d x)_guided  *  upsample(L^c)
    """
    check_input(info, x, model)
    with eval_mode(model), torch.no_grad():
        cls = class_targets(info, target, model(x))
    return guided_backprop(model, info, x, cls) * grad_cam(model, info, x, cls, layer)[:, None]
