"""Shared fixtures: the embedded model, its sample, a tiny batch."""
from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("CONVVIS_OFFLINE", "0")


@pytest.fixture(scope="session")
def fashion():
    import convvis_lib as cv
    model, info = cv.load_model("fashionnet")
    return model, info


@pytest.fixture(scope="session")
def sample():
    import convvis_lib as cv
    return cv.load_sample()


@pytest.fixture(scope="session")
def labelled_batch(fashion, sample):
    """``labelled_batch(n)``: (model, info, x, labels) for the first ``n`` sample images (one tensor per n)."""
    import convvis_lib as cv
    model, info = fashion
    made: dict[int, tuple] = {}

    def make(n: int) -> tuple:
        if n not in made:
            made[n] = (model, info, cv.preprocess(info, sample.images[:n]), sample.labels[:n])
        return made[n]
    return make


@pytest.fixture()
def batch(fashion, sample):
    import convvis_lib as cv
    _, info = fashion
    return cv.preprocess(info, sample.images[:8])


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for modules of many tiny ops: on a shared 2-core machine spinning OpenMP threads
    make them ~50x slower. Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def three_classes():
    """(model, info, x, y): one shipped example each of 바지, 샌들 and 앵클 부츠 (classes 1, 5, 9)."""
    import numpy as np

    import convvis_lib as cv
    model, info = cv.load_model("fashionnet")
    ex = cv.examples_for(info)
    idx = [ex.of_class(c)[0] for c in (1, 5, 9)]
    return model, info, cv.preprocess(info, np.stack([ex.images[i] for i in idx])), torch.tensor(ex.labels[idx])
