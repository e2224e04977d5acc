"""Chapter 1 computations: dead channels, sparsity, filters."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import convvis_lib as cv
from convvis_lib import activations
from convvis_lib.errors import ConvVisError
from convvis_lib.fashionnet import FashionNet
from convvis_lib.threads import SMALL_WORK


def test_dead_channels_hand_made():
    acts = torch.zeros(3, 4, 2, 2)
    acts[1, 0, 1, 1] = 0.5
    acts[2, 2] = 1.0
    assert activations.dead_channels(acts).tolist() == [False, True, False, True]
    assert activations.dead_channels(torch.tensor([[0.0, 2.0]])).tolist() == [True, False]
    assert activations.sparsity(acts) == pytest.approx(1 - 5 / 48)
    acts[0, 3, 0, 0] = -float("inf")  # a finite largest value still decides
    assert activations.dead_channels(acts).tolist() == [False, True, False, True]
    for bad in (float("nan"), float("inf")):
        acts[2, 1, 0, 1] = bad
        with pytest.raises(ConvVisError, match="NaN/Inf"):
            activations.dead_channels(acts)


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



def test_dead_counts_in_chunks_equal_one_pass_over_all_activations(fashion, sample):
    model, info = fashion
    blank = np.zeros((598, 28, 28), dtype=sample.images.dtype)
    # two garments, one in the first chunk and one in the last, with blank images between
    x = cv.preprocess(info, np.concatenate([sample.images[:1], blank, sample.images[1:2]]))
    assert len(x) > 2 * cv.hooks.default_batch_size(x.shape[1:], values=SMALL_WORK)  # at least three chunks
    layers = ["conv2", "conv3", "fc1"]
    every = cv.get_activations(model, info, x, layers)
    chunked = activations.dead_fraction_by_layer(model, info, x, layers)
    assert chunked == {n: (int(activations.dead_channels(a).sum()), a.shape[1]) for n, a in every.items()}
    for part in (x[1:], x[:-1]):  # without either garment more channels are dead: both chunks count
        fewer_inputs = activations.dead_fraction_by_layer(model, info, part, layers)
        assert any(fewer_inputs[n][0] > chunked[n][0] for n in layers)
    with pytest.raises(ConvVisError, match="empty"):
        activations.dead_fraction_by_layer(model, info, x[:0], layers)


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




def test_train_steps_makes_the_updates_of_torch_sgd_with_momentum(sample):
    info = cv.load_model("fashionnet", pretrained=False)[1]
    x, y = cv.preprocess(info, sample.images[:128]), torch.from_numpy(sample.labels[:128])
    torch.manual_seed(0)
    ours, ref = FashionNet(), FashionNet()
    ref.load_state_dict(ours.state_dict())
    ref.drop1.p = ref.drop2.p = ours.drop1.p = ours.drop2.p = 0.0  # no dropout: both see the same forward passes
    losses = activations.train_steps(ours, x, y, lr=0.05, steps=5, batch=32, seed=3)
    opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    g, ref_losses = torch.Generator().manual_seed(3), []
    for _ in range(5):  # the same mini-batches, drawn with the same seeded generator
        idx = torch.randint(len(y), (32,), generator=g)
        loss = torch.nn.functional.cross_entropy(ref(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref_losses.append(loss.item())
    assert losses == pytest.approx(ref_losses, rel=1e-5) and losses[0] != losses[-1]
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
        assert p.grad is None  # the weights get no .grad: autograd.grad returns the gradients

def test_train_steps_runs_small_batches_on_one_thread_and_restores_the_count(sample):
    info = cv.load_model("fashionnet", pretrained=False)[1]
    x, y = cv.preprocess(info, sample.images[:64]), torch.from_numpy(sample.labels[:64])
    net, seen = FashionNet(), []
    net.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    original = torch.get_num_threads()
    torch.set_num_threads(2)  # so that "one thread inside" is a change even on a 1-thread run
    try:
        activations.train_steps(net, x, y, lr=0.01, steps=2, batch=16)
        assert seen == [1, 1] and torch.get_num_threads() == 2
        y_bad = y.clone()
        y_bad[:] = 99  # no such class: cross_entropy raises inside the loop
        with pytest.raises((IndexError, RuntimeError)):
            activations.train_steps(net.eval(), x, y_bad, lr=0.01, steps=2, batch=16)
        assert torch.get_num_threads() == 2 and not net.training
    finally:
        torch.set_num_threads(original)

def test_diverged_model_is_reported_not_counted(fashion, batch):
    model, info = fashion
    net = FashionNet()
    net.load_state_dict(model.state_dict())
    with torch.no_grad():
        net.conv1.bias.fill_(float("nan"))
    with pytest.raises(ConvVisError, match="'conv1'.*diverged"):
        activations.dead_fraction_by_layer(net.eval(), info, batch, ["conv1"])
