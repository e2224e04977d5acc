"""Every chapter notebook carries checked outputs for nbval to compare.

nbval (``--nbval-lax``) re-executes each notebook and compares only the cells tagged
``nbval-check-output`` with the outputs stored in the committed file, which came from an earlier
execution: so a notebook passes nbval only if two executions agree on those cells. That is a
determinism test only if the tagged cells exist and hold real text, which this file checks (cheaply,
without executing anything). ``scripts/check_determinism.py`` executes every notebook twice and
diffs the checked outputs directly.
"""
from __future__ import annotations

import configparser
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from nbexec import cell_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK_TAG = "nbval-check-output"
SETUP_TAG = "convvis-setup"


def _cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _text(cell: dict) -> str:
    """The text nbval compares (stdout streams and text/plain results), as scripts/nbexec.py reads it."""
    return cell_text(cell)


def _sanitizers() -> list[tuple[re.Pattern, str]]:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "tests" / "nbval_sanitize.cfg", encoding="utf-8")
    return [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]


def test_there_are_chapter_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_checked_cells_hold_stored_text(path):
    checked = [c for c in _cells(path) if CHECK_TAG in _tags(c)]
    assert checked, f"{path.name}: no cell tagged {CHECK_TAG!r}, so nbval compares nothing"
    empty = [i for i, c in enumerate(checked) if not _text(c).strip()]
    assert not empty, f"{path.name}: checked cells {empty} have no stored text output (notebook not executed?)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_outputs_come_from_one_clean_run(path):
    """Execution counts 1, 2, 3, ... top to bottom (no re-run cells, no skipped cells) and no errors."""
    cells = [c for c in _cells(path) if SETUP_TAG not in _tags(c) and "".join(c["source"]).strip()]
    counts = [c.get("execution_count") for c in cells]
    assert None not in counts, f"{path.name}: some cells were never executed"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), f"{path.name}: cells run out of order"
    errors = [o.get("ename") for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: stored errors {errors}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_checked_text_is_stable_after_sanitising(path):
    """Checked text must not hold what changes from run to run and the sanitiser does not mask."""
    volatile = re.compile(r"(0x[0-9a-f]{6,}|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|/tmp/\S+|at 0x)", re.I)
    subs = _sanitizers()
    for cell in (c for c in _cells(path) if CHECK_TAG in _tags(c)):
        text = _text(cell)
        for rx, rep in subs:
            text = rx.sub(rep, text)
        assert not volatile.search(text), f"{path.name}: volatile text in a checked cell: {volatile.search(text)[0]!r}"


def test_sanitiser_masks_timings_and_addresses():
    subs = _sanitizers()
    text = "took 12.5 s, 3 ms, 4초 at 0x7f3a2b"
    for rx, rep in subs:
        text = rx.sub(rep, text)
    assert "12.5" not in text and "7f3a2b" not in text and "4초" not in text
