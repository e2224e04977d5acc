"""Drawing for convvis_lib.maxact (filled in by its owner)."""
from __future__ import annotations
