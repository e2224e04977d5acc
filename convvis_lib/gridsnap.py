"""Grid snapping for large point sets: blocked optimal assignment with refinement sweeps.

One exact ``linear_sum_assignment`` over n points and n cells costs O(n^3) time and n^2 memory
(about 12 minutes and 400 MB for 10 000 points on 2 cores). Here the grid is cut into blocks of at
most ``block`` x ``block`` cells: points go to horizontal bands by their y rank and then to blocks by
their x rank, each band and block receiving as many points as its share of the cells; the optimal
assignment is solved inside each block, then ``passes`` sweeps re-solve smaller windows of
``window`` x ``window`` cells, through which points cross the block edges, shifted by half a window
every other sweep (the cost never rises). On 2 000 clustered points: about 1.5 s instead of 5.5-9 s
for the exact assignment, total squared distance 1.7 % above the optimum; 10 000 points of a t-SNE
map take about 8 s on a busy 2-core machine. Windows of 16 (8 sweeps) rather than 24 (3 sweeps):
about 10 % faster and a lower cost, on t-SNE maps and on clustered points alike.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def split_counts(n: int, capacities: np.ndarray) -> np.ndarray:
    """``n`` split in proportion to ``capacities`` (largest remainders), never above a capacity."""
    ideal = capacities * (n / capacities.sum())
    counts = np.floor(ideal).astype(np.int64)
    extra = n - counts.sum()
    order = np.argsort(-(ideal - counts), kind="stable")
    counts[order[:extra]] += 1
    return np.minimum(counts, capacities)


def grid_cells_blocked(points: np.ndarray, side: int | None = None, block: int = 24, passes: int = 8,
                       window: int = 16) -> np.ndarray:
    """Cell ``row * side + col`` per point (row 0 at the top), one point per cell, near-optimal."""
    p = np.asarray(points, dtype=np.float64)
    n = len(p)
    side = int(np.ceil(np.sqrt(n))) if side is None else side
    span = np.maximum(p.max(0) - p.min(0), 1e-12)
    p = (p - p.min(0)) / span
    ticks = np.linspace(0.0, 1.0, side)
    edges = np.minimum(np.arange(0, side + block, block), side)
    edges = np.unique(edges)
    sizes = np.diff(edges)
    out = np.empty(n, dtype=np.int64)
    by_y = np.argsort(-p[:, 1], kind="stable")          # row 0 = top = largest y
    start = 0
    for b, count in enumerate(split_counts(n, sizes * side)):
        band = by_y[start:start + count]
        start += count
        band = band[np.argsort(p[band, 0], kind="stable")]
        s2 = 0
        for c, count2 in enumerate(split_counts(count, sizes * sizes[b])):
            pts = band[s2:s2 + count2]
            s2 += count2
            rows = np.arange(edges[b], edges[b + 1])
            cols = np.arange(edges[c], edges[c + 1])
            cell_ids = (rows[:, None] * side + cols[None, :]).ravel()
            centres = np.stack([ticks[cell_ids % side], ticks[::-1][cell_ids // side]], axis=1)
            cost = ((p[pts, None, :] - centres[None, :, :]) ** 2).sum(-1)
            pi, ci = linear_sum_assignment(cost)
            out[pts[pi]] = cell_ids[ci]
    return refine(p, out, side, window, passes) if passes else out


def refine(points01: np.ndarray, cells: np.ndarray, side: int, window: int = 16, passes: int = 8) -> np.ndarray:
    """Lower the total cost: re-solve the assignment inside windows of ``window`` x ``window`` cells;
    a window only re-arranges the points it holds, so the cost never rises. The windows are shifted by
    half a window in passes 1, 3, ... (were the windows the blocks of the first solve, unshifted ones
    would already be optimal)."""
    ticks = np.linspace(0.0, 1.0, side)
    cells = cells.copy()
    owner = np.full(side * side, -1, dtype=np.int64)
    owner[cells] = np.arange(len(cells))
    for k in range(passes):
        offset = (window // 2) * ((k + 1) % 2)  # half a window, 0, half a window, ...
        starts = np.arange(-offset, side, window)
        for r0 in starts:
            for c0 in starts:
                rows = np.arange(max(r0, 0), min(r0 + window, side))
                cols = np.arange(max(c0, 0), min(c0 + window, side))
                ids = (rows[:, None] * side + cols[None, :]).ravel()
                pts = owner[ids][owner[ids] >= 0]
                if len(pts) < 2:
                    continue
                centres = np.stack([ticks[ids % side], ticks[::-1][ids // side]], axis=1)
                cost = ((points01[pts, None, :] - centres[None, :, :]) ** 2).sum(-1)
                pi, ci = linear_sum_assignment(cost)
                owner[ids] = -1
                cells[pts[pi]] = ids[ci]
                owner[ids[ci]] = pts[pi]
    return cells
