"""Batched predictions in eval mode without gradients: class probabilities and predicted labels.

Shared by every technique that only needs the model's answer (attributes, adversarial, humans).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .hooks import default_batch_size, eval_mode
from .models import ModelInfo
from .preprocess import check_input


def class_probabilities(model: nn.Module, info: ModelInfo | None, x: torch.Tensor,
                        batch_size: int | None = None) -> torch.Tensor:
    """Softmax probabilities (N, K) of each normalised input, ``batch_size`` inputs per forward pass
    (default: :func:`hooks.default_batch_size`)."""
    check_input(info, x, model)
    batch_size = batch_size or default_batch_size(x.shape[1:])
    with eval_mode(model), torch.inference_mode():
        return torch.cat([model(x[i:i + batch_size]).softmax(1) for i in range(0, len(x), batch_size)])


def predict_labels(model: nn.Module, info: ModelInfo | None, x: torch.Tensor,
                   batch_size: int | None = None) -> np.ndarray:
    """Arg-max class (N,) of each normalised input, as a numpy array on the CPU."""
    return class_probabilities(model, info, x, batch_size).argmax(1).cpu().numpy()
