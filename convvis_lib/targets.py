"""Class targets: one parser for every technique (index, English/Korean name, N of them, or None)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .errors import ConvVisError
from .models import ModelInfo

ClassTarget = int | str | Sequence[int | str] | torch.Tensor | np.ndarray | None


def one_class(info: ModelInfo | None, cls: object, num_classes: int | None = None) -> int:
    """Index of one class given as an index or a name; without ``info`` only indices are allowed."""
    if info is not None:
        idx = info.class_index(cls)
    else:
        idx = cls.item() if hasattr(cls, "item") and not isinstance(cls, str) else cls
        if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
            allowed = f"0..{num_classes - 1}" if num_classes else "a class index >= 0"
            raise ConvVisError(f"class {cls!r} is not allowed without model info; allowed: {allowed}")
    if num_classes is not None and idx >= num_classes:
        raise ConvVisError(f"class index {idx} out of range; allowed: 0..{num_classes - 1}")
    return idx


def class_targets(info: ModelInfo | None, target: ClassTarget, logits: torch.Tensor) -> torch.Tensor:
    """(N,) class indices for a batch with these logits.

    ``None`` -> each image's predicted class; one class -> the same for all; a sequence / tensor /
    array of N classes -> one per image. Classes are indices or names.
    """
    n, k = logits.shape[:2]
    if target is None:
        return logits.argmax(1)
    items = target
    if isinstance(target, (torch.Tensor, np.ndarray)):
        items = target.reshape(-1).tolist() if target.ndim else target.item()
    if isinstance(items, (list, tuple)):
        if len(items) != n:
            raise ConvVisError(f"got {len(items)} class targets for a batch of {n} images; allowed: one class "
                               f"for all, or exactly {n}")
    else:  # one class for all: filled on the device (no host-to-device copy, no CUDA sync mid-graph)
        return torch.full((n,), one_class(info, items, k), dtype=torch.long, device=logits.device)
    idx = torch.tensor([one_class(info, t, k) for t in items])
    if logits.device.type == "cuda":  # a pinned, non-blocking copy does not wait for the forward pass
        return idx.pin_memory().to(logits.device, non_blocking=True)
    return idx.to(logits.device)
