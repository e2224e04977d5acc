"""What a gradient or a map is *of*: class targets and unit targets, one parser for every technique.

* A **class target** is a class index or an English/Korean class name (the same class for every image),
  a list / tuple / 1-D tensor / array of N classes (one per image), or ``None`` (each image's predicted
  class). Its score is the class logit.
* A **unit target** is one channel of a layer, :class:`UnitTarget` ``(layer, unit)``; its score is the
  channel's mean activation. A plain 2-tuple ``(layer, unit)`` means the same when its first item is a
  layer name of the model and its second an int; if that name is also a class name the tuple is
  ambiguous and refused. So ``("셔츠", "가방")`` is always two classes, one per image.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

from .errors import ConvVisError, choice_error
from .models import ModelInfo, get_module

ClassTarget = int | str | Sequence[int | str] | torch.Tensor | np.ndarray | None
CLASS_ALLOWED = ("allowed: a class index or name (all images), a list/tuple/tensor of N classes (one per image), "
                 "or None (each image's prediction)")
ALLOWED = (f"{CLASS_ALLOWED}; for gradients also UnitTarget(layer, unit) (a tuple (layer, unit) with a layer "
           "name of the model and an int unit means the same)")


class UnitTarget(NamedTuple):
    """Channel ``unit`` of layer ``layer``: the score is its mean activation over positions."""

    layer: str
    unit: int


Target = ClassTarget | UnitTarget


def unit_target(model: nn.Module, info: ModelInfo | None, target: object) -> UnitTarget | None:
    """The :class:`UnitTarget` that ``target`` names (layer checked), or ``None`` for a class target."""
    if not isinstance(target, UnitTarget):
        if not (isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], str)
                and isinstance(target[1], (int, np.integer)) and not isinstance(target[1], bool)):
            return None
        is_layer = (info is not None and target[0] in info.layers) or \
            (target[0] != "" and target[0] in dict(model.named_modules()))
        is_class = info is not None and target[0] in (*info.class_names, *info.class_names_ko)
        if is_layer and is_class:
            raise ConvVisError(f"target {target!r} is ambiguous: {target[0]!r} is both a layer and a class name; "
                               "use UnitTarget(layer, unit) for a unit or a list for one class per image")
        if is_class:
            return None  # a class name and a class index: two classes, one per image
        if not is_layer:
            raise ConvVisError(f"{choice_error('layer', target[0], info.layers if info else _paths(model))}"
                               f" (target {target!r} was read as (layer, unit)); targets {ALLOWED}")
    get_module(model, info, target[0])  # raises with the allowed layers
    return UnitTarget(target[0], int(target[1]))


def _paths(model: nn.Module) -> list[str]:
    return [n for n, _ in model.named_modules() if n]


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
    """(N,) class indices for a batch with these logits (see the module docstring for the forms)."""
    n, k = logits.shape[:2]
    if target is None:
        return logits.argmax(1)
    if isinstance(target, UnitTarget):
        raise ConvVisError(f"this method needs a class target, not the unit {target!r}; {CLASS_ALLOWED}")
    items = target
    if isinstance(target, (torch.Tensor, np.ndarray)):
        items = target.reshape(-1).tolist() if target.ndim else target.item()
    if not isinstance(items, (list, tuple)):  # one class for every image
        return torch.full((n,), one_class(info, items, k), device=logits.device)
    if len(items) != n:
        raise ConvVisError(f"got {len(items)} class targets for a batch of {n} images; allowed: one class "
                           f"for all, or exactly {n}")
    return torch.tensor([one_class(info, t, k) for t in items], device=logits.device)
