"""Hooks: values, cleanup after success and after exceptions, mode restoration."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import convvis_lib as cv
from convvis_lib.hooks import count_hooks
from convvis_lib.errors import ConvVisError


def test_activation_matches_manual_forward(fashion, batch):
    model, info = fashion
    acts = cv.get_activations(model, info, batch, ["conv1", "fc2"])
    expected = torch.relu(model.conv1(batch))
    torch.testing.assert_close(acts["conv1"], expected)
    torch.testing.assert_close(acts["fc2"], model(batch))
    assert count_hooks(model) == 0


def test_hooks_removed_and_mode_restored_after_exception(fashion, batch):
    model, info = fashion
    model.train()
    try:
        with pytest.raises(RuntimeError, match="boom"):
            with cv.eval_mode(model), cv.capture_activations(model, info, ["conv1", "conv2"]) as acts:
                model(batch)
                assert set(acts) == {"conv1", "conv2"} and not model.training
                raise RuntimeError("boom")
        assert count_hooks(model) == 0
        assert model.training and all(m.training for m in model.modules())
    finally:
        model.eval()


def test_eval_mode_restores_mixed_modes(fashion):
    model, _ = fashion
    model.drop1.train()
    with cv.eval_mode(model):
        assert not model.drop1.training
    assert model.drop1.training and not model.conv1.training
    model.eval()


def test_capture_gradients_equals_autograd(fashion, batch):
    model, info = fashion
    x = batch[:2].clone().requires_grad_(True)
    with cv.capture_gradients(model, info, "fc1") as grads, cv.capture_activations(model, info, "fc1", detach=False) as acts:
        score = model(x)[:, 3].sum()
        score.backward()
    expected = model.fc2.weight[3].expand(2, -1)
    torch.testing.assert_close(grads["fc1"], expected)
    assert acts["fc1"].shape == (2, 256)
    assert count_hooks(model) == 0
    model.zero_grad(set_to_none=True)


def test_unknown_layer_raises_before_hooking(fashion, batch):
    model, info = fashion
    with pytest.raises(ConvVisError, match="'pool3'"):
        with cv.capture_activations(model, info, ["conv1", "nope"]):
            pass
    assert count_hooks(model) == 0


def test_bad_inputs_are_rejected_clearly(fashion):
    model, info = fashion
    with pytest.raises(ConvVisError, match="1 input channel"):
        cv.get_activations(model, info, torch.zeros(1, 3, 28, 28), "conv1")
    with pytest.raises(ConvVisError, match="float"):
        cv.get_activations(model, info, torch.zeros(1, 1, 28, 28, dtype=torch.uint8), "conv1")
    with pytest.raises(ConvVisError, match="4-D"):
        cv.get_activations(model, info, torch.zeros(28, 28), "conv1")
    with pytest.raises(ConvVisError, match="NaN"):
        cv.get_activations(model, info, torch.full((1, 1, 28, 28), float("nan")), "conv1")
    with pytest.raises(ConvVisError, match="28x28"):
        cv.get_activations(model, info, torch.zeros(1, 1, 32, 32), "conv1")
    with pytest.raises(ConvVisError, match="empty"):
        cv.get_activations(model, info, torch.zeros(0, 1, 28, 28), "conv1")
    assert count_hooks(model) == 0


def test_works_on_a_plain_module_without_info():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        net[0].bias.zero_()
    with cv.capture_activations(net, None, ["0", "1"]) as acts:
        net(torch.tensor([[1.0, -1.0]]))
    assert acts["0"].tolist() == [[1.0, -1.0]]   # the Linear's output, negative value kept
    assert acts["1"].tolist() == [[1.0, 0.0]]    # the ReLU's output, not its input


def test_eval_mode_leaves_an_eval_model_untouched(fashion, monkeypatch):
    """A model already in eval mode is not switched (``Module.eval`` is costly per call on a GPU)."""
    model, _ = fashion
    model.eval()
    calls = []
    monkeypatch.setattr(type(model), "train", lambda self, mode=True: calls.append(mode) or self)
    with cv.eval_mode(model):
        assert not any(m.training for m in model.modules())
    assert calls == []


class RecordsTrain(nn.Module):
    """A module whose ``train()`` override records each call (like a feature-extractor graph module)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin, self.drop = nn.Linear(2, 2), nn.Dropout(0.5)
        self.calls: list[bool] = []

    def train(self, mode: bool = True):
        self.calls.append(mode)
        return super().train(mode)


def test_eval_mode_switches_and_restores_through_train():
    model = RecordsTrain().train()
    model.calls.clear()
    with cv.eval_mode(model):
        assert model.calls == [False] and not model.drop.training
    assert model.calls == [False, True]  # the override ran on the way back
    assert model.training and model.drop.training and model.lin.training
    with pytest.raises(RuntimeError, match="boom"), cv.eval_mode(model):
        raise RuntimeError("boom")
    assert model.calls == [False, True, False, True] and model.drop.training


def test_eval_mode_restores_mixed_modes_through_train():
    outer = nn.Sequential(RecordsTrain(), nn.Dropout(0.1))
    outer.train()
    outer[0].eval()          # parent training, child eval, grandchild dropout eval
    outer[0].calls.clear()
    with cv.eval_mode(outer):
        assert not any(m.training for m in outer.modules())
    assert outer.training and outer[1].training
    assert not outer[0].training and not outer[0].drop.training
    assert outer[0].calls[-1] is False  # restored by its own train(False) after the parent's train(True)


def conv_inplace_relu(inplace: bool) -> nn.Sequential:
    """conv (1x1, weights [1, -1], bias [0, 3]) -> ReLU -> flatten -> linear: A^1 = 3 - x is negative at x = 4."""
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU(inplace=inplace), nn.Flatten(), nn.Linear(8, 2, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
        net[0].bias.copy_(torch.tensor([0.0, 3.0]))
        net[3].weight.copy_(torch.tensor([[1.0, 1, 1, 1, -1.5, -1.5, -1.5, -1.5], [0, 0, 0, 2, 4, 0, 0, 0]]))
    return net.eval()


def test_activations_of_a_conv_followed_by_an_inplace_relu_are_pre_relu():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[2.0, 1.0], [0.0, -1.0]]]])  # x and 3 - x, by hand
    net = conv_inplace_relu(inplace=True)
    acts = cv.get_activations(net, None, x, ["0", "1"])
    assert torch.equal(acts["0"], expected)
    assert torch.equal(acts["1"], expected.clamp(min=0))
    with torch.no_grad():
        assert torch.equal(net(x), conv_inplace_relu(inplace=False)(x))  # the model's output is unchanged
    assert count_hooks(net) == 0 and net[1].inplace


def test_default_batch_size_scales_with_the_image_and_batches_give_the_same_activations():
    from convvis_lib.hooks import default_batch_size
    assert default_batch_size((1, 28, 28)) == 2 ** 20 // 784 == 1337
    assert default_batch_size((3, 224, 224)) == 6
    assert default_batch_size((3, 2048, 2048)) == 1
    model, info = cv.load_model("fashionnet")
    x = torch.randn(10, 1, 28, 28)
    whole = cv.get_activations(model, info, x, "conv2")["conv2"]
    parts = cv.get_activations(model, info, x, "conv2", batch_size=3)["conv2"]
    assert torch.allclose(whole, parts, atol=1e-5)
