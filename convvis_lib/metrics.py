"""Counting right and wrong answers: the confusion matrix and its largest off-diagonal cells.

Shared by the image-attribute sweeps (chapter 8) and the human-vs-model comparison (chapter 10).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from .errors import ConvVisError


def confusion_matrix(labels: Sequence[int], predictions: Sequence[int], num_classes: int) -> np.ndarray:
    """Counts ``cm[true, predicted]`` (rows: true class, columns: predicted class), ``num_classes`` square:
    one ``bincount`` over the flat index ``true * num_classes + predicted``."""
    y, p = np.asarray(labels).astype(np.int64).ravel(), np.asarray(predictions).astype(np.int64).ravel()
    if y.shape != p.shape:
        raise ConvVisError(f"labels ({y.size}) and predictions ({p.size}) must have the same length")
    bad = np.concatenate([y[(y < 0) | (y >= num_classes)], p[(p < 0) | (p >= num_classes)]])
    if bad.size:
        raise ConvVisError(f"class index {int(bad[0])} out of range; allowed: 0..{num_classes - 1}")
    return np.bincount(y * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def top_confusions(cm: np.ndarray, k: int = 5) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal cells as ``(true, predicted, count)``, largest first (ties: by index)."""
    off = np.array(cm, dtype=np.int64)
    np.fill_diagonal(off, 0)
    order = np.argsort(-off.ravel(), kind="stable")[:k]
    n = off.shape[1]
    return [(int(i // n), int(i % n), int(off.ravel()[i])) for i in order if off.ravel()[i] > 0]
