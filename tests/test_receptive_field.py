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
