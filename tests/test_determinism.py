"""Every chapter notebook carries checked outputs for nbval to compare.

nbval (``--nbval-lax``) re-executes each notebook and compares only the cells tagged
``nbval-check-output`` with the outputs stored in the committed file, which came from an earlier
execution: so a notebook passes nbval only if two executions agree on those cells. That is a
determinism test only if the tagged cells exist and hold real text, which this file checks (cheaply,
without executing anything), and that the sanitiser (tests/nbval_sanitize.cfg) hides nothing but
timings from nbval. ``scripts/check_determinism.py`` executes every notebook twice, the second time
in the environment of ``make nbval-portable`` (AVX2 kernels, one thread), and diffs the checked outputs.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from nbexec import compared_text, portable_env, sanitizers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK_TAG = "nbval-check-output"
SETUP_TAG = "convvis-setup"


def _cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _sanitise(text: str) -> str:
    for rx, rep in sanitizers():
        text = rx.sub(rep, text)
    return text


def test_there_are_chapter_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_checked_cells_hold_stored_text(path):
    checked = [c for c in _cells(path) if CHECK_TAG in _tags(c)]
    assert checked, f"{path.name}: no cell tagged {CHECK_TAG!r}, so nbval compares nothing"
    empty = [i for i, c in enumerate(checked) if not compared_text(c).strip()]
    assert not empty, f"{path.name}: checked cells {empty} have no stored text output (notebook not executed?)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_outputs_come_from_one_clean_run(path):
    """Consecutive execution counts top to bottom (no re-run cells, no skipped cells) and no errors."""
    cells = [c for c in _cells(path) if SETUP_TAG not in _tags(c) and "".join(c["source"]).strip()]
    counts = [c.get("execution_count") for c in cells]
    assert None not in counts, f"{path.name}: some cells were never executed"
    in_order = list(range(counts[0], counts[0] + len(counts))) if counts else []
    assert counts == in_order, f"{path.name}: cells run out of order, skipped or run again: {counts}"
    errors = [o.get("ename") for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: stored errors {errors}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_checked_text_is_stable_after_sanitising(path):
    """Checked text must not hold what changes from run to run and the sanitiser does not mask."""
    volatile = re.compile(r"(0x[0-9a-f]{6,}|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|/tmp/\S+|at 0x)", re.I)
    for cell in (c for c in _cells(path) if CHECK_TAG in _tags(c)):
        found = volatile.search(_sanitise(compared_text(cell)))
        assert not found, f"{path.name}: volatile text in a checked cell: {found[0]!r}"


def test_sanitiser_masks_timings_addresses_and_progress_bars():
    text = "took 12.5 s, 3 ms, 4초 at 0x7f3a2b1c4d50\n 45%|####  | 9/20 [00:01<00:01]"
    assert _sanitise(text) == "took TIME, TIME, TIME at 0xADDR\n PROGRESS"


@pytest.mark.parametrize("text", ["크기: 10x10  보폭: 4", "head 1280x7x7, block7 320x7", "(0x10 = 16)", "3 samples",
                                  "conv5 s", "정확도 0.840, 42/256, 5초기화"])
def test_sanitiser_leaves_results_alone(text):
    """A checked number the sanitiser masks is a number nbval never checks (the address rule once ate '0x10' of
    '10x10')."""
    assert _sanitise(text) == text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_sanitiser_masks_nothing_but_timings_in_checked_cells(path):
    """Only a timing may be masked in a checked cell; anything else the sanitiser hides there is never compared."""
    masked = [m[0] for c in _cells(path) if CHECK_TAG in _tags(c)
              for rx, rep in sanitizers() if rep != "TIME" for m in rx.finditer(compared_text(c))]
    assert not masked, f"{path.name}: checked text the sanitiser hides from nbval: {masked}"


def test_portable_env_is_avx2_on_one_thread():
    """scripts/check_determinism.py runs notebooks in the environment `make nbval-portable` uses."""
    env = portable_env()
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["OMP_NUM_THREADS"] == "1"
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nnbval-portable:")[1].split("\n\n")[0]
    assert "$(PORTABLE_ENV)" in recipe and "tests/nbval_sanitize.cfg" in recipe
