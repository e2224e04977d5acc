"""Execute every chapter notebook (live mode, as a reader's kernel would) and, in the same kernel,
time the widget redraws: each explorer's dropdowns are switched the way the browser switches them
(setting ``value``, which runs the ``interactive_output`` callback, the render and ``plt.show()``).

Per notebook: execution time, the kernel's peak RSS, and the median redraw time, first visit of an
option (computes if the notebook has not yet, and draws the figures: the figure the goal is about)
and second visit (the explorer reuses the view it rendered, ``convvis_lib.widgets.ViewCache``).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

from common import Row, fmt_s

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from nbexec import NOTEBOOKS, execute  # noqa: E402

TOTAL_GOAL_S, EACH_GOAL_S, RSS_GOAL_MB, REDRAW_GOAL_MS = 300.0, 60.0, 2560.0, 100.0  # issue 13: both models
MAX_OPTIONS = 6  # options visited per dropdown

WIDGET_TIMING_CELL = r'''
import time as _t, json as _j, ipywidgets as _w
from IPython import get_ipython as _gi
try:
    _all = list(_w.Widget.widgets.values())
except AttributeError:
    from ipywidgets.widgets.widget import _instances
    _all = list(_instances.values())
def _is_explorer(b):
    return (isinstance(b, _w.VBox) and len(b.children) == 2 and isinstance(b.children[0], _w.HBox)
            and isinstance(b.children[1], (_w.Output, _w.HTML)) and b.children[0].children
            and all(isinstance(c, _w.Dropdown) for c in b.children[0].children))
_ERROR_MARK = '<pre style="color:#b00020">'
_errors = []
_shell = _gi()
_orig = _shell.showtraceback
_shell.showtraceback = lambda *a, **k: (_errors.append("traceback"), _orig(*a, **k))
_res = {"first": [], "cached": [], "explorers": 0}
try:
    for _b in [b for b in _all if _is_explorer(b)]:
        _res["explorers"] += 1
        _view = _b.children[1]
        for _dd in _b.children[0].children:
            _n = len(_dd.options)
            if _n < 2 or _dd.disabled:
                continue
            _start = _dd.index
            _visit = [(_start + k) % _n for k in range(1, min(_n, MAX_VISITS))] + [_start]
            for _pass in ("first", "cached"):
                for _k, _i in enumerate(_visit):
                    _t0 = _t.perf_counter()
                    _dd.index = _i
                    # the first pass's return to the start option revisits a rendered view: not a first visit
                    if _pass == "cached" or _k < len(_visit) - 1:
                        _res[_pass].append(_t.perf_counter() - _t0)
                    if isinstance(_view, _w.HTML) and _view.value.startswith(_ERROR_MARK):
                        _errors.append(_view.value[len(_ERROR_MARK):200])
finally:
    _shell.showtraceback = _orig
_res["errors"] = len(_errors)
_res["error_text"] = _errors[:3]
print("WIDGET_TIMES", _j.dumps(_res))
'''.replace("MAX_VISITS", str(MAX_OPTIONS))


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


def measure(paths: list[Path]) -> list[dict]:
    results = []
    for path in paths:
        ex = execute(path, extra=[WIDGET_TIMING_CELL])
        match = re.search(r"WIDGET_TIMES (\{.*\})", "".join(ex.extra or []))
        widget = json.loads(match.group(1)) if match else {"first": [], "cached": [], "explorers": 0, "errors": -1}
        results.append({"name": path.stem, "seconds": ex.seconds, "rss_mb": ex.peak_rss_mb, "error": ex.error,
                        "first_ms": _median_ms(widget["first"]), "cached_ms": _median_ms(widget["cached"]),
                        "redraws": len(widget["first"]) + len(widget["cached"]), "explorers": widget["explorers"],
                        "widget_errors": widget["errors"], "cached": widget["cached"], "first": widget["first"],
                        "error_text": widget.get("error_text", [])})
        r = results[-1]
        print(f"  {r['name']}: {r['seconds']:.1f} s, peak RSS {r['rss_mb']:.0f} MB, {r['explorers']} explorer(s), "
              f"redraw median {r['first_ms']:.0f} ms first / {r['cached_ms']:.0f} ms cached"
              f"{', ERROR ' + r['error'] if r['error'] else ''}"
              f"{', %d redraw error(s) %s' % (r['widget_errors'], r['error_text']) if r['widget_errors'] else ''}",
              file=sys.stderr,
              flush=True)
    return results


def detail(results: list[dict]) -> str:
    lines = ["| notebook | execution | peak RSS | explorers | redraws | median redraw, first | median redraw, cached |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['name']}{' (ERROR: ' + r['error'] + ')' if r['error'] else ''} | {r['seconds']:.1f} s | "
                     f"{r['rss_mb']:.0f} MB | {r['explorers']} | {r['redraws']} | {r['first_ms']:.0f} ms | "
                     f"{r['cached_ms']:.0f} ms |")
    return "\n".join(lines)


def rows_from(results: list[dict]) -> list[Row]:
    total = sum(r["seconds"] for r in results)
    slowest = max(results, key=lambda r: r["seconds"])
    fattest = max(results, key=lambda r: r["rss_mb"])
    cached = [t for r in results for t in r["cached"]]
    first = [t for r in results for t in r["first"]]
    failed = [r["name"] for r in results if r["error"] or r["widget_errors"]]
    worst = max((r for r in results if r["first"]), key=lambda r: r["first_ms"], default=None)
    rows = [
        Row(f"all {len(results)} notebooks executed (live mode)", fmt_s(total), "—", None,
            f"≤ {TOTAL_GOAL_S:.0f} s", total <= TOTAL_GOAL_S and not failed),
        Row("slowest notebook", f"{slowest['name']}: {fmt_s(slowest['seconds'])}", "—", None,
            f"≤ {EACH_GOAL_S:.0f} s each", slowest["seconds"] <= EACH_GOAL_S),
        Row("peak RSS of a notebook kernel", f"{fattest['name']}: {fattest['rss_mb']:.0f} MB", "—", None,
            f"≤ {RSS_GOAL_MB:.0f} MB", fattest["rss_mb"] <= RSS_GOAL_MB),
    ]
    if first:
        med = statistics.median(first) * 1000
        rows.append(Row(f"widget redraw after a change to an option not shown before, live kernel "
                        f"({len(first)} redraws: computed if needed, drawn)", f"median {med:.0f} ms",
                        f"worst notebook {worst['name']}: {worst['first_ms']:.0f} ms", None,
                        f"≤ {REDRAW_GOAL_MS:.0f} ms median", med <= REDRAW_GOAL_MS))
    if cached:
        med = statistics.median(cached) * 1000
        rows.append(Row(f"widget redraw when going back to an option ({len(cached)} redraws: the rendered view "
                        "is reused)", f"median {med:.0f} ms", "—", None, "reported", None))
    if failed:
        rows.append(Row("notebooks or redraws that raised", ", ".join(failed), "—", None, "none", False))
    return rows


def run(paths: list[Path] | None = None) -> tuple[list[Row], str]:
    results = measure(paths or NOTEBOOKS)
    return rows_from(results), detail(results)


if __name__ == "__main__":
    from common import machine, table
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    print(machine())
    rows, text = run([p.resolve() for p in args.notebooks] or None)
    print(table(rows))
    print()
    print(text)
