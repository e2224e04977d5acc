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
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

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


