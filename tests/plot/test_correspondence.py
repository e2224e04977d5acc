"""convvis_lib.plot.correspondence: what the match and similarity figures draw, checked against hand-made answers."""
import math


import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import to_rgb
from matplotlib.patches import ConnectionPatch
from matplotlib.text import Text

from convvis_lib import correspondence as co
from convvis_lib import plot
from convvis_lib.plot import correspondence as draw


def _pair(h: int = 6, w: int = 8) -> co.Pair:
    points = np.array([[1.0, 1.0], [3.0, 2.0], [6.0, 4.0]])
    truth = np.array([[2.0, 1.0], [3.0, 3.0], [5.0, 4.0]])
    return co.Pair("test", torch.rand(1, h, w), torch.rand(1, h, w), points, truth)


def _markers(ax: plt.Axes, marker: str) -> list[tuple[float, float]]:
    return [(float(line.get_xdata()[0]), float(line.get_ydata()[0])) for line in ax.get_lines()
            if line.get_marker() == marker]


def _readable(fig: plt.Figure) -> None:
    assert fig.get_size_inches()[0] <= plot.MAX_FIGURE_WIDTH_IN
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    assert sizes and min(sizes) >= plot.MIN_FONT_PT


def test_plot_matches_colours_each_line_by_its_distance_to_the_truth():
    pair = _pair()
    pred = np.array([[2.0, 1.0], [4.0, 4.0], [1.0, 1.0]])          # distances to the truth: 0, sqrt(2), 5
    fig = draw.plot_matches(pair, pred, tol=1.5, title="t")
    lines = [a for a in fig.artists if isinstance(a, ConnectionPatch)]
    assert len(lines) == 3                                           # one line per keypoint
    want = [draw.GOOD, draw.GOOD, draw.BAD]
    assert [to_rgb(c.get_edgecolor()) for c in lines] == [to_rgb(c) for c in want]
    ax_a, ax_b = fig.axes
    assert _markers(ax_a, "o") == [tuple(p) for p in pair.points]    # keypoints on A
    assert _markers(ax_b, "o") == [tuple(q) for q in pred]           # predictions on B
    assert _markers(ax_b, "x") == [tuple(t) for t in pair.truth]     # truth on B
    assert "67%" in fig._suptitle.get_text() and "1.5px" in fig._suptitle.get_text()
    _readable(fig)


def test_plot_matches_all_wrong_at_zero_tolerance():
    pair = _pair()
    fig = draw.plot_matches(pair, pair.truth + 0.5, tol=0.0)
    assert all(to_rgb(a.get_edgecolor()) == to_rgb(draw.BAD) for a in fig.artists if isinstance(a, ConnectionPatch))
    assert "0%" in fig._suptitle.get_text()


def test_plot_similarity_shows_the_cosine_map_and_its_best_position():
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    diag = (e1 + e2) / math.sqrt(2)
    feat_a = torch.stack([e1, e2, diag], 1).view(2, 1, 3)             # A: e1 at x=0, e2 at x=1, diag at x=2
    feat_b = torch.stack([e2, diag, e1, -e1], 1).view(2, 2, 2)        # B: (0,0) e2, (1,0) diag, (0,1) e1, (1,1) -e1
    pair = co.Pair("hand", torch.rand(1, 1, 3), torch.rand(1, 2, 2),
                   np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 1.0]]))
    fig = draw.plot_similarity(pair, feat_a, feat_b, 1, title="t")  # point 2 = diag: best is (1, 0), cos 1
    ax_a, ax_b, ax_sim = fig.axes
    shown = ax_sim.get_images()[0].get_array()
    s = 1 / math.sqrt(2)
    np.testing.assert_allclose(shown, [[s, 1.0], [s, -s]], atol=1e-6)  # diag·e2, diag·diag; diag·e1, diag·(-e1)
    for ax in (ax_b, ax_sim):
        assert _markers(ax, "o") == [(1.0, 0.0)]                     # the best match
        assert _markers(ax, "x") == [(1.0, 1.0)]                     # the truth of point 2
    assert _markers(ax_a, "o") == [(2.0, 0.0)]
    assert "점 2 (2, 0)" in ax_a.get_title()
    _readable(fig)
