"""Gradients and friends: hand-computed rules on tiny networks, refusals, clean-up, class model visualisation."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convvis_lib as cv
from convvis_lib import gradients, plot
from convvis_lib.gradients import (MAP_METHODS, RULES, class_model_visualization, deconvnet, guided_backprop,
                                   input_gradient, method_map, saliency)
from convvis_lib.hooks import count_hooks

W1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
W2 = torch.tensor([[1.0, -1.0, 2.0], [0.0, 1.0, 1.0]])


def tiny(inplace: bool = False) -> nn.Sequential:
    """x (2 channels of 1x1) -> Linear W1 -> ReLU -> Linear W2 -> 2 logits."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 3, bias=False), nn.ReLU(inplace=inplace),
                        nn.Linear(3, 2, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(W1)
        net[3].weight.copy_(W2)
    return net.eval()


# image a = (1, 2): hidden pre-activations (1, 2, -1), forward mask (1, 1, 0)
# image b = (2, -1): hidden pre-activations (2, -1, 3), forward mask (1, 0, 1)
X = torch.tensor([[1.0, 2.0], [2.0, -1.0]]).view(2, 2, 1, 1)

# class 0 on image a: signal from above g = W2[0] = (1, -1, 2)
#   plain  g*mask        = (1, -1, 0) -> W1^T = (1, -1)
#   deconv max(g, 0)     = (1, 0, 2)  -> W1^T = (3, -2)
#   guided max(g,0)*mask = (1, 0, 0)  -> W1^T = (1, 0)
# class 1 on image b: g = W2[1] = (0, 1, 1)
#   plain  (0, 0, 1) -> (1, -1);  deconv (0, 1, 1) -> (1, 0);  guided (0, 0, 1) -> (1, -1)
EXPECTED = {"plain": [[1.0, -1.0], [1.0, -1.0]],
            "deconvnet": [[3.0, -2.0], [1.0, 0.0]],
            "guided_backprop": [[1.0, 0.0], [1.0, -1.0]]}


@pytest.mark.parametrize("rule", RULES)
def test_rules_match_hand_computed_gradients(rule):
    net = tiny()
    grad = input_gradient(net, None, X, torch.tensor([0, 1]), rule)
    assert grad.shape == X.shape
    assert grad.flatten(1).tolist() == EXPECTED[rule]
    assert count_hooks(net) == 0


def test_named_wrappers_and_saliency():
    net = tiny()
    assert deconvnet(net, None, X, [0, 1]).flatten(1).tolist() == EXPECTED["deconvnet"]
    assert guided_backprop(net, None, X, [0, 1]).flatten(1).tolist() == EXPECTED["guided_backprop"]
    guided = input_gradient(net, None, X, np.array([0, 1]), "guided_backprop")
    assert guided.flatten(1).tolist() == EXPECTED["guided_backprop"]
    assert input_gradient(net, None, X, torch.tensor(0), "guided_backprop")[1].flatten().tolist() == [3.0, -2.0]
    sal = saliency(net, None, X, 0)  # class 0 for both: plain grads (1, -1) and (3, -2)
    assert sal.shape == (2, 1, 1) and sal.flatten().tolist() == [1.0, 3.0]


def test_inplace_relu_gives_the_same_result_and_is_restored():
    net = tiny(inplace=True)
    for rule in RULES:
        assert input_gradient(net, None, X, [0, 1], rule).flatten(1).tolist() == EXPECTED[rule]
    assert net[2].inplace is True


def deep() -> nn.Sequential:
    """x (2) -> Linear A -> ReLU -> Linear B -> ReLU ('4') -> Linear C."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 2, bias=False),
                        nn.ReLU(), nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(W1)
        net[3].weight.copy_(torch.tensor([[1.0, -2.0, 1.0], [-1.0, 1.0, 0.5]]))
        net[5].weight.fill_(1.0)
    return net.eval()


def test_unit_target_keeps_the_units_own_relu_plain():
    # image a: hidden1 = (1, 2, -1) -> relu (1, 2, 0); hidden2 = (1 - 4, -1 + 2) = (-3, 1): unit 1 active
    # seed for unit 1 = (0, 1); its own ReLU passes it (active); B^T row 1 = (-1, 1, 0.5)
    #   plain  (-1, 1, 0.5)*(1, 1, 0) = (-1, 1, 0)  -> W1^T = (-1, 1)
    #   deconv max(., 0)      = (0, 1, 0.5)        -> W1^T = (0.5, 0.5)
    #   guided (0, 1, 0.5)*(1, 1, 0) = (0, 1, 0)   -> W1^T = (0, 1)
    net = deep()
    xa = X[:1]
    expected = {"plain": [-1.0, 1.0], "deconvnet": [0.5, 0.5], "guided_backprop": [0.0, 1.0]}
    for rule in RULES:
        assert input_gradient(net, None, xa, ("4", 1), rule).flatten().tolist() == expected[rule]
        # unit 0 is inactive (-3): its own ReLU blocks the seed under every rule
        assert input_gradient(net, None, xa, ("4", 0), rule).abs().sum() == 0
    assert count_hooks(net) == 0


def test_plain_gradient_matches_finite_differences_on_fashionnet():
    model, info = cv.load_model("fashionnet")
    model = model.double()
    x = cv.preprocess(info, cv.examples_for(info).images[3]).double()
    x += 1e-3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype)  # no max-pool ties
    grad = input_gradient(model, info, x, 2)
    eps = 1e-6
    with torch.no_grad():
        for (r, c) in [(14, 14), (5, 20), (22, 9)]:
            xp, xm = x.clone(), x.clone()
            xp[0, 0, r, c] += eps
            xm[0, 0, r, c] -= eps
            numeric = (model(xp)[0, 2] - model(xm)[0, 2]) / (2 * eps)
            assert grad[0, 0, r, c].item() == pytest.approx(numeric.item(), rel=1e-4, abs=1e-8)
    assert all(p.grad is None for p in model.parameters())


def test_rules_differ_on_fashionnet():
    model, info = cv.load_model("fashionnet")
    ex = cv.examples_for(info)
    x = cv.preprocess(info, ex.images[:3])
    y = torch.as_tensor(ex.labels[:3])
    plain, dec, guided = (input_gradient(model, info, x, y, r) for r in RULES)
    assert not torch.allclose(plain, guided) and not torch.allclose(dec, guided)
    assert count_hooks(model) == 0


def test_deconvnet_without_pooling_ignores_the_input():
    # with no max pooling there are no switches, and the DeconvNet ReLU never looks at the forward pass
    net = deep()
    a, b = input_gradient(net, None, X, 0, "deconvnet")
    # C^T 1 = (1, 1) -> max(., 0) = (1, 1) -> B^T = (0, -1, 1.5) -> max(., 0) = (0, 0, 1.5) -> W1^T = (1.5, -1.5)
    assert torch.equal(a, b) and a.flatten().tolist() == [1.5, -1.5]
    plain = input_gradient(net, None, X, 0, "plain")
    assert not torch.equal(plain[0], plain[1])


class FunctionalReLU(nn.Module):
    """A model that mixes an nn.ReLU module with one functional ReLU of the given kind."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.lin1, self.relu, self.lin2 = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2)
        self.kind = kind

    def forward(self, x):
        h = self.relu(self.lin1(x.flatten(1)))
        h = {"torch.relu": torch.relu, "F.relu": F.relu, "Tensor.relu": torch.Tensor.relu,
             "relu_": torch.relu_}[self.kind](h * 2)
        return self.lin2(h)


@pytest.mark.parametrize("kind", ["torch.relu", "F.relu", "Tensor.relu", "relu_"])
@pytest.mark.parametrize("rule", ["guided_backprop", "deconvnet"])
def test_functional_relu_is_refused(kind, rule):
    model = FunctionalReLU(kind)
    with pytest.raises(cv.ConvVisError, match=r"applied ReLU as a function .* 1 time\(s\).*allowed rules for "
                                              r"this model: 'plain'"):
        input_gradient(model, None, X, 0, rule)
    assert count_hooks(model) == 0
    assert input_gradient(model, None, X, 0, "plain").shape == X.shape  # the plain gradient is fine


def test_model_without_relu_modules_is_refused():
    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 3), nn.Linear(3, 2))
    with pytest.raises(cv.ConvVisError, match="found no nn.ReLU / nn.ReLU6 module"):
        guided_backprop(model, None, X, 0)


