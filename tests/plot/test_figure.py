"""Figure output: one dpi, the smallest drawn text recorded in the image, grids that fit the book's column."""
from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pytest
from PIL import Image

from convvis_lib import plot


def test_smallest_drawn_text_is_recorded_in_px_at_the_dpi():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_title("제목", fontsize=14)
    ax.set_xlabel("작은 글자", fontsize=7.2)
    ax.tick_params(labelsize=11)
    ax.text(0.5, 0.5, "숨김", fontsize=3, visible=False)  # not drawn: does not count
    ax.text(0.5, 0.5, "", fontsize=2)  # empty: does not count
    png = plot.figure_image(fig, "png", dpi=100)
    assert plot.recorded_fonts(png) == {"min_font_px": 10.0, "text": "작은 글자"}  # 7.2 pt * 100 / 72
    assert Image.open(io.BytesIO(png)).info["dpi"][0] == pytest.approx(100, abs=0.1)
    assert plot.recorded_fonts(plot.figure_image(fig, "png", dpi=200))["min_font_px"] == 20.0


def test_hidden_axes_ticks_do_not_count_and_jpeg_keeps_the_record():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.imshow(np.random.default_rng(0).random((8, 8, 3)))
    ax.axis("off")  # its tick labels (10 pt by default) are never drawn
    ax.set_title("사진", fontsize=18)
    jpeg = plot.figure_image(fig, "jpeg")
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG"
    assert plot.recorded_fonts(jpeg) == {"min_font_px": 25.0, "text": "사진"}
    fig2, ax2 = plt.subplots(figsize=(1, 1))
    ax2.axis("off")
    ax2.imshow(np.zeros((2, 2)))
    assert plot.recorded_fonts(plot.figure_image(fig2)) == {"min_font_px": None, "text": None}
    with pytest.raises(ValueError, match="allowed"):
        plot.figure_image(fig2, "gif")


def test_recording_leaves_text_drawing_as_it_was():
    draw = matplotlib.text.Text.draw
    fig, ax = plt.subplots()
    ax.set_title("x")
    plot.figure_image(fig)
    assert matplotlib.text.Text.draw is draw
    assert plot.recorded_fonts(b"\x89PNG\r\n\x1a\n" + _plain_png()[8:]) is None


def _plain_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buf, format="PNG")
    return buf.getvalue()


def test_image_grid_fits_the_column_with_legible_titles():
    plot.setup_figures()
    fig = plot.image_grid([np.zeros((4, 4))] * 16, [f"{i}" for i in range(16)], ncols=8, size=1.4, suptitle="격자")
    assert fig.get_size_inches()[0] <= plot.MAX_FIGURE_WIDTH_IN + 1e-9
    png = plot.figure_png(fig)
    width = Image.open(io.BytesIO(png)).size[0]
    assert width <= 688
    assert plot.recorded_fonts(png)["min_font_px"] >= plot.MIN_FONT_PT * plot.FIGURE_DPI / 72 - 1e-9


def test_ipython_shows_figures_through_figure_png():
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    try:
        assert plot.install_png_formatter()
        fig, ax = plt.subplots(figsize=(2, 1.5))
        ax.set_title("표시", fontsize=12)
        ax.tick_params(labelsize=11)
        data, _ = shell.display_formatter.format(fig)
        png = data["image/png"]
        png = png if isinstance(png, bytes) else base64.b64decode(png)
        record = plot.recorded_fonts(png)
        assert record["min_font_px"] == pytest.approx(11 * plot.FIGURE_DPI / 72, abs=0.01)  # the tick labels
        assert Image.open(io.BytesIO(png)).info["dpi"][0] == pytest.approx(plot.FIGURE_DPI, abs=0.1)
    finally:
        InteractiveShell.clear_instance()


