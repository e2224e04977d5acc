"""Sanity checks for saliency methods (Adebayo et al., 2018).

*Model randomisation*: re-initialise the weights of a trained model layer by layer from the top
(the logits) down, cumulatively, and see whether an explanation changes. *Data randomisation*:
compare with a copy of the net trained to memorise shuffled labels. A method whose maps stay the
same in both tests cannot be explaining what the model learned.

Randomisation always works on a deep copy: the caller's model is never changed. Each module is
re-initialised (its own ``reset_parameters``) from a seed made of ``seed`` and its position in
``model.named_modules()``, so a layer gets the same random weights whichever way one gets there.
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from scipy.stats import rankdata
from skimage.metrics import structural_similarity
from torch import nn

from .errors import ConvVisError, choice_error
from .explain import explanations
from .hooks import eval_mode
from .models import ModelInfo, get_module, load_model, load_safetensors
from .targets import ClassTarget, class_targets

SHUFFLED_WEIGHTS = "fashionnet_shuffled.safetensors"


def shuffled_weights_path() -> Path:
    return Path(str(resources.files("convvis_lib").joinpath("assets", SHUFFLED_WEIGHTS)))


def load_shuffled_model(info: ModelInfo) -> nn.Module:
    """fashionnet trained on shuffled labels (see ``assets/fashionnet_shuffled_log.txt``), in eval mode."""
    if info.name != "fashionnet":
        raise ConvVisError(f"a shuffled-label model ships only for 'fashionnet'; got {info.name!r}; "
                           "allowed: 'fashionnet'")
    model, _ = load_model("fashionnet", pretrained=False)  # the registry's architecture, random weights
    load_safetensors(model, shuffled_weights_path(), "create it with `python -m convvis_lib.train "
                     "--shuffle-labels --subset 1000 --epochs 80 --out ...`")
    return model.eval()


def cascade_layers(model: nn.Module, info: ModelInfo, max_steps: int | None = None) -> list[str]:
    """The weight layers of ``info.weights`` from the top (output) down to the input.

    With ``max_steps``, at most that many, evenly spread, always with the top and the bottom one.
    """
    index = {m: i for i, (_, m) in enumerate(model.named_modules())}
    names = sorted(info.weights, key=lambda n: index[get_module(model, info, n, kind="weights")], reverse=True)
    if max_steps is None or max_steps >= len(names):
        return names
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 2:
        raise ConvVisError(f"max_steps {max_steps!r} is not allowed; allowed: None or an int >= 2")
    picks = np.linspace(0, len(names) - 1, max_steps).round().astype(int)
    return [names[i] for i in picks]


def _param_modules(model: nn.Module) -> list[tuple[int, nn.Module]]:
    """(position in named_modules, module) for every module that owns parameters."""
    return [(i, m) for i, (_, m) in enumerate(model.named_modules())
            if any(True for _ in m.parameters(recurse=False))]


def _reset(module: nn.Module, seed: int) -> None:
    """Re-initialise ``module`` in place; the draw happens on the CPU, so every device gets the same weights."""
    if not hasattr(module, "reset_parameters"):
        raise ConvVisError(f"cannot re-initialise {type(module).__name__}: it has no reset_parameters()")
    fresh = copy.deepcopy(module).cpu()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        fresh.reset_parameters()
    module.load_state_dict(fresh.state_dict())


def _first_index(model: nn.Module, info: ModelInfo, layer: str) -> int:
    allowed = cascade_layers(model, info)
    if layer not in allowed:
        raise choice_error("layer", layer, allowed)
    target = get_module(model, info, layer, kind="weights")
    return next(i for i, (_, m) in enumerate(model.named_modules()) if m is target)


def _randomize_range(copy_: nn.Module, start: int, stop: int, seed: int) -> None:
    """Re-initialise, in place, the parameter modules at positions ``start <= i < stop``."""
    for i, module in _param_modules(copy_):
        if start <= i < stop:
            _reset(module, seed * 1_000_003 + i)


def randomize_from_top(model: nn.Module, info: ModelInfo, upto: str, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every layer from the top down to ``upto`` (included) re-initialised."""
    start = _first_index(model, info, upto)
    copy_ = copy.deepcopy(model)
    _randomize_range(copy_, start, len(list(copy_.modules())), seed)
    return copy_


def cascading_randomization(model: nn.Module, info: ModelInfo, layers: Sequence[str] | None = None,
                            seed: int = 0) -> Iterator[tuple[str, nn.Module]]:
    """Yield ``(layer, copy)``: a copy of ``model`` re-initialised from the top down to ``layer``, step by step.

    Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim (2018), "Sanity Checks for Saliency Maps",
    NeurIPS 2018, https://arxiv.org/abs/1810.03292, section 3 (cascading randomisation). With the
    weight layers ordered from the output, ``l_1`` (top) ... ``l_L`` (input), step ``s`` draws new
    weights for ``l_1 .. l_s`` and keeps the trained ones below::

        theta^(s) = (random l_1, ..., random l_s, trained l_(s+1), ..., trained l_L)

    A method whose map E(x; theta^(s)) stays close to E(x; theta) does not depend on what those layers
    learned. ``layers`` defaults to :func:`cascade_layers` (all, top first); a subset keeps the top-down
    order. One copy is randomised further at each step (keep what you need before the next step).
    """
    order = cascade_layers(model, info)
    unknown = [n for n in (layers or []) if n not in order]
    if unknown:
        raise choice_error("layer", unknown[0], order)
    names = order if layers is None else [n for n in order if n in set(layers)]
    copy_ = copy.deepcopy(model)
    stop = len(list(copy_.modules()))
    for name in names:
        start = _first_index(model, info, name)
        _randomize_range(copy_, start, stop, seed)  # the modules between this layer and the previous one
        stop = start
        yield name, copy_


