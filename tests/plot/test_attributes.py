"""convvis_lib.plot.attributes: the figures show exactly the numbers and images that attributes computed."""
from __future__ import annotations

import numpy as np
import torch

from convvis_lib.attributes import PhotoSweep, Sweep, apply_attribute
from convvis_lib.models import ModelInfo
from convvis_lib.plot import MAX_FIGURE_WIDTH_IN, MIN_FONT_PT
from convvis_lib.plot import attributes as draw

TOY = ModelInfo("toy", "toy", ("a", "b", "c"), ("가", "나", "다"), (1, 8, 8), (0.5,), (0.25,))


def sweep() -> Sweep:
    levels = np.array([-0.3, 0.0, 0.3])
    per_class = np.array([[0.5, 1.0, np.nan], [1.0, 1.0, np.nan], [0.0, 0.5, np.nan]])
    return Sweep("brightness", levels, np.array([0.75, 1.0, 0.25]), per_class, np.zeros((3, 4), int), np.zeros(4, int))


def test_plot_sweep_draws_the_overall_and_class_curves_with_their_data():
    s = sweep()
    ax = draw.plot_sweep(s, TOY, cls=1)
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert np.array_equal(lines["전체"].get_ydata(), s.accuracy)
    assert np.array_equal(lines["나"].get_ydata(), s.per_class[:, 1])       # the chosen class, Korean name
    grey = [ln for ln in ax.get_lines() if ln.get_label().startswith("_child") and len(ln.get_xdata()) == 3]
    assert [list(ln.get_ydata()) for ln in grey] == [list(s.per_class[:, 0])]  # class 2 has no image: not drawn
    vline = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [0.0, 0.0]]
    assert vline, "the identity level (0 for brightness) is marked"
    assert ax.get_title() == "밝기(brightness)" and ax.get_legend() is not None
    assert all(t.get_fontsize() >= MIN_FONT_PT for t in ax.get_legend().get_texts())
    assert draw.plot_sweep(s, TOY, legend=False).get_legend() is None


def test_plot_photo_sweep_shows_share_correct_and_mean_confidence():
    conf = np.array([[0.9, 0.5], [0.8, 0.2], [0.1, 0.05]])
    s = PhotoSweep("rotation", np.array([0.0, 45.0, 90.0]), conf > 0.4, conf)
    ax = draw.plot_photo_sweep(s)
    lines = {ln.get_label(): ln.get_ydata() for ln in ax.get_lines()}
    assert np.allclose(lines["1위가 정답 클래스인 비율"], [1.0, 0.5, 0.0])
    assert np.allclose(lines["정답 클래스 확률(평균)"], [0.7, 0.5, 0.075])
    per_photo = [ln.get_ydata() for ln in ax.get_lines()
                 if ln.get_label().startswith("_child") and len(ln.get_xdata()) == 3]
    assert len(per_photo) == 2 and np.allclose(per_photo[1], conf[:, 1])


def test_plot_levels_shows_each_transformed_image_in_its_column():
    torch.manual_seed(0)
    pix = torch.rand(2, 1, 8, 8)
    levels = [0.0, 90.0, 180.0]
    fig = draw.plot_levels(TOY, pix, "rotation", levels)
    shown = np.array(fig.axes[0].get_images()).reshape(2, 3)  # one Axes, an image per cell, row by row
    titles = [t.get_text() for t in fig.axes[0].texts]
    for j, level in enumerate(levels):
        expected = apply_attribute(TOY, pix, "rotation", level)[:, 0].numpy()
        assert titles[j] == f"{level:g}" and titles[3 + j] == ""  # the levels above the first row only
        for i in range(2):
            assert np.allclose(shown[i, j].get_array(), expected[i])
            assert shown[i, j].get_clim() == (0, 1)
            assert shown[i, j].get_extent()[0] > shown[i, j - 1].get_extent()[0] if j else True  # columns in order
    assert fig.get_size_inches()[0] <= MAX_FIGURE_WIDTH_IN + 1e-9
    wide = draw.plot_levels(TOY, pix[:1], "noise", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    assert wide.get_size_inches()[0] <= MAX_FIGURE_WIDTH_IN + 1e-9  # many levels: cells shrink, width stays


def test_plot_confusion_rows_are_rates_and_cells_show_counts():
    cm = np.array([[3, 1, 0], [0, 0, 0], [2, 0, 2]])
    ax = draw.plot_confusion(cm, ["가", "나", "다"])
    rates = ax.get_images()[0].get_array()
    assert np.allclose(rates, [[0.75, 0.25, 0], [0, 0, 0], [0.5, 0, 0.5]])  # an empty row stays 0, no NaN
    counts = sorted((round(t.get_position()[1]), round(t.get_position()[0]), t.get_text()) for t in ax.texts)
    assert counts == [(0, 0, "3"), (0, 1, "1"), (2, 0, "2"), (2, 2, "2")]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["가", "나", "다"]
    assert all(t.get_fontsize() >= MIN_FONT_PT for t in ax.texts)
