"""Shared benchmark helpers: paired timing (ratios measured in one run), result rows, the table."""
from __future__ import annotations

import os
import platform
import random
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class Row:
    """One line of the benchmark table. ``ratio`` is measured/reference (None for absolute figures)."""

    figure: str
    measured: str
    reference: str
    ratio: float | None
    goal: str
    passed: bool | None

    def markdown(self) -> str:
        ratio = f"{self.ratio:.2f}×" if self.ratio is not None else "—"
        verdict = {True: "pass", False: "**FAIL**", None: "n/a"}[self.passed]
        return f"| {self.figure} | {self.measured} | {self.reference} | {ratio} | {self.goal} | {verdict} |"


HEADER = "| figure | measured | reference | ratio | goal | pass/fail |\n|---|---|---|---|---|---|"


def table(rows: list[Row]) -> str:
    return "\n".join([HEADER, *(r.markdown() for r in rows)])


def sync(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: torch.device | str = "cpu") -> float:
    """Seconds for one call of ``fn`` (CUDA work waited for)."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def paired(fns: dict[str, Callable[[], object]], rounds: int, device: torch.device | str = "cpu",
           warmup: int = 1) -> dict[str, list[float]]:
    """Time every function once per round, in a shuffled order, so all see the same machine load.

    The order is drawn anew each round (seeded, so a run is repeatable): a rotating order would give
    each function the same predecessor every round, and what ran just before (its freed memory, its
    caches) changes a call's time by up to 10 % on 2 CPU cores. Returns the list of per-round seconds
    for each name; compare them with :func:`ratio`.
    """
    names = list(fns)
    for _ in range(warmup):
        for n in names:
            fns[n]()
    sync(device)
    times: dict[str, list[float]] = {n: [] for n in names}
    rng = random.Random(0)
    for _ in range(rounds):
        for n in rng.sample(names, len(names)):
            times[n].append(timed(fns[n], device))
    return times


def ratio(a: list[float], b: list[float]) -> float:
    """Median over rounds of a/b (a round's pair shares the machine's state at that moment)."""
    return statistics.median(x / y for x, y in zip(a, b))


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def machine() -> str:
    """One line describing where the numbers were measured."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    text = (f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), Python {platform.python_version()}")
    try:
        load = os.getloadavg()[0]
        text += f", load average {load:.1f} at start"
    except OSError:
        pass
    if torch.cuda.is_available():
        text += f"; GPU: {torch.cuda.get_device_name(0)}"
    return text


def device_from_env() -> torch.device:
    """``$CONVVIS_DEVICE`` if set, else CUDA when available, else CPU (as the notebooks do)."""
    name = os.environ.get("CONVVIS_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
