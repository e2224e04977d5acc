"""Reliability across the public API (issue 6).

* A bad-input battery: every case must raise ONE clear exception (a ``ConvVisError`` or one of the
  documented ``*UnavailableError``) whose message names the bad value and what is allowed -- or, where
  the input is legitimate after all (an RGBA photo, k larger than the data set, ...), handle it
  correctly. After every case no hook may be left on any model, every module keeps the train/eval
  mode it had, ReLU ``inplace`` flags are unchanged and no parameter got a ``.grad``.
* Offline behaviour: with the network black-holed (connections hang), every path that could download
  answers within 5 s with a clear message and its documented fallback.
* Leaks: 1 000 live widget redraws and 1 000 failing calls leave 0 hooks and flat memory.

A case with ``bug="..."`` is a known gap, run as ``xfail(strict=True)`` with the proposed fix as its
reason (so it turns into a failure once fixed, and the mark is removed). None is open now.
"""
from __future__ import annotations

import gc
import os
import socket
import sys
import time
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import ipywidgets
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

import convvis_lib as cv
from convvis_lib import (activations, adversarial, attributes, correspondence, embedding, explain, faithfulness,
                         gradcam, gradients, inversion, maxact, occlusion, receptive_field)
from convvis_lib import widgets as cw
from convvis_lib.errors import ConvVisError, DataUnavailableError, WeightsUnavailableError
from convvis_lib.hooks import count_hooks
from convvis_lib.imageio import load_image

CLEAR_ERRORS = (ConvVisError, WeightsUnavailableError, DataUnavailableError)


# ----------------------------------------------------------------------------- fixtures

