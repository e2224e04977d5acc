"""After `jupyter-book build`: report each page's weight and fail if one is over the limit.

    python scripts/postbuild.py _build/html
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

LIMIT_MB = 5.0


def page_weight(page: Path, root: Path) -> int:
    """Bytes of the page plus the local images and scripts it references (each counted once)."""
    text = page.read_text(encoding="utf-8", errors="replace")
    total = page.stat().st_size
    seen = set()
    for ref in re.findall(r'(?:src|href)="([^"#?]+)', text):
        if ref.startswith(("http:", "https:", "data:", "mailto:")) or not ref.endswith((".png", ".jpg", ".svg", ".js", ".css")):
            continue
        target = (page.parent / ref).resolve()
        if target.is_file() and target not in seen and root.resolve() in target.parents:
            seen.add(target)
            total += target.stat().st_size
    return total


def main(root: Path) -> int:
    pages = sorted(p for p in root.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)
    worst = 0.0
    print(f"{'page':60s} {'MB':>7s}")
    for page in pages:
        mb = page_weight(page, root) / 1e6
        worst = max(worst, mb)
        print(f"{str(page.relative_to(root)):60s} {mb:7.2f}")
    if worst > LIMIT_MB:
        print(f"a page weighs {worst:.2f} MB, over the {LIMIT_MB} MB limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")))
