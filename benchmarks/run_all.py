"""Run every benchmark and print one markdown table (``make bench``).

    python benchmarks/run_all.py                       # everything (about 10-15 min on 2 CPU cores)
    python benchmarks/run_all.py --only occlusion gradients
    python benchmarks/run_all.py --skip book notebooks --output bench.md

Each figure is a ratio measured within one run against its reference (the two alternate, so a
noisy machine slows both) or an absolute time / memory with its goal. Benchmarks are scripts that
print figures, not timed tests: nothing here fails the test suite.
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, machine, table  # noqa: E402

SUITES = ("occlusion", "gradients", "layout", "tsne", "notebooks", "book")


def _suite(name: str) -> tuple[list[Row], str]:
    if name == "occlusion":
        import bench_occlusion
        return bench_occlusion.run(), ""
    if name == "gradients":
        import bench_gradients
        return bench_gradients.run(), ""
    if name == "layout":
        import bench_layout
        return bench_layout.run(), ""
    if name == "tsne":
        import bench_tsne
        return bench_tsne.run(), ""
    if name == "notebooks":
        import bench_notebooks
        return bench_notebooks.run()
    import bench_book
    return bench_book.run(), ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=SUITES, default=None)
    parser.add_argument("--skip", nargs="+", choices=SUITES, default=[])
    parser.add_argument("--output", type=Path, default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    suites = [s for s in (args.only or SUITES) if s not in args.skip]
    header = f"Machine: {machine()}"
    print(header, flush=True)
    rows: list[Row] = []
    details = []
    for name in suites:
        start = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            got, text = _suite(name)
        except Exception as err:  # noqa: BLE001 -- one broken suite must not hide the others
            traceback.print_exc()
            got, text = [Row(f"{name} benchmark", f"error: {type(err).__name__}: {err}"[:120], "—", None, "—",
                             False)], ""
        rows += got
        if text:
            details.append(text)
        print(f"[bench] {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    report = "\n\n".join([header, table(rows), *details])
    print("\n" + table(rows))
    for text in details:
        print("\n" + text)
    if args.output:
        args.output.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
