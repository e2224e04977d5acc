"""After `jupyter-book build`: report each page's weight and fail if one is over the limit.

    python scripts/postbuild.py _build/html

For every HTML page: the bytes of the page itself (with its inline widget images), the bytes of the page
plus every local script, stylesheet and image it references (each counted once), and the same again
gzip-compressed, which is what a browser downloads on a first visit from any web server (GitHub Pages,
`python -m http.server` behind a proxy, ...). The limit applies to the transferred weight and to the page
itself; the shared theme, widget and MathJax scripts (about 7 MB uncompressed, 1.7 MB compressed) are
cached after the first page.
"""
from __future__ import annotations

import gzip
import re
import sys
from functools import lru_cache
from pathlib import Path

LIMIT_MB = 5.0
ASSET_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".js", ".css")


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


def main(root: Path) -> int:
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
