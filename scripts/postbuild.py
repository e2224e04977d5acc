"""After `jupyter-book build`: make the figures compact, report each page's weight, fail if one is too heavy.

    python scripts/postbuild.py _build/html

Figures: the static widget explorers embed one PNG per option as a data URI, and notebook outputs are PNG
files in _images/. Matplotlib writes them as 24/32-bit PNGs; most of them (plots, heatmaps, grey images)
survive a 256-colour palette with no visible change and shrink two to three times. Each PNG is replaced by
its palette version only when that is at least 10% smaller and changes pixels by at most 1.5 grey levels
on average; inline figures that show photos (more than 4096 colours) may become JPEG (quality 90) instead.
Files keep their format and name; figures with transparency are kept as they are. Text chunks (the
smallest font a figure was drawn with, see convvis_lib.plot.figure_image) survive, in a JPEG as its comment.

For every HTML page: the bytes of the page itself (with its inline widget images), the bytes of the page
plus every local script, stylesheet and image it references (each counted once), and the same again
gzip-compressed, which is what a browser downloads on a first visit from any web server (GitHub Pages,
`python -m http.server` behind a proxy, ...). The limit applies to the transferred weight and to the page
itself; the shared theme, widget and MathJax scripts (about 7 MB uncompressed, 1.7 MB compressed) are
cached after the first page.
"""
from __future__ import annotations

import base64
import gzip
import io
import re
import shutil
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

LIMIT_MB = 5.0
MAX_MEAN_ERROR = 1.5  # grey levels (0..255), averaged over pixels and channels
MIN_SAVING = 0.10
PHOTO_COLOURS = 4096  # a figure with more distinct colours than this is photo-like (JPEG allowed inline)
DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
ASSET_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".js", ".css")


def compact_image(data: bytes, allow_jpeg: bool = False) -> tuple[str, bytes]:
    """(mime type, bytes) of the smallest faithful version of a PNG: a 256-colour palette PNG if it looks the
    same, a JPEG (quality 90) for photo-like figures if allowed, else the original."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError):  # not a readable PNG: leave it alone
        return "image/png", data
    if image.mode in ("P", "L", "1", "I;16") or (
            image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] < 255):
        return "image/png", data
    rgb = image.convert("RGB")
    text = getattr(image, "text", {})  # tEXt chunks, e.g. the smallest font size a figure was drawn with
    pnginfo = PngImagePlugin.PngInfo()
    for key, value in text.items():
        pnginfo.add_text(key, value)
    comment = "\n".join(f"{key}={value}" for key, value in text.items()).encode("ascii", "replace")
    candidates = []
    palette = rgb.quantize(256)
    error = np.abs(np.asarray(palette.convert("RGB"), dtype=np.int16) - np.asarray(rgb, dtype=np.int16)).mean()
    if error <= MAX_MEAN_ERROR:
        candidates.append(("image/png", _encode(palette, "PNG", optimize=True, pnginfo=pnginfo)))
    if allow_jpeg and rgb.getcolors(PHOTO_COLOURS) is None:
        candidates.append(("image/jpeg", _encode(rgb, "JPEG", quality=90, optimize=True, comment=comment)))
    best = min(candidates, key=lambda c: len(c[1]), default=None)
    return best if best and len(best[1]) <= (1 - MIN_SAVING) * len(data) else ("image/png", data)


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def compact_figures(root: Path) -> tuple[int, int]:
    """Compact every PNG file (staying PNG) and every inline PNG of the HTML pages (PNG or JPEG) in place;
    return (bytes before, bytes after)."""
    before = after = 0
    for path in root.rglob("*.png"):
        if "_static" in path.parts or "vendor" in path.parts:
            continue
        data = path.read_bytes()
        _, small = compact_image(data)
        before, after = before + len(data), after + len(small)
        if small is not data:
            path.write_bytes(small)
    for page in root.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        sizes = []

        def swap(match: re.Match) -> str:
            data = base64.b64decode(match.group(1))
            mime, small = compact_image(data, allow_jpeg=True)
            sizes.append((len(data), len(small)))
            return f"data:{mime};base64," + base64.b64encode(small).decode("ascii")

        new = DATA_URI.sub(swap, text)
        if new != text:
            page.write_text(new, encoding="utf-8")
        before, after = before + sum(b for b, _ in sizes), after + sum(a for _, a in sizes)
    return before, after


@lru_cache(maxsize=None)
def gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def page_assets(page: Path, root: Path) -> list[Path]:
    """Local files the page loads through src/href attributes, each once."""
    text = page.read_text(encoding="utf-8", errors="replace")
    seen: dict[Path, None] = {}
    for ref in re.findall(r'(?:src|href)="([^"#?]+)', text):
        if ref.startswith(("http:", "https:", "data:", "mailto:")) or not ref.lower().endswith(ASSET_SUFFIXES):
            continue
        target = (page.parent / ref).resolve()
        if target.is_file() and root.resolve() in target.parents:
            seen[target] = None
    return list(seen)


def page_weight(page: Path, root: Path) -> dict[str, int]:
    """Bytes of the page alone, with its assets, and with its assets gzip-compressed."""
    assets = page_assets(page, root)
    own = page.stat().st_size
    return {"own": own, "raw": own + sum(a.stat().st_size for a in assets),
            "transfer": gzip_size(page) + sum(gzip_size(a) for a in assets)}


def mirror_widget_fonts(root: Path) -> int:
    """Copy the widget bundle's fonts one folder up as well.

    Depending on load order, the bundle asks for its Font Awesome files under
    ``vendor/widgets/@jupyter-widgets/`` instead of ``.../html-manager/dist/``;
    serving them at both paths makes every page load without a 404.
    """
    dist = root / "vendor" / "widgets" / "@jupyter-widgets" / "html-manager" / "dist"
    copied = 0
    for font in sorted(dist.glob("*.woff*")) + sorted(dist.glob("*.ttf")) + sorted(dist.glob("*.eot")) + sorted(dist.glob("*.svg")):
        target = dist.parent.parent / font.name
        shutil.copyfile(font, target)
        copied += 1
    return copied


def main(root: Path) -> int:
    mirror_widget_fonts(root)
    before, after = compact_figures(root)
    if before:
        print(f"figures: {before / 1e6:.2f} MB -> {after / 1e6:.2f} MB (256-colour PNG or, for photos, JPEG where it looks the same)")
    pages = sorted(p for p in root.rglob("*.html") if not ({"_static", "_sources", "vendor"} & set(p.parts)))
    if not pages:
        print(f"no HTML pages under {root}", file=sys.stderr)
        return 1
    over = []
    print(f"{'page':44s} {'page MB':>8s} {'+assets MB':>11s} {'transfer MB':>12s}")
    for page in pages:
        w = {k: v / 1e6 for k, v in page_weight(page, root).items()}
        print(f"{str(page.relative_to(root)):44s} {w['own']:8.2f} {w['raw']:11.2f} {w['transfer']:12.2f}")
        if w["transfer"] > LIMIT_MB or w["own"] > LIMIT_MB:
            over.append(f"{page.relative_to(root)} ({w['own']:.2f} MB page, {w['transfer']:.2f} MB transferred)")
    if over:
        print(f"pages over the {LIMIT_MB} MB limit: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")))
