"""Streaming top-k of unit activations, directions, and receptive-field boxes."""
import dataclasses
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

import convvis_lib as cv
from convvis_lib import maxact
from convvis_lib.hooks import count_hooks
from convvis_lib.models import ModelInfo


def _info(layers: dict, size=(1, 16, 16)) -> ModelInfo:
    return ModelInfo("toy", "toy", ("a", "b"), ("가", "나"), size, (0.0,), (1.0,), layers, {})


@pytest.fixture(scope="module")
def detector():
    """One conv unit that fires on a 'plus' shape: +1 on the plus, -1 on the corners, no padding."""
    conv = nn.Conv2d(1, 1, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[-1.0, 1, -1], [1, 1, 1], [-1, 1, -1]]).view(1, 1, 3, 3))
    net = nn.Sequential(OrderedDict(conv=conv, relu=nn.ReLU()))
    return net.eval(), _info({"plus": "relu"})


def _plus(x: torch.Tensor, image: int, row: int, col: int, value: float) -> None:
    x[image, 0, row, col - 1:col + 2] = value
    x[image, 0, row - 1:row + 2, col] = value


def test_running_top_k_by_hand():
    run = maxact.RunningTopK(3)
    run.update(torch.tensor([[3.0], [1.0], [4.0]]), torch.tensor([0, 1, 2]), torch.zeros(3, 1, dtype=torch.long))
    run.update(torch.tensor([[1.0], [5.0], [9.0], [4.0]]), torch.tensor([3, 4, 5, 6]),
               torch.arange(4).view(4, 1))
    assert run.scores.tolist() == [[9.0, 5.0, 4.0]]
    assert run.ids.tolist() == [[5, 4, 2]]  # the tie 4.0 goes to the earlier image (2, not 6)
    assert run.where.tolist() == [[2, 1, 0]]


def test_top_k_finds_planted_pattern(detector):
    model, info = detector
    x = torch.zeros(12, 1, 16, 16)
    _plus(x, 7, 5, 9, 1.0)   # a full plus: score 5 at the window whose top-left is (4, 8)
    _plus(x, 3, 10, 3, 0.5)  # a faint plus: score 2.5 at (9, 2)
    top = maxact.top_k(model, info, x, "plus", k=3, batch_size=4)  # three streamed batches
    assert top.indices[0].tolist() == [7, 3, 0]  # the rest all score 0: earliest image first
    np.testing.assert_allclose(top.scores[0], [5.0, 2.5, 0.0])
    assert top.positions[0, :2].tolist() == [[4, 8], [9, 2]]
    assert top.map_size == (14, 14)
    # the receptive field (3x3, stride 1, no offset) covers exactly the planted plus
    assert maxact.top_boxes(model, info, top, 0)[:2] == [(4, 8, 6, 10), (9, 2, 11, 4)]


@pytest.fixture(scope="module")
def brightness():
    """FC units: unit 0 sums the pixels, unit 1 is minus the sum."""
    fc = nn.Linear(256, 2, bias=False)
    with torch.no_grad():
        fc.weight.copy_(torch.stack([torch.ones(256), -torch.ones(256)]))
    net = nn.Sequential(OrderedDict(flat=nn.Flatten(), fc=fc))
    levels = torch.tensor([0.2, 0.9, 0.1, 0.5, 0.7])
    x = levels.view(5, 1, 1, 1).expand(5, 1, 16, 16).clone()
    return net.eval(), _info({"fc": "fc"}), x


def test_fc_units_and_directions(brightness):
    model, info, x = brightness
    top = maxact.top_k(model, info, x, "fc", k=2, batch_size=2)
    assert top.indices.tolist() == [[1, 4], [2, 0]]  # brightest for unit 0, darkest for unit 1
    np.testing.assert_allclose(top.scores, [[230.4, 179.2], [-25.6, -51.2]], rtol=1e-6)
    assert (top.positions == -1).all() and top.map_size is None
    # direction (0.6, 0.8): 0.6 * 256c - 0.8 * 256c = -51.2c, so the darkest image wins
    d = torch.tensor([[0.6, 0.8]])
    dtop = maxact.top_k(model, info, x, "fc", k=1, directions={"fc": d})
    assert dtop.indices.tolist() == [[2]]
    np.testing.assert_allclose(dtop.scores, [[-5.12]], rtol=1e-5)


@pytest.fixture(scope="module")
def labelled(labelled_batch):
    return labelled_batch(300)


def test_streaming_equals_brute_force(labelled):
    model, info, x, _ = labelled
    tops = maxact.top_k(model, info, x, ["conv2", "fc1"], k=5, batch_size=64)
    acts = cv.get_activations(model, info, x, ["conv2", "fc1"], batch_size=64)
    for layer, act in acts.items():
        flat = act.flatten(2) if act.ndim == 4 else act[..., None]
        best, where = flat.max(dim=2)
        order = np.argsort(-best.numpy(), axis=0, kind="stable")[:5].T
        assert np.array_equal(tops[layer].indices, order)
        np.testing.assert_array_equal(tops[layer].scores, np.take_along_axis(best.numpy().T, order, 1))
        if act.ndim == 4:
            w = np.take_along_axis(where.numpy().T, order, 1)
            assert np.array_equal(tops[layer].positions[..., 0] * act.shape[3] + tops[layer].positions[..., 1], w)


