"""Drawing for convvis_lib.occlusion (filled in by its owner)."""
from __future__ import annotations
