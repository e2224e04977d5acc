"""Numbers that the book's pages (intro, model card, how to use) quote, computed at build time.

Pages write ``{{ fashionnet_test_accuracy }}`` (a MyST substitution) instead of typing a number, so a
retrained model or a changed package shows up everywhere at once. Sources: the training log that
``python -m convvis_lib.train`` writes, the shipped weight and sample files, and the model definitions.
"""
from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[3]
ASSETS = ROOT / "convvis_lib" / "assets"


def spaced(n: int) -> str:
    """390410 -> "390 410" (the book groups digits with a space)."""
    return f"{n:,}".replace(",", " ")


def percent(x: float) -> str:
    return f"{x * 100:.2f}%"


def training_numbers(log: str) -> dict[str, str]:
    """Test accuracy (final and per epoch), epochs and training time from training_log.txt."""
    epochs = [float(a) for a in re.findall(r"^epoch \d+/\d+: test accuracy ([\d.]+)", log, re.M)]
    final = re.search(r"^test accuracy: ([\d.]+) on (\d+) images; training time: (\d+) s", log, re.M)
    if not epochs or final is None:
        raise ValueError("training_log.txt lacks the per-epoch or the final 'test accuracy' lines "
                         "(rerun python -m convvis_lib.train)")
    mid = len(epochs) // 2 + 1  # the epoch quoted in the middle of the curve (5 of 8)
    return {
        "fashionnet_test_accuracy": percent(float(final.group(1))),
        "fashionnet_test_images": spaced(int(final.group(2))),
        "fashionnet_train_seconds": final.group(3),
        "fashionnet_epochs": str(len(epochs)),
        "fashionnet_epoch_first_accuracy": percent(epochs[0]),
        "fashionnet_epoch_mid": str(mid),
        "fashionnet_epoch_mid_accuracy": percent(epochs[mid - 1]),
    }


def model_numbers() -> dict[str, str]:
    """Parameter counts, weight and sample file sizes (imports convvis_lib and torch: build time only)."""
    import numpy as np
    import convvis_lib as cv
    from convvis_lib import models
    from convvis_lib.efficientnet_lite import EfficientNetLite0

    fashionnet, _ = cv.load_model("fashionnet")
    params = sum(p.numel() for p in fashionnet.parameters())
    fc1 = sum(p.numel() for p in fashionnet.fc1.parameters())
    with np.load(ASSETS / "fashion_mnist_sample.npz") as sample:
        labels = sample["labels"]
    lite = EfficientNetLite0()
    lite_file = models.lite0_weights_path()
    return {
        "fashionnet_params": spaced(params),
        "fashionnet_fc1_params": spaced(fc1),
        "fashionnet_fc1_share": f"{fc1 / params * 100:.0f}%",
        "fashionnet_weights_mb": f"{(ASSETS / 'fashionnet.safetensors').stat().st_size / 1e6:.2f} MB",
        "sample_images": spaced(len(labels)),
        "sample_per_class": spaced(int(np.bincount(labels).min())),
        "lite0_params": spaced(sum(p.numel() for p in lite.parameters())),
        "lite0_weights_mb": f"{Path(lite_file).stat().st_size / 1e6:.1f} MB",
    }


def book_numbers() -> dict[str, str]:
    log = (ASSETS / "training_log.txt").read_text(encoding="utf-8")
    return {**training_numbers(log), **model_numbers()}


def set_substitutions(app: Sphinx, config) -> None:
    """config-inited: add the numbers to ``myst_substitutions`` (the pages' own entries win)."""
    config.myst_substitutions = {**book_numbers(), **(config.myst_substitutions or {})}