def test_record_survives_postbuild_conversion_to_jpeg():
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "scripts"))
    from postbuild import compact_image
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(np.random.default_rng(1).random((64, 64, 3)))
    ax.set_title("사진", fontsize=10)
    png = plot.figure_image(fig)
    assert "Software" in Image.open(io.BytesIO(png)).info  # matplotlib's own text chunk is there too
    _, small = compact_image(png, allow_jpeg=True)
    assert plot.recorded_fonts(small) == plot.recorded_fonts(png)
    buf = io.BytesIO()  # what postbuild writes when a figure becomes a JPEG: every text chunk as a comment line
    Image.open(io.BytesIO(png)).convert("RGB").save(buf, format="JPEG", comment=(
        "Software=matplotlib\n" + plot.FONT_KEY + "=" + Image.open(io.BytesIO(png)).info[plot.FONT_KEY]).encode())
    assert plot.recorded_fonts(buf.getvalue()) == plot.recorded_fonts(png)


def _tight_png(fig, dpi: float = 100) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return np.asarray(Image.open(buf).convert("RGB"), dtype=int)


def _rgb(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


def test_drawn_once_and_cut_like_bbox_inches_tight():
    fig, axes = plt.subplots(1, 2, figsize=(4, 2), facecolor="0.9")
    axes[0].imshow(np.random.default_rng(2).random((8, 8)), cmap="gray")
    axes[0].set_title("사진", fontsize=10)
    axes[1].plot([0, 1], [1, 0])
    fig.tight_layout()
    canvas, dpi = fig.canvas, fig.dpi
    ours, tight = _rgb(plot.figure_image(fig, dpi=150)), _tight_png(fig, dpi=150)
    assert (fig.canvas, fig.dpi, fig.get_facecolor()) == (canvas, dpi, (0.9, 0.9, 0.9, 1.0))  # all restored
    # matplotlib boxes text with its ascent and descent, we crop to what was drawn: a few px tighter
    assert 0 <= tight.shape[0] - ours.shape[0] <= 6 and 0 <= tight.shape[1] - ours.shape[1] <= 6
    a, b = _ink(ours), _ink(tight)
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    assert abs(a.shape[0] - b.shape[0]) <= 1 and abs(a.shape[1] - b.shape[1]) <= 1
    same = np.abs(a[:h, :w] - b[:h, :w]).mean()
    assert same < 10 < np.abs(a[:h - 4, :w] - b[4:h, :w]).mean()  # the same picture, within sub-pixel shifts
    pad = round(0.1 * 150)
    assert ours.shape[0] - a.shape[0] == ours.shape[1] - a.shape[1] == 2 * pad  # 0.1 in all around


def _ink(rgb: np.ndarray) -> np.ndarray:
    """The part of an image that is not white."""
    rows, cols = np.flatnonzero((rgb != 255).any(axis=(1, 2))), np.flatnonzero((rgb != 255).any(axis=(0, 2)))
    return rgb[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def test_an_empty_axes_keeps_its_place_and_what_reaches_beyond_the_edge_is_kept():
    fig, axes = plt.subplots(1, 2, figsize=(4, 2))
    axes[0].imshow(np.zeros((4, 4)), cmap="gray")
    axes[1].axis("off")  # nothing drawn on the right half: the image is still as wide as matplotlib's
    fig.tight_layout()
    assert abs(_rgb(plot.figure_image(fig)).shape[1] - _tight_png(fig).shape[1]) <= 2
    fig2, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1])
    ax.legend(["바깥 범례"], bbox_to_anchor=(1.05, 1), loc="upper left")  # beyond the figure's right edge
    ours, tight = _rgb(plot.figure_image(fig2)), _tight_png(fig2)
    assert ours.shape == tight.shape and ours.shape[1] > 300  # wider than the 3-in canvas
    assert np.abs(ours - tight).max() <= 1


def test_one_axes_keeps_labels_and_title_inside_the_figure():
    ax = plot.one_axes(5.2, 3.4)
    ax.plot([-0.3, 0.0, 0.3], [0.75, 1.0, 0.25])
    ax.set(xlabel="밝기 변화량", ylabel="정확도", ylim=(-0.02, 1.02), title="밝기(brightness)")
    assert tuple(ax.figure.get_size_inches()) == (5.2, 3.4)
    rgb = plot.figure._drawn_rgb(ax.figure, 100)
    edges = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    assert (edges == 255).all()  # nothing reaches the edges
    inside = rgb[5:-5, 5:-5]
    assert (inside != 255).any(axis=2).any(axis=1)[:40].any()  # the title is near the top, not cut off
