"""Drawing for convvis_lib.adversarial (filled in by its owner)."""
from __future__ import annotations
