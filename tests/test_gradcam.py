"""Grad-CAM and Guided Grad-CAM: a hand-built model with a hand-computed map, and CAM on ResNet-18."""
from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convvis_lib as cv
from convvis_lib.errors import ConvVisError
from convvis_lib.gradcam import grad_cam, guided_grad_cam, spatial_layers
from convvis_lib.gradients import guided_backprop
from convvis_lib.hooks import count_hooks


class TinyNet(nn.Module):
    """conv (1x1, weights [1, -1], bias [0, 3]) -> ReLU -> flatten -> linear (8 -> 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, kernel_size=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8, 2, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
            self.conv.bias.copy_(torch.tensor([0.0, 3.0]))
            w0 = torch.tensor([[1.0, 1, 1, 1], [-1.5, -1.5, -1.5, -1.5]])   # class 0: alphas 1, -1.5
            w1 = torch.tensor([[0.0, 0, 0, 2], [4.0, 0, 0, 0]])              # class 1: alphas 0.5, 1
            self.fc.weight.copy_(torch.stack([w0.flatten(), w1.flatten()]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.relu(self.conv(x)).flatten(1))


X = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
# A^0 = x = [[1, 2], [3, 4]],  A^1 = relu(3 - x) = [[2, 1], [0, 0]]
CAM0 = [[0.0, 0.5], [3.0, 4.0]]   # relu(1 * A^0 - 1.5 * A^1)
CAM1 = [[2.5, 2.0], [1.5, 2.0]]   # relu(0.5 * A^0 + 1 * A^1)


def test_hand_computed_maps():
    model = TinyNet()
    assert grad_cam(model, None, X, 0, layer="relu", upsample=False)[0].tolist() == CAM0
    assert grad_cam(model, None, X, 1, layer="relu", upsample=False)[0].tolist() == CAM1
    both = grad_cam(model, None, X.repeat(2, 1, 1, 1), [0, 1], layer="relu")
    assert torch.equal(both, torch.tensor([CAM0, CAM1]))                  # same size: nothing to stretch
    assert model(X).tolist() == [[5.5, 16.0]]                               # 10 - 1.5 * 3 and 2 * 4 + 4 * 2
    assert grad_cam(model, None, X, None, layer="relu")[0].tolist() == CAM1  # None: the predicted class 1


def test_frozen_parameters_and_no_parameter_grads():
    model = TinyNet()
    for p in model.parameters():
        p.requires_grad_(False)
    assert grad_cam(model, None, X, 1, layer="relu", upsample=False)[0].tolist() == CAM1
    model = TinyNet()
    grad_cam(model, None, X, 1, layer="relu")
    assert all(p.grad is None for p in model.parameters())


def test_upsampling_is_bilinear():
    model = nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 1))
    x = torch.randn(1, 1, 4, 4)
    small = grad_cam(model, None, x, 0, layer="2", upsample=False)
    big = grad_cam(model, None, x, 0, layer="2")
    assert small.shape == (1, 2, 2) and big.shape == (1, 4, 4)
    assert torch.allclose(big, F.interpolate(small[:, None], size=(4, 4), mode="bilinear")[:, 0])


def test_resnet18_gradcam_equals_cam():
    """ResNet-18 ends in global average pooling + fc, where Grad-CAM reduces to CAM (Zhou et al.)."""
    torch.manual_seed(0)  # random weights, fixed (some draws give a map that is all zero)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, info = cv.load_model("resnet18", allow_random=True, timeout=0.1)
    x = torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    model.train()
    cam = grad_cam(model, info, x, 7, layer="layer4", upsample=False)
    assert model.training and count_hooks(model) == 0
    model.eval()
    acts = cv.get_activations(model, info, x, "layer4")["layer4"]          # (1, 512, 3, 3)
    expected = F.relu(torch.einsum("k,nkij->nij", model.fc.weight[7], acts)) / 9
    assert torch.allclose(cam, expected, atol=1e-5, rtol=1e-4)
    assert cam.max() > 0


@pytest.fixture(scope="module")
def fashion(three_classes):
    return three_classes


def test_fashionnet_layers_and_guided(fashion):
    model, info, x, y = fashion
    assert spatial_layers(model, info) == ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3"]
    cam = grad_cam(model, info, x, y, layer="conv3")
    assert cam.shape == (3, 28, 28) and (cam >= 0).all() and (cam.flatten(1).amax(1) > 0).all()
    gg = guided_grad_cam(model, info, x, y, layer="conv3")
    assert torch.allclose(gg, guided_backprop(model, info, x, y) * cam[:, None])
    assert count_hooks(model) == 0


def test_gradcam_mode_and_hooks_restored_on_error(fashion):
    model, info, x, _ = fashion
    model.train()
    try:
        with pytest.raises(ConvVisError, match=r"'fc1'.*allowed: \['conv1', 'pool1'"):
            grad_cam(model, info, x, 0, layer="fc1")
        with pytest.raises(ConvVisError, match="'unicorn'"):
            grad_cam(model, info, x, "unicorn")
        with pytest.raises(ConvVisError, match="'conv9'"):
            grad_cam(model, info, x, 0, layer="conv9")
        assert model.training and count_hooks(model) == 0
    finally:
        model.eval()


def test_matches_captum_layer_gradcam(fashion):
    captum_attr = pytest.importorskip("captum.attr")
    model, info, x, y = fashion
    for layer in ("conv2", "conv3"):
        ref = captum_attr.LayerGradCam(model, cv.get_module(model, info, layer)).attribute(
            x, target=y, relu_attributions=True)[:, 0]
        ours = grad_cam(model, info, x, y, layer=layer, upsample=False)
        assert torch.allclose(ours, ref, atol=1e-7)


def test_gradcam_at_a_conv_followed_by_an_inplace_relu_uses_the_conv_output():
    """A user's model (not from load_model) with ReLU(inplace=True) right after the conv: Grad-CAM at the conv
    weighs the pre-ReLU maps A^1 = 3 - x = [[2, 1], [0, -1]], whose gradient is masked by that ReLU."""
    # class 0: alpha_0 = 1, alpha_1 = mean(-1.5 * [1, 1, 0, 0]) = -0.75 -> relu(A^0 - 0.75 A^1)
    # class 1: alpha_0 = mean([0, 0, 0, 2]) = 0.5, alpha_1 = mean(4 * [1, 0, 0, 0]) = 1 -> relu(0.5 A^0 + A^1)
    expected = torch.tensor([[[0.0, 1.25], [3.0, 4.75]], [[2.5, 2.0], [1.5, 1.0]]])
    inplace, plain = TinyNet(), TinyNet()
    inplace.relu.inplace = True
    x2 = X.repeat(2, 1, 1, 1)
    cam = grad_cam(inplace, None, x2, [0, 1], layer="conv", upsample=False)
    assert torch.equal(cam, expected)
    assert torch.equal(cam, grad_cam(plain, None, x2, [0, 1], layer="conv", upsample=False))
    assert not torch.equal(cam, torch.tensor([CAM0, CAM1]))  # the post-ReLU maps (what used to come back)
    assert inplace.relu.inplace and count_hooks(inplace) == 0


@pytest.fixture(scope="module")
def lite0_cat_and_coffee():
    """EfficientNet-Lite0 (real ImageNet weights) and one 224x224 image: the cat photo (chelsea) shrunk to 112x112 on
    the left half, the coffee photo on the right, mean grey above and below (0 in normalised units)."""
    model, info = cv.load_model("efficientnet_lite0")
    return (model, info, *cv.samples.cat_and_coffee(info))


def test_lite0_gradcam_of_the_cat_lies_on_the_cat(lite0_cat_and_coffee):
    """Grad-CAM of the predicted (cat) class puts most of its mass and its peak on the cat's half; the espresso
    class on the coffee's half: the map follows the class, not the most salient object."""
    model, info, x, cat_classes, coffee_classes = lite0_cat_and_coffee
    with torch.no_grad():
        logits = model(x)[0]
    pred = int(logits.argmax())
    assert pred in cat_classes                               # measured: Egyptian cat, p ~ 0.47
    espresso = info.class_index("espresso")
    assert espresso in coffee_classes
    cams = grad_cam(model, info, x.repeat(2, 1, 1, 1), [pred, espresso], layer="head")
    left = cams[:, :, :112].sum((1, 2)) / cams.sum((1, 2))   # share of the map on the cat's half
    assert left[0] > 0.75 and left[1] < 0.25                 # measured: 0.91 and 0.14
    for cam, (lo, hi) in zip(cams, ((0, 112), (112, 224))):
        row, col = divmod(int(cam.argmax()), 224)
        assert 56 - 16 <= row < 168 + 16 and lo <= col < hi  # the peak on that photo (16 px margin above/below)
