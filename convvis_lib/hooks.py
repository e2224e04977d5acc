"""Capture activations and gradients by layer name; always clean up."""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from .errors import ConvVisError
from .models import ModelInfo, get_module

# The raw input treated as a pseudo-layer: "codes" of the pixels themselves (t-SNE, correspondence baselines).
PIXELS = "pixels"
# Input values per forward pass when a function batches for you: on 2 CPU cores EfficientNet-Lite0 at 224x224 took
# 0.08 s an image in batches of 4, 0.12 in batches of 32 and 0.17 in batches of 64 (larger batches leave the cache).
BATCH_VALUES = 2 ** 20


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` (and every submodule) in eval mode; restore each module's mode on exit.

    Modes are set and restored through the modules' own ``train()`` (never by assigning
    ``.training``), so a module that overrides ``train()`` (e.g. a torchvision feature-extractor
    graph that keeps separate train and eval graphs) runs its override both ways. Restoring goes
    top-down (``modules()`` lists parents first): a parent's ``train(mode)`` resets its children,
    then each child whose saved mode differs gets its own call. A model already in eval mode
    throughout is left alone (nothing to switch).
    """
    modules = list(model.modules())
    modes = [m.training for m in modules]
    if any(modes):
        model.eval()
    try:
        yield model
    finally:
        for m, training in zip(modules, modes):
            if m.training != training:
                m.train(training)


@contextmanager
def capture_activations(model: nn.Module, info: ModelInfo | None, layers: str | Sequence[str],
                        detach: bool = True) -> Iterator[dict[str, torch.Tensor]]:
    """Record the output of each named layer during forward passes inside the block.

    Yields a dict ``{layer: tensor}`` that is filled as the model runs (the last call wins when a
    module runs twice). The rest of the model gets a copy of the output, so a later in-place
    operation (e.g. ``nn.ReLU(inplace=True)`` right after a conv layer) cannot overwrite the
    recorded values, and with ``detach=False`` gradients w.r.t. the recorded tensor are those of
    the layer's own output. Hooks are removed on exit, also after an exception.
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = {n: get_module(model, info, n) for n in names}  # validate before hooking
    store: dict[str, torch.Tensor] = {}
    handles = []

    def make_hook(name: str):
        def hook(_module, _inputs, output):
            if not isinstance(output, torch.Tensor):
                raise ConvVisError(f"layer {name!r} returns {type(output).__name__}, not a tensor; allowed: "
                                   "layers whose output is one tensor")
            store[name] = output.detach() if detach else output
            return output.clone()  # what the next layers see (and may change in place)
        return hook

    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(make_hook(name)))
        yield store
    finally:
        for h in handles:
            h.remove()


def default_batch_size(image_shape: Sequence[int], values: int = BATCH_VALUES) -> int:
    """Images of ``image_shape`` (C, H, W) per forward pass: about ``values`` input values in all
    (1 337 images of 1x28x28, 6 of 3x224x224)."""
    return max(1, values // max(1, math.prod(image_shape)))


def get_activations(model: nn.Module, info: ModelInfo | None, x: torch.Tensor,
                    layers: str | Sequence[str], batch_size: int | None = None) -> dict[str, torch.Tensor]:
    """Activations of ``layers`` for inputs ``x``, computed in eval mode without gradients, ``batch_size``
    images per forward pass (default: :func:`default_batch_size`)."""
    from .preprocess import check_input
    check_input(info, x, model)
    batch_size = batch_size or default_batch_size(x.shape[1:])
    names = [layers] if isinstance(layers, str) else list(layers)
    chunks: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    with eval_mode(model), torch.inference_mode(), capture_activations(model, info, names) as acts:
        for i in range(0, len(x), batch_size):
            model(x[i:i + batch_size])
            for n in names:
                chunks[n].append(acts[n])
    return {n: torch.cat(c) for n, c in chunks.items()}


@contextmanager
def capture_gradients(model: nn.Module, info: ModelInfo | None,
                      layers: str | Sequence[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Record d(output)/d(layer output) for each named layer during backward passes."""
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = {n: get_module(model, info, n) for n in names}
    store: dict[str, torch.Tensor] = {}
    handles = []

    def make_hook(name: str):
        def hook(_module, _grad_in, grad_out):
            store[name] = grad_out[0].detach()
        return hook

    try:
        for name, module in modules.items():
            handles.append(module.register_full_backward_hook(make_hook(name)))
        yield store
    finally:
        for h in handles:
            h.remove()


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's parameters (the CPU for a model without parameters)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def count_hooks(model: nn.Module) -> int:
    """Number of forward/backward hooks registered on ``model``'s modules (for tests)."""
    total = 0
    for m in model.modules():
        total += len(m._forward_hooks) + len(m._forward_pre_hooks)
        total += len(m._backward_hooks) + len(m._backward_pre_hooks)
    return total


class _StopForward(Exception):
    """Raised by a hook to skip the layers after the one we need."""


@contextmanager
def layer_function(model: nn.Module, info: ModelInfo | None, layer: str) -> Iterator[Callable]:
    """Yield ``f(x) -> output of layer`` that stops the forward pass at that layer.

    Runs in eval mode; the hook is removed and each module's mode restored on
    exit, also after an exception. Layers after ``layer`` never run, so the
    convolutional part of a model also accepts inputs of other sizes.
    """
    module = get_module(model, info, layer)
    store: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        store.append(output)
        raise _StopForward

    def run(x: torch.Tensor) -> torch.Tensor:
        store.clear()
        try:
            model(x)
        except _StopForward:
            return store[0]
        raise ConvVisError(f"layer {layer!r} did not run during the forward pass")

    with eval_mode(model):
        handle = module.register_forward_hook(hook)
        try:
            yield run
        finally:
            handle.remove()
