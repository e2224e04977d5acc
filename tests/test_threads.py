"""convvis_lib.threads: one thread for small CPU work, the count restored afterwards."""
import pytest
import torch

from convvis_lib.threads import threads_for


def test_threads_for_small_cpu_work_restores_count():
    original = torch.get_num_threads()
    torch.set_num_threads(2)  # so that "one thread inside" is a change even on a 1-thread run
    try:
        with threads_for(torch.zeros(10, 1, 28, 28)):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with threads_for(torch.zeros(2, 3, 224, 224)):  # big enough for all threads
            assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError):
            with threads_for(torch.zeros(1)):
                raise RuntimeError
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(original)
