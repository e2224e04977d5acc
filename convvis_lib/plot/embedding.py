"""Drawing for :mod:`convvis_lib.embedding`: t-SNE scatter plots, nearest-neighbour rows, grid mosaics.

Computing (codes, t-SNE, grid snapping, neighbours) happens in :mod:`convvis_lib.embedding`.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..embedding import nearest
from ..models import ModelInfo
from .figure import figure_image


def plot_scatter(ax, points: np.ndarray, labels: np.ndarray, info: ModelInfo, highlight: int | None = None,
                 title: str | None = None, legend: bool = True, size: float = 6.0) -> None:
    """Scatter of 2-D points coloured by class (Korean legend); ``highlight`` a class to bring forward."""
    cmap = plt.get_cmap("tab10" if info.num_classes <= 10 else "tab20")
    labels = np.asarray(labels)
    for c in [c for c in np.unique(labels) if c != highlight] + ([highlight] if highlight in labels else []):
        m = labels == c
        faded = highlight is not None and c != highlight
        name = info.label(int(c)) if c >= 0 else "레이블 없음"
        ax.scatter(points[m, 0], points[m, 1], s=size * (2.5 if c == highlight else 1), label=name,
                   color=cmap(int(c) % cmap.N) if c >= 0 else "gray", alpha=0.18 if faded else 0.85,
                   edgecolors="black" if c == highlight else "none", linewidths=0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    if legend:
        handles, names = ax.get_legend_handles_labels()
        order = np.argsort([info.class_index(nm) if nm in info.class_names_ko else -1 for nm in names])
        leg = ax.legend([handles[i] for i in order], [names[i] for i in order], fontsize=9, markerscale=2,
                        loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        for h in leg.legend_handles:
            h.set_alpha(1.0)


def plot_neighbours(info: ModelInfo, views: Sequence[np.ndarray], labels: np.ndarray, queries: Sequence[int],
                    spaces: dict[str, np.ndarray], k: int = 6):
    """For each query image, its ``k`` nearest neighbours in each code space (one row per space).

    ``spaces`` maps a row label to codes ``(N, D)``; neighbours of another class get a red frame.
    """
    rows = [(q, name) for q in queries for name in spaces]
    cell = min(1.0, 6.0 / (k + 1))  # inches per image: at most 6.8 inches in all with the row labels
    fig, axes = plt.subplots(len(rows), k + 1, figsize=(cell * (k + 1) + 0.8, (cell + 0.25) * len(rows)), squeeze=False)
    for (q, name), ax_row in zip(rows, axes):
        found = nearest(spaces[name], q, k)
        for j, (ax, idx) in enumerate(zip(ax_row, [q, *found])):
            img = np.asarray(views[idx])
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            same = labels[idx] == labels[q]
            colour = "black" if j == 0 else ("tab:green" if same else "red")
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(1.0 if j == 0 or same else 2.5)
            if labels[idx] >= 0:
                ax.set_title(info.label(int(labels[idx])), fontsize=9, color=colour)
        ax_row[0].set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def plot_mosaic(ax, mosaic: np.ndarray, title: str | None = None) -> None:
    """Show a :func:`convvis_lib.embedding.grid_mosaic` image."""
    ax.imshow(mosaic, cmap="gray" if mosaic.ndim == 2 else None, vmin=0, vmax=1, interpolation="antialiased")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def show_jpeg(fig, quality: int = 80) -> None:
    """Show a figure in the notebook as a JPEG and close it: for photo-like mosaics a JPEG is
    about a third of the PNG's size, which keeps the notebook and the book page light. Saved by
    :func:`convvis_lib.plot.figure.figure_image` (the book's dpi, smallest text recorded for its check)."""
    from IPython.display import Image, display
    data = figure_image(fig, "jpeg", quality=quality)
    plt.close(fig)
    display(Image(data=data, format="jpeg"))
