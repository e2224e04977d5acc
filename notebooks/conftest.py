"""pytest plugin for the nbval runs: print each chapter's wall time at the end (a figure, not a test).

nbval runs one kernel per notebook; the time of a notebook is the sum of its items' setup, call and
teardown (kernel start and shutdown included). The goal (issue 13) is at most 60 s per chapter and
5 minutes for all of them on 2 CPU cores; ``benchmarks/bench_notebooks.py`` measures the same with the
peak memory beside it.
"""
from __future__ import annotations

from collections import defaultdict

CHAPTER_GOAL_S, TOTAL_GOAL_S = 60.0, 300.0
_seconds: dict[str, float] = defaultdict(float)


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
