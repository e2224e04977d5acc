"""convvis_lib.gridsnap: blocked grid assignment for large point sets, against the exact assignment."""
import numpy as np
import pytest

from convvis_lib import embedding as emb
from convvis_lib import gridsnap


@pytest.fixture(scope="module")
def clustered() -> np.ndarray:
    """900 points in ten Gaussian clusters: far from uniform, so the first blocks are far from optimal."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 2)) * 4
    return centres[rng.integers(0, 10, 900)] + rng.normal(size=(900, 2))


def _cost(pts: np.ndarray, cells: np.ndarray) -> float:
    """Total squared distance between the points (stretched to the unit square) and their cell centres."""
    side = emb.grid_side(len(pts))
    p = (pts - pts.min(0)) / (pts.max(0) - pts.min(0))
    ticks = np.linspace(0.0, 1.0, side)
    return float(((p - np.stack([ticks[cells % side], ticks[::-1][cells // side]], 1)) ** 2).sum())


def test_large_sets_snap_in_blocks_near_the_optimum(clustered):
    exact = emb.grid_cells(clustered, exact=True)
    blocked = emb.grid_cells(clustered, exact=False)
    side = emb.grid_side(len(clustered))
    assert len(np.unique(blocked)) == len(clustered) and blocked.max() < side * side
    assert _cost(clustered, exact) <= _cost(clustered, blocked) <= 1.05 * _cost(clustered, exact)
    np.testing.assert_array_equal(gridsnap.split_counts(10, np.array([4, 4, 4])), [4, 3, 3])


def test_every_refine_pass_lowers_the_cost(clustered):
    # 30 x 30 grid, blocks and windows of 12: the first pass must shift its windows, or it only re-solves the blocks
    costs = [_cost(clustered, gridsnap.grid_cells_blocked(clustered, block=12, passes=k, window=12)) for k in range(4)]
    assert costs[0] > costs[1] > costs[2] > costs[3]
