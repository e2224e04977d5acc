"""convvis_lib.widgets.explorer: selectors built from metadata; the explorer live and pre-rendered."""
from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import ipywidgets as widgets  # noqa: E402
import pytest  # noqa: E402

import convvis_lib as cv  # noqa: E402
from convvis_lib import widgets as cw  # noqa: E402
from convvis_lib.errors import ConvVisError  # noqa: E402


def test_dropdowns_come_from_metadata(fashion):
    _, info = fashion
    layer = cw.layer_dropdown(info)
    assert list(layer.options) == info.layer_names
    cls = cw.class_dropdown(info, "운동화")
    assert cls.value == 7 and cls.options[7] == ("7: 운동화", 7)
    names = [f"class{i}" for i in range(3)]
    imagenet = dataclasses.replace(info, name="toy", dataset="imagenet", class_names=tuple(names),
                                   class_names_ko=("고양이", "class1", "개"))
    assert [lb for lb, _ in cw.class_dropdown(imagenet).options] == ["0: 고양이 (class0)", "1: class1", "2: 개 (class2)"]
    with pytest.raises(ConvVisError, match="conv1"):
        cw.layer_dropdown(info, ["conv1", "conv7"])


def test_method_dropdown_shows_korean_names_and_yields_keys():
    dd = cw.method_dropdown(["saliency", "guided_backprop", "gradcam"], value="gradcam")
    assert list(dd.options) == [("세일리언시 맵", "saliency"), ("가이디드 역전파", "guided_backprop"),
                                ("Grad-CAM", "gradcam")]
    assert dd.value == "gradcam" and dd.description == "방법"
    assert cw.method_dropdown(["deconvnet"]).value == "deconvnet"
    with pytest.raises(ConvVisError, match=r"unknown method\(s\) \['guided'\]; allowed: \['saliency'"):
        cw.method_dropdown(["saliency", "guided"])


def test_image_dropdown_names_images_and_yields_their_index():
    names = ["고양이", "커피", "오토바이"]
    dd = cw.image_dropdown(names, [2, 0], description="이미지")
    assert list(dd.options) == [("오토바이", 2), ("고양이", 0)] and dd.value == 2 and dd.description == "이미지"
    assert list(cw.image_dropdown(names, value=1).options) == [("고양이", 0), ("커피", 1), ("오토바이", 2)]
    with pytest.raises(ConvVisError, match=r"image index 3 out of range; allowed: 0..2"):
        cw.image_dropdown(names, [0, 3])


def test_live_explore_calls_render_with_current_values(fashion, monkeypatch):
    monkeypatch.delenv("CONVVIS_STATIC", raising=False)
    _, info = fashion
    calls = []
    box = cw.explore(lambda layer, cls: calls.append((layer, cls)),
                     layer=cw.layer_dropdown(info, ["conv1", "conv2"]), cls=cw.class_dropdown(info))
    assert isinstance(box, widgets.VBox) and calls[-1] == ("conv1", 0)
    box.children[0].children[1].value = 4
    assert calls[-1] == ("conv1", 4)


def test_static_explore_prerenders_every_combination(fashion, monkeypatch):
    monkeypatch.setenv("CONVVIS_STATIC", "1")
    _, info = fashion
    seen = []

    def render(layer, cls):
        seen.append((layer, cls))
        fig, ax = plt.subplots(figsize=(1, 1))
        ax.set_title(f"{layer}-{cls}")
        print("값", layer, cls)

    tree = cw.explore(render, layer=cw.layer_dropdown(info, ["conv1", "conv2"]),
                      cls=cw.class_dropdown(info, classes=[0, 1, 2]))
    assert sorted(seen) == sorted((layer, c) for layer in ("conv1", "conv2") for c in (0, 1, 2))
    picker, stack = tree.children
    assert isinstance(stack, widgets.Stack) and len(stack.children) == 2
    inner_picker, inner_stack = stack.children[1].children
    leaf = inner_stack.children[2]
    assert "값 conv2 2" in leaf.value and "data:image/png;base64," in leaf.value
    assert plt.get_fignums() == []  # figures closed after rendering