# ----------------------------------------------------------------------------- ReLU6 and mixed activations

def tiny6(act: nn.Module) -> nn.Sequential:
    """x (2) -> Linear V1 -> act -> Linear V2 (3 classes); on x = (1, 2) the hidden pre-activations are (7, 2, -1)."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 3, bias=False), act, nn.Linear(3, 3, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[3.0, 2.0], [0.0, 1.0], [1.0, -1.0]]))
        net[3].weight.copy_(torch.tensor([[1.0, 1.0, -1.0], [-1.0, 2.0, 1.0], [0.0, -1.0, 1.0]]))
    return net.eval()


X6 = torch.tensor([1.0, 2.0]).view(1, 2, 1, 1).repeat(3, 1, 1, 1)
# ReLU6 at (7, 2, -1): forward mask [0 < x < 6] = (0, 1, 0) (7 is clipped); V1^T v = (3 v0 + v2, 2 v0 + v1 - v2)
# class 0, g = (1, 1, -1):  plain (0, 1, 0) -> (0, 1); guided (0, 1, 0) -> (0, 1); deconv max(g, 0) = (1, 1, 0) -> (3, 3)
# class 1, g = (-1, 2, 1):  plain (0, 2, 0) -> (0, 2); guided (0, 2, 0) -> (0, 2); deconv (0, 2, 1) -> (1, 1)
# class 2, g = (0, -1, 1):  plain (0, -1, 0) -> (0, -1); guided (0, 0, 0) -> (0, 0); deconv (0, 0, 1) -> (1, -1)
EXPECTED6 = {"plain": [[0.0, 1.0], [0.0, 2.0], [0.0, -1.0]],
             "guided_backprop": [[0.0, 1.0], [0.0, 2.0], [0.0, 0.0]],
             "deconvnet": [[3.0, 3.0], [1.0, 1.0], [1.0, -1.0]]}


@pytest.mark.parametrize("act", [nn.ReLU6(), nn.ReLU6(inplace=True), nn.Hardtanh(0.0, 6.0)], ids=repr)
@pytest.mark.parametrize("rule", RULES)
def test_relu6_rules_match_hand_computed_gradients(act, rule):
    net, inplace = tiny6(act), act.inplace
    grad = input_gradient(net, None, X6, [0, 1, 2], rule)
    assert grad.flatten(1).tolist() == EXPECTED6[rule]
    assert count_hooks(net) == 0 and act.inplace == inplace


def test_relu6_upper_clip_matters_and_deconvnet_scales_with_the_score():
    # with nn.ReLU the saturated unit (7) would pass: plain class 0 = V1^T (1, 1, 0) = (3, 3), not (0, 1)
    assert input_gradient(tiny6(nn.ReLU()), None, X6[:1], 0).flatten().tolist() == [3.0, 3.0]
    # DeconvNet has no upper clip on the backward signal: ten times the score gives ten times the map
    net = tiny6(nn.ReLU6())
    with torch.no_grad():
        net[3].weight.mul_(10)
    assert deconvnet(net, None, X6, [0, 1, 2]).flatten(1).tolist() == [[30.0, 30.0], [10.0, 10.0], [10.0, -10.0]]


def mixed() -> nn.Sequential:
    """x (2) -> Linear W1 -> nn.ReLU -> Linear B -> nn.ReLU6 -> Linear C (1 logit)."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 3, bias=False),
                        nn.ReLU6(), nn.Linear(3, 1, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(W1)
        net[3].weight.copy_(torch.tensor([[-1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [4.0, 2.0, 0.0]]))
        net[5].weight.copy_(torch.tensor([[-1.0, 1.0, 1.0]]))
    return net.eval()


def test_mixed_relu_and_relu6_apply_each_rule_at_both():
    # x = (1, 2): W1 x = (1, 2, -1), ReLU mask (1, 1, 0) -> (1, 2, 0); B . = (1, 2, 8): ReLU6 mask (1, 1, 0)
    # g at ReLU6 = C = (-1, 1, 1); B^T v = v0 (-1, 1, 0) + v1 (0, 1, 0) + v2 (4, 2, 0); W1^T v = (v0 + v2, v1 - v2)
    #   plain:  (-1, 1, 0) -> (1, 0, 0) -> *mask (1, 0, 0) -> (1, 0)
    #   guided: max(g, 0) * mask = (0, 1, 0) -> (0, 1, 0) -> max(., 0) * mask = (0, 1, 0) -> (0, 1)
    #   deconv: max(g, 0) = (0, 1, 1) -> (4, 3, 0) -> max(., 0) = (4, 3, 0) -> (4, 3)
    # (the plain backward at the ReLU6 -- the old behaviour -- would give guided (1, 0) and DeconvNet (1, 0))
    expected = {"plain": [1.0, 0.0], "guided_backprop": [0.0, 1.0], "deconvnet": [4.0, 3.0]}
    net = mixed()
    for rule in RULES:
        assert input_gradient(net, None, X[:1], 0, rule).flatten().tolist() == expected[rule]


def layer_by_layer(net: nn.Sequential, x: torch.Tensor, cls: int, rule: str) -> torch.Tensor:
    """Independent reference without hooks: run ``net`` layer by layer, then go back down by hand.

    Every layer but a rectifier is crossed with its own vector-Jacobian product (autograd.grad of that
    layer alone); at a rectifier with forward input ``a`` and clip ``c`` the rule is written out:
    plain ``g * [0 < a < c]``, DeconvNet ``max(g, 0)``, guided ``max(g, 0) * [0 < a < c]``.
    """
    inputs = []
    h = x
    for layer in net:
        inputs.append(h)
        h = layer(h)
    g = torch.zeros_like(h)
    g[:, cls] = 1.0
    for layer, a in zip(reversed(net), reversed(inputs)):
        if isinstance(layer, (nn.ReLU, nn.ReLU6)):
            upper = 6.0 if isinstance(layer, nn.ReLU6) else math.inf
            mask = ((a > 0) & (a < upper)).to(g.dtype)
            g = {"plain": g * mask, "deconvnet": g.clamp(min=0), "guided_backprop": g.clamp(min=0) * mask}[rule]
        else:
            a = a.detach().requires_grad_(True)
            with torch.enable_grad():
                (g,) = torch.autograd.grad(layer(a), a, g)
    return g


@pytest.mark.parametrize("rule", RULES)
def test_rules_match_a_layer_by_layer_reference_on_a_random_convnet(rule):
    """Conv, ReLU, max pooling, ReLU6 with units above 6, linear: the library equals the hand-made backward."""
    gen = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 8, 3),
                        nn.ReLU6(), nn.Flatten(), nn.Linear(8 * 2 * 2, 5), nn.ReLU(), nn.Linear(5, 3)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype))
    x = 3 * torch.randn(4, 2, 8, 8, generator=gen, dtype=torch.float64)
    with torch.no_grad():  # the ReLU6 input has units below 0, between 0 and 6, and above 6
        pre6 = net[:4](x)
    assert (pre6 < 0).any() and ((pre6 > 0) & (pre6 < 6)).any() and (pre6 > 6).any()
    for cls in range(3):
        expected = layer_by_layer(net.eval(), x, cls, rule)
        assert expected.abs().sum() > 0
        torch.testing.assert_close(input_gradient(net, None, x, cls, rule), expected, rtol=1e-12, atol=1e-12)
    assert count_hooks(net) == 0


