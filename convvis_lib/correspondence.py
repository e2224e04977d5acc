"""Point correspondence by nearest neighbours in CNN feature space.

Long, Zhang & Darrell (2014), "Do Convnets Learn Correspondence?", NIPS 2014, https://arxiv.org/abs/1411.1091.

A point of image A is described by the feature vector of a layer at that
position (the layer's map interpolated to image coordinates); its match in
image B is the position whose vector is most similar (cosine similarity). With
a known geometric relation between A and B (an affine warp we make ourselves,
or the ground-truth disparity of a rectified stereo pair) we can count how
often the match lands within ``tol`` pixels of the truth: PCK, the percentage
of correct keypoints.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConvVisError, choice_error
from .hooks import PIXELS, layer_function, model_device
from .models import ModelInfo
from .pixels import normalize_pixels
from .threads import threads_for


def _points(points) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ConvVisError(f"points must have shape (K, 2) as (x, y); got {p.shape}")
    return p


def _check_batch(info: ModelInfo, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ConvVisError(f"expected a float batch (N, C, H, W); got {getattr(x, 'shape', type(x).__name__)}")
    if x.shape[1] != info.input_size[0]:
        raise ConvVisError(f"{info.name} expects {info.input_size[0]} input channel(s); got {x.shape[1]}")


def matchable_layers(model: nn.Module, info: ModelInfo) -> list[str]:
    """Layers of ``info.layers`` whose output has positions to match: a map ``(N, C, h, w)`` with h, w > 1 at
    the model's input size, in forward order.

    Unlike :func:`convvis_lib.gradcam.spatial_layers` this leaves out 1×1 maps (global pooling), and
    fully connected layers have no positions at all.
    """
    x = torch.zeros((1, *info.input_size), device=model_device(model))
    names = []
    for layer in info.layer_names:
        with layer_function(model, info, layer) as f, torch.no_grad():
            out = f(x)
        if out.ndim == 4 and min(out.shape[-2:]) > 1:
            names.append(layer)
    return names


def patch_features(x: torch.Tensor, size: int = 5) -> torch.Tensor:
    """Raw pixel patches as features: ``(N, C·size², H, W)``, the image reflected at the border."""
    if size < 1 or size % 2 == 0:
        raise ConvVisError(f"patch size must be an odd positive integer; got {size}")
    pad = size // 2
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect") if pad else x
    n, c, h, w = x.shape
    shifted = [padded[:, :, dy:dy + h, dx:dx + w] for dy in range(size) for dx in range(size)]
    return torch.stack(shifted, 2).reshape(n, c * size * size, h, w)  # channel-major, like F.unfold


def dense_features(model: nn.Module, info: ModelInfo, x: torch.Tensor, layer: str,
                   patch: int = 5) -> torch.Tensor:
    """Feature vector at every pixel: ``(N, D, H, W)`` with unit length along D.

    ``layer`` is a spatial layer (its map is bilinearly interpolated to the
    input's H×W, so each cell sits at the centre of the pixels it summarises)
    or ``"pixels"`` for raw ``patch``×``patch`` pixel patches (the baseline).
    Only the layers up to ``layer`` run, so inputs may be larger than the
    model's training size when those layers are convolutional.
    """
    _check_batch(info, x)
    if layer == PIXELS:
        feats = patch_features(x, patch)
    else:
        if layer not in info.layers:
            raise choice_error("layer", layer, [PIXELS, *info.layer_names])
        with layer_function(model, info, layer) as f, torch.no_grad():
            fmap = f(x)
        if fmap.ndim != 4:
            raise ConvVisError(f"layer {layer!r} has no spatial map (output shape {tuple(fmap.shape)}); "
                               f"use a convolutional or pooling layer or {PIXELS!r}")
        feats = F.interpolate(fmap, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return F.normalize(feats, dim=1, eps=1e-8)


def _check_maps(feat_a: torch.Tensor, feat_b: torch.Tensor) -> None:
    if feat_a.ndim != 3 or feat_b.ndim != 3 or feat_a.shape[0] != feat_b.shape[0]:
        raise ConvVisError(f"expected two (D, H, W) feature maps with equal D; got {tuple(feat_a.shape)} "
                           f"and {tuple(feat_b.shape)}")


def similarity_map(feat_a: torch.Tensor, feat_b: torch.Tensor, point: Sequence[float]) -> np.ndarray:
    """Cosine similarity ``(H_b, W_b)`` between A's feature at ``point = (x, y)`` and every position of B."""
    _check_maps(feat_a, feat_b)
    x, y = (int(round(v)) for v in point)
    h, w = feat_a.shape[1:]
    if not (0 <= x < w and 0 <= y < h):
        raise ConvVisError(f"point {tuple(point)} lies outside image A (x in 0..{w - 1}, y in 0..{h - 1})")
    return torch.einsum("d,dhw->hw", feat_a[:, y, x], feat_b).cpu().numpy()


def match_points(feat_a: torch.Tensor, feat_b: torch.Tensor, points) -> np.ndarray:
    """Nearest-neighbour matching in feature space (Long, Zhang & Darrell, 2014, https://arxiv.org/abs/1411.1091):
    for each point ``p = (x, y)`` of A, the position of B with the most similar feature,

        q̂ = argmax_q  f_A(p) · f_B(q)        (= cosine similarity, as the features have unit length)

    ``feat_a``, ``feat_b`` are ``(D, H, W)`` maps from :func:`dense_features`; returns ``(K, 2)`` as (x, y).
    :func:`match_batch` does the same for many pairs at once.
    """
    _check_maps(feat_a, feat_b)
    p = _points(points)
    xs, ys = np.rint(p[:, 0]).astype(int), np.rint(p[:, 1]).astype(int)
    _check_inside(xs, ys, feat_a.shape[1], feat_a.shape[2])
    queries = feat_a[:, torch.as_tensor(ys), torch.as_tensor(xs)]        # (D, K): A's feature at each point
    sim = torch.einsum("dk,dhw->khw", queries, feat_b)                   # (K, H_b, W_b) cosine similarities
    best = sim.flatten(1).argmax(1).cpu().numpy()                        # flat index of the best position in B
    w_b = feat_b.shape[2]
    return np.stack([best % w_b, best // w_b], 1).astype(np.float64)


def _check_inside(xs: np.ndarray, ys: np.ndarray, h: int, w: int) -> None:
    if len(xs) and (xs.min() < 0 or ys.min() < 0 or xs.max() >= w or ys.max() >= h):
        raise ConvVisError(f"points must lie inside image A (x in 0..{w - 1}, y in 0..{h - 1}); "
                           f"got x in {xs.min()}..{xs.max()}, y in {ys.min()}..{ys.max()}")


def match_batch(feats_a: torch.Tensor, feats_b: torch.Tensor, points: Sequence) -> list[np.ndarray]:
    """:func:`match_points` for a batch of pairs ``(N, D, H, W)`` with ``points[i]`` of pair ``i``, in one product
    (the fast path for many pairs; tested equal to :func:`match_points`)."""
    pts = [_points(p) for p in points]
    n, _, h, w = feats_a.shape
    if len(pts) != n or feats_b.shape[:2] != feats_a.shape[:2]:
        raise ConvVisError(f"need {n} point sets and feature maps of equal N and D; got {len(pts)} point sets, "
                           f"maps {tuple(feats_a.shape)} and {tuple(feats_b.shape)}")
    k = max((len(p) for p in pts), default=0)
    if k == 0:
        return [p.copy() for p in pts]
    idx = np.zeros((n, k), dtype=np.int64)
    for i, p in enumerate(pts):
        xs, ys = np.rint(p[:, 0]).astype(int), np.rint(p[:, 1]).astype(int)
        _check_inside(xs, ys, h, w)
        idx[i, :len(p)] = ys * w + xs
    flat_a = feats_a.flatten(2)                                                   # (N, D, H*W)
    gather = torch.as_tensor(idx, device=flat_a.device)[:, None, :].expand(-1, flat_a.shape[1], -1)
    queries = flat_a.gather(2, gather)                                            # (N, D, K)
    best = torch.bmm(queries.transpose(1, 2), feats_b.flatten(2)).argmax(2).cpu().numpy()  # (N, K)
    wb = feats_b.shape[3]
    return [np.stack([best[i, :len(p)] % wb, best[i, :len(p)] // wb], 1).astype(np.float64)
            for i, p in enumerate(pts)]


def pck(pred, truth, tol: float) -> float:
    """Fraction of predictions within ``tol`` pixels (Euclidean) of the truth; NaN rows in ``truth`` are skipped."""
    p, t = _points(pred), _points(truth)
    if p.shape != t.shape:
        raise ConvVisError(f"pred {p.shape} and truth {t.shape} differ in shape")
    ok = np.isfinite(t).all(1)
    if not ok.any():
        raise ConvVisError("no valid ground-truth points to score")
    return float((np.linalg.norm(p[ok] - t[ok], axis=1) <= tol).mean())


def affine_matrix(angle: float = 0.0, scale: float = 1.0, shift: Sequence[float] = (0.0, 0.0),
                  size: Sequence[int] = (28, 28)) -> np.ndarray:
    """Pixel-space map A -> B (2×3): rotate by ``angle`` degrees (counter-clockwise on screen) and
    scale by ``scale`` about the image centre, then shift by ``shift = (dx, dy)`` pixels.

    A point ``p = (x, y)`` of image A lands at ``M[:, :2] @ p + M[:, 2]`` in image B.
    """
    h, w = size
    a = np.deg2rad(angle)
    rot = scale * np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])  # y points down
    c = np.array([(w - 1) / 2, (h - 1) / 2])
    return np.hstack([rot, (c - rot @ c + np.asarray(shift, dtype=np.float64))[:, None]])


def warp_points(points, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2×3 pixel-space affine map to ``(K, 2)`` points."""
    p = _points(points)
    m = np.asarray(matrix, dtype=np.float64)
    return p @ m[:, :2].T + m[:, 2]


def sampling_theta(matrix: np.ndarray, size: Sequence[int]) -> torch.Tensor:
    """``theta`` for ``F.affine_grid`` (align_corners=False) that renders image B of the map ``matrix``.

    ``affine_grid`` asks, for each output pixel, where to read in the input, in
    coordinates from -1 to 1: ``u = (2p + 1) / size - 1``, i.e. ``p - c = D u``
    with ``D = diag(W/2, H/2)``. So theta is ``D⁻¹ M⁻¹ D`` with the shift
    ``-D⁻¹ M⁻¹ (M c + t - c)``, the inverse of ``matrix`` written in those coordinates.
    """
    h, w = size
    m = np.asarray(matrix, dtype=np.float64)
    lin_inv = np.linalg.inv(m[:, :2])
    c = np.array([(w - 1) / 2, (h - 1) / 2])
    d = np.diag([w / 2, h / 2])
    d_inv = np.diag([2 / w, 2 / h])
    shift = m[:, :2] @ c + m[:, 2] - c
    theta = np.hstack([d_inv @ lin_inv @ d, (-d_inv @ lin_inv @ shift)[:, None]])
    return torch.tensor(theta, dtype=torch.float32)


def warp_images(images01: torch.Tensor, matrices: Sequence[np.ndarray], mode: str = "bilinear") -> torch.Tensor:
    """Render image B for each image A in a pixel batch ``(N, C, H, W)`` (outside of A becomes 0, black)."""
    if len(matrices) != len(images01):
        raise ConvVisError(f"need one matrix per image: {len(matrices)} matrices for {len(images01)} images")
    size = images01.shape[-2:]
    theta = torch.stack([sampling_theta(m, size) for m in matrices]).to(images01.device)
    grid = F.affine_grid(theta, list(images01.shape), align_corners=False)
    return F.grid_sample(images01, grid, mode=mode, padding_mode="zeros", align_corners=False)


def keypoints(image: np.ndarray, k: int = 10, min_distance: int = 2, border: int = 2) -> np.ndarray:
    """Up to ``k`` Harris corners of a 2-D image (strongest first), as ``(x, y)`` rows."""
    from skimage.feature import corner_harris, corner_peaks
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ConvVisError(f"keypoints expects a 2-D (grayscale) image; got shape {img.shape}")
    peaks = corner_peaks(corner_harris(img), min_distance=min_distance, num_peaks=k,
                         exclude_border=border, threshold_rel=0.01)
    return peaks[:, ::-1].astype(np.float64).reshape(-1, 2)


@dataclass(frozen=True)
class Pair:
    """Two pixel images (C, H, W) in [0, 1], keypoints in A and their true positions in B (NaN: unknown)."""

    name: str
    a: torch.Tensor
    b: torch.Tensor
    points: np.ndarray
    truth: np.ndarray


def affine_pairs(images01: torch.Tensor, n_points: int = 10, max_angle: float = 20.0,
                 scales: tuple[float, float] = (0.9, 1.1), max_shift: float = 2.0,
                 seed: int = 0) -> list[Pair]:
    """Make a pair (image, random affine warp of it) for each image, with keypoints and their true positions.

    The warp rotates by up to ``max_angle`` degrees, scales by a factor in
    ``scales`` and shifts by up to ``max_shift`` pixels along each axis.
    Keypoints are Harris corners at least ``W // 14`` pixels apart (2 for 28×28);
    those whose true position falls outside image B are dropped.
    """
    rng = np.random.default_rng(seed)
    n, _, h, w = images01.shape
    mats = [affine_matrix(rng.uniform(-max_angle, max_angle), rng.uniform(*scales),
                          rng.uniform(-max_shift, max_shift, size=2), (h, w)) for _ in range(n)]
    warped = warp_images(images01, mats)
    pairs = []
    spacing = max(2, w // 14)
    for i in range(n):
        pts = keypoints(images01[i].mean(0).cpu().numpy(), n_points, min_distance=spacing, border=spacing)
        truth = warp_points(pts, mats[i])
        inside = (truth[:, 0] >= 0) & (truth[:, 0] <= w - 1) & (truth[:, 1] >= 0) & (truth[:, 1] <= h - 1)
        pairs.append(Pair(f"affine #{i}", images01[i], warped[i], pts[inside], truth[inside]))
    return pairs


def stereo_pair(downscale: int = 4, n_points: int = 40, channels: int = 3) -> Pair:
    """The Middlebury motorcycle stereo pair (bundled with scikit-image), reduced by ``downscale``.

    The pair is rectified: the point ``(x, y)`` of the left image is at
    ``(x - d(y, x), y)`` in the right one, with ``d`` the ground-truth disparity.
    Keypoints are Harris corners of the left image where ``d`` is known.
    ``channels=1`` gives gray images (the mean of R, G, B) for a grayscale model;
    the keypoints are the same either way.
    """
    from skimage import data as skd
    from skimage.transform import downscale_local_mean
    if channels not in (1, 3):
        raise ConvVisError(f"channels must be 1 (gray) or 3 (RGB); got {channels!r}")
    left, right, disp = skd.stereo_motorcycle()
    h, w = (s // downscale * downscale for s in disp.shape)      # whole blocks only
    left, right, disp = left[:h, :w], right[:h, :w], disp[:h, :w]
    f = (downscale, downscale, 1)
    a, b = (torch.from_numpy(downscale_local_mean(img / 255.0, f)).permute(2, 0, 1).float() for img in (left, right))
    d = downscale_local_mean(np.where(np.isfinite(disp), disp, np.nan), (downscale, downscale)) / downscale
    pts = keypoints(a.mean(0).numpy(), 4 * n_points, min_distance=3, border=4)
    dd = d[pts[:, 1].astype(int), pts[:, 0].astype(int)]
    keep = np.flatnonzero(np.isfinite(dd))[:n_points]
    pts, dd = pts[keep], dd[keep]
    if channels == 1:
        a, b = a.mean(0, keepdim=True), b.mean(0, keepdim=True)
    return Pair("stereo motorcycle", a, b, pts, np.stack([pts[:, 0] - dd, pts[:, 1]], 1))


def pair_features(model: nn.Module, info: ModelInfo, pair: Pair, layer: str,
                  patch: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense unit-length features ``(D, H, W)`` of both images of a pair at ``layer``."""
    device = model_device(model)
    with threads_for(pair.a):
        fa, fb = (dense_features(model, info, normalize_pixels(info, img[None].to(device)), layer, patch)[0]
                  for img in (pair.a, pair.b))
    return fa, fb


def pair_pck(model: nn.Module, info: ModelInfo, pairs: Sequence[Pair], layers: Sequence[str],
             tols: Sequence[float], patch: int = 5) -> dict[str, np.ndarray]:
    """PCK over all keypoints of all pairs, per layer (``"pixels"`` allowed) and tolerance in pixels.

    Returns ``{layer: array of len(tols)}``. Pairs of the same size run as one batch.
    """
    groups = _same_size(pairs)
    truth = np.concatenate([p.truth for group in groups for p in group])
    out = {}
    for layer in layers:
        pred = np.concatenate([q for group in groups for q in match_pairs(model, info, group, layer, patch)])
        out[layer] = np.array([pck(pred, truth, t) for t in tols])
    return out


def _same_size(pairs: Sequence[Pair]) -> list[list[Pair]]:
    """Pairs grouped by the sizes of their images (order kept within a group)."""
    groups: dict[tuple, list[Pair]] = {}
    for p in pairs:
        groups.setdefault((tuple(p.a.shape), tuple(p.b.shape)), []).append(p)
    return list(groups.values())


def match_pairs(model: nn.Module, info: ModelInfo, pairs: Sequence[Pair], layer: str, patch: int = 5,
                chunk: int = 64) -> list[np.ndarray]:
    """Predicted positions in B of each pair's keypoints (all pairs of one size), ``chunk`` pairs per batch."""
    device = model_device(model)
    out: list[np.ndarray] = []
    for s in range(0, len(pairs), chunk):
        part = pairs[s:s + chunk]
        xa, xb = (normalize_pixels(info, torch.stack(imgs).to(device))
                  for imgs in ([p.a for p in part], [p.b for p in part]))
        with threads_for(xa):
            fa, fb = (dense_features(model, info, x, layer, patch) for x in (xa, xb))
            out += match_batch(fa, fb, [p.points for p in part])
    return out
