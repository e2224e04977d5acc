"""Notebook tools: create a chapter notebook from a jupytext percent script, execute notebooks.

    python scripts/nbtools.py new SRC.py notebooks/NN_name.ipynb   # convert, add the Colab setup cell
    python scripts/nbtools.py run notebooks/NN_name.ipynb [...]     # execute in place, store outputs
    python scripts/nbtools.py sync                                  # rewrite every setup cell from _config.yml
"""
from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SETUP_TAG = "convvis-setup"


def repository_url() -> str:
    """The repository URL, read from _config.yml (its one home)."""
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, re.M)
    if not match:
        raise SystemExit("_config.yml has no repository.url")
    return match.group(1)


def setup_cell_source() -> str:
    """The first cell of every chapter: installs convvis_lib and the font only inside Colab."""
    return (
        "# Colab에서 열었을 때만 실행됩니다: convvis_lib와 한글 글꼴(NanumGothic)을 설치합니다.\n"
        "import sys\n"
        "if \"google.colab\" in sys.modules:\n"
        f"    %pip install -q \"convvis-ko @ git+{repository_url()}@main\"\n"
        "    import importlib\n"
        "    importlib.invalidate_caches()"
    )


def setup_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(setup_cell_source())
    cell.metadata["tags"] = ["remove-cell", SETUP_TAG]
    return cell


def finish_metadata(nb: nbformat.NotebookNode) -> None:
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.pop("jupytext", None)
    nb.metadata["colab"] = {"provenance": []}


def new(src: Path, out: Path) -> None:
    import jupytext
    nb = jupytext.read(src, fmt="py:percent")
    nb.cells = [c for c in nb.cells if SETUP_TAG not in c.metadata.get("tags", [])]
    nb.cells.insert(0, setup_cell())
    finish_metadata(nb)
    nbformat.write(nb, out)
    print(f"wrote {out} ({len(nb.cells)} cells)")


def run(paths: list[Path], timeout: int = 600) -> None:
    from nbclient import NotebookClient
    os.environ.pop("CONVVIS_STATIC", None)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(nb, path)
        print(f"{path}: executed in {time.perf_counter() - start:.1f} s")


def sync() -> None:
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nb.cells = [c for c in nb.cells if SETUP_TAG not in c.metadata.get("tags", [])]
        nb.cells.insert(0, setup_cell())
        nbformat.write(nb, path)


if __name__ == "__main__":
    cmd, args = sys.argv[1], [Path(a) for a in sys.argv[2:]]
    if cmd == "new":
        new(args[0], args[1])
    elif cmd == "run":
        run(args)
    elif cmd == "sync":
        sync()
    else:
        raise SystemExit(__doc__)
