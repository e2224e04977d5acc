"""Data gradients and friends: saliency (Simonyan et al.), DeconvNet (Zeiler & Fergus), guided backprop
(Springenberg et al.), and class model visualisation by gradient ascent.

The three maps differ only in how the backward pass crosses each ReLU ``y = max(x, 0)``.
With ``g`` the signal arriving from above:

* ``"plain"``      (true gradient)   ``g * [x > 0]``        -- mask by the sign of the forward input
* ``"deconvnet"``  (Zeiler & Fergus) ``max(g, 0)``          -- mask by the sign of the backward signal
* ``"guided"``     (Springenberg)    ``max(g, 0) * [x > 0]`` -- both masks

Max pooling routes the signal to the recorded maxima ("switches") and convolutions use the
transposed filters in all three, which is exactly what autograd does; so DeconvNet and guided
backprop are autograd with the ReLU backward replaced. Forward hooks on every ``nn.ReLU`` module do
it: for DeconvNet they swap in a small autograd function that skips ReLU's mask; for guided backprop
they put a tensor hook ``max(g, 0)`` on the ReLU's output, and ReLU's own backward then applies the
mask ``[x > 0]`` (one Python call per ReLU in the backward pass, the least a hook can cost). A model
that applies ReLU as a function (``torch.relu``, ``F.relu``, ``Tensor.relu``) cannot be hooked, so it
is detected and refused.

Scores: a class target is the class *logit* (not the softmax); a ``(layer, unit)`` target is the
mean activation of that channel. Its gradient enters at the layer's output; when that layer is an
``nn.ReLU`` module (fashionnet's ``conv1`` ... ``fc1``), that ReLU keeps its plain backward, so the
signal starts only where the unit was active (Zeiler & Fergus likewise project only a unit's
non-zero activations), and the rule changes every ReLU below it.
"""
from __future__ import annotations

import weakref
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from .errors import ConvVisError, choice_error
from .hooks import capture_activations, eval_mode
from .models import ModelInfo, get_module
from .preprocess import checked_input
from .targets import class_targets, one_class

RULES = ("plain", "deconvnet", "guided")
RELU_FUNCTIONS = ("relu", "relu_")
CMV_INITS = ("mean", "black")
Target = int | str | torch.Tensor | Sequence[int] | tuple[str, int]


class _DeconvReLU(torch.autograd.Function):
    """Pass an ``nn.ReLU``'s output on unchanged; back-propagate by the DeconvNet rule ``max(g, 0)``.

    ``x`` is the ReLU's input (the signal goes there, not through ReLU's own mask) and ``out`` the
    output the module already computed (detached and reused, so nothing is computed twice).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return out.view_as(out)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad.clamp(min=0), None


def _positive(grad: torch.Tensor) -> torch.Tensor:
    """Tensor hook of the guided rule: ``max(g, 0)`` before ReLU's own backward masks it by ``[out > 0]``."""
    return grad.clamp(min=0)


def check_rule(rule: str) -> str:
    """Return ``rule`` if it is one of :data:`RULES`, else raise a ConvVisError listing them."""
    if rule not in RULES:
        raise choice_error("rule", rule, RULES)
    return rule


