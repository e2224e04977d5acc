"""convvis_lib.gridsnap: blocked grid assignment for large point sets, against the exact assignment."""
import numpy as np

from convvis_lib import embedding as emb
from convvis_lib import gridsnap


def test_large_sets_snap_in_blocks_near_the_optimum():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 2)) * 4
    pts = centres[rng.integers(0, 10, 900)] + rng.normal(size=(900, 2))
    side = emb.grid_side(len(pts))

    def cost(cells):
        p = (pts - pts.min(0)) / (pts.max(0) - pts.min(0))
        ticks = np.linspace(0.0, 1.0, side)
        return float(((p - np.stack([ticks[cells % side], ticks[::-1][cells // side]], 1)) ** 2).sum())

    exact = emb.grid_cells(pts, exact=True)
    blocked = emb.grid_cells(pts, exact=False)
    assert len(np.unique(blocked)) == len(pts) and blocked.max() < side * side
    assert cost(exact) <= cost(blocked) <= 1.05 * cost(exact)
    np.testing.assert_array_equal(gridsnap.split_counts(10, np.array([4, 4, 4])), [4, 3, 3])
