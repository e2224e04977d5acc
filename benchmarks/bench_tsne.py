"""t-SNE of 10 000 CNN codes (fashionnet fc1 on the Fashion-MNIST test set) and grid snapping."""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import convvis_lib as cv
from convvis_lib import embedding

from common import Row, fmt_s

N = 10_000
GOAL_S = 30.0


def codes(n: int = N) -> tuple[np.ndarray, str]:
    """fc1 codes of ``n`` test images (the full test set if installed, else the sample repeated)."""
    model, info = cv.load_model("fashionnet")
    try:
        data, source = cv.load_fashion_mnist("test", download=False), "Fashion-MNIST test set"
    except cv.DataUnavailableError:
        data, source = cv.load_sample(), "shipped 2 000-image sample, tiled"
    images = np.resize(data.images, (n, 28, 28)) if len(data) < n else data.images[:n]
    x = cv.preprocess(info, images)
    with torch.inference_mode():
        return embedding.layer_codes(model, info, x, ["fc1"])["fc1"], source


EXACT_LIMIT = 3000  # above this, the library's exact snapping is extrapolated, not run (O(n^3))


def _timed(fn) -> tuple[object, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _exact_snapping_seconds(points: np.ndarray) -> tuple[float, str]:
    """Time ``embedding.grid_cells``; beyond EXACT_LIMIT points extrapolate from 1 000 and 2 000 points."""
    n = len(points)
    if n <= EXACT_LIMIT:
        return _timed(lambda: embedding.grid_cells(points, exact=True))[1], "measured"
    t1 = _timed(lambda: embedding.grid_cells(points[:1000], exact=True))[1]
    t2 = _timed(lambda: embedding.grid_cells(points[:2000], exact=True))[1]
    exponent = float(np.log2(t2 / t1))
    return t2 * (n / 2000) ** exponent, f"extrapolated from 1 000 ({t1:.1f} s) and 2 000 ({t2:.1f} s): n^{exponent:.1f}"


def run(n: int = N, snap: bool = True) -> list[Row]:
    c, source = codes(n)
    points, t_tsne = _timed(lambda: embedding.tsne(c))
    rows = [Row(f"t-SNE of {n:,} fc1 codes ({source})", fmt_s(t_tsne), "—", None, "—", None)]
    if not snap:
        return rows
    t_exact, how = _exact_snapping_seconds(points)
    total = t_tsne + t_exact
    rows.append(Row(f"before: t-SNE + exact assignment (grid_cells(exact=True)), {n:,} codes", fmt_s(total),
                    f"snapping {fmt_s(t_exact)} ({how})", None, "—", None))
    cells, t_fast = _timed(lambda: embedding.grid_cells(points))  # blocked above EXACT_SNAP_LIMIT
    assert len(np.unique(cells)) == n
    total = t_tsne + t_fast
    rows.append(Row(f"t-SNE + grid snapping (embedding.grid_cells, blocked), {n:,} codes", fmt_s(total),
                    f"snapping {fmt_s(t_fast)}", None, f"≤ {GOAL_S:.0f} s", total <= GOAL_S))
    return rows


if __name__ == "__main__":
    from common import machine, table
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=N)
    parser.add_argument("--no-snap", action="store_true", help="skip grid snapping (O(n^3) before the fix)")
    args = parser.parse_args()
    print(machine())
    print(table(run(args.n, not args.no_snap)))