def _flat(a: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    return np.asarray(a, dtype=np.float64).ravel()


def spearman(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray, absolute: bool = True) -> float:
    """Spearman rank correlation of two maps (of ``|map|`` with ``absolute``); NaN if one is constant."""
    x, y = _flat(a), _flat(b)
    if x.shape != y.shape:
        raise ConvVisError(f"maps must have the same size; got {np.shape(a)} and {np.shape(b)}")
    if absolute:
        x, y = np.abs(x), np.abs(y)
    rx, ry = rankdata(x) - (len(x) + 1) / 2, rankdata(y) - (len(y) + 1) / 2
    denom = np.sqrt((rx ** 2).sum() * (ry ** 2).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


def _unit(a: np.ndarray) -> np.ndarray:
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def ssim(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Structural similarity of two 2-D maps, each first scaled to [0, 1] (as in Adebayo et al.)."""
    x = _flat(a).reshape(np.shape(a))
    y = _flat(b).reshape(np.shape(b))
    if x.ndim != 2 or x.shape != y.shape:
        raise ConvVisError(f"SSIM needs two 2-D maps of the same shape; got {x.shape} and {y.shape}")
    side = min(x.shape)
    if side < 3:
        raise ConvVisError(f"maps of {x.shape} are too small for SSIM; need at least 3x3")
    win = min(7, side if side % 2 else side - 1)
    return float(structural_similarity(_unit(x), _unit(y), win_size=win, data_range=1.0))


def similarities(reference: torch.Tensor, other: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-image similarity of two batches of maps (N, H, W): Spearman of |maps|, Spearman, SSIM."""
    if reference.shape != other.shape or reference.ndim != 3:
        raise ConvVisError(f"expected two (N, H, W) batches of the same shape; got {tuple(reference.shape)} "
                           f"and {tuple(other.shape)}")
    return {
        "spearman_abs": np.array([spearman(r, o, absolute=True) for r, o in zip(reference, other)]),
        "spearman": np.array([spearman(r, o, absolute=False) for r, o in zip(reference, other)]),
        "ssim": np.array([ssim(r, o) for r, o in zip(reference, other)]),
    }


@dataclass(eq=False)
class SanityResult:
    """Maps and similarities of a model randomisation (or data randomisation) test.

    ``steps[0]`` is ``"original"``; the others name the model each map set came from (for the
    cascade: randomised from the top down to that layer). ``maps[step][method]`` is (N, H, W);
    ``scores[metric]`` is (steps, methods, N) similarity to the original maps.
    """

    steps: list[str]
    methods: list[str]
    targets: torch.Tensor
    maps: dict[str, dict[str, torch.Tensor]]
    scores: dict[str, np.ndarray]

    def mean(self, metric: str = "spearman_abs") -> np.ndarray:
        """(steps, methods) mean similarity over the images (NaN where a map was constant is skipped)."""
        if metric not in self.scores:
            raise choice_error("metric", metric, list(self.scores))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
            return np.nanmean(self.scores[metric], axis=-1)


def _collect(steps: list[str], methods: Sequence[str], cls: torch.Tensor,
             maps: dict[str, dict[str, torch.Tensor]]) -> SanityResult:
    ref = maps[steps[0]]
    scores: dict[str, np.ndarray] = {}
    for s_i, step in enumerate(steps):
        for m_i, m in enumerate(methods):
            for metric, values in similarities(ref[m].cpu(), maps[step][m].cpu()).items():
                scores.setdefault(metric, np.zeros((len(steps), len(methods), len(cls))))[s_i, m_i] = values
    return SanityResult(steps, list(methods), cls, maps, scores)


def model_randomization_test(model: nn.Module, info: ModelInfo, x: torch.Tensor, target: ClassTarget = None,
                             methods: Sequence[str] = ("saliency", "guided_backprop", "deconvnet",
                                                       "occlusion", "gradcam"),
                             layers: Sequence[str] | None = None, seed: int = 0, **kwargs) -> SanityResult:
    """Cascading randomisation: maps of every method for the original and each randomised copy.

    The target classes are fixed on the original model (``None``: its predictions) and kept for
    every copy. ``kwargs`` go to :func:`convvis_lib.explain.explanations` (``layer``, ``patch``, ...).
    """
    cls = _fixed_targets(model, info, x, target)
    maps = {"original": explanations(model, info, x, cls, methods, **kwargs)}
    for name, rand in cascading_randomization(model, info, layers, seed):
        maps[name] = explanations(rand, info, x, cls, methods, **kwargs)
    return _collect(list(maps), methods, cls, maps)


def data_randomization_test(model: nn.Module, other: nn.Module, info: ModelInfo, x: torch.Tensor,
                            target: ClassTarget = None,
                            methods: Sequence[str] = ("saliency", "guided_backprop", "deconvnet",
                                                      "occlusion", "gradcam"),
                            name: str = "shuffled", **kwargs) -> SanityResult:
    """Maps of the original ``model`` and of ``other`` (e.g. trained on shuffled labels), same targets."""
    cls = _fixed_targets(model, info, x, target)
    maps = {"original": explanations(model, info, x, cls, methods, **kwargs),
            name: explanations(other, info, x, cls, methods, **kwargs)}
    return _collect(list(maps), methods, cls, maps)


def _fixed_targets(model: nn.Module, info: ModelInfo, x: torch.Tensor, target: ClassTarget) -> torch.Tensor:
    with eval_mode(model), torch.no_grad():
        return class_targets(info, target, model(x))
