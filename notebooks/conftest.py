"""pytest plugin for the nbval runs: glue records are not compared; each chapter's wall time is printed at the end.

nbval runs one kernel per notebook; the time of a notebook is the sum of its items' setup, call and
teardown (kernel start and shutdown included). The goal (issue 13) is at most 60 s per chapter and
5 minutes for all of them on 2 CPU cores; ``benchmarks/bench_notebooks.py`` measures the same with the
peak memory beside it.
"""
from __future__ import annotations

from collections import defaultdict

from convvis_lib.text import GLUE_PREFIX

CHAPTER_GOAL_S, TOTAL_GOAL_S = 60.0, 300.0
_seconds: dict[str, float] = defaultdict(float)


def pytest_collection_modifyitems(items) -> None:
    """Leave ``text.glue`` records out of nbval's comparison.

    A glue record carries the full-precision number the book's prose quotes; it is recomputed on
    every run and differs in the last digits between CPUs, thread counts and memory layouts. What a
    checked cell *prints* (rounded, with a margin) is what nbval compares.
    """
    for item in items:
        notebook = item.parent
        skip = getattr(notebook, "skip_compare", None)
        if skip is not None and not any(str(k).startswith(GLUE_PREFIX) for k in skip):
            notebook.skip_compare = tuple(skip) + tuple(GLUE_PREFIX + m for m in ("text/plain", "text/html",
                                                                                   "text/markdown", "text/latex"))


def pytest_runtest_logreport(report) -> None:
    if report.nodeid.endswith(".ipynb") or ".ipynb::" in report.nodeid:
        _seconds[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if not _seconds:
        return
    write = terminalreporter.write_line
    terminalreporter.section("notebook wall times (goal: each <= 60 s, all <= 300 s)")
    for path, seconds in sorted(_seconds.items()):
        write(f"{seconds:7.1f} s  {path}{'  (over the goal)' if seconds > CHAPTER_GOAL_S else ''}")
    total = sum(_seconds.values())
    write(f"{total:7.1f} s  all {len(_seconds)} notebooks{'  (over the goal)' if total > TOTAL_GOAL_S else ''}")
