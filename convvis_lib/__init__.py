"""convvis_lib: helpers for the Korean CS231n 'Visualizing what ConvNets learn' course book."""
from __future__ import annotations

import os

import torch

from .data import FASHION_CLASSES_EN, FASHION_CLASSES_KO, fashion_images, load_fashion_mnist, load_sample, sample_photo
from .errors import ConvVisError, DataUnavailableError, WeightsUnavailableError
from .imageio import load_image
from .hooks import capture_activations, capture_gradients, eval_mode, get_activations
from .models import MODEL_NAMES, ModelInfo, get_module, load_model, load_model_or_fallback
from .preprocess import check_input, deprocess, preprocess
from .samples import examples_for, labelled_photos, photo_crops

__version__ = "0.1.0"
DEVICE_ENV = "CONVVIS_DEVICE"


def default_device() -> torch.device:
    """``$CONVVIS_DEVICE`` if set, else CUDA when available, else CPU."""
    if os.environ.get(DEVICE_ENV):
        return torch.device(os.environ[DEVICE_ENV])
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def setup(seed: int = 0) -> torch.device:
    """Notebook start-up: Korean font and one dpi for figures, fixed seeds; returns the device to use."""
    from .plot import setup_figures
    setup_figures()
    torch.manual_seed(seed)
    import numpy as np
    np.random.seed(seed)
    return default_device()


__all__ = [
    "FASHION_CLASSES_EN", "FASHION_CLASSES_KO", "MODEL_NAMES", "ConvVisError", "DataUnavailableError",
    "ModelInfo", "WeightsUnavailableError", "capture_activations", "capture_gradients", "check_input",
    "default_device", "deprocess", "eval_mode", "examples_for", "fashion_images", "get_activations",
    "get_module", "labelled_photos", "load_fashion_mnist", "load_image", "load_model", "load_model_or_fallback",
    "load_sample", "photo_crops", "preprocess",
    "sample_photo", "setup",
]
