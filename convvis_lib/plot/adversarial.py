"""Drawing for :mod:`convvis_lib.adversarial`: one attack (original, perturbation, adversarial image,
top-k probabilities before and after) and the accuracy-vs-eps curve. Nothing here attacks."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..adversarial import Attack, EpsSweep, perturbation_pixels
from ..models import ModelInfo
from ..preprocess import deprocess
from .figure import MIN_FONT_PT, one_axes


def _probs_text(info: ModelInfo, probs: np.ndarray) -> str:
    k = int(probs.argmax())
    return f"{info.label(k)} {probs[k]:.1%}"


def plot_attack(info: ModelInfo, attack: Attack, k: int = 3) -> plt.Figure:
    """Original | perturbation (colour scale +-eps) | adversarial image | top-k probabilities before/after."""
    fig, axes = plt.subplots(1, 4, figsize=(6.8, 2.5), gridspec_kw={"width_ratios": [1, 1, 1, 1.4]})
    orig, adv = deprocess(info, attack.x), deprocess(info, attack.x_adv)
    d = perturbation_pixels(info, attack)
    eps = max(attack.eps, 1e-12)
    shown = d.mean(-1) if d.ndim == 3 else d
    panels = [(orig, "gray", 0, 1, f"원본\n{_probs_text(info, attack.probs_before)}"),
              (shown, "RdBu_r", -eps, eps, f"섭동 ±{attack.eps:g}\n(확대 표시)"),
              (adv, "gray", 0, 1, f"적대적 예제\n{_probs_text(info, attack.probs_after)}")]
    for ax, (img, cmap, vmin, vmax, title) in zip(axes, panels):
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None, vmin=vmin, vmax=vmax)
        ax.set_title(title, fontsize=MIN_FONT_PT)
        ax.axis("off")
    top = list(dict.fromkeys(list(np.argsort(-attack.probs_before)[:k]) + list(np.argsort(-attack.probs_after)[:k])))
    pos = np.arange(len(top))
    ax = axes[3]
    ax.barh(pos - 0.2, attack.probs_before[top], 0.4, label="공격 전", color="C0")
    ax.barh(pos + 0.2, attack.probs_after[top], 0.4, label="공격 후", color="C3")
    ax.set_yticks(pos, [info.label(int(c)) for c in top], fontsize=MIN_FONT_PT)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="확률")
    ax.legend(fontsize=MIN_FONT_PT, loc="lower right")
    fig.tight_layout()
    return fig


def plot_eps_sweep(sweep: EpsSweep, ax: plt.Axes | None = None, title: str = "FGSM: ε에 따른 정확도") -> plt.Axes:
    """Accuracy vs eps for FGSM and for random signs of the same size."""
    ax = ax or one_axes(5.2, 3.4)
    ax.plot(sweep.eps, sweep.accuracy, "o-", color="C3", label="FGSM (그래디언트 부호)")
    ax.plot(sweep.eps, sweep.random_accuracy, "s--", color="C0", label="같은 크기의 무작위 부호")
    ax.set(xlabel="ε (픽셀 단위, 이미지 범위 [0, 1])", ylabel="정확도", ylim=(-0.02, 1.02), title=title)
    ax.legend(fontsize=MIN_FONT_PT)
    return ax
