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
    """Original | perturbation (colour scale +-eps) | adversarial image | top-k probabilities before/after.

    The three images share one Axes (``fig.axes[0]``, titles as texts above them) and both Axes have
    fixed places in inches: no ``tight_layout``, which with four Axes was most of a widget redraw.
    """
    orig, adv = deprocess(info, attack.x), deprocess(info, attack.x_adv)
    d = perturbation_pixels(info, attack)
    eps = max(attack.eps, 1e-12)
    shown = d.mean(-1) if d.ndim == 3 else d
    panels = [(orig, "gray", 0, 1, f"원본\n{_probs_text(info, attack.probs_before)}"),
              (shown, "RdBu_r", -eps, eps, f"섭동 ±{attack.eps:g}\n(확대 표시)"),
              (adv, "gray", 0, 1, f"적대적 예제\n{_probs_text(info, attack.probs_after)}")]
    top = list(dict.fromkeys(list(np.argsort(-attack.probs_before)[:k]) + list(np.argsort(-attack.probs_after)[:k])))
    names = [info.label(int(c)) for c in top]
    width, height, title_in = 6.8, 2.5, 0.45  # inches; two lines of 9-pt title above the images
    names_in = max(len(n) for n in names) * MIN_FONT_PT / 72 + 0.15  # one em per character, generous
    cell = min(1.55, (width - 0.25 - names_in - 1.0) / 3)  # the bars keep at least 1 in
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0.1 / width, 0.1 / height, 3 * cell / width, (height - 0.2) / height))
    side = min(cell - 0.1, height - 0.2 - title_in)  # each image in a square, data coordinates in inches
    for i, (img, cmap, vmin, vmax, title) in enumerate(panels):
        x0 = i * cell + (cell - side) / 2
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None, vmin=vmin, vmax=vmax, extent=(x0, x0 + side, title_in + side, title_in))
        ax.text(x0 + side / 2, title_in - 0.05, title, ha="center", va="bottom", fontsize=MIN_FONT_PT)
    ax.set(xlim=(0, 3 * cell), ylim=(height - 0.2, 0))
    ax.axis("off")
    bars_x = 0.1 + 3 * cell + names_in
    bars = fig.add_axes((bars_x / width, 0.55 / height, (width - 0.2 - bars_x) / width, (height - 0.55 - title_in) / height))
    pos = np.arange(len(top))
    bars.barh(pos - 0.2, attack.probs_before[top], 0.4, label="공격 전", color="C0")
    bars.barh(pos + 0.2, attack.probs_after[top], 0.4, label="공격 후", color="C3")
    bars.set_yticks(pos, names, fontsize=MIN_FONT_PT)
    bars.invert_yaxis()
    bars.set(xlim=(0, 1), xlabel="확률")
    bars.legend(fontsize=MIN_FONT_PT, loc="lower right")
    return fig


def plot_eps_sweep(sweep: EpsSweep, ax: plt.Axes | None = None, title: str = "FGSM: ε에 따른 정확도") -> plt.Axes:
    """Accuracy vs eps for FGSM and for random signs of the same size."""
    ax = ax or one_axes(5.2, 3.4)
    ax.plot(sweep.eps, sweep.accuracy, "o-", color="C3", label="FGSM (그래디언트 부호)")
    ax.plot(sweep.eps, sweep.random_accuracy, "s--", color="C0", label="같은 크기의 무작위 부호")
    ax.set(xlabel="ε (픽셀 단위, 이미지 범위 [0, 1])", ylabel="정확도", ylim=(-0.02, 1.02), title=title)
    ax.legend(fontsize=MIN_FONT_PT)
    return ax
