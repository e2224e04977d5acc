"""Drawing for convvis_lib.explain (filled in by its owner)."""
from __future__ import annotations
