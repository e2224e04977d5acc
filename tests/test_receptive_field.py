"""Receptive fields from the architecture, checked by hand and against input-gradient support."""
import dataclasses
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

import convvis_lib as cv
from convvis_lib.hooks import count_hooks
from convvis_lib.models import ModelInfo
from convvis_lib.receptive_field import ReceptiveField, crop_box, gradient_receptive_field, receptive_field


@pytest.fixture(scope="module")
def fashion():
    return cv.load_model("fashionnet")


def test_fashionnet_fields_by_hand(fashion):
    # size += (k-1)*stride_so_far, offset -= pad*stride_so_far, stride_so_far *= stride:
    # conv1 k3p1: 3, s1, -1 | pool1 k2s2: 4, s2, -1 | conv2: 4+2*2=8, -1-2=-3 | pool2: 8+2=10, s4
    # conv3: 10+2*4=18, -3-4=-7 | pool3: 18+4=22, s8
    model, info = fashion
    expected = {"conv1": (3, 1, -1), "pool1": (4, 2, -1), "conv2": (8, 2, -3), "pool2": (10, 4, -3),
                "conv3": (18, 4, -7), "pool3": (22, 8, -7)}
    for layer, (size, stride, offset) in expected.items():
        assert receptive_field(model, info, layer) == ReceptiveField((size, size), (stride, stride), (offset, offset))
    assert receptive_field(model, info, "fc1").is_global
    assert receptive_field(model, info, "fc1").box(1, 1, (28, 28)) == (0, 0, 27, 27)


def test_conv3_boxes_by_hand(fashion):
    rf = receptive_field(*fashion, "conv3")
    assert rf.box(0, 0, (28, 28), clip=False) == (-7, -7, 10, 10)
    assert rf.box(0, 0, (28, 28)) == (0, 0, 10, 10)          # -7..10, clipped at 0
    assert rf.box(3, 4, (28, 28)) == (5, 9, 22, 26)          # -7+3*4=5 .. 5+17; -7+4*4=9 .. 9+17
    assert rf.box(6, 6, (28, 28)) == (17, 17, 27, 27)        # 17..34, clipped at 27


def test_crop_box_fills_outside():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    cut = crop_box(image, (-1, 2, 1, 4), fill=-1.0)  # rows -1..1, cols 2..4 of a 4x4 image
    assert cut.tolist() == [[-1, -1, -1], [2, 3, -1], [6, 7, -1]]
    assert crop_box(np.ones((4, 4, 3)), (1, 1, 2, 2)).shape == (2, 2, 3)


@pytest.mark.parametrize("layer,unit,row,col", [
    ("conv1", 3, 0, 0), ("conv2", 7, 5, 9), ("pool2", 1, 6, 0), ("conv3", 5, 3, 4), ("conv3", 0, 0, 6),
    ("pool3", 127, 1, 2), ("pool3", 2, 2, 2)])
def test_gradient_support_matches_arithmetic(fashion, layer, unit, row, col):
    model, info = fashion
    expected = receptive_field(model, info, layer).box(row, col, (28, 28))
    assert gradient_receptive_field(model, info, layer, unit, row, col) == expected


def test_gradient_check_leaves_model_untouched(fashion):
    model, info = fashion
    before = model.conv1.weight.clone()
    model.train()
    try:
        gradient_receptive_field(model, info, "conv2", 0, 3, 3)
        assert model.training and count_hooks(model) == 0
        assert torch.equal(model.conv1.weight, before)
        assert isinstance(model.pool1, nn.MaxPool2d)
    finally:
        model.eval()


def _toy(module: nn.Module, size=(1, 21, 21)) -> tuple[nn.Module, ModelInfo]:
    net = nn.Sequential(OrderedDict(c=module, r=nn.ReLU()))
    info = ModelInfo("toy", "toy", ("a",), ("a",), size, (0.0,), (1.0,), {"c": "r"}, {"c": "c"})
    return net.eval(), info


def test_dilated_asymmetric_kernel():
    # kernel (3, 5) with dilation 2 spans (3-1)*2+1 = 5 rows and (5-1)*2+1 = 9 columns
    model, info = _toy(nn.Conv2d(1, 2, (3, 5), stride=(1, 2), padding=(1, 0), dilation=2))
    rf = receptive_field(model, info, "c")
    assert rf == ReceptiveField((5, 9), (1, 2), (-1, 0))
    assert gradient_receptive_field(model, info, "c", 1, 4, 3) == rf.box(4, 3, (21, 21)) == (3, 6, 7, 14)


def test_imagenet_architectures_known_values():
    with torch.device("meta"):  # geometry only: no weights are allocated
        known = {("alexnet", "pool5"): 195,  # R-CNN (Girshick et al. 2014): 195x195 pixels for pool5
                 ("vgg16", "pool5"): 212, ("resnet18", "layer4"): 435}
        for (name, layer), size in known.items():
            model, info = cv.load_model(name, pretrained=False)
            rf = receptive_field(model, info, layer)
            assert rf.size == (size, size) and rf.stride == (32, 32), (name, rf)
            assert receptive_field(model, info, info.layer_names[-1]).is_global


def test_resnet_gradient_support_skips_shortcut():
    torch.manual_seed(0)
    model, info = cv.load_model("resnet18", pretrained=False)
    info = dataclasses.replace(info, input_size=(3, 112, 112))  # geometry does not depend on the size
    for layer, (row, col) in {"pool1": (10, 15), "layer1": (0, 27), "layer2": (6, 3)}.items():
        expected = receptive_field(model, info, layer).box(row, col, (112, 112))
        assert gradient_receptive_field(model, info, layer, 0, row, col) == expected