def test_one_hot_directions_equal_units(labelled):
    model, info, x, _ = labelled
    units = maxact.top_k(model, info, x, "conv3", k=4)
    eye = torch.eye(128)[[5, 17]]
    dirs = maxact.top_k(model, info, x, "conv3", k=4, directions={"conv3": eye})
    assert np.array_equal(dirs.indices, units.indices[[5, 17]])
    assert np.array_equal(dirs.positions, units.positions[[5, 17]])


def test_image_batches_keep_dataset_indices(labelled):
    model, info, x, labels = labelled
    data = cv.load_sample()
    wanted = np.flatnonzero(labels == 8)  # bags only
    top = maxact.top_k(model, info, maxact.image_batches(info, data.images, wanted, batch_size=7), "fc1", k=3)
    assert set(top.indices.ravel()) <= set(wanted)
    ref = maxact.top_k(model, info, maxact.tensor_batches(x[wanted], wanted), "fc1", k=3)
    assert np.array_equal(top.indices, ref.indices)


def test_random_directions_and_purity():
    d = maxact.random_directions(64, 5, seed=3)
    assert d.shape == (5, 64)
    np.testing.assert_allclose(d.norm(dim=1).numpy(), np.ones(5), rtol=1e-6)
    assert torch.equal(d, maxact.random_directions(64, 5, seed=3))
    assert not torch.equal(d, maxact.random_directions(64, 5, seed=4))
    labels = np.array([0, 1, 1, 2, 2, 2])
    purity = maxact.class_purity(labels, np.array([[0, 1, 2], [3, 4, 5], [1, 3, 5]]))
    np.testing.assert_allclose(purity, [2 / 3, 1.0, 2 / 3])


def test_hooks_removed_and_mode_restored_on_error(labelled):
    model, info, x, _ = labelled

    def broken():
        yield x[:4], np.arange(4)
        raise RuntimeError("disk gone")

    model.train()
    try:
        with pytest.raises(RuntimeError, match="disk gone"):
            maxact.top_k(model, info, broken(), ["conv1", "fc1"])
        assert count_hooks(model) == 0 and model.training and model.drop1.training
    finally:
        model.eval()


def test_bad_inputs(labelled):
    model, info, x, _ = labelled
    with pytest.raises(cv.ConvVisError, match="k must be a positive integer; got 0"):
        maxact.top_k(model, info, x, "conv1", k=0)
    with pytest.raises(cv.ConvVisError, match=r"unknown layer 'conv7'; allowed: 'conv1'"):
        maxact.top_k(model, info, x, "conv7")
    with pytest.raises(cv.ConvVisError, match=r"shape \(U, 128\).*\(2, 5\)"):
        maxact.top_k(model, info, x, "conv3", directions={"conv3": torch.ones(2, 5)})
    with pytest.raises(cv.ConvVisError, match="'fc1', which is not scanned"):
        maxact.top_k(model, info, x, "conv3", directions={"fc1": torch.ones(2, 256)})
    with pytest.raises(cv.ConvVisError, match="empty"):
        maxact.top_k(model, info, iter([]), "conv3")
    top = maxact.top_k(model, info, x[:10], "conv3", k=2)
    with pytest.raises(cv.ConvVisError, match=r"unit 128 out of range.*0\.\.127"):
        maxact.top_boxes(model, info, top, 128)
    assert count_hooks(model) == 0


def test_imagenet_path_random_weights():
    torch.manual_seed(0)
    model, info = cv.load_model("resnet18", pretrained=False)
    info = dataclasses.replace(info, input_size=(3, 112, 112))  # same code path, a quarter of the work
    photos = [cv.sample_photo(n) for n in ("chelsea", "coffee", "rocket")]
    top = maxact.top_k(model, info, maxact.image_batches(info, photos, batch_size=2), ["layer3", "fc"], k=2)
    conv, fc = top["layer3"], top["fc"]
    assert conv.map_size == (7, 7) and conv.scores.shape == (256, 2) and fc.scores.shape == (1000, 2)
    acts = cv.get_activations(model, info, cv.preprocess(info, photos), "layer3")["layer3"]
    best = acts[:, 9].flatten(1).max(1).values.numpy()
    np.testing.assert_allclose(conv.scores[9], np.sort(best)[::-1][:2], rtol=1e-5)
    rf = maxact.receptive_field(model, info, "layer3")
    assert maxact.top_boxes(model, info, conv, 9) == [rf.box(r, c, (112, 112)) for r, c in conv.positions[9]]
    assert maxact.layer_shape(model, info, "layer3") == (256, 7, 7)
    assert maxact.layer_shape(model, info, "fc") == (1000,)


def test_spread_layers():
    _, info = cv.load_model("fashionnet", pretrained=False)
    assert maxact.spread_layers(info) == ["conv1", "conv2", "conv3", "fc1"]
    assert maxact.spread_layers(info, 2) == ["conv1", "fc1"]
    with torch.device("meta"):
        _, alex = cv.load_model("alexnet", pretrained=False)
    assert maxact.spread_layers(alex) == ["conv1", "pool2", "conv5", "fc7"]
