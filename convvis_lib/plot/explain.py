"""Drawing for chapter 11: Grad-CAM rows, the cascading-randomisation grid, similarity and deletion / insertion curves.

Computing lives in :mod:`convvis_lib.gradcam`, :mod:`convvis_lib.explain`, :mod:`convvis_lib.sanity` and
:mod:`convvis_lib.faithfulness`; these functions only draw what those return. Korean method names come from
:data:`convvis_lib.plot.METHOD_LABELS`. Row labels are horizontal (two rotated lines of Hangul overlap).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .figure import MIN_FONT_PT
from .gradients import draw_map, saliency_display
from .images import HEATMAP_CMAP, heatmap_overlay, image_grid

if TYPE_CHECKING:  # importing sanity here would load scipy and scikit-image with every `import convvis_lib.plot`
    from ..sanity import SanityResult

WIDTH_IN = 6.8
SIMILARITY_NAMES = {"spearman_abs": "순위 상관(|지도|)", "spearman": "순위 상관", "ssim": "SSIM"}


def method_label(method: str) -> str:
    """Korean name of an explanation method (the key itself if it has none)."""
    from . import METHOD_LABELS
    return METHOD_LABELS.get(method, method)


def label_rows(axes: Sequence[plt.Axes], labels: Sequence[str]) -> None:
    """Horizontal row labels left of the first column (also on axes that were turned off)."""
    for ax, label in zip(axes, labels):
        ax.set_axis_on()
        ax.set_xticks([]), ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=MIN_FONT_PT)


def draw_importance(ax: plt.Axes, m: torch.Tensor | np.ndarray, title: str | None = None) -> None:
    """One importance map (H, W): ``|map|`` divided by its 99th percentile, clipped to [0, 1], black = 0."""
    ax.imshow(saliency_display(torch.as_tensor(m).abs()).numpy(), cmap=HEATMAP_CMAP, vmin=0, vmax=1)
    ax.set_xticks([]), ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=MIN_FONT_PT)


def draw_gradcam_rows(images: Sequence[np.ndarray], cams: torch.Tensor, titles: Sequence[str],
                      guided: torch.Tensor | None = None, guided_cams: torch.Tensor | None = None,
                      suptitle: str | None = None) -> plt.Figure:
    """One column per image: the image, its Grad-CAM on top, and (if given) guided backprop and Guided Grad-CAM.

    ``cams`` (N, H, W); ``guided`` / ``guided_cams`` (N, C, H, W) raw maps, drawn signed around 0.
    """
    rows = [("원본", None), ("Grad-CAM", cams), ("가이디드\n역전파", guided), ("가이디드\nGrad-CAM", guided_cams)]
    rows = [r for r in rows if r[0] == "원본" or r[1] is not None]
    n = len(images)
    fig, axes = plt.subplots(len(rows), n, figsize=(WIDTH_IN, 1.45 * len(rows) + 0.5), squeeze=False)
    for j, img in enumerate(images):
        axes[0, j].imshow(img, cmap="gray" if img.ndim == 2 else None)
        axes[0, j].set_title(titles[j], fontsize=MIN_FONT_PT)
        heatmap_overlay(axes[1, j], img, cams[j].detach().cpu(), alpha=0.6)
        for r, (_, maps) in enumerate(rows[2:], start=2):
            draw_map(axes[r, j], maps[j])
    label_rows(axes[:, 0], [name for name, _ in rows])
    for ax in axes[0]:
        ax.set_xticks([]), ax.set_yticks([])
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def _step_label(step: str) -> str:
    return "원본" if step == "original" else f"~{step}"


def draw_cascade(result: SanityResult, image: int = 0, methods: Sequence[str] | None = None,
                 title: str | None = None, overlay: np.ndarray | None = None) -> plt.Figure:
    """Maps of one image: a row per method, a column per randomisation step (original first).

    With ``overlay`` (the image), Grad-CAM maps are drawn on top of it.
    """
    methods = list(methods or result.methods)
    fig, axes = plt.subplots(len(methods), len(result.steps), squeeze=False,
                             figsize=(WIDTH_IN, 1.05 * len(methods) + 0.9))
    for c, step in enumerate(result.steps):
        for r, m in enumerate(methods):
            ax, title_c = axes[r, c], _step_label(step) if r == 0 else None
            if overlay is not None and m == "gradcam":
                heatmap_overlay(ax, overlay, result.maps[step][m][image].cpu(), alpha=0.6, title=title_c)
            else:
                draw_importance(ax, result.maps[step][m][image], title_c)
    label_rows(axes[:, 0], [method_label(m).replace(" ", "\n") for m in methods])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def draw_similarity_curves(result: SanityResult, metrics: Sequence[str] = ("spearman_abs", "ssim"),
                           xlabel: str = "무작위화한 층(위에서부터 누적)") -> plt.Figure:
    """Mean similarity to the original maps along the steps, one line per method, one panel per metric."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(WIDTH_IN, 3.4), sharey=True, squeeze=False)
    labels = [_step_label(s) for s in result.steps]
    for ax, metric in zip(axes[0], metrics):
        for m_i, m in enumerate(result.methods):
            ax.plot(labels, result.mean(metric)[:, m_i], marker="o", label=method_label(m))
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_title(SIMILARITY_NAMES.get(metric, metric), fontsize=10)
        ax.set_xlabel(xlabel, fontsize=MIN_FONT_PT), ax.set_ylim(-0.3, 1.05)
        ax.tick_params(axis="x", rotation=45, labelsize=MIN_FONT_PT)
        ax.tick_params(axis="y", labelsize=MIN_FONT_PT)
    axes[0, -1].legend(fontsize=MIN_FONT_PT, loc="upper right")
    fig.tight_layout()
    return fig