@pytest.mark.parametrize("act", [nn.LeakyReLU(0.1), nn.Hardtanh(-1.0, 1.0), nn.GELU(), nn.SiLU(), nn.Sigmoid(),
                                 nn.ELU(), nn.PReLU()], ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("rule", ["guided_backprop", "deconvnet"])
def test_activation_modules_without_a_rule_are_refused_by_type_and_path(act, rule):
    net = mixed()
    net[4] = act  # nn.ReLU at '2' stays: only the unknown module is named
    name = type(act).__name__
    with pytest.raises(cv.ConvVisError, match=rf"has other activation modules: '4' \(nn\.{name}\).*rule='plain'"):
        input_gradient(net, None, X[:1], 0, rule)
    assert count_hooks(net) == 0
    assert torch.isfinite(input_gradient(net, None, X[:1], 0, "plain")).all()


class FunctionalAct(nn.Module):
    """nn.ReLU module, then an activation applied as a function."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.lin1, self.relu, self.lin2, self.fn = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), fn

    def forward(self, x):
        return self.lin2(self.fn(self.relu(self.lin1(x.flatten(1))) - 0.5))


@pytest.mark.parametrize("fn, name", [(F.relu6, "relu6/hardtanh"), (F.hardtanh, "relu6/hardtanh"),
                                      (F.leaky_relu, "leaky_relu"), (torch.sigmoid, "sigmoid"),
                                      (torch.Tensor.relu, "relu"), (F.gelu, "gelu")])
def test_functional_activations_are_refused(fn, name):
    with pytest.raises(cv.ConvVisError, match=rf"as a function .*here: {name}\) 1 time\(s\)"):
        guided_backprop(FunctionalAct(fn), None, X, 0)


ACTIVATION_CALLS = [torch.relu, F.relu6, F.hardtanh, F.leaky_relu, lambda t: F.prelu(t, torch.tensor([0.25])),
                    lambda t: F.rrelu(t, training=False), lambda t: F.threshold(t, 0.0, 0.0), F.elu, F.selu, F.celu,
                    F.gelu, F.silu, F.mish, F.hardswish, F.softplus, torch.sigmoid, torch.tanh, F.hardsigmoid,
                    F.logsigmoid, F.softshrink, F.hardshrink, lambda t: F.glu(t.reshape(2, 2))]


@pytest.mark.parametrize("fn", ACTIVATION_CALLS)
def test_every_activation_function_leaves_a_known_node(fn):
    """The graph check knows the node each activation function leaves with this torch version."""
    out = fn(torch.randn(4, requires_grad=True))
    assert gradients.functional_activations(out.sum()) == [gradients.ACTIVATION_NODES[out.grad_fn.name()]]


def test_graph_check_counts_only_what_the_backward_pass_crosses():
    x = torch.randn(3, requires_grad=True)
    hidden = torch.relu(x)
    torch.relu(x)  # a side branch that never reaches the score
    score = (hidden * 2 + torch.sigmoid(x.detach())).sum()  # the sigmoid branch carries no gradient
    assert gradients.functional_activations(score) == ["relu"]
    assert gradients.functional_activations(score, skip=frozenset({hidden.grad_fn})) == []


def test_unit_target_below_a_functional_activation_is_allowed():
    """A functional activation above the unit's layer is not crossed on the way back from the unit."""
    model = FunctionalAct(torch.sigmoid)
    with pytest.raises(cv.ConvVisError, match="here: sigmoid"):
        guided_backprop(model, None, X, 0)
    g = guided_backprop(model, None, X, ("relu", 1))
    assert g.shape == X.shape and count_hooks(model) == 0


class Sneaky(nn.Module):
    """Uses its nn.ReLU module until ``functional`` is set, then ``torch.relu``."""

    def __init__(self) -> None:
        super().__init__()
        self.lin1, self.relu, self.lin2 = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2)
        self.functional = False

    def forward(self, x):
        h = self.lin1(x.flatten(1))
        return self.lin2(torch.relu(h) if self.functional else self.relu(h))


