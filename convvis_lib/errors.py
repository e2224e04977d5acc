"""Exceptions raised by convvis_lib, with messages that say what is allowed."""
from __future__ import annotations

from typing import Iterable


class ConvVisError(ValueError):
    """Base class: a bad argument or an unusable input."""


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be found in the cache nor downloaded."""


class DataUnavailableError(RuntimeError):
    """A data set could not be found locally nor downloaded."""


def choice_error(what: str, value: object, allowed: Iterable[object]) -> ConvVisError:
    """Build an error for a value that is not one of the allowed choices."""
    allowed = list(allowed)
    shown = ", ".join(repr(a) for a in allowed[:40])
    if len(allowed) > 40:
        shown += f", ... ({len(allowed)} in all)"
    return ConvVisError(f"unknown {what} {value!r}; allowed: {shown}")
