"""One preprocessing path per model: images in, normalised tensors out, and back."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .errors import ConvVisError
from .models import ModelInfo


def _as_float_image(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """HxW or HxWxC array (uint8, uint16 or float in [0, 1]) -> float32 HxWxC in [0, 1]."""
    if isinstance(image, (str, Path)):
        raise ConvVisError(f"got the path {str(image)!r}, not an image; load it with "
                           "convvis_lib.imageio.load_image(path) first")
    a = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ConvVisError(f"expected an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {a.shape}")
    if a.shape[0] < 8 or a.shape[1] < 8:
        raise ConvVisError(f"image {a.shape[:2]} is too small; need at least 8x8 pixels")
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535.0
    elif np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise ConvVisError("image contains NaN or Inf values")
        if a.min() < -1e-6 or a.max() > 1 + 1e-6:
            raise ConvVisError(f"float images must lie in [0, 1]; got values in [{a.min():.3g}, {a.max():.3g}]")
    else:
        raise ConvVisError(f"unsupported image dtype {a.dtype}; allowed: uint8, uint16, float in [0, 1]")
    return a[..., :3] if a.shape[2] == 4 else a


def _resize_center_crop(x: torch.Tensor, size: int, resize: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    scale = resize / min(h, w)
    x = F.interpolate(x[None], size=(max(size, round(h * scale)), max(size, round(w * scale))),
                      mode="bilinear", antialias=True, align_corners=False)[0]
    h, w = x.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return x[:, top:top + size, left:left + size]


def preprocess(info: ModelInfo, images) -> torch.Tensor:
    """Images (one array, or a list / N-stacked array) -> normalised batch (N, C, H, W)."""
    if isinstance(images, (str, Path)):
        _as_float_image(images)  # raises: a path is not an image
    if isinstance(images, (list, tuple)):
        items = list(images)
    else:
        arr = images if isinstance(images, torch.Tensor) else np.asarray(images)
        stacked = arr.ndim == 4 or (arr.ndim == 3 and info.input_size[0] == 1 and arr.shape[-1] not in (1, 3, 4))
        items = list(arr) if stacked else [arr]
    if not items:
        raise ConvVisError("no images given (empty list or array)")
    c, h, w = info.input_size
    out = []
    for image in items:
        a = torch.from_numpy(_as_float_image(image)).permute(2, 0, 1)
        if c == 1 and a.shape[0] == 3:
            a = a.mean(0, keepdim=True)
        elif c == 3 and a.shape[0] == 1:
            a = a.expand(3, -1, -1)
        if a.shape[1:] != (h, w):
            a = _resize_center_crop(a, h, round(h * 256 / 224)) if c == 3 else \
                F.interpolate(a[None], size=(h, w), mode="bilinear", antialias=True)[0]
        out.append(a)
    x = torch.stack(out)
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    return (x - mean) / std


def deprocess(info: ModelInfo, x: torch.Tensor) -> np.ndarray:
    """Normalised (C, H, W) or (1, C, H, W) tensor -> displayable HxW or HxWx3 array in [0, 1]."""
    x = x.detach().cpu().float()
    if x.ndim == 4:
        x = x[0]
    mean = torch.tensor(info.mean).view(-1, 1, 1)
    std = torch.tensor(info.std).view(-1, 1, 1)
    img = (x * std + mean).clamp(0, 1).permute(1, 2, 0).numpy()
    return img[..., 0] if img.shape[2] == 1 else img


NON_FINITE = "input batch contains NaN or Inf values"


def _peak(x: torch.Tensor) -> torch.Tensor:
    """max |x| as a 0-d tensor: NaN if ``x`` has a NaN, inf if it has an inf (``amax`` propagates both).

    Cheaper than ``torch.isfinite(x).all()`` (4 kernels) and than ``linalg.vector_norm(x, inf)``
    (one kernel on a GPU, but about 10x slower on a CPU).
    """
    return x.abs().amax()


def check_input(info: ModelInfo | None, x, model: torch.nn.Module | None = None) -> None:
    """Raise a clear error unless ``x`` is a finite float batch of the model's input shape.

    With ``model`` given, ``x`` must also have its parameters' dtype and device.
    """
    if not isinstance(x, torch.Tensor):
        hint = " (load it with convvis_lib.imageio.load_image first)" if isinstance(x, (str, Path)) else ""
        raise ConvVisError(f"expected a torch.Tensor batch (N, C, H, W); got {type(x).__name__}{hint} "
                           "(use convvis_lib.preprocess(info, images) first)")
    if x.ndim != 4:
        raise ConvVisError(f"expected a 4-D batch (N, C, H, W); got shape {tuple(x.shape)}")
    if len(x) == 0:
        raise ConvVisError("empty batch: N must be at least 1")
    param = next(model.parameters(), None) if model is not None else None
    want = param.dtype if param is not None else torch.float32
    if x.dtype != want:
        raise ConvVisError(f"expected dtype {want}; got {x.dtype} (use x.to({want}) or preprocess())")
    if param is not None and x.device != param.device:
        raise ConvVisError(f"x is on {x.device} but the model is on {param.device}; use x.to({str(param.device)!r})")
    if not math.isfinite(_peak(x)):
        raise ConvVisError(NON_FINITE)
    if info is not None:
        c, h, w = info.input_size
        if x.shape[1] != c:
            raise ConvVisError(f"{info.name} expects {c} input channel(s); got {x.shape[1]} (shape {tuple(x.shape)})")
        if info.dataset == "fashion-mnist" and tuple(x.shape[2:]) != (h, w):
            raise ConvVisError(f"{info.name} expects {h}x{w} inputs; got {tuple(x.shape[2:])}")
        if min(x.shape[2:]) < info.min_size:
            raise ConvVisError(f"{info.name} needs inputs of at least {info.min_size}x{info.min_size} pixels; "
                               f"got {tuple(x.shape[2:])}")
