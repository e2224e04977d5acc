"""Model registry: names, metadata, weights, offline behaviour."""
from __future__ import annotations

import time

import pytest
import torch

import convvis_lib as cv
from convvis_lib.errors import ConvVisError, WeightsUnavailableError


def test_fashionnet_loads_in_eval_mode_with_named_layers(fashion):
    model, info = fashion
    assert not model.training
    assert info.layer_names == ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "fc1", "fc2"]
    assert info.num_classes == 10 and info.class_names_ko[0] == "티셔츠/탑"
    modules = dict(model.named_modules())
    assert all(path in modules for path in info.layers.values())
    assert all(isinstance(m, torch.nn.ReLU) and not m.inplace for m in model.modules() if isinstance(m, torch.nn.ReLU))
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) >= 3
    assert sum(isinstance(m, torch.nn.Linear) for m in model.modules()) >= 2


def test_shipped_weights_classify_the_sample_accurately(fashion, sample):
    model, info = fashion
    x = cv.preprocess(info, sample.images)
    with torch.no_grad():
        pred = model(x).argmax(1).numpy()
    acc = (pred == sample.labels).mean()
    assert 0.90 <= acc <= 0.96, acc  # 92.6% on the full test set


def test_weights_file_is_small_safetensors():
    from convvis_lib.models import fashionnet_weights_path
    path = fashionnet_weights_path()
    assert path.suffix == ".safetensors" and path.stat().st_size <= 8e6


def test_unknown_model_lists_valid_names():
    with pytest.raises(ConvVisError) as err:
        cv.load_model("lenet")
    msg = str(err.value)
    assert "'lenet'" in msg and all(n in msg for n in ("fashionnet", "alexnet", "vgg16", "resnet18"))


@pytest.mark.parametrize("name", ["alexnet", "resnet18"])
def test_imagenet_offline_is_quick_and_clear(name, monkeypatch):
    monkeypatch.setenv("CONVVIS_OFFLINE", "1")
    monkeypatch.setattr(cv.models, "imagenet_weights_cached", lambda w: None)
    import torchvision.models  # noqa: F401  (the import takes seconds on a busy machine; the test times the probe)
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailableError, match="unreachable"):
        cv.load_model(name)
    assert time.perf_counter() - start < 5.0


def test_can_reach_is_bounded_and_true_for_a_local_server():
    import socket
    from convvis_lib.net import can_reach
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        assert can_reach(f"http://127.0.0.1:{port}/", timeout=2.0)
    finally:
        server.close()
    start = time.perf_counter()
    assert not can_reach(f"http://127.0.0.1:{port}/", timeout=2.0)
    assert time.perf_counter() - start < 2.5


def test_random_fallback_and_imagenet_metadata(monkeypatch):
    monkeypatch.setenv("CONVVIS_OFFLINE", "1")
    monkeypatch.setattr(cv.models, "imagenet_weights_cached", lambda w: None)
    with pytest.warns(UserWarning, match="random weights"):
        model, info = cv.load_model("alexnet", allow_random=True)
    assert info.pretrained is False and info.num_classes == 1000
    assert info.class_names[0] == "tench" and info.input_size == (3, 224, 224)
    assert info.class_names_ko == cv.models.imagenet_classes_ko() and info.label(285) == "이집트 고양이"
    assert not any(m.inplace for m in model.modules() if isinstance(m, torch.nn.ReLU))
    modules = dict(model.named_modules())
    assert isinstance(modules[info.weights["conv1"]], torch.nn.Conv2d)
    assert isinstance(modules[info.layers["conv5"]], torch.nn.ReLU)


def test_fallback_prints_korean_message_and_uses_fashionnet(monkeypatch, capsys):
    monkeypatch.setenv("CONVVIS_OFFLINE", "1")
    monkeypatch.setattr(cv.models, "imagenet_weights_cached", lambda w: None)
    _, info = cv.load_model_or_fallback("vgg16")
    assert info.name == "fashionnet"
    out = capsys.readouterr().out
    assert "가중치" in out and "주의" in out
    assert all(ord(ch) < 0x2600 or 0xAC00 <= ord(ch) <= 0xD7A3 for ch in out)  # no emoji or symbols, Hangul is fine


