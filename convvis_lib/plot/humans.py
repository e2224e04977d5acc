"""Drawing for convvis_lib.humans (filled in by its owner)."""
from __future__ import annotations
