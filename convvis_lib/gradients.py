"""Data gradients and friends: which input pixels move a score, read through the backward pass.

* **Saliency** -- Simonyan, Vedaldi & Zisserman (2014), "Deep Inside Convolutional Networks: Visualising
  Image Classification Models and Saliency Maps", https://arxiv.org/abs/1312.6034: the map is
  ``max_c |d S / d x_c|`` for a class score ``S`` (the logit), and class model visualisation is gradient
  ascent on ``S(x) - l2 ||x||^2``, here with the periodic blur of Yosinski et al. (2015), "Understanding
  Neural Networks Through Deep Visualization", https://arxiv.org/abs/1506.06579, and the random jitter of
  Mordvintsev, Olah & Tyka (2015), "Inceptionism" (Google Research blog, DeepDream).
* **DeconvNet** -- Zeiler & Fergus (2014), "Visualizing and Understanding Convolutional Networks",
  https://arxiv.org/abs/1311.2901 (ECCV 2014, doi:10.1007/978-3-319-10590-1_53).
* **Guided backpropagation** -- Springenberg, Dosovitskiy, Brox & Riedmiller (2015), "Striving for
  Simplicity: The All Convolutional Net", https://arxiv.org/abs/1412.6806.

The three maps differ only in how the backward pass crosses a rectifier ``y = relu(x)``. With ``g``
the signal arriving from above:

* ``"plain"``            (true gradient)   ``g * [x > 0]``        -- mask by the sign of the forward input
* ``"deconvnet"``        (Zeiler & Fergus) ``max(g, 0)``          -- rectify the backward signal instead
* ``"guided_backprop"``  (Springenberg)    ``max(g, 0) * [x > 0]`` -- both

Convolutions (transposed filters) and max pooling (the recorded "switches") go backward as autograd
does in all three, so DeconvNet and guided backprop are autograd with the rectifier's backward
replaced: forward hooks on the rectifier modules do it (see :func:`relu_rule`).

**ReLU6** (``min(max(x, 0), 6)``; ``nn.ReLU6`` and ``nn.Hardtanh(0, c)``, used by EfficientNet-Lite and
MobileNet) is a rectifier with an upper clip ``c``. Its true gradient is ``g * [0 < x < c]``; guided
backprop keeps that forward mask and adds ``max(g, 0)``: ``max(g, 0) * [0 < x < c]``. DeconvNet uses
``max(g, 0)`` with **no** upper clip: the DeconvNet rule never looks at the forward pass, and the
backward signal is in units of *score per activation*, not of activations, so clipping it at 6 would
make the map depend on the arbitrary scale of the score (a score times 10 would be clipped more),
while without the clip the map scales with the score, as the plain gradient does.

Any other activation module (``LeakyReLU``, ``GELU``, ``SiLU``, ``Sigmoid``, ...) has no rule here, and
an activation applied as a function (``torch.relu``, ``F.relu6``, ``Tensor.sigmoid``, ...) cannot be
hooked; both would silently keep the plain gradient, so ``"deconvnet"``/``"guided_backprop"`` refuse such models:
the first up front, the second when the autograd graph of the score shows the function's backward node
(:func:`functional_activations`; a ReLU written as ``clamp(x, min=0)`` or ``max(x, 0)`` is not detected).
``"plain"`` works on any model.

Scores: a class target is the class *logit* (not the softmax); a unit target ``(layer, unit)`` is the
mean activation of that channel (see :mod:`convvis_lib.targets`). Its gradient enters at the layer's
output; when that layer is a rectifier module (fashionnet's ``conv1`` ... ``fc1``), that rectifier keeps
its plain backward, so the signal starts only where the unit was active (Zeiler & Fergus likewise
project only a unit's non-zero activations), and the rule changes every rectifier below it.

Drawing the maps (display scaling, colour maps) is in :mod:`convvis_lib.plot.gradients`; the Gaussian blur
and pixel bounds of class model visualisation are the shared ones in :mod:`convvis_lib.pixels`.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from .errors import ConvVisError, choice_error
from .hooks import capture_activations, eval_mode, model_device
from .models import ModelInfo
from .pixels import gaussian_blur, pixel_bounds
from .preprocess import check_input
from .targets import Target, class_targets, unit_target

RULES = ("plain", "deconvnet", "guided_backprop")
MAP_METHODS = ("saliency",) + RULES  # what method_map computes; Korean names in plot.METHOD_LABELS
CMV_INITS = ("mean", "black")
ACTIVATION_MODULES = tuple(c for c in vars(nn.modules.activation).values() if isinstance(c, type)
                           and issubclass(c, nn.Module) and c.__module__ == nn.modules.activation.__name__)
# activation modules that are not pointwise (softmax over units, attention): no rule to replace
NOT_POINTWISE = (nn.Softmax, nn.Softmin, nn.Softmax2d, nn.LogSoftmax, nn.MultiheadAttention)
# backward nodes that activation *functions* leave in the autograd graph (``torch.relu`` -> ReluBackward0, ...),
# named as a reader would write the call; a rectifier module's own node is replaced by the rule's node
ACTIVATION_NODES = {
    "ReluBackward0": "relu", "HardtanhBackward0": "relu6/hardtanh", "LeakyReluBackward0": "leaky_relu",
    "PreluKernelBackward0": "prelu", "RreluWithNoiseBackward0": "rrelu", "ThresholdBackward0": "threshold",
    "EluBackward0": "elu/selu", "CeluBackward0": "celu", "GeluBackward0": "gelu", "SiluBackward0": "silu",
    "MishBackward0": "mish", "HardswishBackward0": "hardswish", "SoftplusBackward0": "softplus",
    "SigmoidBackward0": "sigmoid", "TanhBackward0": "tanh", "HardsigmoidBackward0": "hardsigmoid",
    "LogSigmoidBackward0": "logsigmoid", "SoftshrinkBackward0": "softshrink", "HardshrinkBackward0": "hardshrink",
    "GluBackward0": "glu"}


def check_rule(rule: str) -> str:
    """Return ``rule`` if it is one of :data:`RULES`, else raise a ConvVisError listing them."""
    if rule not in RULES:
        raise choice_error("rule", rule, RULES)
    return rule


def is_rectifier(module: nn.Module) -> bool:
    """True for the modules the rules know: ``nn.ReLU``, ``nn.ReLU6`` and ``nn.Hardtanh(0, c)`` with ``c > 0``."""
    return isinstance(module, nn.ReLU) or (isinstance(module, nn.Hardtanh) and module.min_val == 0 < module.max_val)


def _refuse_unsupported(model: nn.Module, rule: str) -> None:
    """Raise if ``model`` has a pointwise activation module that ``rule`` has no backward rule for."""
    unsupported = [f"{name!r} (nn.{type(m).__name__})" for name, m in model.named_modules()
                   if isinstance(m, ACTIVATION_MODULES) and not is_rectifier(m) and not isinstance(m, NOT_POINTWISE)]
    if unsupported:
        raise ConvVisError(
            f"rule {rule!r} has a backward rule for nn.ReLU, nn.ReLU6 and nn.Hardtanh(0, c) only, but the model "
            f"has other activation modules: {', '.join(unsupported[:5])}; there the result would silently be "
            "the plain gradient. Allowed: models whose activations are those modules, or rule='plain'")


class _DeconvReLU(torch.autograd.Function):
    """Pass a rectifier's output on unchanged; back-propagate by the DeconvNet rule ``max(g, 0)``.

    ``x`` is the rectifier's input (the signal goes there, not through the rectifier's own mask) and
    ``out`` the output the module already computed (detached and reused, so nothing is computed twice).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return out.view_as(out)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad.clamp(min=0), None


