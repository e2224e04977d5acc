"""convvis_lib.plot.explain: chapter 11's figures draw what they are given, fit the column and keep text readable."""
from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.text import Text

from convvis_lib import explain, plot
from convvis_lib.plot import explain as draw
from convvis_lib.sanity import SanityResult


def _texts(fig: plt.Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _check_readable(fig: plt.Figure) -> None:
    """Width within the column, every text >= 9 pt, and no two texts overlapping."""
    assert fig.get_figwidth() <= plot.MAX_FIGURE_WIDTH_IN + 1e-9
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = _texts(fig)
    assert texts and min(t.get_fontsize() for t in texts) >= plot.MIN_FONT_PT
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"


def _result(steps=("original", "fc", "conv1"), methods=("saliency", "guided_backprop", "gradcam"), n=2) -> SanityResult:
    gen = torch.Generator().manual_seed(0)
    maps = {s: {m: torch.rand(n, 8, 8, generator=gen) for m in methods} for s in steps}
    scores = {k: np.linspace(1, 0, len(steps))[:, None, None] * np.ones((len(steps), len(methods), n))
              for k in ("spearman_abs", "spearman", "ssim")}
    return SanityResult(list(steps), list(methods), torch.zeros(n, dtype=torch.long), maps, scores)


def test_every_method_has_a_korean_label():
    assert set(explain.METHODS) <= set(plot.METHOD_LABELS)
    assert draw.method_label("guided_backprop") == "가이디드 역전파" and draw.method_label("sobel") == "sobel"


def test_cascade_grid_shows_each_map_with_horizontal_row_labels():
    result = _result()
    fig = draw.draw_cascade(result, image=1, title="계단식 무작위화")
    axes = np.array(fig.axes).reshape(3, 3)
    for (r, m), (c, s) in itertools.product(enumerate(result.methods), enumerate(result.steps)):
        shown = axes[r, c].images[0].get_array()
        expected = result.maps[s][m][1].numpy()
        np.testing.assert_allclose(shown, np.clip(expected / np.quantile(expected, 0.99), 0, 1), atol=1e-6)
    labels = [ax.yaxis.label for ax in axes[:, 0]]
    assert [t.get_text() for t in labels] == ["세일리언시\n맵", "가이디드\n역전파", "Grad-CAM"]
    assert all(t.get_rotation() == 0 for t in labels)
    assert [ax.get_title() for ax in axes[0]] == ["원본", "~fc", "~conv1"]
    _check_readable(fig)
    plt.close(fig)


def test_cascade_with_overlay_draws_the_image_under_gradcam():
    result = _result(methods=("gradcam", "guided_backprop"))
    image = np.zeros((8, 8, 3))
    fig = draw.draw_cascade(result, overlay=image)
    axes = np.array(fig.axes).reshape(2, 3)
    assert len(axes[0, 0].images) == 2 and len(axes[1, 0].images) == 1
    _check_readable(fig)
    plt.close(fig)


def test_gradcam_rows():
    images = [np.zeros((8, 8)), np.ones((8, 8))]
    cams = torch.rand(2, 8, 8)
    guided = torch.randn(2, 1, 8, 8)
    fig = draw.draw_gradcam_rows(images, cams, ["티셔츠/탑", "바지"], guided, guided * cams[:, None], "제목")
    assert len(fig.axes) == 8
    np.testing.assert_array_equal(fig.axes[2].images[1].get_array(), cams[0].numpy())   # row 2 = Grad-CAM
    _check_readable(fig)
    plt.close(fig)
    fig = draw.draw_gradcam_rows(images, cams, ["a", "b"])
    assert len(fig.axes) == 4
    plt.close(fig)


def test_similarity_curves_plot_the_means():
    result = _result()
    fig = draw.draw_similarity_curves(result)
    lines = fig.axes[0].get_lines()
    for m_i, line in enumerate(lines[:len(result.methods)]):
        np.testing.assert_allclose(line.get_ydata(), result.mean("spearman_abs")[:, m_i])
    assert fig.get_figwidth() <= plot.MAX_FIGURE_WIDTH_IN
    plt.close(fig)


def test_perturbation_curves_and_auc_titles():
    f = np.linspace(0, 1, 5)
    curves = {m: {"deletion": (f, np.array([[1, .5, .2, .1, 0], [1, .7, .4, .2, 0]])),
                  "insertion": (f, np.array([[0, .2, .6, .9, 1], [0, .1, .5, .8, 1]]))} for m in ("gradcam", "random")}
    fig = draw.draw_perturbation_curves(curves, 2)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [1, .6, .3, .15, 0])
    plt.close(fig)
    fig = draw.draw_method_curves(curves, "gradcam")
    deletion_auc = np.mean([np.trapezoid(s, f) for s in curves["gradcam"]["deletion"][1]])
    assert f"AUC {deletion_auc:.3f}" in fig.axes[0].get_title()
    assert deletion_auc == pytest.approx(0.3875)
    plt.close(fig)


def test_sanity_pair_shows_the_chosen_step():
    result = _result()
    fig = draw.draw_sanity_pair(result, "gradcam", "conv1", ["가", "나"], "conv1까지 무작위화")
    titles = [t.get_text() for t in fig.axes[0].texts]
    assert titles[:4] == ["가", "나", "ρ=0.00, SSIM=0.00", "ρ=0.00, SSIM=0.00"]  # bottom row: the last step's scores
    assert titles[4:] == ["원래\n모델", "conv1까지\n무작위화"]  # row labels
    shown = fig.axes[0].get_images()
    expected = torch.as_tensor(result.maps["conv1"]["gradcam"][1]).abs()
    assert np.allclose(shown[3].get_array(), (expected / torch.quantile(expected.flatten(), 0.99)).clamp(0, 1))
    _check_readable(fig)
    plt.close(fig)
