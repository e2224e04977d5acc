"""convvis_lib.plot.images: display scaling and grids."""
import numpy as np
import torch

from convvis_lib import plot


def test_minmax_scale_whole_array_and_per_item():
    a = np.array([[0.0, 2.0], [10.0, 20.0]])
    assert np.allclose(plot.minmax_scale(a), a / 20.0)
    assert np.allclose(plot.minmax_scale(torch.tensor(a), per_item=True), [[0.0, 1.0], [0.0, 1.0]])
    assert np.all(plot.minmax_scale(np.full((2, 2), 3.0)) == 0.0)  # flat input: no division by zero


import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402


def _drawn(fig) -> np.ndarray:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int)


def _pixel(fig, rgb: np.ndarray, x: float, y: float) -> np.ndarray:
    """The drawn colour at data point (x, y) of the grid's Axes."""
    px, py = fig.axes[0].transData.transform((x, y))
    return rgb[rgb.shape[0] - 1 - int(py), int(px)]


def test_image_grid_draws_each_image_in_its_cell_scaled_on_its_own():
    plot.setup_korean_font()
    images = [np.array([[0.0, 1.0]]), np.array([[10.0, 20.0]]), np.array([[-5.0, -4.0]])]
    fig = plot.image_grid(images, ["가", "나", "다"], ncols=2, size=1.0)
    assert len(fig.axes) == 1 and len(fig.axes[0].images) == 3
    rgb = _drawn(fig)
    extents = [im.get_extent() for im in fig.axes[0].images]  # (left, right, bottom, top) in inches
    for (x0, x1, y1, y0) in extents:
        assert (x1 - x0) == pytest.approx(2 * (y1 - y0))  # a 1x2 image keeps its aspect ratio
        left, right = _pixel(fig, rgb, x0 + (x1 - x0) / 4, (y0 + y1) / 2), _pixel(fig, rgb, x1 - (x1 - x0) / 4, (y0 + y1) / 2)
        assert (left == 0).all() and (right == 255).all()  # each image: its minimum black, its maximum white
    assert extents[1][0] > extents[0][1] and extents[2][3] > extents[0][2]  # right of / below the first, gaps between
    assert rgb[3, 3].tolist() == [255, 255, 255]


def test_image_grid_shared_scale_rgb_and_titles():
    plot.setup_korean_font()
    fig = plot.image_grid([np.full((4, 4), 0.5), np.full((4, 4), 1.0)], vmin=0.0, vmax=2.0, ncols=2)
    assert [im.get_clim() for im in fig.axes[0].images] == [(0.0, 2.0), (0.0, 2.0)]
    colour = np.random.default_rng(0).random((5, 5, 3))
    fig = plot.image_grid([colour] * 3, ["첫째 사진", "둘째 사진", "셋째"], ncols=3, size=2.0, suptitle="제목")
    assert np.array_equal(fig.axes[0].images[0].get_array(), colour)  # RGB shown as it is
    rgb = _drawn(fig)
    x0, x1, y1, y0 = fig.axes[0].images[1].get_extent()
    assert np.abs(_pixel(fig, rgb, x0 + 0.01, y0 + 0.01) - colour[0, 0] * 255).max() <= 1
    renderer = fig.canvas.get_renderer()
    texts = fig.axes[0].texts
    assert [t.get_text() for t in texts] == ["첫째 사진", "둘째 사진", "셋째"]
    assert all(t.get_fontsize() >= plot.MIN_FONT_PT for t in texts)
    boxes = [t.get_window_extent(renderer) for t in texts] + [im.get_window_extent(renderer) for im in fig.axes[0].images]
    for i, a in enumerate(boxes):  # no title over another title or over an image
        assert not any(a.overlaps(b) for b in boxes[i + 1:])


def test_image_grid_rejects_what_it_cannot_draw():
    with pytest.raises(ValueError, match="at least one image"):
        plot.image_grid([])
    with pytest.raises(ValueError, match="one title per image"):
        plot.image_grid([np.zeros((2, 2))] * 2, ["only one"])
    plt.close("all")