class _GuidedReLU(torch.autograd.Function):
    """Pass a rectifier's output on unchanged; back-propagate by the guided rule ``max(g, 0) * [0 < out < c]``.

    ``out`` is the output the module already computed and ``c`` its upper clip (6 for ReLU6, ``inf`` for
    ReLU); ``[0 < out < c]`` is the true gradient's mask ``[0 < x < c]``. As that mask is 0 or 1,
    ``max(g, 0) * mask = max(g * mask, 0)``: the backward is the rectifier's true one (``hardtanh_backward``,
    the kernel autograd runs for ReLU6), then ``max(., 0)`` in place on the tensor it just made: one new
    tensor, not two (measured: about 5 % less time than a hook plus the module's backward, fashionnet).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, out: torch.Tensor, upper: float) -> torch.Tensor:
        ctx.save_for_backward(out)
        ctx.upper = upper
        return out.view_as(out)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (out,) = ctx.saved_tensors
        true_grad = torch.ops.aten.hardtanh_backward(grad, out, 0.0, ctx.upper)  # g * [0 < out < c]
        return true_grad.clamp_(min=0), None, None


@dataclass
class RuleRecord:
    """What :func:`relu_rule` did during a forward pass: how many rectifier calls it rewrote."""

    calls: int = 0


@contextmanager
def relu_rule(model: nn.Module, rule: str) -> Iterator[RuleRecord | None]:
    """Inside the block, every rectifier module of ``model`` back-propagates by ``rule``.

    With ``g`` the signal that reaches ``y = relu(x)`` from above (for ReLU6 the mask is ``[0 < x < 6]``):

    * ``"plain"``: ``g * [x > 0]``, the true gradient (autograd as it is);
    * ``"deconvnet"``: ``max(g, 0)`` -- Zeiler & Fergus (2014), https://arxiv.org/abs/1311.2901;
    * ``"guided_backprop"``: ``max(g, 0) * [x > 0]`` -- Springenberg et al. (2015), https://arxiv.org/abs/1412.6806.

    A forward hook on each rectifier module swaps its output for the same values with the rule's backward
    (:class:`_DeconvReLU`, :class:`_GuidedReLU`), which sends the signal to the module's input in place of
    the module's own backward. Models with activation modules that have no rule are refused; after the
    forward pass, pass the yielded record and the score to :func:`check_relu_calls`, which refuses
    activations applied as functions. In-place rectifiers are made out-of-place meanwhile; hooks and flags
    are restored on exit, also after errors.
    """
    if check_rule(rule) == "plain":
        yield None
        return
    _refuse_unsupported(model, rule)
    relus = [m for m in model.modules() if is_rectifier(m)]
    inplace = [m for m in relus if m.inplace]
    record, handles = RuleRecord(), []

    def swap(module, inputs, output):
        record.calls += 1
        if rule == "deconvnet":
            return _DeconvReLU.apply(inputs[0], output.detach())
        upper = getattr(module, "max_val", math.inf)  # ReLU6 / Hardtanh(0, c): c; nn.ReLU: no upper clip
        return _GuidedReLU.apply(inputs[0], output.detach(), float(upper))

    try:
        for m in inplace:
            m.inplace = False
        handles = [m.register_forward_hook(swap) for m in relus]
        yield record
    finally:
        for h in handles:
            h.remove()
        for m in inplace:
            m.inplace = True


def functional_activations(score: torch.Tensor, skip: frozenset = frozenset()) -> list[str]:
    """Activation functions (``torch.relu``, ``F.relu6``, ``torch.sigmoid``, ...) that the backward pass from
    ``score`` would cross, found by walking its autograd graph; graph nodes in ``skip`` are not counted.

    A ReLU applied as a function leaves a ``ReluBackward0`` node in the graph, which no module hook can
    replace (a hooked rectifier module's own node is cut off: the rule's node takes its place). A ReLU
    written as ``clamp(x, min=0)`` or ``max(x, 0)`` leaves a generic node and is not found.
    """
    found, seen, stack = [], set(), [score.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if node.name() in ACTIVATION_NODES and node not in skip:
            found.append(ACTIVATION_NODES[node.name()])
        stack.extend(parent for parent, _ in node.next_functions)
    return found


def check_relu_calls(record: RuleRecord | None, rule: str, score: torch.Tensor,
                     skip: frozenset = frozenset()) -> None:
    """Raise unless the backward pass from ``score`` crosses no activation but the rule's rectifiers (and ``skip``)."""
    if record is None:
        return
    calls = functional_activations(score, skip)
    if calls:
        names = ", ".join(sorted(set(calls)))
        raise ConvVisError(
            f"rule {rule!r} needs every ReLU to be an nn.ReLU module, but the model applied ReLU as a function "
            f"(torch.relu / F.relu / Tensor.relu, or another activation function; here: {names}) "
            f"{len(calls)} time(s); those cannot be hooked and the result would silently be the plain "
            "gradient. Replace them with nn.ReLU / nn.ReLU6 modules, or use rule='plain'; allowed rules for this "
            "model: 'plain'")
    if record.calls == 0:
        raise ConvVisError(f"rule {rule!r} found no nn.ReLU / nn.ReLU6 module in the forward pass, so it would "
                           "equal the plain gradient; allowed rules for this model: 'plain'")