def test_bad_inputs(fashion):
    model, info = fashion
    with pytest.raises(cv.ConvVisError, match=r"unknown layer 'conv9'.*'conv1'"):
        receptive_field(model, info, "conv9")
    with pytest.raises(cv.ConvVisError, match="no spatial map"):
        gradient_receptive_field(model, info, "fc1", 0, 0, 0)
    with pytest.raises(cv.ConvVisError, match=r"allowed: unit 0\.\.127, row 0\.\.6"):
        gradient_receptive_field(model, info, "conv3", 0, 7, 0)
    assert count_hooks(model) == 0


@pytest.fixture(scope="module")
def lite0():
    """EfficientNet-Lite0's architecture (random weights: geometry does not depend on them)."""
    from convvis_lib.efficientnet_lite import EfficientNetLite0
    torch.manual_seed(0)
    layers = {"stem": "_stem_relu", **{f"block{i}": f"_blocks.{i}" for i in range(16)}, "head": "_head_relu"}
    info = ModelInfo("lite0", "imagenet", ("a",), ("a",), (3, 224, 224), (0.0,) * 3, (1.0,) * 3, layers, {})
    return EfficientNetLite0().eval(), info


def test_lite0_fields_by_hand(lite0):
    # TF "same" padding before a stride-2 conv is ZeroPad2d(kernel - 2) split as (before, after) = (k-2)//2, rest:
    # k3s2 pads 0 before, 1 after; k5s2 pads 1 before, 2 after. Only "before" moves the offset.
    # stem pad0 + k3s2: r 3, j 2, o 0 | block0 dw k3s1p1: 3+2*2=7, o -2 | block1 pad0 + dw k3s2: 7+2*2=11, j 4
    # block2 k3p1: 11+2*4=19, o -2-4=-6 | block3 pad1 + dw k5s2: 19+4*4=35, o -6-1*4=-10, j 8
    # block4 k5p2: 35+4*8=67, o -10-2*8=-26 | block5 pad0 + k3s2: 67+2*8=83, j 16 | block6: 115, o -42 | block7: 147, o -58
    model, info = lite0
    expected = {"stem": (3, 2, 0), "block0": (7, 2, -2), "block1": (11, 4, -2), "block2": (19, 4, -6),
                "block3": (35, 8, -10), "block4": (67, 8, -26), "block5": (83, 16, -26), "block7": (147, 16, -58)}
    for layer, (size, stride, offset) in expected.items():
        assert receptive_field(model, info, layer) == ReceptiveField((size, size), (stride, stride), (offset, offset))
    assert receptive_field(model, info, "head").size == (851, 851)  # grows past the image; boxes are clipped
    assert receptive_field(model, info, "head").box(3, 3, (224, 224)) == (0, 0, 223, 223)


@pytest.mark.parametrize("layer,row,col", [
    ("stem", 111, 0), ("block1", 55, 27), ("block3", 0, 27), ("block3", 27, 13), ("block7", 13, 6), ("block7", 6, 0)])
def test_lite0_gradient_support_matches_arithmetic(lite0, layer, row, col):
    # Edge units check the asymmetric padding; block7 sits behind residual sums above 6, where ReLU6 would
    # zero the gradient of the positive copy unless it is replaced by a plain ReLU there.
    model, info = lite0
    expected = receptive_field(model, info, layer).box(row, col, (224, 224))
    assert gradient_receptive_field(model, info, layer, 0, row, col) == expected


def test_padding_modules_and_same_padding():
    # ZeroPad2d((left 1, right 2, top 3, bottom 0)) then k3s2: offset (-3, -1), size 3, stride 2
    model, info = _toy(nn.Sequential(nn.ZeroPad2d((1, 2, 3, 0)), nn.Conv2d(1, 2, 3, stride=2)))
    rf = receptive_field(model, info, "c")
    assert rf == ReceptiveField((3, 3), (2, 2), (-3, -1))
    for row, col in [(1, 0), (4, 5), (10, 10)]:  # row 1: rows -1..1; col 10: cols 19..21, clipped at 20
        assert gradient_receptive_field(model, info, "c", 0, row, col) == rf.box(row, col, (21, 21))
    assert rf.box(10, 10, (21, 21)) == (17, 19, 19, 20)
    # row 0 sees rows -3..-1: only the padding
    assert rf.box(0, 0, (21, 21), clip=False) == (-3, -1, -1, 1)
    with pytest.raises(cv.ConvVisError, match="sees only padding"):
        rf.box(0, 0, (21, 21))
    with pytest.raises(cv.ConvVisError, match="sees only padding"):
        gradient_receptive_field(model, info, "c", 0, 0, 0)
    # padding="same" with an even kernel pads (k-1)//2 = 1 before and 2 after
    model, info = _toy(nn.Conv2d(1, 2, 4, padding="same"))
    assert receptive_field(model, info, "c") == ReceptiveField((4, 4), (1, 1), (-1, -1))
    assert gradient_receptive_field(model, info, "c", 0, 20, 0) == (19, 0, 20, 2)


def test_circular_padding_refused():
    model, info = _toy(nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular"))
    with pytest.raises(cv.ConvVisError, match="circularly.*allowed: zero"):
        receptive_field(model, info, "c")
