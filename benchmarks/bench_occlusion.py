"""Occlusion sensitivity vs the floor (a bare batched forward over as many images) and vs Captum.

Same model, window, stride and batch size for all three; ImageNet models use random weights
(timing only). Ratios are medians over rounds in which the three run back to back.
"""
from __future__ import annotations

import argparse

import torch

import convvis_lib as cv
from convvis_lib import occlusion

from common import Row, device_from_env, fmt_s, paired, ratio

# model: (window, stride); ImageNet at 224x224 as in the issue, fashionnet over every 4x4 window
CONFIGS = {"fashionnet": (4, 1), "alexnet": (32, 8), "resnet18": (32, 8), "efficientnet_lite0": (32, 8)}
BATCH = 64
FLOOR_GOAL, CAPTUM_GOAL = 1.15, 1.0


def _image(info, device) -> torch.Tensor:
    ex = cv.examples_for(info)
    return cv.preprocess(info, ex.images[0]).to(device)


def _floor(model, x: torch.Tensor, n: int, batch: int):
    """A bare forward pass over ``n`` copies of ``x`` in batches of ``batch`` (inputs built beforehand)."""
    full = x.expand(batch, -1, -1, -1).contiguous()

    def run():
        with torch.inference_mode():
            for i in range(0, n, batch):
                model(full[:min(batch, n - i)])
    return run


def _captum(model, x: torch.Tensor, window: int, stride: int, batch: int):
    from captum.attr import Occlusion
    c = x.shape[1]
    occ = Occlusion(model)

    def run():
        occ.attribute(x, sliding_window_shapes=(c, window, window), strides=(c, stride, stride), target=0,
                      baselines=0.0, perturbations_per_eval=batch)
    return run


def bench_model(name: str, device: torch.device, rounds: int) -> list[Row]:
    window, stride = CONFIGS[name]
    model, info = cv.load_model(name, pretrained=name in ("fashionnet", "efficientnet_lite0"))
    model = model.to(device).eval()
    x = _image(info, device)
    h, w = x.shape[-2:]
    n = len(occlusion.occlusion_windows(h, window, stride)[0]) * len(occlusion.occlusion_windows(w, window, stride)[0]) + 1
    fns = {"ours": lambda: occlusion.occlusion_map(model, info, x, 0, patch=window, stride=stride, batch_size=BATCH,
                                                   progress=False),
           "floor": _floor(model, x, n, BATCH)}
    try:
        fns["captum"] = _captum(model, x, window, stride, BATCH)
    except ImportError:
        pass
    with torch.inference_mode():
        model(x.expand(BATCH, -1, -1, -1))  # warm the allocator and kernels once, cheaply
    t = paired(fns, rounds, device, warmup=1 if name == "fashionnet" or device.type == "cuda" else 0)
    med = {k: sorted(v)[len(v) // 2] for k, v in t.items()}
    where = f"{name} {h}×{w}, window {window}, stride {stride}, batch {BATCH}, {n} images, {device.type}"
    rows = [Row(f"occlusion vs floor ({where})", fmt_s(med["ours"]), f"floor {fmt_s(med['floor'])}",
                ratio(t["ours"], t["floor"]), f"≤ {FLOOR_GOAL}×", ratio(t["ours"], t["floor"]) <= FLOOR_GOAL)]
    if "captum" in t:
        r = ratio(t["ours"], t["captum"])
        rows.append(Row(f"occlusion vs Captum Occlusion ({name}, {device.type})", fmt_s(med["ours"]),
                        f"Captum {fmt_s(med['captum'])} ({ratio(t['captum'], t['floor']):.2f}× floor)", r,
                        "< 1× (faster)", r < CAPTUM_GOAL))
    else:
        rows.append(Row(f"occlusion vs Captum ({name})", "—", "captum not installed", None, "< 1×", None))
    return rows


def run(device: torch.device | None = None, rounds: int | None = None, models=tuple(CONFIGS)) -> list[Row]:
    device = device or device_from_env()
    rows = []
    for name in models:
        r = rounds or (21 if device.type == "cuda" else 7 if name == "fashionnet" else 3)
        rows += bench_model(name, device, r)
    return rows


if __name__ == "__main__":
    from common import machine, table
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--models", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    args = parser.parse_args()
    print(machine())
    print(table(run(rounds=args.rounds, models=args.models)))