@pytest.mark.parametrize("rule", ["guided_backprop", "deconvnet"])
def test_functional_relu_check_runs_on_every_call(rule):
    """No per-model cache: a model that passed once is checked again (issue 11: a cache skipped the check)."""
    model = Sneaky()
    for _ in range(3):
        assert input_gradient(model, None, X, 0, rule).shape == X.shape
    model.functional = True
    for _ in range(2):
        with pytest.raises(cv.ConvVisError, match=r"applied ReLU as a function .*here: relu\)"):
            input_gradient(model, None, X, 0, rule)
    model.functional = False
    assert input_gradient(model, None, X, 0, rule).shape == X.shape


def test_hooks_and_mode_restored_after_an_error():
    class Failing(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin, self.relu = nn.Linear(2, 2), nn.ReLU(inplace=True)

        def forward(self, x):
            self.relu(self.lin(x.flatten(1)))
            raise RuntimeError("boom")

    model = Failing().train()
    with pytest.raises(RuntimeError, match="boom"):
        input_gradient(model, None, X, ("relu", 0), "guided_backprop")
    assert count_hooks(model) == 0 and model.training and model.relu.training and model.relu.inplace


@pytest.mark.parametrize("target, message", [
    ("Hat", r"unknown class 'Hat'; allowed: '티셔츠/탑'"),
    (10, r"class index 10 out of range; allowed: 0\.\.9"),
    ([0, 1], r"got 2 class targets for a batch of 1 images"),
    (("conv9", 0), r"unknown layer 'conv9'; allowed: 'conv1', 'pool1'"),
    (("conv1", 32), r"unit 32 out of range for layer 'conv1'; allowed: 0\.\.31"),
])
def test_bad_targets_are_named(target, message):
    model, info = cv.load_model("fashionnet")
    with pytest.raises(cv.ConvVisError, match=message):
        input_gradient(model, info, torch.zeros(1, 1, 28, 28), target)
    assert count_hooks(model) == 0


def test_bad_rule_and_input():
    model, info = cv.load_model("fashionnet")
    with pytest.raises(cv.ConvVisError,
                       match=r"unknown rule 'deconv'; allowed: 'plain', 'deconvnet', 'guided_backprop'"):
        input_gradient(model, info, torch.zeros(1, 1, 28, 28), 0, "deconv")
    with pytest.raises(cv.ConvVisError, match="expected a 4-D batch"):
        saliency(model, info, torch.zeros(1, 28, 28), 0)


def test_imagenet_model_with_random_weights_and_shared_inplace_relu():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, info = cv.load_model("resnet18", allow_random=True)
    for m in model.modules():  # torchvision's own setting: inplace ReLU modules, each used twice per block
        if isinstance(m, nn.ReLU):
            m.inplace = True
    x = cv.preprocess(info, cv.examples_for(info).images[0])
    plain = input_gradient(model, info, x, 281)
    guided = guided_backprop(model, info, x, 281)
    assert guided.shape == (1, 3, 224, 224) and torch.isfinite(guided).all()
    assert not torch.allclose(plain, guided)
    assert count_hooks(model) == 0 and all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))