def _unit_score(act: torch.Tensor, layer: str, unit: int) -> torch.Tensor:
    """(N,) mean activation of channel ``unit`` of ``act`` (N, C, ...)."""
    n = act.shape[1]
    if not 0 <= unit < n:
        raise ConvVisError(f"unit {unit!r} out of range for layer {layer!r}; allowed: 0..{n - 1}")
    return act[:, unit].reshape(len(act), -1).mean(1)


def target_scores(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target,
                  rule: str = "plain") -> torch.Tensor:
    """(N,) differentiable scores of ``target`` for ``x``, computed with the backward ``rule``.

    Call inside ``eval_mode``/``enable_grad``; the rule's hooks are gone when this returns, but
    the graph it built keeps the rule for the backward pass.
    """
    unit = unit_target(model, info, target)
    # the capture hook is registered first, so it sees the layer's own output before the rule swaps it
    with capture_activations(model, info, [unit.layer] if unit else [], detach=False) as acts, \
            relu_rule(model, rule) as record:
        logits = model(x)
    if unit:  # a rectifier layer's own backward stays plain, so the signal starts where the unit was active
        score, own = _unit_score(acts[unit.layer], *unit), frozenset({acts[unit.layer].grad_fn})
    else:
        score, own = logits.gather(1, class_targets(info, target, logits)[:, None])[:, 0], frozenset()
    check_relu_calls(record, rule, score, skip=own)
    return score


