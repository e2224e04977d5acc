"""Feature inversion (Mahendran & Vedaldi 2015): find an image whose CNN code matches a target code.

The objective for each image ``n`` of a batch is

    ||Φ(x) − Φ0||² / ||Φ0||²  +  λ_α · R_α(x) / (D · B^α)  +  λ_TV · R_TV^β(x) / (D · V^β)

where ``R_α`` is the α-norm (sum of ``|x|^α``), ``R_TV^β`` the total variation
with exponent β, ``D`` the number of values in one image, ``B`` the largest
absolute value a normalised pixel can take and ``V = B / TV_SCALE`` a typical
neighbour difference. Dividing by ``D·B^α`` and ``D·V^β`` makes both
regularisers about 1 for an image that uses the whole pixel range, so the same
λ values work for 28×28 and 224×224 inputs and for every layer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConvVisError
from .hooks import layer_function
from .models import ModelInfo
from .preprocess import check_input, deprocess
from .threads import threads_for

TV_SCALE = 6.5
Lambda = float | Sequence[float] | torch.Tensor


def alpha_norm(x: torch.Tensor, alpha: float = 6.0) -> torch.Tensor:
    """α-norm regulariser ``Σ |x|^α`` of each image in a batch ``(N, ...)``; returns shape ``(N,)``."""
    if alpha <= 0:
        raise ConvVisError(f"alpha must be positive; got {alpha}")
    return x.abs().pow(alpha).flatten(1).sum(1)


def total_variation(x: torch.Tensor, beta: float = 2.0, eps: float = 0.0) -> torch.Tensor:
    """Total variation ``Σ_{c,i,j} (dx[i,j]² + dy[i,j]²)^(β/2)`` of each image in ``(N, C, H, W)``.

    ``dx[i,j] = x[i,j+1] − x[i,j]`` and ``dy[i,j] = x[i+1,j] − x[i,j]``, taken as 0
    past the last column / row, so every neighbour difference counts once (for
    β = 2 the sum of all squared differences). For β < 2 the gradient is
    infinite where both differences are zero: pass a small ``eps`` (added
    inside the power) when optimising. Returns shape ``(N,)``.
    """
    if x.ndim != 4:
        raise ConvVisError(f"total_variation expects (N, C, H, W); got shape {tuple(x.shape)}")
    if beta <= 0:
        raise ConvVisError(f"beta must be positive; got {beta}")
    dx = F.pad(x[..., :, 1:] - x[..., :, :-1], (0, 1, 0, 0))
    dy = F.pad(x[..., 1:, :] - x[..., :-1, :], (0, 0, 0, 1))
    return (dx.square() + dy.square() + eps).pow(beta / 2).flatten(1).sum(1)


def pixel_range(info: ModelInfo) -> float:
    """B: the largest ``|value|`` a normalised pixel of this model can take (pixels in [0, 1])."""
    return max(max(abs((0 - m) / s), abs((1 - m) / s)) for m, s in zip(info.mean, info.std))


@dataclass(frozen=True)
class Inversion:
    """Result of an inversion: normalised images ``(N, C, H, W)``, the final relative code error per
    image ``(N,)``, and the objective per step averaged over the batch that was optimised together."""

    images: torch.Tensor
    feature_error: torch.Tensor
    history: np.ndarray


def _per_image(value: Lambda, n: int, name: str, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float32).flatten().to(device)
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ConvVisError(f"{name} must be one number or one per image ({n}); got {t.numel()} values")
    if not torch.isfinite(t).all() or (t < 0).any():
        raise ConvVisError(f"{name} must be finite and >= 0; got {t.tolist()}")
    return t


def _check_settings(steps: int, lr: float) -> None:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ConvVisError(f"steps must be a positive integer; got {steps!r}")
    if not np.isfinite(lr) or lr <= 0:
        raise ConvVisError(f"lr must be a positive number; got {lr!r}")


def relative_error(code: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``||code − target||² / ||target||²`` per image (shape ``(N,)``)."""
    num = (code - target).flatten(1).square().sum(1)
    return num / target.flatten(1).square().sum(1).clamp_min(1e-12)