def test_class_model_visualization_raises_the_score_and_is_seeded():
    model, info = cv.load_model("fashionnet")
    imgs = class_model_visualization(model, info, [1, 8], steps=40, seed=3)
    again = class_model_visualization(model, info, [1, 8], steps=40, seed=3)
    assert imgs.shape == (2, 1, 28, 28) and torch.equal(imgs, again)
    lo, hi = (0 - info.mean[0]) / info.std[0], (1 - info.mean[0]) / info.std[0]
    assert imgs.min() >= lo - 1e-6 and imgs.max() <= hi + 1e-6
    with torch.no_grad():
        start = model(torch.zeros(1, 1, 28, 28))[0]
        logits = model(imgs)
    assert logits[0, 1] > start[1] + 5 and logits[1, 8] > start[8] + 5
    assert logits[0].argmax() == 1 and logits[1].argmax() == 8
    unit = class_model_visualization(model, info, ("conv2", 7), steps=10)
    assert unit.shape == (1, 1, 28, 28)
    with pytest.raises(cv.ConvVisError, match="steps 0 is not allowed"):
        class_model_visualization(model, info, 1, steps=0)


def test_class_model_visualization_init_and_bad_init():
    model, info = cv.load_model("fashionnet")
    black = (0 - info.mean[0]) / info.std[0]
    start = class_model_visualization(model, info, 3, steps=1, lr=0.0, init="black")
    assert start.shape == (1, 1, 28, 28) and abs(start.mean().item() - black) < 0.01
    assert start.min() >= black - 1e-6  # clamped to the valid pixel range
    with pytest.raises(cv.ConvVisError, match=r"unknown init 'white'; allowed: 'mean', 'black'"):
        class_model_visualization(model, info, 3, steps=1, init="white")


