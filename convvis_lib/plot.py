"""Plotting helpers: Korean font, figure output (one dpi, font sizes recorded), image and filter grids,
heatmap overlays."""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import struct
import zlib
from pathlib import Path
from typing import Iterator, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

KOREAN_FONT = "NanumGothic"
HEATMAP_CMAP = "inferno"
DIVERGING_CMAP = "RdBu_r"
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


def figure_image(fig: Figure, fmt: str = "png", dpi: float = FIGURE_DPI, quality: int = 85) -> bytes:
    """``fig`` saved as PNG or JPEG at ``dpi`` (white background, tight box), with its smallest
    drawn text recorded under :data:`FONT_KEY` (PNG text chunk or JPEG comment)."""
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"unknown image format {fmt!r}; allowed: 'png', 'jpeg'")
    sizes: list[tuple[float, str]] = []
    buf = io.BytesIO()
    with _recording_text_sizes(sizes):
        # a JPEG is saved as PNG first: the sizes are known only after drawing
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    record = _font_record(sizes, dpi)
    if fmt == "png":
        return _png_with_text(buf.getvalue(), FONT_KEY, record)
    from PIL import Image
    out = io.BytesIO()
    Image.open(buf).convert("RGB").save(out, format="JPEG", quality=quality, optimize=True,
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
    from PIL import Image
    info = Image.open(io.BytesIO(image)).info
    if FONT_KEY in info:
        return json.loads(info[FONT_KEY])
    comment = info.get("comment", b"")
    comment = comment.decode("ascii", "replace") if isinstance(comment, bytes) else comment
    for line in comment.splitlines():  # "key=value" lines (a converted PNG keeps its other text chunks too)
        if line.startswith(FONT_KEY + "="):
            return json.loads(line[len(FONT_KEY) + 1:])
    return None


def _to_numpy(a) -> np.ndarray:
    return a.detach().cpu().float().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def normalize(a, per_item: bool = False) -> np.ndarray:
    """Scale to [0, 1]: over the whole array, or each item (first axis) on its own."""
    a = _to_numpy(a).astype(np.float32)
    axes = tuple(range(1, a.ndim)) if per_item else None
    lo, hi = a.min(axis=axes, keepdims=True), a.max(axis=axes, keepdims=True)
    return (a - lo) / np.maximum(hi - lo, 1e-12)


def image_grid(images: Sequence, titles: Sequence[str] | None = None, ncols: int = 8,
               cmap: str = "gray", size: float = 1.4, suptitle: str | None = None,
               vmin: float | None = None, vmax: float | None = None) -> plt.Figure:
    """Show images (HxW or HxWx3 each) in a grid with optional titles.

    ``size`` (inches per image) shrinks so that the figure is at most :data:`MAX_FIGURE_WIDTH_IN` wide.
    """
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    size = min(size, MAX_FIGURE_WIDTH_IN / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.1 + (0.4 if suptitle else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(_to_numpy(images[i]), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=MIN_FONT_PT)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def filter_grid(weights, normalization: str = "per_filter", ncols: int = 16, size: float = 0.6,
                title: str | None = None) -> plt.Figure:
    """Show conv filters (out, in, kh, kw). RGB filters are shown in colour, others channel-averaged.

    ``normalization`` is ``"per_filter"`` (each filter stretched to [0, 1]) or
    ``"shared"`` (one scale for all, so magnitudes compare).
    """
    if normalization not in ("per_filter", "shared"):
        raise ValueError(f"unknown normalization {normalization!r}; allowed: 'per_filter', 'shared'")
    w = _to_numpy(weights)
    if w.ndim != 4:
        raise ValueError(f"expected conv weights (out, in, kh, kw); got shape {w.shape}")
    w = w.transpose(0, 2, 3, 1) if w.shape[1] == 3 else w.mean(axis=1)
    w = normalize(w, per_item=normalization == "per_filter")
    return image_grid(list(w), ncols=ncols, size=size, suptitle=title)


def heatmap_overlay(ax: plt.Axes, image, heatmap, alpha: float = 0.5, cmap: str = HEATMAP_CMAP,
                    title: str | None = None) -> None:
    """Draw ``image`` with ``heatmap`` (any size; stretched over the image) on top."""
    img = _to_numpy(image)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
    h, w = img.shape[:2]
    ax.imshow(_to_numpy(heatmap), cmap=cmap, alpha=alpha, extent=(-0.5, w - 0.5, h - 0.5, -0.5),
              interpolation="bilinear")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=MIN_FONT_PT)


def activation_grid(act, ncols: int = 16, size: float = 0.7, title: str | None = None, max_maps: int = 64) -> plt.Figure:
    """Show the channels of one activation (C, H, W) with a shared scale (black = 0)."""
    a = _to_numpy(act)[:max_maps]
    vmax = float(a.max()) if a.size and a.max() > 0 else 1.0
    return image_grid(list(a), ncols=ncols, size=size, suptitle=title, cmap="gray", vmin=0.0, vmax=vmax)
