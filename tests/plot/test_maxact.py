"""convvis_lib.plot.maxact: receptive-field boxes, mosaics and top-k figures drawn where the computation says."""
from __future__ import annotations

import ast
import inspect

import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pytest

import convvis_lib as cv
from convvis_lib import activations, embedding, maxact
from convvis_lib.plot import maxact as draw
from convvis_lib.receptive_field import receptive_field


@pytest.fixture(scope="module")
def labelled(labelled_batch):
    return labelled_batch(300)


@pytest.mark.parametrize("module", [activations, maxact, embedding])
def test_technique_modules_do_not_draw(module):
    tree = ast.parse(inspect.getsource(module))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"matplotlib", "ipywidgets", "IPython"}
    defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert not [n for n in defined if n.startswith(("draw_", "plot_", "show_"))]


def test_draw_box_outlines_the_inclusive_pixels():
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((20, 30)))
    draw.draw_box(ax, (2, 3, 5, 9), color="blue", origin=(10, 1))
    (rect,) = ax.patches
    # pixel centres 3..9 (cols) and 2..5 (rows); pixel edges lie half a pixel out; shifted by the origin (y=10, x=1)
    assert rect.get_xy() == (1 + 3 - 0.5, 10 + 2 - 0.5)
    assert (rect.get_width(), rect.get_height()) == (7, 4)
    assert not rect.get_fill() and rect.get_edgecolor()[:3] == matplotlib.colors.to_rgb("blue")


def test_tile_places_images():
    a, b, c = (np.full((2, 3), v, dtype=np.float32) for v in (0.1, 0.2, 0.3))
    mosaic, origins = draw.tile([a, b, c], ncols=2, gap=(1, 2), fill=1.0)
    assert mosaic.shape == (2 * 2 + 1, 2 * 3 + 2) and origins == [(0, 0), (0, 5), (3, 0)]
    assert (mosaic[:2, 5:] == np.float32(0.2)).all()
    assert (mosaic[3:, :3] == np.float32(0.3)).all() and (mosaic[3:, 5:] == 1.0).all() and (mosaic[2] == 1.0).all()


def test_plot_top_k_boxes_fields_and_histogram(labelled):
    model, info, x, labels = labelled
    top = maxact.top_k(model, info, x, "conv3", k=4)
    fig = draw.plot_top_k(model, info, cv.load_sample().images, top, unit=2, labels=labels)
    images, patches, hist = fig.axes
    boxes = images.patches
    assert len(boxes) == 4 and all(not b.get_fill() for b in boxes)
    rf = receptive_field(model, info, "conv3")
    row, col = (int(v) for v in top.positions[2, 0])
    t, lf, b, r = rf.box(row, col, (28, 28))
    assert boxes[0].get_xy() == (lf - 0.5, t - 0.5) and boxes[0].get_width() == r - lf + 1  # first tile at (0, 0)
    assert patches.images[0].get_array().shape[0] == 18  # full 18x18 fields, padding shown grey
    counts = np.bincount(labels[top.indices[2]], minlength=10)
    assert [bar.get_width() for bar in hist.patches] == counts.tolist()  # the classes of the 4 top images
    scores = [t.get_text() for t in images.texts]
    assert scores == [f"{s:.2f}" for s in top.scores[2]]


def test_plot_top_k_fc_layer_has_no_boxes(labelled):
    model, info, x, _ = labelled
    top = maxact.top_k(model, info, x, "fc1", k=3)
    fig = draw.plot_top_k(model, info, cv.load_sample().images, top, unit=0)
    assert len(fig.axes) == 1 and not fig.axes[0].patches  # no fields to outline, no labels: one mosaic only


def test_plot_top_rows_one_row_per_unit(labelled):
    model, info, x, labels = labelled
    top = maxact.top_k(model, info, x, "conv3", k=8)
    fig = draw.plot_top_rows(model, info, cv.load_sample().images, [("유닛 0", top, 0), ("유닛 5", top, 5)], k=6,
                             labels=labels)
    assert len(fig.axes) == 2
    for ax, unit in zip(fig.axes, (0, 5)):
        assert len(ax.patches) == 6
        names = [t.get_text() for t in ax.texts]
        assert names[0] == f"유닛 {unit}"
        assert names[1:] == [info.label(int(c)) for c in labels[top.indices[unit, :6]]]


def _texts(fig) -> list:
    fig.canvas.draw()
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_text() and t.get_visible()]


@pytest.mark.parametrize("k,with_labels", [(8, True), (16, False)])
def test_top_k_figures_fit_the_book_column(labelled, k, with_labels):
    # the book's text column is 6.8 inches; every text must be at least 9 pt (figure rule of issue 14)
    model, info, x, labels = labelled
    top = maxact.top_k(model, info, x, "conv3", k=k)
    images = cv.load_sample().images
    figs = [draw.plot_top_k(model, info, images, top, unit=0, labels=labels if with_labels else None),
            draw.plot_top_rows(model, info, images, [("유닛 0", top, 0), ("유닛 1", top, 1)], k=8, labels=labels)]
    for fig in figs:
        assert fig.get_size_inches()[0] <= 6.8
        assert min(t.get_fontsize() for t in _texts(fig)) >= 9


def test_plot_top_k_draws_nothing_past_its_edges(labelled):
    """Everything inside the canvas: figure_image then crops one drawing instead of drawing again."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    model, info, x, labels = labelled
    for layer, k in (("conv3", 8), ("conv1", 16)):
        fig = draw.plot_top_k(model, info, cv.load_sample().images, maxact.top_k(model, info, x, layer, k=k),
                              unit=1, k=k, labels=labels)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
        edges = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
        assert (edges == 255).all()
        renderer = canvas.get_renderer()
        scores = fig.axes[0].texts[-1].get_window_extent(renderer)  # the rightmost score above the images
        names = [t.get_window_extent(renderer) for t in fig.axes[-1].get_yticklabels()]
        assert not any(scores.overlaps(b) for b in names)
