"""convvis_lib.predict: batched eval-mode predictions equal one unbatched pass, mode restored."""
import numpy as np
import pytest
import torch
from torch import nn

import convvis_lib as cv
from convvis_lib.predict import class_probabilities, predict_labels


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.Dropout(0.9))


def test_probabilities_in_batches_equal_one_pass_and_mode_is_restored():
    model, x = _net().train(), torch.randn(7, 3, 2, 2)
    p = class_probabilities(model, None, x, batch_size=3)  # 3 + 3 + 1
    model.eval()
    with torch.no_grad():
        expected = model(x).softmax(1)
    assert p.shape == (7, 5) and torch.allclose(p, expected, atol=1e-6)
    assert torch.allclose(p.sum(1), torch.ones(7))
    model.train()
    assert np.array_equal(predict_labels(model, None, x, batch_size=2), expected.argmax(1).numpy())
    assert model.training and not p.requires_grad


def test_bad_input_is_refused_before_the_forward_pass():
    with pytest.raises(cv.ConvVisError, match="4-D batch"):
        class_probabilities(_net(), None, torch.randn(3, 12))
