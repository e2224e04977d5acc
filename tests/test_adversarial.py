"""Tests for convvis_lib.adversarial: FGSM on linear models (exact answers), bounds, targeted attacks."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import convvis_lib as cv
from convvis_lib import adversarial as adv
from convvis_lib.hooks import count_hooks
from convvis_lib.models import ModelInfo
from convvis_lib.pixels import from_normalized

pytestmark = pytest.mark.usefixtures("one_thread")


LIN = ModelInfo("lin", "toy", ("a", "b"), ("가", "나"), (1, 4, 4), (0.5,), (0.25,))


def linear_model(out: int = 2, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, out)).eval()


@pytest.fixture(scope="module")
def fashion():
    model, info = cv.load_model("fashionnet")
    ex = cv.examples_for(info)
    return model, info, cv.preprocess(info, ex.images[:100]), ex.labels[:100]


def test_fgsm_on_linear_model_changes_logit_by_eps_times_l1_norm():
    model = linear_model()
    x = torch.randn(3, 1, 4, 4) * 0.1
    eps = 0.01
    x_adv = adv.fgsm(model, LIN, x, [0, 1, 0], eps, loss="logit", clip=False)
    w = model[1].weight.detach()
    with torch.no_grad():
        change = model(x_adv) - model(x)
    # a step of eps pixels is eps/std normalised units: the logit of the label drops by (eps/std) * ||w_label||_1
    expected = -eps / 0.25 * w.abs().sum(1)[[0, 1, 0]]
    assert torch.allclose(change.gather(1, torch.tensor([[0], [1], [0]]))[:, 0], expected, atol=1e-6)


def test_fgsm_cross_entropy_on_two_class_linear_model_moves_margin_by_l1_of_difference():
    model = linear_model(seed=1)
    x = torch.randn(2, 1, 4, 4) * 0.1
    eps = 0.02
    x_adv = adv.fgsm(model, LIN, x, [0, 0], eps, clip=False)
    w = model[1].weight.detach()
    with torch.no_grad():
        margin = lambda z: z[:, 0] - z[:, 1]  # noqa: E731
        drop = margin(model(x)) - margin(model(x_adv))
    assert torch.allclose(drop, torch.full((2,), eps / 0.25 * (w[0] - w[1]).abs().sum().item()), atol=1e-5)
    targeted = adv.fgsm(model, LIN, x, [1, 1], eps, targeted=True, clip=False)
    assert torch.allclose(targeted, x_adv)  # with two classes, "towards b" == "away from a"


def test_fgsm_stays_in_eps_box_and_valid_pixels(fashion):
    model, info, x, y = fashion
    x_adv = adv.fgsm(model, info, x, y, 0.1)
    p, p_adv = from_normalized(info, x), from_normalized(info, x_adv)
    assert p_adv.min() >= -1e-6 and p_adv.max() <= 1 + 1e-6
    assert (p_adv - p).abs().max() <= 0.1 + 1e-5
    moved = (p_adv - p).abs() > 1e-4
    assert moved.float().mean() > 0.3  # most pixels moved by exactly eps unless clipped
    inside = (p > 0.1 + 1e-3) & (p < 0.9 - 1e-3)
    assert torch.allclose((p_adv - p).abs()[inside], torch.tensor(0.1), atol=1e-5)
    assert torch.equal(adv.fgsm(model, info, x, y, 0.0), x)
    assert torch.equal(adv.fgsm(model, info, x, torch.as_tensor(y), 0.1), x_adv)  # tensor labels (any device)


def test_fgsm_sweep_direction_matters_more_than_size(fashion):
    model, info, x, y = fashion
    model.train()
    try:
        s = adv.fgsm_sweep(model, info, x, y, [0.0, 0.1])
        assert model.training
    finally:
        model.eval()
    with torch.no_grad():
        clean = (model(x).argmax(1).numpy() == y).mean()
    assert s.accuracy[0] == pytest.approx(clean) and s.random_accuracy[0] == pytest.approx(clean)
    assert s.accuracy[1] < 0.5 * clean < s.random_accuracy[1]
    assert count_hooks(model) == 0
    assert all(p.grad is None for p in model.parameters())


def test_targeted_attack_reaches_target_within_budget(fashion):
    model, info, x, y = fashion
    attack = adv.targeted_attack(model, info, x[:1], "가방", eps=0.1)
    assert attack.target == 8 and attack.pred_before == int(y[0]) and attack.success
    assert attack.probs_after[8] > 0.5 and np.isclose(attack.probs_after.sum(), 1, atol=1e-5)
    d = adv.perturbation_pixels(info, attack)
    assert d.shape == (28, 28) and np.abs(d).max() <= 0.1 + 1e-5
    many = adv.targeted_attacks(model, info, x[:1].expand(10, -1, -1, -1), list(range(10)), eps=0.1)
    assert [a.target for a in many] == list(range(10))
    assert sum(a.success for a in many) >= 8
    assert all(p.grad is None for p in model.parameters()) and count_hooks(model) == 0


def test_bad_arguments_raise(fashion):
    model, info, x, y = fashion
    with pytest.raises(cv.ConvVisError, match=r"eps 2.0 out of range; allowed: 0 .. 1"):
        adv.fgsm(model, info, x[:1], y[:1], 2.0)
    with pytest.raises(cv.ConvVisError, match=r"unknown loss 'hinge'; allowed: 'cross_entropy', 'logit'"):
        adv.fgsm(model, info, x[:1], y[:1], 0.1, loss="hinge")
    with pytest.raises(cv.ConvVisError, match="unknown class 'cat'"):
        adv.targeted_attack(model, info, x[:1], "cat", 0.1)
    with pytest.raises(cv.ConvVisError, match="class index 12 out of range"):
        adv.fgsm(model, info, x[:1], [12], 0.1)
    with pytest.raises(cv.ConvVisError, match="one label per image: 2 images, 3 labels"):
        adv.fgsm(model, info, x[:2], [0, 1, 2], 0.1)
    with pytest.raises(cv.ConvVisError, match="takes one image"):
        adv.targeted_attack(model, info, x[:2], 0, 0.1)


def test_imagenet_path_with_random_weights():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, info = cv.load_model("resnet18", allow_random=True)
    ex = cv.examples_for(info)
    x = cv.preprocess(info, ex.images[:1])
    pred = int(model(x).argmax())
    attack = adv.fgsm_attack(model, info, x, pred, 2 / 255)
    d = adv.perturbation_pixels(info, attack)
    assert d.shape == (224, 224, 3) and np.abs(d).max() <= 2 / 255 + 1e-5
    assert attack.pred_before == pred
    targets = adv.demo_targets(info)
    assert len(targets) == 10 and info.class_names[targets[0]] == "goldfish"
    assert count_hooks(model) == 0
