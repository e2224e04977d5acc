"""Drawing for convvis_lib.gradients (filled in by its owner)."""
from __future__ import annotations