def _dropdowns(widget) -> list[widgets.Dropdown]:
    if isinstance(widget, widgets.Dropdown):
        return [widget]
    return [d for child in getattr(widget, "children", ()) for d in _dropdowns(child)]


def test_static_fixed_and_limits(fashion, monkeypatch):
    monkeypatch.setenv("CONVVIS_STATIC", "1")
    _, info = fashion
    seen = []
    tree = cw.explore(lambda cls, nth: seen.append((cls, nth)), static_fixed=["nth"],
                      cls=cw.class_dropdown(info), nth=cw.choice([("첫째", 0), ("둘째", 1)], value=1,
                                                                 description="이미지 번호"))
    assert len(seen) == 10 and {n for _, n in seen} == {1}
    # the pinned control is no dropdown; a note above the view names its value
    assert [len(d.options) for d in _dropdowns(tree)] == [10]
    note = tree.children[0]
    assert isinstance(note, widgets.HTML) and "이미지 번호 ‘둘째’" in note.value
    only = cw.explore(lambda a: seen.append(a), a=cw.choice([("하나뿐", 7)], description="값"))
    assert seen[-1] == 7 and _dropdowns(only) == [] and "값 ‘하나뿐’" in only.children[0].value
    with pytest.raises(ConvVisError, match="too many"):
        cw.explore(lambda a, b: None, a=cw.choice(list(range(10))), b=cw.choice(list(range(10))))
    with pytest.raises(ConvVisError, match="unknown controls"):
        cw.explore(lambda a: None, static_fixed=["b"], a=cw.choice([1]))


def test_image_picker_maps_class_and_position(fashion, sample):
    _, info = fashion
    ex = cv.examples_for(info)
    picker = cw.ImagePicker(info, ex, per_class=3)
    assert set(picker.controls) == {"cls", "nth"}
    idx = picker.index(cls=7, nth=2)
    assert ex.labels[idx] == 7 and idx == ex.of_class(7)[2]
    assert len(cw.combinations(**picker.controls)) == 30


def test_live_view_is_html_not_output_and_errors_are_shown(fashion, monkeypatch):
    monkeypatch.delenv("CONVVIS_STATIC", raising=False)
    _, info = fashion

    def render(cls):
        if cls == 3:
            raise ValueError("no dresses today")
        plt.subplots(figsize=(1, 1))
        print("클래스", cls)

    box = cw.explore(render, cls=cw.class_dropdown(info))
    view = box.children[1]
    assert isinstance(view, widgets.HTML) and "클래스 0" in view.value and "image/png" in view.value
    box.children[0].children[0].value = 3
    assert "no dresses today" in view.value
    box.children[0].children[0].value = 5
    assert "클래스 5" in view.value
    assert plt.get_fignums() == []
    with pytest.raises(ValueError, match="no dresses"):
        cw.explore(render, cls=cw.class_dropdown(info, 3))  # the first render raises, so nbval sees it


def test_live_explore_reuses_a_revisited_view(fashion, monkeypatch):
    monkeypatch.delenv("CONVVIS_STATIC", raising=False)
    _, info = fashion
    calls = []

    def render(cls):
        calls.append(cls)
        print("클래스", cls)

    box = cw.explore(render, cls=cw.class_dropdown(info))
    dd, view = box.children[0].children[0], box.children[1]
    dd.value = 4
    dd.value = 0
    assert calls == [0, 4] and "클래스 0" in view.value  # the first view came back without a render
    uncached = cw.explore(render, cache_views=0, cls=cw.class_dropdown(info))
    uncached.children[0].children[0].value = 4
    uncached.children[0].children[0].value = 0
    assert calls[2:] == [0, 4, 0]


def test_view_cache_drops_the_least_recently_used():
    cache = cw.ViewCache(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"
    cache.put("c", "C")
    assert cache.get("b") is None and cache.get("a") == "A" and cache.get("c") == "C"
    off = cw.ViewCache(0)
    off.put("a", "A")
    assert off.get("a") is None