def input_gradient(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target,
                   rule: str = "plain") -> torch.Tensor:
    """(N, C, H, W) derivative of each image's target score w.r.t. its pixels, by ``rule``.

    ``target``: a class index or name (its logit), a sequence / LongTensor of N classes (one per
    image), or a unit ``(layer, unit)`` (mean activation of that channel). ``rule``: one of
    :data:`RULES`, see :func:`relu_rule`. The model's mode and hooks are restored
    afterwards; parameters' ``.grad`` are left untouched (``autograd.grad``, not ``backward``).
    """
    check_input(info, x, model)
    check_rule(rule)
    unit_target(model, info, target)  # validate the layer before any work
    with eval_mode(model), torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        scores = target_scores(model, info, x, target, rule)
        (grad,) = torch.autograd.grad(scores.sum(), x)
    return grad


def saliency(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target) -> torch.Tensor:
    """(N, H, W) saliency map ``M_ij = max_c |dS/dx_cij|``: how strongly each pixel moves the class score.

    Simonyan, Vedaldi & Zisserman (2014), "Deep Inside Convolutional Networks: Visualising Image
    Classification Models and Saliency Maps", https://arxiv.org/abs/1312.6034, section 3.1: near an image
    ``x0`` the score is about linear, ``S(x) ~ w^T x + b`` with ``w = dS/dx`` at ``x0``, so pixels with a
    large ``|w|`` change the score most; colour images take the largest ``|w|`` of the channels.
    ``S`` is the logit of ``target`` (one backward pass, :func:`input_gradient` with ``rule="plain"``).
    """
    return input_gradient(model, info, x, target, "plain").abs().amax(1)


