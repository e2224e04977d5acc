"""Drawing for convvis_lib.attributes (filled in by its owner)."""
from __future__ import annotations
