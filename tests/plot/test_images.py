"""convvis_lib.plot.images: display scaling and grids."""
import numpy as np
import torch

from convvis_lib import plot


def test_minmax_scale_whole_array_and_per_item():
    a = np.array([[0.0, 2.0], [10.0, 20.0]])
    assert np.allclose(plot.minmax_scale(a), a / 20.0)
    assert np.allclose(plot.minmax_scale(torch.tensor(a), per_item=True), [[0.0, 1.0], [0.0, 1.0]])
    assert np.all(plot.minmax_scale(np.full((2, 2), 3.0)) == 0.0)  # flat input: no division by zero
