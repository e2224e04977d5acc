"""Saliency, guided backprop and DeconvNet vs one plain forward+backward to the input (same batch)."""
from __future__ import annotations

import argparse

import torch

import convvis_lib as cv
from convvis_lib import gradients

from common import Row, device_from_env, fmt_s, paired, ratio

BATCHES = {"fashionnet": 64, "alexnet": 16, "resnet18": 16, "efficientnet_lite0": 16}  # ImageNet: the realistic size of issue 12
# on a GPU the small batches above are launch-bound (the host's per-op cost sets the time), so the
# ImageNet models are also timed at a batch that gives the GPU work: the fixed cost per call shows
# as the difference between the two ratios
GPU_BATCHES = {"alexnet": 64, "resnet18": 64, "efficientnet_lite0": 64}
GOAL = 1.1


def _plain(model, x: torch.Tensor, cls: int):
    """The reference: one forward and one backward of the class logits to the pixels, nothing else."""
    def run():
        xr = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(model(xr)[:, cls].sum(), xr)
        return g
    return run


def bench_model(name: str, device: torch.device, rounds: int, n: int | None = None) -> list[Row]:
    model, info = cv.load_model(name, pretrained=name in ("fashionnet", "efficientnet_lite0"))
    model = model.to(device).eval()
    images = cv.examples_for(info).images
    n = n or BATCHES[name]
    x = cv.preprocess(info, [images[i % len(images)] for i in range(n)]).to(device)
    fns = {"plain": _plain(model, x, 3),
           "saliency": lambda: gradients.saliency(model, info, x, 3),
           "guided_backprop": lambda: gradients.guided_backprop(model, info, x, 3),
           "deconvnet": lambda: gradients.deconvnet(model, info, x, 3)}
    fns.update(_captum(model, x, 3))
    t = paired(fns, rounds, device)
    ref = sorted(t["plain"])[len(t["plain"]) // 2]
    rows = []
    for method in ("saliency", "guided_backprop", "deconvnet"):
        r = ratio(t[method], t["plain"])
        med = sorted(t[method])[len(t[method]) // 2]
        rows.append(Row(f"{method} vs forward+backward ({name}, batch {n}, {device.type})", fmt_s(med),
                        f"plain {fmt_s(ref)}", r, f"≤ {GOAL}×", r <= GOAL))
    for method, theirs in CAPTUM.items():
        if f"captum {method}" in t:
            r = ratio(t[method], t[f"captum {method}"])
            med = sorted(t[f"captum {method}"])[len(t[f"captum {method}"]) // 2]
            rows.append(Row(f"{method} vs Captum {theirs} ({name}, batch {n}, {device.type})",
                            fmt_s(sorted(t[method])[len(t[method]) // 2]), f"Captum {fmt_s(med)}", r,
                            "reported (no goal)", None))
    return rows


CAPTUM = {"saliency": "Saliency", "guided_backprop": "GuidedBackprop", "deconvnet": "Deconvolution"}


def _captum(model, x: torch.Tensor, cls: int) -> dict:
    """Captum's versions of the three methods as further references (none if Captum is missing or refuses)."""
    try:
        from captum import attr
    except ImportError:
        return {}
    out = {}
    for method, theirs in CAPTUM.items():
        explainer = getattr(attr, theirs)(model)
        fn = (lambda e=explainer: e.attribute(x, target=cls, abs=True).amax(1)) if method == "saliency" else \
            (lambda e=explainer: e.attribute(x, target=cls))
        try:
            fn()
        except Exception:  # noqa: BLE001 -- e.g. a ReLU module used twice (ResNet): Captum's hooks refuse it
            continue
        out[f"captum {method}"] = fn
    return out


def run(device: torch.device | None = None, rounds: int | None = None, models=tuple(BATCHES)) -> list[Row]:
    device = device or device_from_env()
    rows = []
    for name in models:
        rows += bench_model(name, device, rounds or (50 if device.type == "cuda" else 60 if name == "fashionnet" else 7))
    if device.type == "cuda":
        for name in (m for m in models if m in GPU_BATCHES):
            rows += bench_model(name, device, rounds or 30, GPU_BATCHES[name])
    return rows


if __name__ == "__main__":
    from common import machine, table
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--models", nargs="+", default=list(BATCHES), choices=list(BATCHES))
    args = parser.parse_args()
    print(machine())
    print(table(run(rounds=args.rounds, models=args.models)))
