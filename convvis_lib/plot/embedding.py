"""Drawing for convvis_lib.embedding (filled in by its owner)."""
from __future__ import annotations