class _ReluCounter(TorchFunctionMode):
    """Counts ReLU calls made outside ``nn.ReLU`` modules (``depth`` is kept by module hooks)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.module_calls = 0
        self.functional_calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if self.depth == 0 and getattr(func, "__name__", "") in RELU_FUNCTIONS:
            self.functional_calls += 1
        return func(*args, **(kwargs or {}))


_VERIFIED: "weakref.WeakKeyDictionary[nn.Module, tuple[int, ...]]" = weakref.WeakKeyDictionary()


@contextmanager
def relu_rule(model: nn.Module, rule: str) -> Iterator[_ReluCounter | None]:
    """Inside the block, every ``nn.ReLU`` of ``model`` back-propagates by ``rule``.

    For ``"deconvnet"``/``"guided"`` it yields a counter of the forward passes' ReLU calls; call
    :func:`check_relu_calls` on it after the forward. Inplace ReLUs are made out-of-place
    meanwhile; hooks and ``inplace`` flags are restored on exit, also after an exception.

    The search for functional ReLU calls (a ``TorchFunctionMode`` that sees every torch call, costly
    on a GPU) runs until one forward pass of the model has passed it; later passes with the same
    ``nn.ReLU`` modules skip it.
    """
    if check_rule(rule) == "plain":
        yield None
        return
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    ids = tuple(id(m) for m in relus)
    trusted = _VERIFIED.get(model) == ids
    inplace = [m for m in relus if m.inplace]  # made out-of-place meanwhile (others are not touched)
    counter, handles, guided = _ReluCounter(), [], rule == "guided"

    def enter(_module, _inputs):
        counter.depth += 1

    def leave(_module, inputs, output):
        counter.depth -= not trusted
        counter.module_calls += 1
        if not guided:
            return _DeconvReLU.apply(inputs[0], output.detach())
        if output.requires_grad:  # guided: ReLU keeps its backward; a tensor hook clamps what enters it
            output.register_hook(_positive)
        return None

    try:
        for m in inplace:
            m.inplace = False
        for m in relus:
            if not trusted:
                handles.append(m.register_forward_pre_hook(enter))
            handles.append(m.register_forward_hook(leave))
        if trusted:
            yield counter
        else:
            with counter:
                yield counter
            if counter.module_calls and not counter.functional_calls:
                _VERIFIED[model] = ids
    finally:
        for h in handles:
            h.remove()
        for m in inplace:
            m.inplace = True


def check_relu_calls(counter: _ReluCounter | None, rule: str) -> None:
    """Raise unless every ReLU of the forward pass ran inside a hooked ``nn.ReLU`` module."""
    if counter is None:
        return
    if counter.functional_calls:
        raise ConvVisError(
            f"rule {rule!r} needs every ReLU to be an nn.ReLU module, but the model applied ReLU as a function "
            f"(torch.relu / F.relu / Tensor.relu) {counter.functional_calls} time(s); those cannot be hooked and "
            "the result would silently be the plain gradient. Replace them with nn.ReLU modules, or use "
            "rule='plain'; allowed rules for this model: 'plain'")
    if counter.module_calls == 0:
        raise ConvVisError(f"rule {rule!r} found no nn.ReLU module in the forward pass, so it would equal the "
                           "plain gradient; allowed rules for this model: 'plain'")


def _is_unit_target(target) -> bool:
    return isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], str)


def _is_one_class(target) -> bool:
    """One class for the whole batch (an index or a name), as opposed to one per image."""
    return isinstance(target, (int, str, np.integer)) or (isinstance(target, torch.Tensor) and target.ndim == 0)


def _unit_score(act: torch.Tensor, layer: str, unit: int) -> torch.Tensor:
    """(N,) mean activation of channel ``unit`` of ``act`` (N, C, ...)."""
    n = act.shape[1]
    if isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit < n:
        raise ConvVisError(f"unit {unit!r} out of range for layer {layer!r}; allowed: 0..{n - 1}")
    return act[:, unit].reshape(len(act), -1).mean(1)


def target_scores(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target,
                  rule: str = "plain") -> torch.Tensor:
    """(N,) differentiable scores of ``target`` for ``x``, computed with the ReLU backward ``rule``.

    Call inside ``eval_mode``/``enable_grad``; the rule's hooks are gone when this returns, but
    the graph it built keeps the rule for the backward pass.
    """
    layers = [target[0]] if _is_unit_target(target) else []
    # the capture hook is registered first, so it sees the layer's own output before the rule swaps it
    with capture_activations(model, info, layers, detach=False) as acts, relu_rule(model, rule) as counter:
        logits = model(x)
        check_relu_calls(counter, rule)
    if layers:
        return _unit_score(acts[layers[0]], *target)
    if _is_one_class(target):  # a column view: no index tensor, no gather
        return logits[:, one_class(info, target, logits.shape[1])]
    cls = class_targets(info, target, logits)
    return logits.gather(1, cls[:, None])[:, 0]


def input_gradient(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target,
                   rule: str = "plain") -> torch.Tensor:
    """(N, C, H, W) derivative of each image's target score w.r.t. its pixels, by ``rule``.

    ``target``: a class index or name (its logit), a sequence / LongTensor of N classes (one per
    image), or ``(layer, unit)`` (mean activation of that channel). ``rule``: ``"plain"``,
    ``"deconvnet"`` or ``"guided"``. The model's mode and hooks are restored afterwards.
    """
    with checked_input(info, x, model):  # on a GPU the NaN/Inf test is read at the end (no round trip)
        check_rule(rule)
        if _is_unit_target(target):
            get_module(model, info, target[0])  # validate the layer before hooking anything
        with eval_mode(model), torch.enable_grad():
            x = x.detach().clone().requires_grad_(True)
            scores = target_scores(model, info, x, target, rule)
            (grad,) = torch.autograd.grad(scores.sum(), x)
    return grad


def saliency(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target) -> torch.Tensor:
    """(N, H, W) saliency map of Simonyan et al.: ``max over channels of |d score / d x|``."""
    return input_gradient(model, info, x, target, "plain").abs().amax(1)


def guided_backprop(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target) -> torch.Tensor:
    """(N, C, H, W) guided backpropagation (Springenberg et al.)."""
    return input_gradient(model, info, x, target, "guided")


def deconvnet(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target) -> torch.Tensor:
    """(N, C, H, W) DeconvNet projection (Zeiler & Fergus) of the target back to the pixels."""
    return input_gradient(model, info, x, target, "deconvnet")


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel of (N, C, H, W) ``x`` with a Gaussian of std ``sigma`` pixels (reflect padding)."""
    radius = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).view(1, 1, 1, -1).repeat(x.shape[1], 1, 1, 1)
    pad = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    if pad < radius:
        raise ConvVisError(f"blur sigma {sigma} is too large for {tuple(x.shape[-2:])} images; allowed: "
                           f"sigma <= {(min(x.shape[-2:]) - 1) / 3:.2f}")
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), k, groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), k.transpose(2, 3), groups=c)


