"""One entry point for every explanation method, each as an (N, H, W) importance map.

Used by the sanity checks and the deletion / insertion curves, so that every method is measured
on the same images, targets and footing:

* ``saliency``, ``guided_backprop``, ``deconvnet``, ``guided_gradcam``: the magnitude of the
  backward signal, ``max over channels of |.|`` (the saliency-map convention of Simonyan et al.);
* ``occlusion``: the drop of the class probability when a patch covers the pixel (signed);
* ``gradcam``: Grad-CAM of ``layer``, stretched to the input size (non-negative);
* ``random``: uniform noise, a reference that knows nothing about the model.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from . import gradients
from .errors import choice_error
from .gradcam import grad_cam, guided_grad_cam
from .hooks import eval_mode
from .models import ModelInfo
from .occlusion import occlusion_scan
from .preprocess import check_input
from .targets import ClassTarget, class_targets

# Korean names for figures: convvis_lib.plot.METHOD_LABELS (same keys).
METHODS = ("saliency", "guided_backprop", "deconvnet", "occlusion", "gradcam", "guided_gradcam", "random")


def _magnitude(grad: torch.Tensor) -> torch.Tensor:
    return grad.abs().amax(1)


def occlusion_importance(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, cls: torch.Tensor,
                         patch: int | None = None, stride: int | None = None) -> torch.Tensor:
    """(N, H, W) drop of the class probability when a patch covers the pixel (mean over those patches)."""
    maps = []
    for i in range(len(x)):
        scan = occlusion_scan(model, info, x[i:i + 1], patch=patch, stride=stride, progress=False)
        drop = scan.base_probs[cls[i]] - scan.prob(int(cls[i]))            # (h', w') patch positions
        maps.append(scan.to_pixels(drop))                                    # mean over covering patches
    return torch.stack(maps).to(x.device)


def explanation(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: ClassTarget = None,
                method: str = "gradcam", layer: str = "conv3", patch: int | None = None,
                stride: int | None = None, seed: int = 0) -> torch.Tensor:
    """(N, H, W) importance map of ``method`` for class ``target`` (``None``: the prediction).

    ``layer`` is used by the Grad-CAM methods, ``patch``/``stride`` by occlusion, ``seed`` by
    ``random``. Methods: see :data:`METHODS`.
    """
    if method not in METHODS:
        raise choice_error("method", method, METHODS)
    check_input(info, x, model)
    with eval_mode(model), torch.no_grad():
        cls = class_targets(info, target, model(x))
    if method == "random":
        gen = torch.Generator().manual_seed(seed)
        return torch.rand(len(x), *x.shape[-2:], generator=gen).to(x.device)
    if method == "occlusion":
        return occlusion_importance(model, info, x, cls, patch, stride)
    if method == "gradcam":
        return grad_cam(model, info, x, cls, layer)
    if method == "guided_gradcam":
        return _magnitude(guided_grad_cam(model, info, x, cls, layer))
    if method == "saliency":
        return gradients.saliency(model, info, x, cls)
    return _magnitude(getattr(gradients, method)(model, info, x, cls))


def explanations(model: nn.Module, info: ModelInfo | None, x: torch.Tensor, target: ClassTarget = None,
                 methods: Sequence[str] = METHODS, **kwargs) -> dict[str, torch.Tensor]:
    """``{method: (N, H, W) map}`` for several methods with the same targets."""
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise choice_error("method", bad[0], METHODS)
    check_input(info, x, model)
    with eval_mode(model), torch.no_grad():
        cls = class_targets(info, target, model(x))
    return {m: explanation(model, info, x, cls, m, **kwargs) for m in methods}