def draw_sanity_pair(result: SanityResult, method: str, step: str, names: Sequence[str], step_label: str) -> plt.Figure:
    """Original maps (top row) against the maps of ``step`` (bottom row), with each image's similarity,
    drawn as :func:`draw_importance` draws a map, on one Axes (:func:`convvis_lib.plot.image_grid`)."""
    m_i, s_i = result.methods.index(method), result.steps.index(step)
    n = len(result.targets)
    maps = [result.maps[s][method][j] for s in (result.steps[0], step) for j in range(n)]
    scores = [f"ρ={result.scores['spearman_abs'][s_i, m_i, j]:.2f}, SSIM={result.scores['ssim'][s_i, m_i, j]:.2f}"
              for j in range(n)]
    title = f"{method_label(method)}: 원래 모델(위) 대 {step_label}(아래)"
    fig = image_grid([saliency_display(torch.as_tensor(m).abs()).numpy() for m in maps], list(names) + scores,
                     ncols=n, cmap=HEATMAP_CMAP, vmin=0, vmax=1, size=WIDTH_IN / n,
                     row_labels=["원래\n모델", step_label.replace(" ", "\n", 1)], suptitle=title)
    fig.suptitle(title, fontsize=10)
    return fig


Curves = Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]]
MODES = (("deletion", "삭제"), ("insertion", "삽입"))


def draw_perturbation_curves(curves: Curves, n_images: int) -> plt.Figure:
    """Mean deletion and insertion curves of every method (``curves[method][mode] = (fractions, scores)``)."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.6), sharey=True)
    for ax, (mode, name) in zip(axes, MODES):
        for m, by_mode in curves.items():
            f, s = by_mode[mode]
            ax.plot(f, s.mean(0), label=method_label(m), ls="--" if m == "random" else "-")
        ax.set_title(f"{name} 곡선 (이미지 {n_images}개 평균)", fontsize=10)
        ax.set_xlabel("바꾼 픽셀의 비율", fontsize=MIN_FONT_PT), ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("예측 클래스의 확률", fontsize=MIN_FONT_PT)
    axes[1].legend(fontsize=MIN_FONT_PT, loc="lower right")
    fig.tight_layout()
    return fig


def draw_method_curves(curves: Curves, method: str, reference: str = "random") -> plt.Figure:
    """Each image's curve (thin), their mean (thick) and the mean of ``reference`` (dashed), with the mean AUCs."""
    from ..faithfulness import auc  # a plain function of arrays; imported here only to keep plot's import light
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.0), sharey=True)
    for ax, (mode, name) in zip(axes, MODES):
        f, s = curves[method][mode]
        ax.plot(f, s.T, color="tab:blue", lw=0.6, alpha=0.5)
        ax.plot(f, s.mean(0), color="tab:blue", lw=2.5, label=method_label(method))
        ax.plot(f, curves[reference][mode][1].mean(0), color="gray", ls="--", label=method_label(reference))
        ax.set_title(f"{name} AUC {auc(f, s).mean():.3f}\n({method_label(reference)} "
                     f"{auc(*curves[reference][mode]).mean():.3f})", fontsize=10)
        ax.set_xlabel("바꾼 픽셀의 비율", fontsize=MIN_FONT_PT), ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("예측 클래스의 확률", fontsize=MIN_FONT_PT)
    axes[1].legend(fontsize=MIN_FONT_PT)
    fig.tight_layout()
    return fig
