"""Execute every chapter notebook twice and diff the checked outputs (cells tagged nbval-check-output).

Run 1 uses this machine's defaults; run 2 the environment of ``make nbval-portable`` (the Makefile's
PORTABLE_ENV: AVX2 kernels, one thread), so a checked output that depends on the CPU's instruction set
or the thread count shows up here as a difference, as it would on another machine.

    python scripts/check_determinism.py                    # all notebooks
    python scripts/check_determinism.py notebooks/04_occlusion.ipynb ...

Prints a markdown table (notebook, checked cells, run 1 / portable run seconds, identical?, same as the
committed file?) and, for each difference, a unified diff. Nothing is written to the notebooks.
Exits 1 if any notebook differs between its two runs or fails to execute.
"""
from __future__ import annotations

import difflib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbexec import NOTEBOOKS, ROOT, execute, portable_env, stored_checked_outputs  # noqa: E402


def _diff(a: list[str], b: list[str], label_a: str, label_b: str) -> str:
    lines = []
    for i in range(max(len(a), len(b))):
        x, y = (a[i] if i < len(a) else ""), (b[i] if i < len(b) else "")
        if x != y:
            lines += [f"--- checked cell {i}"]
            lines += list(difflib.unified_diff(x.splitlines(), y.splitlines(), label_a, label_b, lineterm="", n=1))
    return "\n".join(lines)


def main(paths: list[Path]) -> int:
    rows, diffs, identical = [], [], 0
    for path in paths:
        first, second = execute(path), execute(path, **portable_env())
        stored = stored_checked_outputs(path)
        same = first.checked == second.checked and first.error is None and second.error is None
        committed = first.checked == stored
        identical += same
        name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        rows.append(f"| {name} | {len(first.checked)} | {first.seconds:.1f} | {second.seconds:.1f} | "
                    f"{'yes' if same else 'NO'} | {'yes' if committed else 'no'} |")
        for err in {first.error, second.error} - {None}:
            diffs.append(f"## {name}: execution failed: {err}")
        if first.checked != second.checked:
            diff = _diff(first.checked, second.checked, "run1", "portable")
            diffs.append(f"## {name}: run 1 vs portable run\n{diff}")
        elif not committed:
            diffs.append(f"## {name}: runs vs committed file\n" + _diff(stored, first.checked, "committed", "run"))
        print(rows[-1].replace("|", " ").strip(), flush=True, file=sys.stderr)
    print("| notebook | checked cells | run 1 (s) | portable run (s) | identical | same as committed |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    if diffs:
        print("\n" + "\n\n".join(diffs))
    print(f"\n{identical} of {len(rows)} notebooks gave identical checked outputs in both runs "
          f"(run 2: {' '.join(f'{k}={v}' for k, v in portable_env().items())})")
    return 0 if identical == len(rows) else 1


if __name__ == "__main__":
    args = [Path(a).resolve() for a in sys.argv[1:]] or NOTEBOOKS
    sys.exit(main(args))
