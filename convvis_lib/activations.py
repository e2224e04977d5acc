"""Chapter 1: activation maps, dead channels and filter weights."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .errors import ConvVisError
from .hooks import get_activations
from .models import ModelInfo, get_module


def dead_channels(acts: torch.Tensor, tol: float = 0.0) -> torch.Tensor:
    """Boolean mask of channels whose activation is <= ``tol`` for every input and position.

    ``acts`` is (N, C, ...) — a conv map (N, C, H, W) or an FC vector (N, C).
    """
    if acts.ndim < 2:
        raise ConvVisError(f"expected activations (N, C, ...); got shape {tuple(acts.shape)}")
    per_channel_max = acts.transpose(0, 1).reshape(acts.shape[1], -1).max(dim=1).values
    return per_channel_max <= tol


def dead_fraction_by_layer(model: nn.Module, info: ModelInfo, x: torch.Tensor,
                           layers: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """``{layer: (dead channels, channels)}`` over the inputs ``x`` (ReLU layers only make sense)."""
    layers = layers or [n for n in info.layer_names if n != info.layer_names[-1]]
    acts = get_activations(model, info, x, layers)
    bad = [n for n, a in acts.items() if not torch.isfinite(a).all()]
    if bad:
        raise ConvVisError(f"activations of {bad} contain NaN/Inf: the model has diverged, so no channel can be called dead")
    return {n: (int(dead_channels(a).sum()), int(a.shape[1])) for n, a in acts.items()}


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
                batch: int = 64, seed: int = 0) -> list[float]:
    """Plain SGD (momentum 0.9) for ``steps`` mini-batches; returns the losses. Used for the learning-rate demo."""
    if steps < 1 or lr <= 0:
        raise ConvVisError(f"need steps >= 1 and lr > 0; got steps={steps}, lr={lr}")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    was_training = model.training
    model.train()
    try:
        for _ in range(steps):
            idx = torch.randint(len(y), (batch,), generator=g)
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    finally:
        model.train(was_training)
    return losses