class FunctionalReLUNet(nn.Module):
    """A tiny model that applies ReLU as a function: guided backprop / DeconvNet cannot hook it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 28 * 28, 10)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x)).flatten(1))


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One intra-op thread: tiny fashionnet batches are faster so, and timings do not suffer on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """Private models (not the shared session fixture: these get switched to train mode) and inputs."""
    torch.manual_seed(0)
    fm, finfo = cv.load_model("fashionnet")
    am, ainfo = cv.load_model("alexnet", pretrained=False)
    rm, rinfo = cv.load_model("resnet18", pretrained=False)
    sample = cv.load_sample()
    x = cv.preprocess(finfo, sample.images[:4])
    files = tmp_path_factory.mktemp("images")
    rgba = np.zeros((40, 50, 4), dtype=np.uint8)
    rgba[..., 1], rgba[..., 3] = 200, 255
    rgba[:20, :, 3] = 0
    Image.fromarray(rgba, "RGBA").save(files / "rgba.png")
    Image.fromarray(np.full((30, 30), 1000 * 65, dtype=np.uint16)).save(files / "sixteen.png")
    Image.fromarray(np.arange(900, dtype=np.uint8).reshape(30, 30)).save(files / "grey.png")
    Image.new("RGB", (640, 480), (90, 30, 200)).save(files / "huge.jpg")
    (files / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(300))
    return SimpleNamespace(fm=fm, finfo=finfo, am=am, ainfo=ainfo, rm=rm, rinfo=rinfo, x=x, x1=x[:1],
                           labels=sample.labels[:4], files=files, func=FunctionalReLUNet(),
                           ax=torch.randn(1, 3, 224, 224), rx=torch.randn(1, 3, 64, 64))


def _models(c) -> list[nn.Module]:
    return [c.fm, c.am, c.rm, c.func]


@dataclass
class Snapshot:
    modes: list[list[bool]] = field(default_factory=list)
    inplace: list[list[bool]] = field(default_factory=list)


def _snapshot(models: list[nn.Module]) -> Snapshot:
    return Snapshot([[m.training for m in model.modules()] for model in models],
                    [[m.inplace for m in model.modules() if isinstance(m, nn.ReLU)] for model in models])


def _assert_clean(models: list[nn.Module], before: Snapshot) -> None:
    after = _snapshot(models)
    assert [count_hooks(m) for m in models] == [0] * len(models), "a hook was left registered"
    assert after.modes == before.modes, "a module's train/eval mode was not restored"
    assert after.inplace == before.inplace, "a ReLU's inplace flag was not restored"
    assert all(p.grad is None for m in models for p in m.parameters()), "a parameter got a .grad"


@pytest.fixture()
def guarded(ctx):
    """Models in TRAIN mode (so a forgotten eval() shows); afterwards check nothing leaked."""
    for m in _models(ctx):
        m.train()
    before = _snapshot(_models(ctx))
    yield ctx
    _assert_clean(_models(ctx), before)
    for m in _models(ctx):
        m.eval()


# ----------------------------------------------------------------------------- the battery

@dataclass(frozen=True)
class Bad:
    """``call(ctx)`` must raise a clear error whose message contains every string in ``says``."""

    id: str
    call: Callable
    says: tuple[str, ...]
    bug: str | None = None  # proposed fix, for a known gap (xfail strict)


BAD = [
    # unknown model / layer / class / method
    Bad("unknown-model", lambda c: cv.load_model("resnet50"), ("'resnet50'", "allowed", "'fashionnet'", "'alexnet'")),
    Bad("model-not-a-name", lambda c: cv.load_model(None), ("None", "allowed", "'vgg16'")),
    Bad("unknown-layer-activations", lambda c: cv.get_activations(c.fm, c.finfo, c.x, "conv9"),
        ("'conv9'", "allowed", "'conv1'", "'fc2'")),
    Bad("unknown-layer-imagenet", lambda c: cv.get_activations(c.am, c.ainfo, c.ax, "conv1_1"),
        ("'conv1_1'", "allowed", "'conv5'", "'fc8'")),
    Bad("unknown-layer-capture", lambda c: cv.capture_activations(c.rm, c.rinfo, ["layer1", "layer9"]).__enter__(),
        ("'layer9'", "allowed", "'layer4'")),
    Bad("unknown-layer-occlusion", lambda c: occlusion.occlusion_feature_drop(c.fm, c.finfo, c.x1, "conv7"),
        ("'conv7'", "allowed", "'conv3'")),
    Bad("unknown-layer-unit-target", lambda c: gradients.input_gradient(c.fm, c.finfo, c.x1, ("fc9", 0)),
        ("'fc9'", "allowed", "'fc1'")),
    Bad("unknown-layer-inversion", lambda c: inversion.invert(c.fm, c.finfo, c.x1, "conv0", steps=2),
        ("'conv0'", "allowed", "'conv1'")),
    Bad("unknown-layer-receptive-field", lambda c: receptive_field.receptive_field(c.am, c.ainfo, "conv6"),
        ("'conv6'", "allowed", "'conv5'")),
    Bad("layer-without-weights", lambda c: activations.filter_weights(c.fm, c.finfo, "pool1"),
        ("'pool1'", "'conv1'", "'fc2'")),
    Bad("gradcam-on-fc-layer", lambda c: gradcam.grad_cam(c.fm, c.finfo, c.x1, 0, "fc1"),
        ("'fc1'", "allowed", "'conv3'")),
    Bad("unknown-class-name", lambda c: gradients.saliency(c.fm, c.finfo, c.x1, "고양이"),
        ("'고양이'", "allowed", "'운동화'")),
    Bad("class-index-too-large", lambda c: c.finfo.class_index(10), ("10", "allowed", "0..9")),
    Bad("class-index-negative", lambda c: occlusion.occlusion_map(c.fm, c.finfo, c.x1, -1), ("-1", "allowed")),
    Bad("class-index-imagenet", lambda c: gradients.saliency(c.rm, c.rinfo, c.rx, 1000), ("1000", "0..999")),
    Bad("unit-out-of-range", lambda c: gradients.input_gradient(c.fm, c.finfo, c.x1, ("conv1", 32)),
        ("32", "'conv1'", "0..31")),
    Bad("targets-per-image-mismatch", lambda c: gradients.saliency(c.fm, c.finfo, c.x, [0, 1]),
        ("2 class targets", "batch of 4", "allowed")),
    Bad("unknown-rule", lambda c: gradients.input_gradient(c.fm, c.finfo, c.x1, 0, rule="smoothgrad"),
        ("'smoothgrad'", "allowed", "'guided_backprop'")),
    Bad("unknown-method", lambda c: explain.explanation(c.fm, c.finfo, c.x1, 0, method="lime"),
        ("'lime'", "allowed", "'gradcam'")),
    Bad("unknown-attribute", lambda c: attributes.get_attribute("sharpness"), ("'sharpness'", "allowed", "'rotation'")),
    Bad("unknown-loss", lambda c: adversarial.fgsm(c.fm, c.finfo, c.x1, [0], eps=0.1, loss="hinge"),
        ("'hinge'", "allowed", "'cross_entropy'")),
    Bad("unknown-curve-mode", lambda c: faithfulness.perturbation_curve(
        c.fm, c.finfo, c.x1, torch.rand(1, 28, 28), 0, mode="sideways"), ("'sideways'", "allowed", "'deletion'")),
    Bad("unknown-split", lambda c: cv.load_fashion_mnist("validation"), ("'validation'", "allowed", "'test'")),
    Bad("unknown-photo", lambda c: cv.sample_photo("lena"), ("'lena'", "allowed", "'chelsea'")),
    Bad("unknown-dropdown-layer", lambda c: cw.layer_dropdown(c.finfo, ["conv1", "conv8"]), ("'conv8'", "allowed")),
    Bad("functional-relu-guided", lambda c: gradients.guided_backprop(c.func, None, c.x1, 0),
        ("'guided_backprop'", "torch.relu", "allowed rules for this model: 'plain'")),
    # wrong tensor shape / dtype / device
    Bad("not-a-tensor", lambda c: cv.get_activations(c.fm, c.finfo, c.x.numpy(), "conv1"),
        ("ndarray", "torch.Tensor", "preprocess")),
    Bad("3d-tensor", lambda c: gradients.saliency(c.fm, c.finfo, c.x[0], 0), ("(1, 28, 28)", "(N, C, H, W)")),
    Bad("wrong-channels-fashion", lambda c: gradients.saliency(c.fm, c.finfo, c.x.expand(-1, 3, -1, -1), 0),
        ("3", "expects 1 input channel")),
    Bad("wrong-channels-imagenet", lambda c: gradcam.grad_cam(c.am, c.ainfo, c.ax[:, :1], 0, "conv5"),
        ("1", "expects 3 input channel")),
    Bad("wrong-size-fashion", lambda c: occlusion.occlusion_map(c.fm, c.finfo, torch.zeros(1, 1, 32, 32), 0),
        ("(32, 32)", "28x28")),
    Bad("integer-dtype", lambda c: cv.get_activations(c.fm, c.finfo, (c.x * 10).to(torch.int64), "conv1"),
        ("torch.int64", "float")),
    Bad("float64-dtype", lambda c: gradients.saliency(c.fm, c.finfo, c.x1.double(), 0), ("torch.float64", "float32")),
    Bad("float16-dtype", lambda c: cv.get_activations(c.fm, c.finfo, c.x1.half(), "conv1"), ("torch.float16", "float32")),
    Bad("wrong-device", lambda c: gradients.saliency(c.fm, c.finfo, c.x1.to("meta"), 0), ("meta", "cpu")),
    Bad("imagenet-input-too-small", lambda c: cv.get_activations(c.am, c.ainfo, torch.zeros(1, 3, 32, 32), "conv1"),
        ("32", "63")),
    Bad("batch-for-single-image-op", lambda c: occlusion.occlusion_map(c.fm, c.finfo, c.x, 0), ("batch of 4", "x[i:i+1]")),
    # NaN / Inf
    Bad("nan-input", lambda c: gradients.saliency(c.fm, c.finfo, c.x1 * float("nan"), 0), ("NaN",)),
    Bad("inf-input", lambda c: cv.get_activations(c.am, c.ainfo, c.ax.clone().index_fill_(3, torch.tensor([5]),
                                                                                           float("inf")), "conv1"),
        ("Inf",)),
    Bad("nan-image", lambda c: cv.preprocess(c.finfo, np.full((28, 28), np.nan, dtype=np.float32)), ("NaN",)),
    Bad("nan-eps", lambda c: adversarial.fgsm(c.fm, c.finfo, c.x1, [0], eps=float("nan")), ("nan", "allowed", "0 .. 1")),
    Bad("nan-codes", lambda c: embedding.pca(np.full((5, 3), np.nan)), ("NaN",)),
    Bad("nan-level", lambda c: attributes.apply_attribute(c.finfo, torch.rand(2, 1, 28, 28), "brightness",
                                                          float("nan")), ("nan", "allowed")),
    # bad images (arrays) and image files
    Bad("image-wrong-dtype", lambda c: cv.preprocess(c.finfo, np.zeros((28, 28), np.int32)), ("int32", "allowed", "uint8")),
    Bad("image-out-of-range", lambda c: cv.preprocess(c.ainfo, np.full((50, 50, 3), 2.0, np.float32)), ("[0, 1]", "2")),
    Bad("image-too-small", lambda c: cv.preprocess(c.ainfo, np.zeros((4, 4, 3), np.uint8)), ("(4, 4)", "8x8")),
    Bad("path-instead-of-image", lambda c: cv.preprocess(c.ainfo, "photo.png"), ("'photo.png'", "load_image")),
    Bad("missing-image-file", lambda c: load_image(c.files / "missing.png"), ("missing.png", "does not exist")),
    Bad("corrupt-image-file", lambda c: load_image(c.files / "corrupt.jpg"), ("corrupt.jpg", "allowed: PNG, JPEG")),
    Bad("huge-image-file", lambda c: load_image(c.files / "huge.jpg", refuse_pixels=100_000),
        ("huge.jpg", "640x480", "allowed: at most 100,000")),
    # empty data sets, k larger than the data set, patch larger than the image
    Bad("empty-image-list", lambda c: cv.preprocess(c.finfo, []), ("no images",)),
    Bad("empty-batch", lambda c: cv.get_activations(c.fm, c.finfo, c.x[:0], "conv1"), ("empty batch", "at least 1")),
    Bad("empty-top-k-data", lambda c: maxact.top_k(c.fm, c.finfo, iter([]), "conv1", k=3), ("no images",)),
    Bad("empty-codes", lambda c: embedding.pca(np.zeros((0, 5))), ("(0, 5)", "N >= 1")),
    Bad("top-k-zero", lambda c: maxact.top_k(c.fm, c.finfo, c.x, "conv1", k=0), ("k", "0")),
    Bad("neighbours-k-too-large", lambda c: embedding.loo_neighbours(np.random.rand(5, 3), k=5), ("5", "1..4")),
    Bad("nearest-k-too-large", lambda c: embedding.nearest(np.array([[0.0], [1.0], [3.0]]), 0, k=10), ("10", "1..2")),
    Bad("tsne-too-few-points", lambda c: embedding.tsne(np.random.rand(3, 4)), ("at least 4", "3")),
    Bad("patch-larger-than-image", lambda c: occlusion.occlusion_map(c.fm, c.finfo, c.x1, 0, patch=29),
        ("29", "allowed", "1..28")),
    Bad("patch-larger-than-imagenet-image", lambda c: occlusion.occlusion_map(c.am, c.ainfo, c.ax, 0, patch=300),
        ("300", "1..224")),
    Bad("stride-zero", lambda c: occlusion.occlusion_top_class(c.fm, c.finfo, c.x1, stride=0), ("0", "allowed")),
    Bad("fill-wrong-length", lambda c: occlusion.occlusion_map(c.fm, c.finfo, c.x1, 0, fill=[1.0, 2.0, 3.0]),
        ("[1.0, 2.0, 3.0]", "allowed")),
    Bad("maps-wrong-shape", lambda c: faithfulness.perturbation_curve(c.fm, c.finfo, c.x1, torch.rand(1, 20, 20), 0),
        ("(1, 20, 20)", "(1, 28, 28)")),
    Bad("labels-wrong-length", lambda c: attributes.attribute_sweep(c.fm, c.finfo, torch.rand(4, 1, 28, 28),
                                                                    np.zeros(3, int), "brightness"), ("4", "(3,)")),
    Bad("steps-zero", lambda c: gradients.class_model_visualization(c.fm, c.finfo, 0, steps=0), ("0", "1..10000")),
    Bad("examples-for-a-name", lambda c: cv.examples_for("fashionnet"), ("'fashionnet'", "ModelInfo")),
]


@pytest.mark.parametrize("case", [pytest.param(b, id=b.id, marks=[pytest.mark.xfail(strict=True, reason=b.bug)]
                                               if b.bug else []) for b in BAD])
def test_bad_input_raises_one_clear_error(guarded, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(CLEAR_ERRORS) as err:
            case.call(guarded)
    message = str(err.value)
    missing = [s for s in case.says if s not in message]
    assert not missing, f"message {message!r} lacks {missing}"


# -- inputs that look odd but are legitimate: handled correctly, with the same clean-up guarantees

def test_rgba_file_is_composited_then_preprocessed_for_imagenet(guarded):
    c = guarded
    img = load_image(c.files / "rgba.png")
    assert img[0, 0].tolist() == [255, 255, 255] and img[-1, -1].tolist() == [0, 200, 0]
    x = cv.preprocess(c.ainfo, img)
    assert tuple(x.shape) == (1, 3, 224, 224)
    assert gradcam.grad_cam(c.am, c.ainfo, x, 0, "conv5").shape == (1, 224, 224)


def test_16bit_and_grey_files_feed_fashionnet(guarded):
    c = guarded
    sixteen, grey = load_image(c.files / "sixteen.png"), load_image(c.files / "grey.png")
    assert sixteen[0, 0].tolist() == [253, 253, 253]            # 65000 / 257 = 252.9 -> 253
    assert grey[0, :3, 0].tolist() == [0, 1, 2]
    x = cv.preprocess(c.finfo, [sixteen, grey])
    assert tuple(x.shape) == (2, 1, 28, 28)
    expected = (253 / 255 - c.finfo.mean[0]) / c.finfo.std[0]
    assert torch.allclose(x[0], torch.full_like(x[0], expected), atol=1e-5)
    assert gradients.saliency(c.fm, c.finfo, x, [0, 1]).shape == (2, 28, 28)


def test_rgba_and_uint16_arrays_are_accepted_by_preprocess(ctx):
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., :3] = 51
    sixteen = np.full((28, 28), 13107, np.uint16)                # 13107 / 65535 = 0.2 = 51 / 255
    x = cv.preprocess(ctx.finfo, [rgba, sixteen])
    assert torch.allclose(x[0], x[1], atol=1e-6)


def test_huge_image_file_is_downscaled_then_preprocessed(ctx):
    with pytest.warns(UserWarning, match="downscaled"):
        img = load_image(ctx.files / "huge.jpg", max_pixels=50_000)
    assert img.shape[0] * img.shape[1] <= 50_000
    assert tuple(cv.preprocess(ctx.ainfo, img).shape) == (1, 3, 224, 224)


def test_k_larger_than_the_data_set_returns_every_image_best_first(guarded):
    c = guarded
    top = maxact.top_k(c.fm, c.finfo, c.x, "conv2", k=10)
    assert top.k == 4 and top.scores.shape == (64, 4)
    assert (np.diff(top.scores, axis=1) <= 0).all()
    assert sorted(top.indices[0].tolist()) == [0, 1, 2, 3]


def test_resnet_batchnorm_mode_is_restored_in_train_mode(guarded):
    """BatchNorm in train mode would change the answer: the library must switch to eval and back."""
    c = guarded
    with torch.no_grad():
        c.rm.eval()
        expected = c.rm(c.rx)
        c.rm.train()
    scan = occlusion.occlusion_scan(c.rm, c.rinfo, c.rx, patch=32, stride=32, progress=False)
    assert torch.allclose(scan.base_probs, expected.softmax(-1)[0], atol=1e-5)


# ----------------------------------------------------------------------------- offline behaviour

def _timed(fn):
    start = time.perf_counter()
    try:
        return fn(), None, time.perf_counter() - start
    except Exception as err:  # noqa: BLE001
        return None, err, time.perf_counter() - start


OFFLINE_CALLS = {
    "resnet18": lambda: cv.load_model("resnet18"),
    "fallback": lambda: cv.load_model_or_fallback("resnet18"),
    "random": lambda: cv.load_model("resnet18", allow_random=True),
    "dataset": lambda: cv.load_fashion_mnist("test"),
    "images": lambda: cv.fashion_images(use_full=True),
}


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """Run every path that could download once, concurrently, with the network black-holed:
    connections and DNS lookups hang, no weights are cached and no data set is installed.
    Returns ``{name: (result, error, seconds)}`` and everything they printed."""
    import contextlib
    import io
    from concurrent.futures import ThreadPoolExecutor

    from convvis_lib import data as cvdata
    from convvis_lib import net

    def hang(*_args, **_kwargs):
        time.sleep(30)
        raise OSError("unreachable")

    tmp = tmp_path_factory.mktemp("offline")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings(record=True) as caught, \
            contextlib.redirect_stdout(printed):
        warnings.simplefilter("always")
        mp.setattr(net.socket, "create_connection", hang)
        mp.setattr(socket, "getaddrinfo", hang)
        mp.delenv("CONVVIS_OFFLINE", raising=False)
        mp.setenv("TORCH_HOME", str(tmp / "torch"))
        mp.setenv("CONVVIS_DATA", str(tmp / "nodata"))
        mp.setattr(cvdata, "DEBIAN_DIR", tmp / "debian")
        mp.setattr(cvdata, "CACHE_DIR", tmp / "cache")
        with ThreadPoolExecutor(len(OFFLINE_CALLS)) as pool:
            futures = {name: pool.submit(_timed, fn) for name, fn in OFFLINE_CALLS.items()}
            results = {name: f.result() for name, f in futures.items()}
        results["vgg16"] = _timed(lambda: cv.load_model("vgg16"))  # alone: its 138 M-weight init is CPU-bound
        mp.setenv("CONVVIS_OFFLINE", "1")
        results["offline-env"] = _timed(lambda: cv.load_model("resnet18"))
    return SimpleNamespace(results=results, printed=printed.getvalue(), warnings=[str(w.message) for w in caught])


@pytest.mark.parametrize("name", ["resnet18", "vgg16"])  # VGG16: 138 M weights, must not be initialised first
def test_offline_pretrained_weights_answer_within_5s(offline, name):
    from convvis_lib.models import IMAGENET_MODELS
    import torchvision.models as tvm
    file = Path(getattr(tvm, IMAGENET_MODELS[name][1]).IMAGENET1K_V1.url).name
    _, err, secs = offline.results[name]
    assert isinstance(err, WeightsUnavailableError)
    assert file in str(err) and "unreachable" in str(err)
    assert secs < 5.0


def test_offline_fallback_to_fashionnet_within_5s(offline):
    (model, info), err, secs = offline.results["fallback"]
    assert err is None and secs < 5.0
    assert info.name == "fashionnet" and info.pretrained
    assert "'resnet18'의 사전 학습 가중치를 받을 수 없어 내장 모델 fashionnet으로 계속합니다" in offline.printed


def test_offline_random_weights_when_allowed(offline):
    (model, info), err, secs = offline.results["random"]
    assert err is None and secs < 5.0 and info.pretrained is False
    assert "resnet18: pretrained weights unavailable, using random weights" in offline.warnings


def test_offline_dataset_answers_within_5s(offline):
    _, err, secs = offline.results["dataset"]
    assert isinstance(err, DataUnavailableError)
    assert "apt-get install dataset-fashion-mnist" in str(err) and "CONVVIS_DATA" in str(err)
    assert secs < 5.0


def test_offline_dataset_falls_back_to_the_shipped_sample(offline):
    data, err, secs = offline.results["images"]
    assert err is None and secs < 6.0
    assert data.source == "shipped sample" and len(data) == 2000
    assert "using the shipped sample instead" in offline.printed


def test_offline_env_answers_at_once(offline):
    _, err, secs = offline.results["offline-env"]
    assert isinstance(err, WeightsUnavailableError) and secs < 1.0


def test_example_photos_need_no_network(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    _, info = cv.load_model("resnet18", pretrained=False)
    ex = cv.examples_for(info)
    assert len(ex) == 9 and all(img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 for img in ex.images)


# ----------------------------------------------------------------------------- leaks

def _rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20


@pytest.fixture()
def inline_backend():
    """The backend a live Jupyter kernel uses: plt.show() displays the figures and closes them."""
    import matplotlib
    import matplotlib.pyplot as plt
    old = matplotlib.get_backend()
    plt.switch_backend("module://matplotlib_inline.backend_inline")
    yield
    plt.close("all")
    plt.switch_backend(old)


def test_1000_widget_redraws_leave_no_hooks_and_flat_memory(ctx, inline_backend, monkeypatch, capsys):
    """Drive a live explorer as a user would: each dropdown change re-runs render + plt.show()."""
    import matplotlib.pyplot as plt
    monkeypatch.delenv("CONVVIS_STATIC", raising=False)
    model, info, x = ctx.fm, ctx.finfo, ctx.x[:1]
    model.eval()

    renders = []

    def render(layer: str, cls: int) -> None:
        renders.append((layer, cls))
        act = cv.get_activations(model, info, x, layer)[layer][0]               # forward hooks
        sal = gradients.saliency(model, info, x, cls)[0]                        # autograd
        fig = plt.figure(figsize=(1, 1), dpi=28)                              # a new figure per redraw,
        fig.figimage(act.flatten(1)[:8].numpy() if act.ndim > 1 else act[None].numpy())  # drawn without
        fig.figimage(sal.numpy(), xo=0, yo=0, alpha=0.5)                       # axes (1 ms, not 25)

    layer_dd = cw.layer_dropdown(info, ["conv1", "conv3", "fc1"])
    cls_dd = cw.class_dropdown(info, classes=[0, 5, 9])
    box = cw.explore(render, cache_views=0, layer=layer_dd, cls=cls_dd)  # no reused views: 1 000 real renders
    rss, objects = [], []
    try:
        for i in range(1000):
            if i % 2:
                layer_dd.index = (layer_dd.index + 1) % 3
            else:
                cls_dd.index = (cls_dd.index + 1) % 3
            if i in (199, 999):
                gc.collect()
                rss.append(_rss_mb())
                objects.append(len(gc.get_objects()))
    finally:
        capsys.readouterr()
    assert len(renders) == 1001  # the first view + one per change
    assert count_hooks(model) == 0 and not model.training
    assert plt.get_fignums() == []
    assert objects[1] - objects[0] < 200, f"{objects[1] - objects[0]} more live Python objects after 800 redraws"
    assert rss[1] - rss[0] < 40.0, f"RSS grew {rss[1] - rss[0]:.1f} MiB over 800 redraws"
    assert isinstance(box, ipywidgets.VBox)


FAILING_CALLS = [
    # each fails only after hooks were registered or a forward pass ran
    lambda c: gradients.input_gradient(c.fm, c.finfo, c.x1, ("conv2", 999)),
    lambda c: gradients.guided_backprop(c.func, None, c.x1, 0),
    lambda c: gradcam.grad_cam(c.fm, c.finfo, c.x1, 0, "fc1"),
    lambda c: gradients.deconvnet(c.fm, c.finfo, c.x1, 12),
    lambda c: cv.get_activations(c.fm, c.finfo, c.x1, ["conv1", "nope"]),
    lambda c: explain.explanation(c.fm, c.finfo, c.x1, 11, method="saliency"),
]


def test_1000_failing_calls_leave_no_hooks_and_flat_memory(guarded):
    c = guarded
    rss, objects = [], []
    for i in range(1000):
        with pytest.raises(ConvVisError):
            FAILING_CALLS[i % len(FAILING_CALLS)](c)
        if i in (199, 999):
            gc.collect()
            rss.append(_rss_mb())
            objects.append(len(gc.get_objects()))
    assert count_hooks(c.fm) == 0 and count_hooks(c.func) == 0
    assert all(m.training for m in c.fm.modules())
    assert objects[1] - objects[0] < 200, f"{objects[1] - objects[0]} more live Python objects after 800 failing calls"
    assert rss[1] - rss[0] < 30.0, f"RSS grew {rss[1] - rss[0]:.1f} MiB over 800 failing calls"


# ----------------------------------------------------------------------------- scripts and caches

class _CallsRelu(nn.Module):
    """Not an nn.ReLU: applies ``torch.relu`` as a function, which no rule hook can reach."""

    def forward(self, x):
        return torch.relu(x)


def test_functional_relu_check_is_not_cached_per_model(ctx):
    """guided/DeconvNet look for functional ReLU calls on every call: a model that passed once and then
    swaps an nn.ReLU for a functional one is refused (issue 11: a per-model cache used to skip the check)."""
    import copy
    model, info, x = copy.deepcopy(ctx.fm), ctx.finfo, ctx.x1
    first = gradients.guided_backprop(model, info, x, 3)
    assert torch.equal(gradients.guided_backprop(model, info, x, 3), first)
    relu2, model.relu2 = model.relu2, _CallsRelu()
    for rule in ("guided_backprop", "deconvnet", "guided_backprop"):
        with pytest.raises(ConvVisError, match=r"applied ReLU as a function .*here: relu\) 1 time\(s\)"):
            gradients.input_gradient(model, info, x, 3, rule)
    model.relu2 = relu2
    assert torch.equal(gradients.guided_backprop(model, info, x, 3), first)
    assert count_hooks(model) == 0
    assert not any(isinstance(v, weakref.WeakKeyDictionary) for v in vars(gradients).values())


def test_check_cuda_exits_0_with_a_message_without_gpu(monkeypatch, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location("check_cuda", Path(__file__).parents[1] / "scripts" / "check_cuda.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "check_cuda", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert module.main() == 0
    assert "no CUDA GPU" in capsys.readouterr().out
