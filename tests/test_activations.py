"""Chapter 1 computations: dead channels, sparsity, filters."""
from __future__ import annotations

import pytest
import torch

import convvis_lib as cv
from convvis_lib import activations
from convvis_lib.errors import ConvVisError
from convvis_lib.fashionnet import FashionNet


def test_dead_channels_hand_made():
    acts = torch.zeros(3, 4, 2, 2)
    acts[1, 0, 1, 1] = 0.5
    acts[2, 2] = 1.0
    assert activations.dead_channels(acts).tolist() == [False, True, False, True]
    assert activations.dead_channels(torch.tensor([[0.0, 2.0]])).tolist() == [True, False]
    assert activations.sparsity(acts) == pytest.approx(1 - 5 / 48)


def test_dead_counts_for_a_zeroed_filter(fashion, batch):
    model, info = fashion
    net = FashionNet()
    net.load_state_dict(model.state_dict())
    with torch.no_grad():
        net.conv1.weight[5].zero_()
        net.conv1.bias[5] = -1.0
    dead = activations.dead_fraction_by_layer(net.eval(), info, batch, ["conv1"])
    base = activations.dead_fraction_by_layer(model, info, batch, ["conv1"])
    assert dead["conv1"] == (base["conv1"][0] + 1, 32)


def test_filter_weights_and_errors(fashion):
    model, info = fashion
    w = activations.filter_weights(model, info, "conv1")
    assert w.shape == (32, 1, 3, 3)
    torch.testing.assert_close(w, model.conv1.weight.detach())
    w[0] += 1  # a copy: the model is untouched
    assert not torch.equal(w, model.conv1.weight.detach())
    with pytest.raises(ConvVisError, match="'conv1'"):
        activations.filter_weights(model, info, "pool1")


def test_as_square_pads_with_nan():
    sq = activations.as_square(torch.arange(5.0))
    assert sq.shape == (3, 3) and sq[0, :3].tolist() == [0, 1, 2] and torch.isnan(torch.tensor(sq[2, 2]))


def test_train_steps_restores_mode_and_reduces_loss(sample):
    info = cv.load_model("fashionnet", pretrained=False)[1]
    x, y = cv.preprocess(info, sample.images[:256]), torch.from_numpy(sample.labels[:256])
    torch.manual_seed(0)
    net = FashionNet().eval()
    losses = activations.train_steps(net, x, y, lr=0.01, steps=30)
    assert not net.training and losses[-1] < losses[0]


def test_diverged_model_is_reported_not_counted(fashion, batch):
    model, info = fashion
    net = FashionNet()
    net.load_state_dict(model.state_dict())
    with torch.no_grad():
        net.conv1.bias.fill_(float("nan"))
    with pytest.raises(ConvVisError, match="diverged"):
        activations.dead_fraction_by_layer(net.eval(), info, batch, ["conv1"])
