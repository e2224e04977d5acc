"""Sanity checks: rank correlation and SSIM known answers, randomisation on copies only."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

import convvis_lib as cv
from convvis_lib.errors import ConvVisError
from convvis_lib.sanity import (cascade_layers, cascading_randomization, load_shuffled_model, randomize_from_top,
                                similarities, spearman, ssim)


@pytest.fixture(scope="module")
def fashion():
    return cv.load_model("fashionnet")


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_spearman_known_values():
    a = torch.arange(1.0, 17.0).view(4, 4)
    assert spearman(a, a) == pytest.approx(1.0)
    assert spearman(a, a.flip(0).flip(1)) == pytest.approx(-1.0)            # reversed order
    assert spearman(a, 3 * a ** 2 + 1) == pytest.approx(1.0)                 # any increasing map
    assert spearman([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0]) == pytest.approx(1 - 6 * 2 / (4 * 15))  # 0.8
    assert spearman([-3.0, 1.0, 2.0], [3.0, 1.0, 2.0]) == pytest.approx(1.0)       # |.| first
    assert spearman([-3.0, 1.0, 2.0], [3.0, 1.0, 2.0], absolute=False) == pytest.approx(-0.5)
    assert np.isnan(spearman(np.zeros(5), np.arange(5.0)))


def test_ssim_known_values():
    rng = np.random.default_rng(0)
    a = rng.random((28, 28))
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, 5 * a - 2) == pytest.approx(1.0)          # maps are scaled to [0, 1] first
    assert ssim(a, 1 - a) < 0
    assert ssim(a, rng.random((28, 28))) < 0.2
    with pytest.raises(ConvVisError, match="same shape"):
        ssim(a, a[:5])
    s = similarities(torch.from_numpy(np.stack([a, a])), torch.from_numpy(np.stack([a, 1 - a])))
    assert s["spearman"][0] == pytest.approx(1.0) and s["spearman"][1] == pytest.approx(-1.0)


def test_cascade_order(fashion):
    model, info = fashion
    assert cascade_layers(model, info) == ["fc2", "fc1", "conv3", "conv2", "conv1"]


def test_randomisation_leaves_the_model_unchanged(fashion):
    model, info = fashion
    before = _state(model)
    rand = randomize_from_top(model, info, "conv3", seed=1)
    after = _state(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    changed = {k for k, v in rand.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {f"{m}.{p}" for m in ("conv3", "fc1", "fc2") for p in ("weight", "bias")}


def test_cascade_matches_randomize_from_top_and_is_seeded(fashion):
    model, info = fashion
    steps = dict((name, _state(m)) for name, m in cascading_randomization(model, info, seed=3))
    assert list(steps) == ["fc2", "fc1", "conv3", "conv2", "conv1"]
    direct = randomize_from_top(model, info, "fc1", seed=3).state_dict()
    assert all(torch.equal(direct[k], steps["fc1"][k]) for k in direct)
    other = randomize_from_top(model, info, "fc1", seed=4).state_dict()
    assert not torch.equal(other["fc1.weight"], direct["fc1.weight"])
    assert torch.equal(steps["conv1"]["conv1.weight"], randomize_from_top(model, info, "conv1", 3).conv1.weight)


def test_randomised_model_forgets(fashion):
    model, info = fashion
    ex = cv.examples_for(info)
    x, y = cv.preprocess(info, np.stack(ex.images[:300])), torch.from_numpy(ex.labels[:300])
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
        acc_rand = (randomize_from_top(model, info, "fc2").eval()(x).argmax(1) == y).float().mean().item()
    assert acc > 0.85 and acc_rand < 0.3


def test_shuffled_label_model_is_at_chance(fashion):
    model, info = fashion
    shuffled = load_shuffled_model(info)
    ex = cv.examples_for(info)
    x, y = cv.preprocess(info, np.stack(ex.images[:500])), torch.from_numpy(ex.labels[:500])
    with torch.no_grad():
        acc = (shuffled(x).argmax(1) == y).float().mean().item()
    assert 0.03 < acc < 0.18   # ten classes: chance is 0.1 (500 images: standard error 0.013)
    assert [k for k in shuffled.state_dict()] == [k for k in model.state_dict()]


def test_bad_names(fashion):
    model, info = fashion
    with pytest.raises(ConvVisError, match=r"'pool1'.*'fc2', 'fc1', 'conv3', 'conv2', 'conv1'"):
        randomize_from_top(model, info, "pool1")
    with pytest.raises(ConvVisError, match="'conv9'"):
        list(cascading_randomization(model, info, layers=["conv9"]))
    with pytest.raises(ConvVisError, match="resnet18.*'fashionnet'"):
        load_shuffled_model(dataclasses.replace(info, name="resnet18"))


def test_resnet18_cascade_by_blocks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, info = cv.load_model("resnet18", allow_random=True, timeout=0.1)
    assert cascade_layers(model, info) == ["fc", "layer4", "layer3", "layer2", "layer1", "conv1"]
    model.layer4[1].bn2.running_var.fill_(2.0)
    model.layer3[0].bn1.running_var.fill_(2.0)
    before = _state(model)
    rand = randomize_from_top(model, info, "layer4")
    changed = {k.split(".")[0] for k, v in rand.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"layer4", "fc"}
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert torch.all(rand.layer4[1].bn2.running_var == 1.0)   # BatchNorm statistics reset too
    assert torch.all(rand.layer3[0].bn1.running_var == 2.0)   # below the cut: untouched


def test_randomization_tests_known_answers(fashion):
    from convvis_lib.sanity import data_randomization_test, model_randomization_test
    model, info = fashion
    ex = cv.examples_for(info)
    x = cv.preprocess(info, np.stack(ex.images[:2]))
    res = model_randomization_test(model, info, x, None, ["random", "gradcam"], layers=["fc2", "conv1"])
    assert res.steps == ["original", "fc2", "conv1"] and res.scores["ssim"].shape == (3, 2, 2)
    np.testing.assert_allclose(res.mean("spearman_abs")[:, 0], 1.0)   # a model-blind map never changes
    np.testing.assert_allclose(res.mean("ssim")[0], 1.0)              # original vs itself
    assert res.mean("spearman_abs")[1, 1] < 0.5                         # Grad-CAM reacts to a random fc2
    with torch.no_grad():
        assert res.targets.tolist() == model(x).argmax(1).tolist()
    same = data_randomization_test(model, model, info, x, None, ["saliency"], name="copy")
    assert same.steps == ["original", "copy"]
    np.testing.assert_allclose(same.mean("spearman_abs"), 1.0)
    with pytest.raises(ConvVisError, match="'pearson'.*'spearman_abs'"):
        res.mean("pearson")


def test_cascade_max_steps(fashion):
    model, info = fashion
    assert cascade_layers(model, info, max_steps=3) == ["fc2", "conv3", "conv1"]
    with pytest.raises(ConvVisError, match="max_steps 1"):
        cascade_layers(model, info, max_steps=1)


def test_train_subset_and_shuffled_labels():
    from convvis_lib.train import subset_with_shuffled_labels
    x = torch.arange(100.0).view(100, 1, 1, 1)
    y = torch.arange(100) % 10
    xs, ys = subset_with_shuffled_labels(x, y, 40, False, seed=0)
    assert len(xs) == 40 and torch.equal(ys, xs.view(-1).long() % 10)          # labels still match images
    xs2, ys2 = subset_with_shuffled_labels(x, y, 40, True, seed=0)
    assert torch.equal(xs2, xs) and sorted(ys2.tolist()) == sorted(ys.tolist())  # same images, labels permuted
    assert (ys2 != ys).sum() > 20
    assert torch.equal(subset_with_shuffled_labels(x, y, 40, True, seed=0)[1], ys2)  # seeded
    with pytest.raises(ConvVisError, match="subset 0"):
        subset_with_shuffled_labels(x, y, 0, False, seed=0)