def test_method_map_names_and_results():
    net = tiny()
    assert MAP_METHODS == ("saliency", "plain", "deconvnet", "guided_backprop")
    assert set(MAP_METHODS) <= set(plot.METHOD_LABELS)  # every method has its one Korean label
    assert torch.equal(method_map(net, None, X, [0, 1], "saliency"), saliency(net, None, X, [0, 1]))
    for rule in RULES:
        assert method_map(net, None, X, [0, 1], rule).flatten(1).tolist() == EXPECTED[rule]
    with pytest.raises(cv.ConvVisError, match=r"unknown method 'guided'; allowed: 'saliency', 'plain', 'deconvnet', "
                                              r"'guided_backprop'"):
        method_map(net, None, X, 0, "guided")


@pytest.mark.parametrize("one", [3, np.int64(3), torch.tensor(3), "Dress", "드레스"])
def test_one_class_column_equals_one_class_per_image(fashion, batch, one):
    """One class for all (read as a column of the logits) equals the same class listed per image (gathered)."""
    model, info = fashion
    x = batch[:3]
    assert info.class_index("Dress") == 3
    for rule in RULES:
        torch.testing.assert_close(input_gradient(model, info, x, one, rule),
                                   input_gradient(model, info, x, [3, 3, 3], rule), rtol=0, atol=0)


