"""Figure output: Korean font, one dpi, PNG/JPEG with the smallest drawn text recorded."""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import struct
import zlib
from pathlib import Path
from typing import Iterator

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image
from PIL.PngImagePlugin import PngInfo

KOREAN_FONT = "NanumGothic"
# One dpi for every figure a chapter shows, drawn inline or pre-rendered for a widget view. At 100 dpi a
# figure 6.8 in wide is 680 px and fits the book's 688-px text column unscaled, and a 9-pt text is 12.5 px.
FIGURE_DPI = 100
MAX_FIGURE_WIDTH_IN = 6.8
MIN_FONT_PT = 9
# PNG text chunk (JPEG comment) holding {"min_font_px": ..., "text": ...}: the smallest text drawn, in px
# at the saved dpi; the browser test multiplies it by the displayed / natural width of each image.
FONT_KEY = "convvis-fonts"


def korean_font_path() -> Path | None:
    """NanumGothic.ttf shipped by the ``koreanize-matplotlib`` package (found without importing it)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "fonts" / "NanumGothic.ttf"
    return path if path.is_file() else None


def one_axes(width: float = 5.2, height: float = 3.4) -> Axes:
    """A new figure with one Axes and fixed margins in inches that hold tick labels, axis labels and a title,
    so nothing reaches past the figure's edges (:func:`figure_image` then draws it only once)."""
    fig, ax = plt.subplots(figsize=(width, height))
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.2 / width, bottom=0.6 / height, top=1 - 0.4 / height)
    return ax


