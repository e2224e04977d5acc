"""convvis_lib.plot.embedding: scatter colours and order, neighbour frames, mosaics, the JPEG display."""
from __future__ import annotations

import io

import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pytest
from PIL import Image

import convvis_lib as cv
from convvis_lib import embedding as emb
from convvis_lib.plot import embedding as draw


@pytest.fixture(scope="module")
def info():
    return cv.load_model("fashionnet", pretrained=False)[1]


def test_scatter_one_collection_per_class_highlight_last(info):
    points = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 1.0], [3.0, 1.0], [4.0, 2.0]])
    labels = np.array([3, 0, 3, 7, 0])
    fig, ax = plt.subplots()
    draw.plot_scatter(ax, points, labels, info, highlight=3, title="제목")
    names = [c.get_label() for c in ax.collections]
    assert names == [info.label(0), info.label(7), info.label(3)]  # the highlighted class is drawn on top
    np.testing.assert_array_equal(ax.collections[-1].get_offsets(), points[labels == 3])
    alphas = [c.get_alpha() for c in ax.collections]
    assert alphas[-1] > 0.5 > alphas[0] == alphas[1]  # the other classes are faded
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [info.label(0), info.label(3), info.label(7)]  # legend in class order
    assert ax.get_title() == "제목"


def test_scatter_unlabelled_points_are_grey(info):
    fig, ax = plt.subplots()
    draw.plot_scatter(ax, np.zeros((3, 2)), np.array([-1, -1, -1]), info, legend=False)
    (dots,) = ax.collections
    assert dots.get_label() == "레이블 없음"
    assert tuple(dots.get_facecolor()[0][:3]) == matplotlib.colors.to_rgb("gray")
    assert ax.get_legend() is None


def test_neighbour_rows_frame_other_classes_red(info):
    codes = np.array([[0.0], [1.0], [2.5], [10.0], [3.0], [11.0]])
    labels = np.array([0, 0, 1, 1, 0, 1])
    views = [np.full((4, 4), i / 6, dtype=np.float32) for i in range(6)]
    fig = draw.plot_neighbours(info, views, labels, [0, 3], {"코드": codes}, k=3)
    axes = np.array(fig.axes).reshape(2, 4)
    # query 0 at 0.0: neighbours 1 (same class), 2 (other), 4 (same); query 3 at 10.0: 5 (same), 4, 2 (wrong, same)
    for row, expected, wrong in zip(axes, ([0, 1, 2, 4], [3, 5, 4, 2]), ([2], [4])):
        shown = [int(round(ax.images[0].get_array()[0, 0] * 6)) for ax in row]
        assert shown == expected
        red = [i for i, ax in zip(expected, row) if ax.spines["top"].get_edgecolor()[:3] == (1.0, 0.0, 0.0)]
        assert red == wrong
    assert axes[0, 0].get_ylabel() == "코드"


def test_neighbour_figure_fits_the_book_column(labelled_batch):
    model, info, x, labels = labelled_batch(40)
    codes = emb.layer_codes(model, info, x, ["pixels", "fc1"])
    views = [cv.deprocess(info, xi) for xi in x]
    fig = draw.plot_neighbours(info, views, labels, [0, 1], codes, k=5)
    fig.canvas.draw()
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text() and t.get_visible()]
    assert fig.get_size_inches()[0] <= 6.8 and min(t.get_fontsize() for t in texts) >= 9


def test_mosaic_shows_the_grid_image():
    mosaic = emb.grid_mosaic([np.zeros((2, 2)), np.ones((2, 2)) * 0.5], np.array([1, 2]), side=2)
    fig, ax = plt.subplots()
    draw.plot_mosaic(ax, mosaic, "격자")
    np.testing.assert_array_equal(ax.images[0].get_array(), mosaic)
    assert ax.get_title() == "격자" and ax.images[0].get_clim() == (0, 1)


def test_show_jpeg_displays_a_jpeg_and_closes_the_figure(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.imshow(np.random.default_rng(0).random((16, 32)))
    draw.show_jpeg(fig, quality=70)
    (image,) = shown
    assert image.format == "jpeg" and Image.open(io.BytesIO(image.data)).format == "JPEG"
    assert not plt.fignum_exists(fig.number)
