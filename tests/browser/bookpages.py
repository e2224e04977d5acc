"""What the browser tests need to know about the book: where it is built, its pages, its repository."""
from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build" / "html"


def toc_pages(toc: Path | None = None) -> list[str]:
    """Document names of the toc, in reading order (root first)."""
    data = yaml.safe_load((toc or Path(os.environ.get("CONVVIS_TOC", ROOT / "_toc.yml"))).read_text(encoding="utf-8"))
    pages = [data["root"]]
    for part in data.get("parts", []):
        pages += [c["file"] for c in part.get("chapters", [])]
    return [re.sub(r"\.(md|ipynb)$", "", p) for p in pages]


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
