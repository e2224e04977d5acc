"""Fooling ConvNets: the fast gradient sign method (FGSM) and targeted iterative attacks.

FGSM: Goodfellow, Shlens & Szegedy (2015), "Explaining and Harnessing Adversarial Examples", ICLR,
https://arxiv.org/abs/1412.6572 -- one step ``x + eps * sign(grad_x J(x, y))``. The iterative, projected
version: Kurakin, Goodfellow & Bengio (2017), https://arxiv.org/abs/1607.02533; Madry et al. (2018),
https://arxiv.org/abs/1706.06083.

``eps`` is always in pixel units (images in [0, 1]); it is mapped through the model's
normalisation (a step of ``eps / std`` per channel), and results are clipped to the valid
image range, so an adversarial input is always a real image. Drawing: :mod:`convvis_lib.plot.adversarial`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConvVisError, choice_error
from .hooks import default_batch_size, eval_mode
from .models import ModelInfo
from .pixels import from_normalized, pixel_bounds, pixel_step
from .predict import class_probabilities
from .preprocess import check_input

LOSSES = ("cross_entropy", "logit")
IMAGENET_DEMO_TARGETS = ("goldfish", "ostrich", "tabby", "toaster", "teapot", "school bus", "banana", "pizza",
                         "volcano", "daisy")


def _check_eps(eps: float) -> float:
    eps = float(eps)
    if not 0 <= eps <= 1:
        raise ConvVisError(f"eps {eps!r} out of range; allowed: 0 .. 1 (pixel units)")
    return eps


def _labels_tensor(info: ModelInfo, labels, n: int, device: torch.device) -> torch.Tensor:
    if isinstance(labels, torch.Tensor):
        y = labels.detach().to("cpu", torch.long).reshape(-1)
    else:
        y = torch.as_tensor(np.asarray(labels), dtype=torch.long).reshape(-1)
    if y.numel() == 1 and n > 1:
        y = y.expand(n)
    if y.numel() != n:
        raise ConvVisError(f"need one label per image: {n} images, {y.numel()} labels")
    bad = y[(y < 0) | (y >= info.num_classes)]
    if bad.numel():
        raise ConvVisError(f"class index {int(bad[0])} out of range; allowed: 0..{info.num_classes - 1}")
    return y.to(device)


def loss_gradient(model: nn.Module, info: ModelInfo, x: torch.Tensor, labels, loss: str = "cross_entropy",
                  batch_size: int | None = None) -> torch.Tensor:
    """Gradient of the attack loss with respect to the normalised input ``x``, one per image.

    The loss is the cross-entropy of ``labels`` (``loss="cross_entropy"``) or minus their logit
    (``"logit"``). Not :func:`convvis_lib.gradients.input_gradient`, which differentiates a class score
    (with a choice of backward rule) to explain a prediction; this one differentiates a loss to change it.
    Each image's gradient depends only on that image (summed loss); parameters' ``.grad`` stay untouched.
    """
    check_input(info, x, model)
    if loss not in LOSSES:
        raise choice_error("loss", loss, LOSSES)
    y = _labels_tensor(info, labels, len(x), x.device)
    batch_size = batch_size or default_batch_size(x.shape[1:])
    grads = []
    with eval_mode(model):
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].detach().requires_grad_(True)
            logits = model(xb)
            yb = y[i:i + batch_size]
            value = F.cross_entropy(logits, yb, reduction="sum") if loss == "cross_entropy" \
                else -logits.gather(1, yb[:, None]).sum()
            grads.append(torch.autograd.grad(value, xb)[0])
    return torch.cat(grads)


def signed_step(info: ModelInfo, x: torch.Tensor, direction: torch.Tensor, eps: float,
                clip: bool = True) -> torch.Tensor:
    """``x`` moved by ``eps`` pixel units along ``sign(direction)``, clipped to valid pixels if ``clip``."""
    x_new = x + pixel_step(info, _check_eps(eps), x) * direction.sign()
    if clip:
        lo, hi = pixel_bounds(info, x)
        x_new = torch.maximum(torch.minimum(x_new, hi), lo)
    return x_new.detach()


def fgsm(model: nn.Module, info: ModelInfo, x: torch.Tensor, labels, eps: float, targeted: bool = False,
         loss: str = "cross_entropy", clip: bool = True) -> torch.Tensor:
    """Fast gradient sign method (Goodfellow et al. 2015): ``x + eps * sign(grad_x loss(labels))``.

    Untargeted: move *up* the loss of the true ``labels``. ``targeted=True``: ``labels`` are the
    targets and the step goes *down* their loss.
    """
    g = loss_gradient(model, info, x, labels, loss)
    return signed_step(info, x, -g if targeted else g, eps, clip)


def random_sign(info: ModelInfo, x: torch.Tensor, eps: float, seed: int = 0, clip: bool = True) -> torch.Tensor:
    """Baseline: a seeded random +-eps per pixel (same size as FGSM, random direction)."""
    gen = torch.Generator().manual_seed(seed)
    direction = torch.randint(0, 2, x.shape, generator=gen).to(device=x.device, dtype=x.dtype) * 2 - 1
    return signed_step(info, x, direction, eps, clip)


@dataclass(frozen=True)
class EpsSweep:
    """FGSM accuracy for each eps, the mean confidence of wrong answers, and a random-sign baseline."""

    eps: np.ndarray
    accuracy: np.ndarray
    wrong_confidence: np.ndarray
    random_accuracy: np.ndarray


def fgsm_sweep(model: nn.Module, info: ModelInfo, x: torch.Tensor, labels, eps_values: Sequence[float],
               batch_size: int | None = None, seed: int = 0) -> EpsSweep:
    """Accuracy on ``x`` under FGSM for every eps (one gradient, reused), and under random signs."""
    y = _labels_tensor(info, labels, len(x), x.device)
    g = loss_gradient(model, info, x, y, batch_size=batch_size)
    clean = class_probabilities(model, info, x, batch_size)
    acc, conf, rand = [], [], []
    for eps in eps_values:
        probs = clean if eps == 0 else class_probabilities(model, info, signed_step(info, x, g, eps), batch_size)
        ok = probs.argmax(1) == y
        acc.append(ok.float().mean().item())
        conf.append(probs.max(1).values[~ok].mean().item() if (~ok).any() else float("nan"))
        x_rand = random_sign(info, x, eps, seed)
        rand_probs = clean if eps == 0 else class_probabilities(model, info, x_rand, batch_size)
        rand.append((rand_probs.argmax(1) == y).float().mean().item())
    return EpsSweep(np.asarray(eps_values, dtype=float), np.array(acc), np.array(conf), np.array(rand))


@dataclass(frozen=True)
class Attack:
    """One image before and after an attack (normalised tensors (1, C, H, W)) with both predictions."""

    x: torch.Tensor
    x_adv: torch.Tensor
    eps: float
    target: int | None
    probs_before: np.ndarray
    probs_after: np.ndarray

    @property
    def pred_before(self) -> int:
        return int(self.probs_before.argmax())

    @property
    def pred_after(self) -> int:
        return int(self.probs_after.argmax())

    @property
    def success(self) -> bool:
        """Targeted: the target is now the top class. Untargeted: the top class changed."""
        return self.pred_after == self.target if self.target is not None else self.pred_after != self.pred_before


def targeted_attacks(model: nn.Module, info: ModelInfo, x: torch.Tensor, targets, eps: float,
                     steps: int = 20, step_size: float | None = None) -> list[Attack]:
    """Iterative targeted FGSM (projected gradient descent on the targets' cross-entropy), batched.

    Image ``i`` is pushed towards class ``targets[i]`` (one target for all if a single one is given).
    Each step moves ``step_size`` pixel units (default ``2.5 * eps / steps``) down the target's
    loss, then projects back into the eps-box around ``x`` and the valid pixel range.
    """
    check_input(info, x, model)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ConvVisError(f"steps must be a positive integer; got {steps!r}")
    raw = [targets] if isinstance(targets, (int, str, np.integer)) else list(targets)
    t = _labels_tensor(info, [info.class_index(c) for c in raw], len(x), x.device)
    eps = _check_eps(eps)
    alpha = 2.5 * eps / steps if step_size is None else _check_eps(step_size)
    lo, hi = pixel_bounds(info, x)
    box = pixel_step(info, eps, x)
    lower, upper = torch.maximum(x - box, lo), torch.minimum(x + box, hi)
    x_adv = x.detach().clone()
    for _ in range(steps):
        g = loss_gradient(model, info, x_adv, t)
        x_adv = torch.maximum(torch.minimum(signed_step(info, x_adv, -g, alpha, clip=False), upper), lower)
    before = class_probabilities(model, info, x).cpu().numpy()
    after = class_probabilities(model, info, x_adv).cpu().numpy()
    return [Attack(x[i:i + 1].detach(), x_adv[i:i + 1], eps, int(t[i]), before[i], after[i]) for i in range(len(x))]


def targeted_attack(model: nn.Module, info: ModelInfo, x: torch.Tensor, target: int | str, eps: float,
                    steps: int = 20, step_size: float | None = None) -> Attack:
    """:func:`targeted_attacks` for one image (1, C, H, W) and one target class."""
    check_input(info, x, model)
    if len(x) != 1:
        raise ConvVisError(f"targeted_attack takes one image (1, C, H, W); got a batch of {len(x)}")
    return targeted_attacks(model, info, x, target, eps, steps, step_size)[0]


def fgsm_attack(model: nn.Module, info: ModelInfo, x: torch.Tensor, label: int, eps: float) -> Attack:
    """Untargeted one-step FGSM on one image, packed with both predictions."""
    x_adv = fgsm(model, info, x, [label], eps)
    before, after = class_probabilities(model, info, torch.cat([x, x_adv]), 2).cpu().numpy()
    return Attack(x.detach(), x_adv, float(eps), None, before, after)


def demo_targets(info: ModelInfo) -> list[int]:
    """Target classes for the chapter's widget: all ten for Fashion-MNIST, ten familiar ones for ImageNet."""
    if info.num_classes <= 10:
        return list(range(info.num_classes))
    return [info.class_names.index(n) for n in IMAGENET_DEMO_TARGETS if n in info.class_names]


def perturbation_pixels(info: ModelInfo, attack: Attack) -> np.ndarray:
    """The change actually made, in pixel units (H, W) or (H, W, 3)."""
    d = (from_normalized(info, attack.x_adv) - from_normalized(info, attack.x))[0].detach().cpu()
    d = d.permute(1, 2, 0).numpy()
    return d[..., 0] if d.shape[2] == 1 else d