def test_class_index_accepts_index_english_korean(fashion):
    _, info = fashion
    assert info.class_index(3) == 3
    assert info.class_index("Sneaker") == 7
    assert info.class_index("운동화") == 7
    assert info.class_index(torch.tensor(9)) == 9
    with pytest.raises(ConvVisError, match="0..9"):
        info.class_index(10)
    with pytest.raises(ConvVisError, match="운동화"):
        info.class_index("sneakers")


def test_get_module_unknown_layer_lists_layers(fashion):
    model, info = fashion
    assert isinstance(cv.get_module(model, info, "conv2"), torch.nn.ReLU)
    assert isinstance(cv.get_module(model, info, "conv2", kind="weights"), torch.nn.Conv2d)
    with pytest.raises(ConvVisError) as err:
        cv.get_module(model, info, "conv9")
    assert "'conv9'" in str(err.value) and "'fc1'" in str(err.value)


def test_korean_imagenet_names_come_from_the_shipped_table():
    import csv
    from convvis_lib.models import imagenet_classes, imagenet_classes_ko, imagenet_classes_ko_path
    with open(imagenet_classes_ko_path(), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert [int(r[0]) for r in rows] == list(range(1000)) and [r[1] for r in rows] == list(imagenet_classes())
    ko = imagenet_classes_ko()
    assert ko == tuple(r[2] for r in rows) and len(set(ko)) == 1000
    assert ko[967] == "에스프레소" and ko[285] == "이집트 고양이"


def test_lite0_info_gives_korean_labels_and_takes_either_name():
    from convvis_lib.models import _imagenet_info, _lite0_layout, LITE0_MEAN, LITE0_STD
    info = _imagenet_info("efficientnet_lite0", _lite0_layout, LITE0_MEAN, LITE0_STD, True)
    assert info.label(967) == "에스프레소" and info.class_names[967] == "espresso"
    assert info.class_index("에스프레소") == info.class_index("espresso") == 967
    with pytest.raises(ConvVisError, match="close names: 'espresso'.*0..999"):
        info.class_index("expresso")
    with pytest.raises(ConvVisError, match="'에스프레소'"):
        info.class_index("에스프래소")


@pytest.mark.parametrize("bad, message", [
    ("", "exactly 1000"),  # the good table without its last line
    ("0\ttench\t\n", "line 1"),
    ("1\tgoldfish\t금붕어\n", "line 1"),
    ("0\t\t텐치\n", "line 1"),
    ("0\ttench\t텐치\textra\n", "line 1"),
])
def test_a_malformed_korean_table_is_refused(tmp_path, monkeypatch, bad, message):
    from convvis_lib import models
    english = models.imagenet_classes()
    good = "".join(f"{i}\t{n}\t이름{i}\n" for i, n in enumerate(english))
    table = tmp_path / "ko.tsv"
    lines = good.splitlines(keepends=True)
    table.write_text("".join(lines[:-1]) if not bad else bad + "".join(lines[1:]), encoding="utf-8")
    monkeypatch.setattr(models, "imagenet_classes_ko_path", lambda: table)
    models.imagenet_classes_ko.cache_clear()
    try:
        with pytest.raises(ConvVisError, match=message):
            models.imagenet_classes_ko()
        table.write_text(good, encoding="utf-8")
        models.imagenet_classes_ko.cache_clear()
        assert models.imagenet_classes_ko()[999] == "이름999"
        table.unlink()
        models.imagenet_classes_ko.cache_clear()
        with pytest.raises(ConvVisError, match="missing"):
            models.imagenet_classes_ko()
    finally:
        models.imagenet_classes_ko.cache_clear()


@pytest.mark.parametrize("name", ["fashionnet", "efficientnet_lite0"])
def test_loaded_models_store_conv_weights_channels_last_and_predict_as_nchw(name):
    model, info = cv.load_model(name)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    nchw, _ = cv.load_model(name)
    nchw = nchw.to(memory_format=torch.contiguous_format)
    x = torch.randn(2, *info.input_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(x), nchw(x), rtol=1e-4, atol=1e-4)