def _pixel_bounds(info: ModelInfo | None, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised values of pixel 0 and pixel 1 per channel (no bounds without info)."""
    if info is None:
        return torch.full_like(x[:1], -torch.inf), torch.full_like(x[:1], torch.inf)
    mean = torch.tensor(info.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(info.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (0 - mean) / std, (1 - mean) / std


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def class_model_visualization(model: nn.Module, info: ModelInfo, target: Target, steps: int = 200,
                              lr: float = 0.05, l2: float = 1e-3, jitter: int | None = None,
                              blur_every: int = 4, blur_sigma: float | None = None, seed: int = 0,
                              init: str = "mean") -> torch.Tensor:
    """Image that maximises ``score(target) - l2 * ||x||^2`` by gradient ascent (Simonyan et al.).

    Starts from the dataset mean (``init="mean"``, 0 after normalisation, as in the paper) or from
    black (``init="black"``, pixel 0: the background of Fashion-MNIST), plus tiny seeded noise; the
    L2 penalty always pulls towards the mean. Each step rolls
    the image by a random shift of up to ``jitter`` pixels (default: side/28), takes a step of
    ``lr`` times the gradient divided by its mean absolute value, and keeps pixels inside the valid
    range; every ``blur_every`` steps the image is blurred (``blur_sigma``, default: side/56 px).
    ``target`` as in :func:`input_gradient`; a sequence of classes gives one image per class.
    Returns the normalised images (n, C, H, W) (use ``deprocess`` to show them).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10_000:
        raise ConvVisError(f"steps {steps!r} is not allowed; allowed: an int in 1..10000")
    c, h, w = info.input_size
    count = len(target) if isinstance(target, (list, torch.Tensor, np.ndarray)) else 1
    jitter = max(1, h // 28) if jitter is None else jitter
    sigma = max(0.5, h / 56) if blur_sigma is None else blur_sigma
    if init not in CMV_INITS:
        raise choice_error("init", init, CMV_INITS)
    gen = torch.Generator().manual_seed(seed)
    x = (0.01 * torch.randn(count, c, h, w, generator=gen)).to(_model_device(model))
    lo, hi = _pixel_bounds(info, x)
    if init == "black":
        x = x + lo
    with eval_mode(model):
        for step in range(steps):
            dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist()
            xr = x.roll((dy, dx), dims=(2, 3)).requires_grad_(True)
            with torch.enable_grad():
                objective = target_scores(model, info, xr, target).sum() - l2 * (xr ** 2).sum()
                (g,) = torch.autograd.grad(objective, xr)
            g = g.roll((-dy, -dx), dims=(2, 3))
            x = x + lr * g / (g.abs().mean(dim=(1, 2, 3), keepdim=True) + 1e-12)
            if blur_every and (step + 1) % blur_every == 0:
                x = gaussian_blur(x, sigma)
            x = torch.maximum(torch.minimum(x, hi), lo).detach()
    return x


def to_display(grad: torch.Tensor, percentile: float = 99.0) -> torch.Tensor:
    """Show a raw gradient (C, H, W): 0 -> 0.5 grey, +-(percentile of |g|) -> 1 / 0; (H, W) or (H, W, 3)."""
    g = grad.detach().float().cpu()
    scale = torch.quantile(g.abs().flatten(), percentile / 100).clamp_min(1e-12)
    img = (0.5 + 0.5 * g / scale).clamp(0, 1)
    return img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)


def saliency_display(sal: torch.Tensor, percentile: float = 99.0) -> torch.Tensor:
    """Scale a saliency map (H, W) to [0, 1], clipping at the given percentile."""
    s = sal.detach().float().cpu()
    return (s / torch.quantile(s.flatten(), percentile / 100).clamp_min(1e-12)).clamp(0, 1)


# ----------------------------------------------------------------------------- drawing (matplotlib)

METHOD_LABELS = {"saliency": "세일리언시 맵", "deconvnet": "디컨브넷", "guided": "가이디드 역전파",
                 "plain": "그래디언트"}


def method_map(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target,
               method: str) -> torch.Tensor:
    """``saliency`` -> (N, H, W); ``plain``/``deconvnet``/``guided`` -> raw (N, C, H, W)."""
    if method not in METHOD_LABELS:
        raise choice_error("method", method, METHOD_LABELS)
    if method == "saliency":
        return saliency(model, info, x, target)
    return input_gradient(model, info, x, target, method)


def draw_map(ax, m: torch.Tensor, title: str | None = None, percentile: float = 99.0) -> None:
    """One map from :func:`method_map`: a saliency map (H, W) in ``inferno`` (black = 0); a raw map
    (C, H, W) signed around 0: one channel in ``RdBu_r`` (red +, blue -), three as colour (grey = 0)."""
    if m.ndim == 2:
        ax.imshow(saliency_display(m, percentile).numpy(), cmap="inferno", vmin=0, vmax=1)
    elif m.shape[0] == 1:
        ax.imshow(2 * to_display(m, percentile).numpy() - 1, cmap="RdBu_r", vmin=-1, vmax=1)
    else:
        ax.imshow(to_display(m, percentile).numpy())
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
