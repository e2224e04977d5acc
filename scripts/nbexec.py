"""Execute a chapter notebook in memory (never written back) and read what matters from it.

Shared by ``scripts/check_determinism.py`` and ``benchmarks/bench_notebooks.py``:
wall time, the kernel's peak resident memory, and the sanitised text of the cells tagged
``nbval-check-output`` (the ones nbval compares).
"""
from __future__ import annotations

import copy
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK_TAG = "nbval-check-output"
# The kernel's own peak: VmHWM of its address space. (getrusage's ru_maxrss would not do: Linux carries
# it over exec, so a kernel started by a big process would report that process's peak.)
PEAK_RSS_CELL = ("import re as _re, resource as _r\n"
                 "try:\n"
                 "    _kb = int(_re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
                 "except (OSError, AttributeError):\n"
                 "    _kb = _r.getrusage(_r.RUSAGE_SELF).ru_maxrss\n"
                 "print('PEAK_RSS_KB', _kb)")


@dataclass
class Execution:
    """One execution of one notebook."""

    path: Path
    seconds: float
    peak_rss_mb: float
    checked: list[str]
    error: str | None = None
    extra: list[str] | None = None  # text printed by the extra cells


def sanitizers() -> list[tuple[re.Pattern, str]]:
    """The regex replacements nbval applies (tests/nbval_sanitize.cfg), read by nbval's own parser."""
    from nbval.plugin import get_sanitize_patterns
    text = (ROOT / "tests" / "nbval_sanitize.cfg").read_text(encoding="utf-8")
    return [(re.compile(regex), replace) for regex, replace in get_sanitize_patterns(text)]


def cell_text(cell) -> str:
    """stdout streams and text/plain results of a code cell (what a reader sees printed)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append("".join(out.get("text", "")))
        elif out.get("output_type") in ("execute_result", "display_data") and "text/plain" in out.get("data", {}):
            parts.append("".join(out["data"]["text/plain"]))
    return "".join(parts)


# Output parts nbval never compares (its skip list without --nbdime): images, and widget ids, which are random.
NBVAL_SKIPS = ("image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json")


def compared_text(cell) -> str:
    """Everything nbval compares in a checked cell: every stream (stderr too) and every non-image result."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append("".join(out.get("text", "")))
        for mime, value in sorted(out.get("data", {}).items()):
            if mime not in NBVAL_SKIPS:
                text = "".join(value) if isinstance(value, list) else value
                parts.append(f"[{mime}]\n{text if isinstance(text, str) else json.dumps(text, sort_keys=True)}\n")
    return "".join(parts)


def checked_outputs(nb) -> list[str]:
    """Sanitised text nbval compares in every ``nbval-check-output`` cell, in order."""
    subs = sanitizers()
    out = []
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_TAG in cell.metadata.get("tags", []):
            text = compared_text(cell)
            for rx, rep in subs:
                text = rx.sub(rep, text)
            out.append(text)
    return out


def portable_env() -> dict[str, str]:
    """The environment of ``make nbval-portable`` (the Makefile's PORTABLE_ENV: AVX2 kernels, one thread)."""
    lines = [ln for ln in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines() if ln.startswith("PORTABLE_ENV")]
    if len(lines) != 1 or ":=" not in lines[0]:
        raise RuntimeError(f"Makefile: expected one line 'PORTABLE_ENV := NAME=value ...', found {lines}")
    return dict(item.split("=", 1) for item in lines[0].split(":=", 1)[1].split())


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or with None, remove) environment variables for the kernels started inside the block."""
    old = {k: os.environ.get(k) for k in values}
    try:
        _set_environment(values)
        yield
    finally:
        _set_environment(old)


def _set_environment(values: dict[str, str | None]) -> None:
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _cell_seconds(cell) -> float:
    """Duration of an executed cell from nbclient's timing metadata (0 if missing)."""
    from datetime import datetime
    meta = cell.get("metadata", {}).get("execution", {})
    start, end = meta.get("iopub.execute_input"), meta.get("shell.execute_reply")
    if not start or not end:
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def execute(path: Path, timeout: int = 600, extra: list[str] | tuple[str, ...] = (),
            **env: str | None) -> Execution:
    """Run ``path`` top to bottom in a fresh kernel (CONVVIS_STATIC unset unless given); nothing is saved.

    ``extra`` cells run after the notebook, in the same kernel; their time is not counted in
    ``seconds`` and their printed text is returned in ``Execution.extra``.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    nb = nbformat.read(path, as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(code) for code in (*extra, PEAK_RSS_CELL)]
    env.setdefault("CONVVIS_STATIC", None)
    error = None
    start = time.perf_counter()
    with environment(**env):
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except CellExecutionError as err:
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip()  # without the traceback's colour codes
            error = text.splitlines()[-1][:200] if text else "CellExecutionError"
        except (CellTimeoutError, DeadKernelError, RuntimeError, AssertionError) as err:
            error = f"{type(err).__name__}: {str(err)[:200]}"
    added = nb.cells[len(nb.cells) - len(extra) - 1:]
    seconds = time.perf_counter() - start - sum(_cell_seconds(c) for c in added)
    match = re.search(r"PEAK_RSS_KB (\d+)", cell_text(added[-1]))
    peak = int(match.group(1)) / 1024 if match else float("nan")
    del nb.cells[len(nb.cells) - len(added):]
    return Execution(path, seconds, peak, checked_outputs(nb), error, [cell_text(c) for c in added[:-1]])


def stored_checked_outputs(path: Path) -> list[str]:
    """The checked outputs as committed in the notebook file."""
    return checked_outputs(copy.deepcopy(nbformat.read(path, as_version=4)))
