"""Chapter 1: activation maps, dead channels and filter weights."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .errors import ConvVisError
from .hooks import default_batch_size, get_activations
from .models import ModelInfo, get_module
from .threads import SMALL_WORK, threads_for


def dead_channels(acts: torch.Tensor, tol: float = 0.0) -> torch.Tensor:
    """Boolean mask of channels whose activation is <= ``tol`` for every input and position.

    ``acts`` is (N, C, ...) — a conv map (N, C, H, W) or an FC vector (N, C). A channel whose largest value is
    NaN or Inf (a diverged model) is neither dead nor alive: that raises ``ConvVisError``.
    """
    if acts.ndim < 2:
        raise ConvVisError(f"expected activations (N, C, ...); got shape {tuple(acts.shape)}")
    per_channel_max = acts.amax(dim=[0, *range(2, acts.ndim)])  # over all inputs and positions; NaN stays NaN
    if not torch.isfinite(per_channel_max).all():
        raise ConvVisError("activations contain NaN/Inf: the model has diverged, so no channel can be called dead")
    return per_channel_max <= tol


def dead_fraction_by_layer(model: nn.Module, info: ModelInfo, x: torch.Tensor,
                           layers: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """``{layer: (dead channels, channels)}`` over the inputs ``x`` (ReLU layers only make sense).

    A channel is dead over ``x`` when it is dead in every chunk of ``x``. Chunks hold about ``SMALL_WORK`` input
    values and run on one CPU thread (:func:`~convvis_lib.threads.threads_for`); only one chunk's activations are
    in memory at a time (for 2 000 28×28 images about 2.5× faster here than all activations at once).
    """
    if len(x) == 0:
        raise ConvVisError("need at least one input to call a channel dead; got an empty batch")
    layers = layers or [n for n in info.layer_names if n != info.layer_names[-1]]
    chunk = default_batch_size(x.shape[1:], values=SMALL_WORK)
    dead: dict[str, torch.Tensor] = {}
    for i in range(0, len(x), chunk):
        with threads_for(x[i:i + chunk]):
            acts = get_activations(model, info, x[i:i + chunk], layers)
        for n, a in acts.items():
            try:
                dead[n] = dead_channels(a) & dead.get(n, True)
            except ConvVisError as err:
                raise ConvVisError(f"layer {n!r}: {err}") from err
    return {n: (int(d.sum()), len(d)) for n, d in dead.items()}


def sparsity(acts: torch.Tensor) -> float:
    """Fraction of exactly-zero values (what a ReLU map shows as black)."""
    return float((acts == 0).float().mean())


def filter_weights(model: nn.Module, info: ModelInfo, layer: str) -> torch.Tensor:
    """Weights of a conv (out, in, kh, kw) or linear (out, in) layer, detached on the CPU."""
    module = get_module(model, info, layer, kind="weights")
    if not isinstance(module, (nn.Conv2d, nn.Linear)):
        raise ConvVisError(f"layer {layer!r} is a {type(module).__name__}, not a conv or linear layer; "
                           f"layers with weights: {list(info.weights)}")
    return module.weight.detach().cpu().clone()


def as_square(vector: torch.Tensor) -> np.ndarray:
    """A 1-D activation vector laid out as the smallest square image (padded with NaN)."""
    v = vector.detach().cpu().float().reshape(-1).numpy()
    side = int(np.ceil(np.sqrt(v.size)))
    out = np.full(side * side, np.nan, dtype=np.float32)
    out[: v.size] = v
    return out.reshape(side, side)


def train_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float, steps: int,
                batch: int = 64, seed: int = 0, momentum: float = 0.9) -> list[float]:
    """Plain SGD with momentum for ``steps`` mini-batches; returns the losses. Used for the learning-rate demo.

    The update is written out (the one ``torch.optim.SGD(params, lr, momentum)`` makes): a chapter's first
    ``torch.optim`` optimiser imports ``torch._dynamo``, 2-3 s here. Mini-batches of a few dozen 28×28 images
    train on one CPU thread (:func:`~convvis_lib.threads.threads_for`).
    """
    if steps < 1 or lr <= 0:
        raise ConvVisError(f"need steps >= 1 and lr > 0; got steps={steps}, lr={lr}")
    g = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    velocity = [torch.zeros_like(p) for p in params]
    losses = []
    was_training = model.training
    model.train()
    try:
        with threads_for(x[:batch]):  # a mini-batch is small CPU work: one thread is faster
            for _ in range(steps):
                idx = torch.randint(len(y), (batch,), generator=g)
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                grads = torch.autograd.grad(loss, params)
                with torch.no_grad():
                    for p, v, grad in zip(params, velocity, grads):
                        v.mul_(momentum).add_(grad)  # v <- momentum * v + gradient
                        p.add_(v, alpha=-lr)  # p <- p - lr * v
                losses.append(loss.item())
    finally:
        model.train(was_training)
    return losses