def test_class_model_visualization_of_a_tuple_of_class_names_gives_one_image_each(fashion):
    model, info = fashion
    pair = class_model_visualization(model, info, ("바지", "가방"), steps=3, seed=1)
    assert torch.equal(pair, class_model_visualization(model, info, [1, 8], steps=3, seed=1))
    assert pair.shape == (2, 1, 28, 28)


def test_class_model_visualization_canvas_size_is_checked_like_any_input(fashion):
    model, info = fashion
    with pytest.raises(cv.ConvVisError, match="expects 28x28 inputs; got"):
        class_model_visualization(model, info, 1, steps=1, size=32)


def test_class_model_visualization_on_lite0_at_a_smaller_canvas_raises_the_class_logit():
    model, info = cv.load_model("efficientnet_lite0")
    cat = info.class_index("tabby")
    imgs = class_model_visualization(model, info, cat, steps=8, size=64, seed=0)
    assert imgs.shape == (1, 3, 64, 64)
    with torch.no_grad():
        start = model(torch.zeros(1, 3, 64, 64))[0]
        logits = model(imgs)[0]
    assert logits[cat] > start[cat] + 5  # the class logit rises by a wide margin in a few steps
    with pytest.raises(cv.ConvVisError, match="at least 32x32"):
        class_model_visualization(model, info, cat, steps=1, size=16)
