"""Memory layout of the loaded models: channels-last (what ``load_model`` returns) vs plain NCHW.

``load_model`` stores convolution weights channels-last (NHWC) because PyTorch's CPU convolutions,
max-pooling and ReLU run faster in that layout. This suite keeps the choice honest: the same model,
the same inputs, once as loaded and once converted back to ``torch.contiguous_format``, timed round
by round (forward in inference mode, and forward + backward to the pixels as the gradient methods do),
and the largest difference between the two outputs.
"""
from __future__ import annotations

import argparse

import torch

import convvis_lib as cv

from common import Row, fmt_s, paired, ratio

CASES = {"fashionnet": [(500, False), (64, True)], "efficientnet_lite0": [(16, False), (4, True)]}
GOAL = 1.0  # the loaded (channels-last) model must not be slower than NCHW


def _step(model: torch.nn.Module, x: torch.Tensor, backward: bool):
    def run() -> torch.Tensor:
        if not backward:
            with torch.inference_mode():
                return model(x)
        xx = x.detach().requires_grad_(True)
        model(xx).logsumexp(1).sum().backward()
        return xx.grad
    return run


def run(models: list[str] | None = None, rounds: int = 5) -> list[Row]:
    rows = []
    for name in models or list(CASES):
        loaded, info = cv.load_model(name, allow_random=True)
        nchw, _ = cv.load_model(name, allow_random=True)
        nchw = nchw.to(memory_format=torch.contiguous_format)
        for n, backward in CASES[name]:
            x = torch.randn(n, *info.input_size, generator=torch.Generator().manual_seed(0))
            fns = {"loaded": _step(loaded, x, backward), "nchw": _step(nchw, x, backward)}
            diff = float((fns["loaded"]() - fns["nchw"]()).abs().max())
            t = paired(fns, rounds)
            r = ratio(t["loaded"], t["nchw"])
            what = "forward + backward to the pixels" if backward else "forward (inference)"
            rows.append(Row(f"{name} {what}, batch {n}: channels-last / NCHW (max abs. difference {diff:.1e})",
                            fmt_s(min(t["loaded"])), fmt_s(min(t["nchw"])), r, f"≤ {GOAL:.1f}×", r <= GOAL))
    return rows


if __name__ == "__main__":
    from common import machine, table
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", choices=list(CASES), default=None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    print(table(run(args.models, args.rounds)))
