"""Drawing for :mod:`convvis_lib.humans`: the reader, the model and the published human baseline side by side."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np


def plot_comparison(rows: Sequence[tuple[str, float]], ax: plt.Axes | None = None,
                    title: str = "Fashion-MNIST 정확도 비교") -> plt.Axes:
    """Horizontal bars of ``(label, accuracy)`` pairs, top to bottom in the given order, each accuracy written
    as a percentage at its bar. Rows whose accuracy is NaN (e.g. the reader's before any answer) are left out."""
    rows = [(name, acc) for name, acc in rows if not np.isnan(acc)]
    ax = ax or plt.subplots(figsize=(6, 0.5 * len(rows) + 1))[1]
    pos = np.arange(len(rows))
    ax.barh(pos, [acc for _, acc in rows], color=[f"C{i}" for i in range(len(rows))])
    for p, (_, acc) in zip(pos, rows):
        ax.text(min(acc, 1.0) + 0.01, p, f"{acc:.1%}", va="center", fontsize=9)
    ax.set_yticks(pos, [name for name, _ in rows], fontsize=9)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.12), xlabel="정확도", title=title)
    return ax
