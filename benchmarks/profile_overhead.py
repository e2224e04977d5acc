"""Where does the time over the reference go? Op and launch counts per call, with torch.profiler.

    python benchmarks/profile_overhead.py            # CUDA when available, else CPU
    python benchmarks/profile_overhead.py --top 8    # also the 8 costliest ops (host self time) per case

For each case of the occlusion and gradient benchmarks it prints the median wall time of one call,
how many aten ops and (on a GPU) kernel launches it makes, and how often the host waits for the GPU
(synchronisations and blocking copies). At small sizes a GPU is launch-bound: the host's per-op cost,
not the arithmetic, sets the time, so these counts explain ratios that the timing benchmarks report.
"""
from __future__ import annotations

import argparse
import statistics
from collections import Counter
from typing import Callable

import torch
from torch.profiler import ProfilerActivity, profile

import convvis_lib as cv
from convvis_lib import gradients, occlusion

import bench_gradients
import bench_occlusion
from common import device_from_env, sync, timed

SYNC_EVENTS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaMemcpy", "cudaMemcpyAsync",
               "cudaEventSynchronize")


def cases(device: torch.device) -> dict[str, Callable[[], object]]:
    """The calls to profile: occlusion on fashionnet vs its floor; gradient methods vs forward+backward."""
    out: dict[str, Callable[[], object]] = {}
    for name in ("fashionnet", "resnet18"):
        model, info = cv.load_model(name, pretrained=name == "fashionnet")
        model = model.to(device).eval()
        images = cv.examples_for(info).images
        n = bench_gradients.BATCHES[name]
        x = cv.preprocess(info, [images[i % len(images)] for i in range(n)]).to(device)
        out[f"{name} plain fwd+bwd (batch {n})"] = bench_gradients._plain(model, x, 3)
        for method in ("saliency", "guided_backprop", "deconvnet"):
            fn = {"saliency": gradients.saliency, "guided_backprop": gradients.guided_backprop,
                  "deconvnet": gradients.deconvnet}[method]
            out[f"{name} {method}"] = (lambda fn=fn, model=model, info=info, x=x: fn(model, info, x, 3))
        if name == "fashionnet":
            window, stride = bench_occlusion.CONFIGS[name]
            x1 = x[:1]
            items = (28 - window + 1) ** 2 + 1
            out["fashionnet occlusion floor"] = bench_occlusion._floor(model, x1, items, bench_occlusion.BATCH)
            out["fashionnet occlusion"] = (lambda model=model, info=info, x1=x1: occlusion.occlusion_map(
                model, info, x1, 0, patch=window, stride=stride, batch_size=bench_occlusion.BATCH, progress=False))
    return out


def profile_case(fn: Callable[[], object], device: torch.device, top: int) -> tuple[str, list[str]]:
    """One line of counts for ``fn`` and, if ``top``, its costliest ops."""
    for _ in range(3):
        fn()
    wall = statistics.median(timed(fn, device) for _ in range(30))
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    sync(device)
    with profile(activities=activities) as prof:
        fn()
        sync(device)
    events = prof.events()
    names = Counter(e.name for e in events)
    aten = sum(c for n, c in names.items() if n.startswith("aten::"))
    launches = names.get("cudaLaunchKernel", 0) + names.get("cudaLaunchKernelExC", 0) + names.get("cuLaunchKernel", 0)
    waits = sum(names.get(n, 0) for n in SYNC_EVENTS)
    line = f"{wall * 1e6:9.0f} µs | {aten:5d} aten ops | {launches:4d} launches | {waits:3d} syncs/copies"
    table = []
    if top:
        rows = sorted(prof.key_averages(), key=lambda r: -r.self_cpu_time_total)[:top]
        table = [f"      {r.key[:48]:48s} {r.count:5d}× {r.self_cpu_time_total:9.0f} µs host self" for r in rows]
    return line, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=0, help="also list the N costliest ops of each case")
    args = parser.parse_args()
    device = device_from_env()
    from common import machine
    print(machine(), "| device:", device)
    for name, fn in cases(device).items():
        line, table = profile_case(fn, device, args.top)
        print(f"{name:38s} {line}")
        for row in table:
            print(row)


if __name__ == "__main__":
    main()
