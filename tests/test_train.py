"""convvis_lib.train: input scaling and the accuracy it reports (the training run itself is too slow for a test)."""
import numpy as np
import torch
from torch import nn

from convvis_lib.models import FASHION_MEAN, FASHION_STD
from convvis_lib.train import evaluate, to_tensor


def test_to_tensor_scales_uint8_like_the_model_expects():
    x = to_tensor(np.array([[[0, 255]]], dtype=np.uint8))
    assert x.shape == (1, 1, 1, 2)
    expected = (torch.tensor([0.0, 1.0]) - FASHION_MEAN[0]) / FASHION_STD[0]
    assert torch.allclose(x.flatten(), expected)


class _Pick(nn.Module):
    """Predicts the class stored in the first pixel; has dropout so that eval vs train matters."""

    def __init__(self) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.99)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(self.drop(x)[:, 0, 0, 0].round().long().clamp(0, 2), 3).float()


def test_evaluate_counts_correct_answers_in_eval_mode_and_restores_the_mode():
    x = torch.tensor([0.0, 1.0, 2.0, 2.0]).view(4, 1, 1, 1)
    y = torch.tensor([0, 1, 2, 0])
    model = _Pick().train()
    assert evaluate(model, x, y, batch=3) == 0.75  # 3 of 4, over two batches; dropout off
    assert model.training