def guided_backprop(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target) -> torch.Tensor:
    """(N, C, H, W) guided backpropagation (Springenberg et al., 2015): :func:`input_gradient` with
    rule ``"guided_backprop"``."""
    return input_gradient(model, info, x, target, "guided_backprop")


def deconvnet(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target) -> torch.Tensor:
    """(N, C, H, W) DeconvNet projection (Zeiler & Fergus, 2014): :func:`input_gradient`, rule ``"deconvnet"``."""
    return input_gradient(model, info, x, target, "deconvnet")


def method_map(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: Target,
               method: str) -> torch.Tensor:
    """One of :data:`MAP_METHODS`: ``"saliency"`` -> (N, H, W); a rule (``"plain"``, ``"deconvnet"``,
    ``"guided_backprop"``) -> the raw signed map (N, C, H, W)."""
    if method not in MAP_METHODS:
        raise choice_error("method", method, MAP_METHODS)
    if method == "saliency":
        return saliency(model, info, x, target)
    return input_gradient(model, info, x, target, method)


def class_model_visualization(model: nn.Module, info: ModelInfo, target: Target, steps: int = 200,
                              lr: float = 0.05, l2: float = 1e-3, jitter: int | None = None,
                              blur_every: int = 4, blur_sigma: float | None = None, seed: int = 0,
                              init: str = "mean", size: int | None = None) -> torch.Tensor:
    """Images that maximise ``S_c(x) - l2 * ||x||^2`` by gradient ascent (class model visualisation).

    Simonyan, Vedaldi & Zisserman (2014), https://arxiv.org/abs/1312.6034, section 2: ``S_c`` is the logit
    of ``target`` (a sequence of classes gives one image each; a unit ``(layer, unit)`` works too). One
    step, with ``g = d(S_c - l2 ||x||^2)/dx`` taken on the image rolled by a random shift of up to
    ``jitter`` pixels (rolled back after)::

        x <- clip(x + lr * g / mean|g|, pixel 0, pixel 1)

    and every ``blur_every`` steps ``x <- gaussian_blur(x, blur_sigma)``. The jitter is DeepDream's
    (Mordvintsev, Olah & Tyka, 2015, "Inceptionism"), the blur one of Yosinski et al.'s (2015)
    regularisers (https://arxiv.org/abs/1506.06579); both keep the image natural-looking
    (``jitter=0, blur_every=0`` is the paper's plain L2 version). Defaults scale with the side: jitter
    side/28, sigma side/56 pixels (:func:`convvis_lib.pixels.gaussian_blur`: radius 3 sigma, cut at the side).

    Starts from the dataset mean (``init="mean"``: 0 after normalisation, as in the paper) or black
    (``"black"``: pixel 0, the background of Fashion-MNIST), plus tiny seeded noise. ``size``: side of the
    square canvas (default: the model's input size); a model with global pooling such as
    EfficientNet-Lite0 accepts any side from ``info.min_size`` and is faster on a smaller one.
    Returns the normalised images (n, C, size, size); show them with ``deprocess``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10_000:
        raise ConvVisError(f"steps {steps!r} is not allowed; allowed: an int in 1..10000")
    c, h, _ = info.input_size
    h = h if size is None else size
    one = unit_target(model, info, target) is not None or isinstance(target, (int, str, np.integer)) or \
        (isinstance(target, torch.Tensor) and target.ndim == 0)
    count = 1 if one else len(target)
    jitter = max(1, h // 28) if jitter is None else jitter
    sigma = max(0.5, h / 56) if blur_sigma is None else blur_sigma
    if init not in CMV_INITS:
        raise choice_error("init", init, CMV_INITS)
    gen = torch.Generator().manual_seed(seed)
    x = (0.01 * torch.randn(count, c, h, h, generator=gen)).to(model_device(model))
    check_input(info, x, model)  # e.g. a size the model does not accept
    lo, hi = pixel_bounds(info, x)
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
