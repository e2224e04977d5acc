"""Execute every chapter notebook on CUDA and compare its checked outputs with the committed CPU run.

    python scripts/check_notebooks_cuda.py [notebooks/NN_x.ipynb ...]

Each notebook runs top to bottom in a fresh kernel with ``CONVVIS_DEVICE=cuda``; the text of its
``nbval-check-output`` cells (predictions, accuracies, counts, shapes) is compared line by line with
the outputs stored in the notebook, which were produced on the CPU. Prints a markdown table and the
differing lines (float noise can move a rounded last digit; a different top-1 class shows as a changed
line). Exits 0 with a message where no GPU is present; exits 1 if a notebook fails to execute.
"""
from __future__ import annotations

import difflib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbexec import NOTEBOOKS, ROOT, execute, stored_checked_outputs  # noqa: E402


def line_diff(stored: list[str], run: list[str]) -> tuple[int, int, list[str]]:
    """(differing lines, compared lines, unified-diff excerpt) over all checked cells."""
    a = "".join(stored).splitlines()
    b = "".join(run).splitlines()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    excerpt = [ln for ln in difflib.unified_diff(a, b, "cpu (committed)", "cuda", lineterm="", n=0)][2:62]
    return max(len(a), len(b)) - same, max(len(a), len(b)), excerpt


def main(paths: list[Path]) -> int:
    import torch
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to compare (run this on a GPU machine)")
        return 0
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}", flush=True)
    rows, details, failed = [], [], 0
    for path in paths:
        run = execute(path, CONVVIS_DEVICE="cuda")
        stored = stored_checked_outputs(path)
        name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        if run.error:
            failed += 1
            rows.append(f"| {name} | {run.seconds:.1f} | error | {run.error} |")
            continue
        ndiff, total, excerpt = line_diff(stored, run.checked)
        rows.append(f"| {name} | {run.seconds:.1f} | {total - ndiff}/{total} lines identical | "
                    f"{'identical' if ndiff == 0 else 'see diff'} |")
        if ndiff:
            details.append(f"### {name}\n" + "\n".join(excerpt))
        print(rows[-1], flush=True, file=sys.stderr)
    print("| notebook | CUDA run (s) | checked output vs CPU | verdict |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print("\n".join(details))
    return 1 if failed else 0


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]]
    sys.exit(main(args or NOTEBOOKS))
