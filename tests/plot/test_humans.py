"""convvis_lib.plot.humans: the accuracy comparison bars."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from convvis_lib import plot


def test_comparison_bars_have_the_accuracies_in_order_and_skip_nan():
    rows = [("나 (퀴즈)", float("nan")), ("fashionnet", 0.9), ("사람 기준선", 0.835), ("표본", 0.917)]
    ax = plot.humans.plot_comparison(rows)
    try:
        bars = ax.patches
        assert [b.get_width() for b in bars] == pytest.approx([0.9, 0.835, 0.917])
        assert [t.get_text() for t in ax.get_yticklabels()] == ["fashionnet", "사람 기준선", "표본"]
        # first row on top: y positions 0, 1, 2 with the axis inverted
        assert [b.get_y() + b.get_height() / 2 for b in bars] == pytest.approx([0, 1, 2])
        assert ax.yaxis_inverted()
        assert [t.get_text() for t in ax.texts] == ["90.0%", "83.5%", "91.7%"]
        assert [t.get_position()[0] for t in ax.texts] == pytest.approx([0.91, 0.845, 0.927])  # just past each bar
        assert ax.get_title() == "Fashion-MNIST 정확도 비교" and ax.get_xlim() == pytest.approx((0, 1.12))
        width, _ = ax.figure.get_size_inches()
        assert width <= plot.MAX_FIGURE_WIDTH_IN
        sizes = [t.get_fontsize() for t in [*ax.texts, *ax.get_yticklabels(), ax.title, ax.xaxis.label]]
        assert min(sizes) >= plot.MIN_FONT_PT
    finally:
        plt.close("all")


def test_comparison_draws_on_a_given_axis():
    fig, ax = plt.subplots()
    try:
        assert plot.humans.plot_comparison([("a", 0.5)], ax=ax, title="제목") is ax
        assert len(ax.patches) == 1 and ax.get_title() == "제목" and plt.get_fignums() == [fig.number]
    finally:
        plt.close("all")
