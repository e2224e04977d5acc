"""Drawing for convvis_lib.correspondence (filled in by its owner)."""
from __future__ import annotations
