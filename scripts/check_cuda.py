"""Run each technique's library function on the CPU and on CUDA with the same inputs and compare.

    python scripts/check_cuda.py            # exits 0 with a message on a machine without a GPU

Top-1 predictions (and other discrete answers: top-k indices, most probable class per patch) must be
identical; activations and probabilities must agree within a tolerance (GPU convolutions use other
algorithms, TF32 is switched off), gradient maps within 1 % relative L2 error. Where a discrete answer sits on a near-tie (margin below 1e-4),
the case is not counted against CUDA. Prints a markdown table; exits 1 if any check fails. Uses the
embedded fashionnet (real weights) and ResNet-18 / AlexNet with seeded random weights (ImageNet
weights are not needed). Takes well under a minute on a GPU.
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import convvis_lib as cv  # noqa: E402

CPU = torch.device("cpu")


@dataclass
class Result:
    technique: str
    model: str
    check: str
    value: str
    tolerance: str
    passed: bool


def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().float().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def close(name: str, a, b, rtol: float = 1e-3, atol: float = 1e-4) -> tuple[str, str, bool]:
    """Max |a-b| relative to max |a|; pass if every element is within atol + rtol * max|a|."""
    a, b = _np(a), _np(b)
    if a.shape != b.shape:
        return f"shapes {a.shape} vs {b.shape}", "same shape", False
    scale = float(np.abs(a).max()) if a.size else 0.0
    err = float(np.abs(a - b).max()) if a.size else 0.0
    return f"max diff {err:.2e} (scale {scale:.2e})", f"≤ {atol:g} + {rtol:g}·scale", err <= atol + rtol * scale


def rel_l2(name: str, a, b, tol: float = 1e-2) -> tuple[str, str, bool]:
    """||a - b|| / ||a||: for gradient maps, where a ReLU that sits at 0 may switch on one device and
    not the other and move a few pixels (the largest single difference says little)."""
    a, b = _np(a), _np(b)
    if a.shape != b.shape:
        return f"shapes {a.shape} vs {b.shape}", "same shape", False
    err = float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30))
    return f"relative L2 {err:.2e} (max diff {float(np.abs(a - b).max()):.1e})", f"≤ {tol:g}", err <= tol


def same(name: str, a, b, scores=None) -> tuple[str, str, bool]:
    """Discrete answers equal; disagreements where the CPU scores had a near-tie are excused."""
    a, b = _np(a), _np(b)
    diff = a != b
    excused = 0
    if scores is not None and diff.any():
        s = np.sort(_np(scores), axis=-1)
        margin = s[..., -1] - s[..., -2]
        excused = int((diff & (margin < 1e-4)).sum())
    bad = int(diff.sum()) - excused
    return f"{int(diff.sum())} of {a.size} differ ({excused} near-ties)", "identical", bad == 0


def fraction_same(name: str, a, b, minimum: float) -> tuple[str, str, bool]:
    a, b = _np(a), _np(b)
    frac = float((a == b).mean())
    return f"{frac:.4f} agree", f"≥ {minimum}", frac >= minimum


class Checker:
    def __init__(self, gpu: torch.device) -> None:
        self.gpu = gpu
        self.results: list[Result] = []

    def run(self, technique: str, model_name: str, fn: Callable[[torch.device], object],
            compare: Callable[[object, object], list[tuple[str, tuple[str, str, bool]]]]) -> None:
        """``fn(device)`` computes on one device; ``compare(cpu_out, gpu_out)`` gives named checks."""
        try:
            out_cpu, out_gpu = fn(CPU), fn(self.gpu)
            for check, (value, tol, ok) in compare(out_cpu, out_gpu):
                self.results.append(Result(technique, model_name, check, value, tol, ok))
        except Exception as err:  # noqa: BLE001 -- a failure is a row of the table, not the end
            last = traceback.format_exception_only(type(err), err)[-1].strip()
            self.results.append(Result(technique, model_name, "runs", last[:160], "no error", False))


def _models(device: torch.device, name: str):
    torch.manual_seed(0)
    model, info = cv.load_model(name, pretrained=name == "fashionnet")
    return model.to(device).eval(), info


def main(against: str = "cuda") -> int:
    if against == "cuda" and not torch.cuda.is_available():
        print("check_cuda: no CUDA GPU on this machine (torch.cuda.is_available() is False); nothing to compare. "
              "Run this script on a machine with a GPU.")
        return 0
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    gpu = torch.device(against)
    start = time.perf_counter()
    ck = Checker(gpu)
    from convvis_lib import (adversarial, attributes, correspondence, embedding, explain, faithfulness, gradcam,
                             gradients, inversion, maxact, occlusion, predict)

    sample = cv.load_sample()
    fimages, flabels = sample.images[:256], sample.labels[:256]
    cache: dict = {}

    def setup(name: str, device: torch.device):
        key = (name, device.type)
        if key not in cache:
            model, info = _models(device, name)
            if name == "fashionnet":
                x = cv.preprocess(info, fimages)
            else:
                x = cv.preprocess(info, cv.examples_for(info).images[:4])
            cache[key] = (model, info, x.to(device))
        return cache[key]

    def logits(name):
        def f(d):
            m, info, x = setup(name, d)
            with torch.inference_mode():
                return m(x)
        return f

    for name in ("fashionnet", "alexnet", "resnet18"):
        ck.run("forward / top-1", name, logits(name), lambda a, b: [
            ("top-1", same("", a.argmax(1), b.argmax(1), a)), ("logits", close("", a, b))])

    def acts(d):
        m, info, x = setup("fashionnet", d)
        return cv.get_activations(m, info, x, ["conv1", "pool3", "fc1"])
    ck.run("activations", "fashionnet", acts, lambda a, b: [(k, close(k, a[k], b[k])) for k in a])

    for name in ("fashionnet", "resnet18"):
        def maps(d, name=name):
            m, info, x = setup(name, d)
            x = x[:8]
            return {"saliency": gradients.saliency(m, info, x, 3),
                    "guided": gradients.guided_backprop(m, info, x, 3),
                    "deconvnet": gradients.deconvnet(m, info, x, 3),
                    "gradcam": gradcam.grad_cam(m, info, x, 3, "conv3" if name == "fashionnet" else "layer4")}
        ck.run("gradients / Grad-CAM", name, maps, lambda a, b: [(k, rel_l2(k, a[k], b[k])) for k in a])

    for name, patch, stride in (("fashionnet", 4, 2), ("alexnet", 32, 16)):
        def occ(d, name=name, patch=patch, stride=stride):
            m, info, x = setup(name, d)
            return occlusion.occlusion_scan(m, info, x[:1], layer=info.layer_names[2], patch=patch, stride=stride,
                                            progress=False)
        ck.run("occlusion", name, occ, lambda a, b: [
            ("class probabilities", close("", a.probs, b.probs)),
            ("top class per patch", same("", a.top_class(), b.top_class(), a.probs)),
            ("feature totals", close("", a.feature, b.feature))])

    def topk(d):
        m, info, x = setup("fashionnet", d)
        return maxact.top_k(m, info, x, "conv3", k=5)
    ck.run("max-activating images", "fashionnet", topk, lambda a, b: [
        ("top-5 indices", fraction_same("", a.indices, b.indices, 0.99)), ("scores", close("", a.scores, b.scores))])

    def codes(d):
        m, info, x = setup("fashionnet", d)
        c = embedding.layer_codes(m, info, x, ["fc1"])["fc1"]
        return c, embedding.loo_neighbours(c, k=5)
    ck.run("embedding codes / neighbours", "fashionnet", codes, lambda a, b: [
        ("codes", close("", a[0], b[0])), ("5-NN", fraction_same("", a[1], b[1], 0.99))])

    def attack(d):
        m, info, x = setup("fashionnet", d)
        adv = adversarial.fgsm(m, info, x, torch.as_tensor(flabels).to(d), eps=0.1)
        return adv, predict.predict_labels(m, info, adv)
    ck.run("FGSM", "fashionnet", attack, lambda a, b: [
        ("adversarial pixels", fraction_same("", a[0], b[0], 0.999)),
        ("predictions after attack", fraction_same("", a[1], b[1], 0.99))])

    def attribute(d):
        m, info, x = setup("fashionnet", d)
        pixels = torch.as_tensor(fimages, dtype=torch.float32)[:, None].div(255).to(d)
        changed = attributes.apply_attribute(info, pixels, "rotation", 30.0)
        xs = (changed - info.mean[0]) / info.std[0]
        return predict.predict_labels(m, info, xs), m(xs).detach()
    ck.run("image attributes (rotation 30°)", "fashionnet", attribute, lambda a, b: [
        ("predictions", same("", a[0], b[0], a[1]))])

    def dense(d):
        m, info, x = setup("fashionnet", d)
        return correspondence.dense_features(m, info, x[:2], "conv2")
    ck.run("correspondence features", "fashionnet", dense, lambda a, b: [("features", close("", a, b))])

    def invert(d):
        m, info, x = setup("fashionnet", d)
        torch.manual_seed(0)
        return inversion.invert(m, info, x[:1], "conv2", steps=20).images
    ck.run("feature inversion (20 steps)", "fashionnet", invert, lambda a, b: [
        ("reconstruction", close("", a, b, rtol=2e-2, atol=1e-3))])

    def cmv(d):
        m, info, _ = setup("fashionnet", d)
        return gradients.class_model_visualization(m, info, 7, steps=20)
    ck.run("class model visualisation (20 steps)", "fashionnet", cmv, lambda a, b: [
        ("image", close("", a, b, rtol=2e-2, atol=1e-3))])

    def curves(d):
        m, info, x = setup("fashionnet", d)
        maps = explain.explanation(m, info, x[:4], None, method="saliency")
        return faithfulness.deletion_curve(m, info, x[:4], maps)
    ck.run("deletion curve", "fashionnet", curves, lambda a, b: [("scores", close("", a[1], b[1], rtol=1e-2))])

    where = torch.cuda.get_device_name(0) if gpu.type == "cuda" else f"{gpu} (self-test)"
    print(f"{gpu.type.upper()} vs CPU on {where} (torch {torch.__version__}), {time.perf_counter() - start:.1f} s\n")
    print("| technique | model | check | CPU vs CUDA | tolerance | pass |\n|---|---|---|---|---|---|")
    for r in ck.results:
        print(f"| {r.technique} | {r.model} | {r.check} | {r.value} | {r.tolerance} | {'pass' if r.passed else 'FAIL'} |")
    failed = [r for r in ck.results if not r.passed]
    print(f"\n{len(ck.results) - len(failed)} of {len(ck.results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="cuda", help="device compared with the CPU (default cuda; "
                        "'cpu' is a self-test of this script: every check must pass)")
    sys.exit(main(parser.parse_args().against))
