"""convvis_lib.threads: one thread for small CPU work (the count restored afterwards); glibc keeps freed memory."""
import subprocess
import sys

import pytest
import torch

from convvis_lib import threads
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


PAGE_FAULTS = """
import resource, sys, torch, convvis_lib as cv
from convvis_lib import threads
kept = threads.keep_freed_memory() if sys.argv[1] == "keep" else None
model, info = cv.load_model("fashionnet")
x = torch.randn(64, 1, 28, 28)
def page_faults_of_a_gradient():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    xr = x.clone().requires_grad_(True)
    torch.autograd.grad(model(xr)[:, 3].sum(), xr)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
page_faults_of_a_gradient()  # the first call maps the memory it needs: counted in neither mode
print(kept, sum(page_faults_of_a_gradient() for _ in range(12)))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc: Linux only")
def test_keep_freed_memory_cuts_page_faults():
    """A forward + backward pass frees megabytes of activations; by default glibc hands some of them back to the
    OS and page-faults them in again on the next call. With freed memory kept, far fewer pages fault."""
    def run(mode: str) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", PAGE_FAULTS, mode], capture_output=True, text=True, check=True)
        kept, faults = out.stdout.split()
        return kept, int(faults)
    (kept, faults_kept), (_, faults_default) = run("keep"), run("default")
    assert kept == "True"
    assert faults_kept < 0.5 * faults_default, (faults_kept, faults_default)


def test_keep_freed_memory_is_a_no_op_without_glibc(monkeypatch):
    def no_libc(name):
        raise OSError(f"{name}: cannot open shared object file")
    monkeypatch.setattr(threads.ctypes, "CDLL", no_libc)
    assert threads.keep_freed_memory() is False