def setup_korean_font() -> str:
    """Register NanumGothic and make it matplotlib's default (DejaVu Sans for missing glyphs like U+2212)."""
    path = korean_font_path()
    if path is None:
        raise RuntimeError("NanumGothic not found: `pip install koreanize-matplotlib` (it ships the font)")
    font_manager.fontManager.addfont(str(path))
    matplotlib.rcParams["font.family"] = [KOREAN_FONT, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = True
    matplotlib.rcParams["axes.titley"] = 1.0  # fixed title position: skips a costly layout search per axes
    return KOREAN_FONT


def setup_figures() -> None:
    """Korean font, :data:`FIGURE_DPI`, and (in IPython) figures shown through :func:`figure_png`."""
    setup_korean_font()
    matplotlib.rcParams["figure.dpi"] = FIGURE_DPI
    matplotlib.rcParams["savefig.dpi"] = FIGURE_DPI
    install_png_formatter()


def install_png_formatter() -> bool:
    """Make IPython show matplotlib figures with :func:`figure_png`; False outside IPython.

    The inline backend registers its own PNG formatter when it is first imported, so it is imported first.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    if "inline" in matplotlib.get_backend():
        importlib.import_module("matplotlib_inline.backend_inline")
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
    return True


@contextlib.contextmanager
def _recording_text_sizes(sizes: list[tuple[float, str]]) -> Iterator[None]:
    """Record (font size in pt, text) of every text matplotlib draws inside the block.

    Only texts really drawn count: invisible ones, empty ones, and tick labels outside the axes'
    limits or of hidden axes are never drawn.
    """
    original = Text.draw

    @functools.wraps(original)
    def draw(self: Text, renderer) -> None:
        if self.get_visible() and self.get_text().strip():
            sizes.append((float(self.get_fontsize()), self.get_text()))
        return original(self, renderer)

    Text.draw = draw
    try:
        yield
    finally:
        Text.draw = original


def _font_record(sizes: list[tuple[float, str]], dpi: float) -> str:
    if not sizes:
        return json.dumps({"min_font_px": None, "text": None})
    pt, text = min(sizes)
    return json.dumps({"min_font_px": round(pt * dpi / 72, 2), "text": text[:60]})


def _png_with_text(png: bytes, key: str, value: str) -> bytes:
    """The PNG with a tEXt chunk ``key`` = ``value`` (ASCII) right after its header chunk."""
    data = key.encode("ascii") + b"\0" + value.encode("ascii")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    end_of_ihdr = 8 + 4 + 4 + 13 + 4  # signature, IHDR length, type, data, CRC
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


def _drawn_rgb(fig: Figure, dpi: float) -> np.ndarray:
    """The whole figure drawn once at ``dpi`` on white: an (H, W, 3) uint8 array.

    Drawn on an Agg canvas of its own rather than by ``savefig``, which draws a figure twice
    once ``tight_layout`` has run (it left a layout engine behind).
    """
    canvas, fig_dpi, facecolor = fig.canvas, fig.dpi, fig.get_facecolor()
    try:
        agg = FigureCanvasAgg(fig)
        fig.dpi = dpi
        fig.set_facecolor("white")
        agg.draw()
        return np.array(agg.buffer_rgba())[..., :3]
    finally:
        fig.set_canvas(canvas)
        fig.dpi = fig_dpi
        fig.set_facecolor(facecolor)


def _tight_box(fig: Figure, rgb: np.ndarray, pad: int) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of everything drawn (non-white pixels) and of every visible Axes
    (within the canvas), plus ``pad`` pixels; None when something is drawn up to the canvas's edge
    (it may reach beyond it)."""
    h, w = rgb.shape[:2]
    ink = (rgb != 255).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if len(rows) and (rows[0] == 0 or cols[0] == 0 or rows[-1] == h - 1 or cols[-1] == w - 1):
        return None
    tops, bottoms, lefts, rights = list(rows[:1]), list(rows[-1:] + 1), list(cols[:1]), list(cols[-1:] + 1)
    for ax in fig.axes:  # an Axes with nothing drawn still takes its place, as in bbox_inches="tight"
        if ax.get_visible():
            x0, y0, x1, y1 = np.clip(ax.get_position().extents, 0, 1)
            lefts.append(x0 * w), rights.append(x1 * w), tops.append((1 - y1) * h), bottoms.append((1 - y0) * h)
    if not tops:
        return 0, h, 0, w
    top, bottom, left, right = min(tops), max(bottoms), min(lefts), max(rights)
    return int(top) - pad, int(np.ceil(bottom)) + pad, int(left) - pad, int(np.ceil(right)) + pad


def _cut(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``rgb[top:bottom, left:right]``, white where the box reaches beyond the array."""
    top, bottom, left, right = box
    h, w = rgb.shape[:2]
    inside = rgb[max(top, 0):min(bottom, h), max(left, 0):min(right, w)]
    margins = ((max(-top, 0), max(bottom - h, 0)), (max(-left, 0), max(right - w, 0)), (0, 0))
    return np.pad(inside, margins, constant_values=255)


def figure_image(fig: Figure, fmt: str = "png", dpi: float = FIGURE_DPI, quality: int = 85) -> bytes:
    """``fig`` saved as PNG or JPEG at ``dpi`` (white background, tight box), with its smallest
    drawn text recorded under :data:`FONT_KEY` (PNG text chunk or JPEG comment).

    The figure is drawn once and cut to what was drawn and its Axes, plus 0.1 in: what
    ``bbox_inches="tight"`` gives, which draws the figure twice. A figure drawn up to its edge may
    reach beyond it: it is drawn again, in the box of all its artists.
    """
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"unknown image format {fmt!r}; allowed: 'png', 'jpeg'")
    sizes: list[tuple[float, str]] = []
    with _recording_text_sizes(sizes):
        rgb = _drawn_rgb(fig, dpi)
        pad_inches = matplotlib.rcParams["savefig.pad_inches"]
        box = _tight_box(fig, rgb, pad=round(pad_inches * dpi))
        if box is None:  # the box of every artist, laid out by the drawing above
            sizes.clear()
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi, bbox_inches=fig.get_tightbbox().padded(pad_inches),
                        facecolor="white")
            rgb = np.asarray(Image.open(buf).convert("RGB"))
            box = 0, rgb.shape[0], 0, rgb.shape[1]
    image = Image.fromarray(np.ascontiguousarray(_cut(rgb, box)))
    record = _font_record(sizes, dpi)
    out = io.BytesIO()
    if fmt == "png":
        info = PngInfo()
        info.add_text("Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/")
        info.add_text(FONT_KEY, record)
        image.save(out, format="PNG", pnginfo=info, dpi=(dpi, dpi))
    else:
        image.save(out, format="JPEG", quality=quality, optimize=True, dpi=(dpi, dpi),
                   comment=f"{FONT_KEY}={record}".encode("ascii"))
    return out.getvalue()


def no_text_png(png: bytes) -> bytes:
    """A PNG that is a picture without any text (e.g. a dataset image), recorded as such."""
    return _png_with_text(png, FONT_KEY, _font_record([], FIGURE_DPI))


def figure_png(fig: Figure) -> bytes | None:
    """IPython's PNG formatter for figures: :func:`figure_image` at :data:`FIGURE_DPI` (None if empty)."""
    if not fig.axes and not fig.lines and not fig.texts and not fig.images:
        return None
    return figure_image(fig, "png")


def recorded_fonts(image: bytes) -> dict | None:
    """The record :func:`figure_image` stored in a PNG or JPEG, or None if it has none."""
    info = Image.open(io.BytesIO(image)).info
    if FONT_KEY in info:
        return json.loads(info[FONT_KEY])
    comment = info.get("comment", b"")
    comment = comment.decode("ascii", "replace") if isinstance(comment, bytes) else comment
    for line in comment.splitlines():  # "key=value" lines (a converted PNG keeps its other text chunks too)
        if line.startswith(FONT_KEY + "="):
            return json.loads(line[len(FONT_KEY) + 1:])
    return None


