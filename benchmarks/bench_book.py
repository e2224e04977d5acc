"""Clean and cached book builds, timed. Builds into a temporary folder (``--path-output``), so the
repository's ``_build`` is never touched; the cached build runs right after the clean one, with
nothing changed, and reuses its execution cache."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Row, fmt_s

ROOT = Path(__file__).resolve().parents[1]


def _jupyter_book() -> list[str]:
    exe = Path(sys.executable).with_name("jupyter-book")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "jupyter_book"]


def _build(out: Path, clean: bool) -> tuple[float, int, str]:
    cmd = [*_jupyter_book(), "build", *(["--all"] if clean else []), "--path-output", str(out), str(ROOT)]
    env = {**os.environ, "CONVVIS_STATIC": "1"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc.returncode, (proc.stdout + proc.stderr)[-2000:]


def run() -> list[Row]:
    out = Path(tempfile.mkdtemp(prefix="convvis-book-"))
    try:
        clean_s, rc1, log1 = _build(out, clean=True)
        cached_s, rc2, log2 = _build(out, clean=False)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    rows = [Row("book build, clean (CONVVIS_STATIC=1, every notebook executed)", fmt_s(clean_s),
                "—", None, "—", None if rc1 == 0 else False),
            Row("book build, cached (nothing changed)", fmt_s(cached_s), f"clean {fmt_s(clean_s)}",
                cached_s / clean_s, "—", None if rc2 == 0 else False)]
    for rc, log in ((rc1, log1), (rc2, log2)):
        if rc:
            print(log, file=sys.stderr)
    return rows


if __name__ == "__main__":
    from common import machine, table
    print(machine())
    print(table(run()))