def invert_code(features: Callable[[torch.Tensor], torch.Tensor], target: torch.Tensor,
                shape: Sequence[int], *, steps: int = 150, lr: float = 0.2, lambda_alpha: Lambda = 0.0,
                lambda_tv: Lambda = 0.0, alpha: float = 6.0, beta: float = 2.0, scale: float = 1.0,
                init_std: float = 0.1, seed: int = 0, init: torch.Tensor | None = None) -> Inversion:
    """Find ``x`` of ``shape = (N, C, H, W)`` whose code ``features(x)`` matches ``target`` (Mahendran & Vedaldi,
    2015, https://arxiv.org/abs/1412.0035), minimising for each image

        ||Φ(x) − Φ0||² / ||Φ0||²  +  λ_α · Σ|x|^α / (D · B^α)  +  λ_TV · TV_β(x) / (D · (B / TV_SCALE)^β)

    with Adam and a learning rate that falls to zero on a cosine curve. ``scale`` is B
    (:func:`pixel_range`); λ values may differ per image. ``x`` starts as seeded Gaussian noise
    (standard deviation ``init_std``) unless a starting image ``init`` is given. Only ``x`` is optimised.
    """
    _check_settings(steps, lr)
    target = target.detach()
    n, d = shape[0], int(np.prod(shape[1:]))
    lam_a = _per_image(lambda_alpha, n, "lambda_alpha", target.device) / (d * scale ** alpha)
    lam_tv = _per_image(lambda_tv, n, "lambda_tv", target.device) / (d * (scale / TV_SCALE) ** beta)
    if init is None:
        init = torch.randn(tuple(shape), generator=torch.Generator().manual_seed(seed)) * init_std
    elif tuple(init.shape) != tuple(shape):
        raise ConvVisError(f"init has shape {tuple(init.shape)}; expected {tuple(shape)}")
    x = init.detach().clone().to(target.device).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    history = np.empty(steps)
    for i in range(steps):
        reg = lam_a * alpha_norm(x, alpha) + lam_tv * total_variation(x, beta, eps=1e-8 if beta < 2 else 0.0)
        loss = (relative_error(features(x), target) + reg).sum()
        (x.grad,) = torch.autograd.grad(loss, x)  # only the image gets a gradient, never the weights
        opt.step()
        schedule.step()
        history[i] = loss.item() / n
    with torch.no_grad():
        final = relative_error(features(x), target)
    return Inversion(x.detach(), final, history)


def invert(model: nn.Module, info: ModelInfo, x0: torch.Tensor, layer: str, **kwargs) -> Inversion:
    """Reconstruct each image of ``x0`` from its code at ``layer``.

    ``features`` = Φ is the model cut at ``layer``; keyword arguments go to :func:`invert_code` (``steps``,
    ``lr``, ``lambda_alpha``, ``lambda_tv``, ``alpha``, ``beta``, ``seed``, ...). Model parameters get no
    ``.grad``. Small CPU work (a few 28×28 images) runs on one thread (:func:`~convvis_lib.threads.threads_for`).
    """
    check_input(info, x0, model)
    kwargs.setdefault("scale", pixel_range(info))
    with layer_function(model, info, layer) as features, threads_for(x0):
        with torch.no_grad():
            target = features(x0)
        return invert_code(features, target, tuple(x0.shape), **kwargs)


def reconstruction_scores(info: ModelInfo, original: torch.Tensor, recon: torch.Tensor) -> dict[str, np.ndarray]:
    """Compare reconstructions with the originals in display space ([0, 1] pixels), per image.

    Returns ``{"corr": Pearson correlation of the pixels, "mse": mean squared error}``,
    each of shape ``(N,)``. A constant image has correlation 0.
    """
    if original.shape != recon.shape:
        raise ConvVisError(f"original {tuple(original.shape)} and reconstruction {tuple(recon.shape)} differ in shape")
    a = np.stack([np.asarray(deprocess(info, o)).ravel() for o in original])
    b = np.stack([np.asarray(deprocess(info, r)).ravel() for r in recon])
    mse = ((a - b) ** 2).mean(1)
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    denom = np.sqrt((a ** 2).sum(1) * (b ** 2).sum(1))
    corr = np.where(denom > 1e-12, (a * b).sum(1) / np.maximum(denom, 1e-12), 0.0)
    return {"corr": corr, "mse": mse}
