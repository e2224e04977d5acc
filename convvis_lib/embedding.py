"""CNN codes in 2-D: PCA + t-SNE (van der Maaten & Hinton 2008), grid snapping (Karpathy's CNN-codes
grid), and nearest neighbours in code space versus pixel space."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from .errors import ConvVisError, choice_error
from .hooks import PIXELS, get_activations
from .models import ModelInfo
from .preprocess import check_input


def default_code_layer(info: ModelInfo) -> str:
    """The last hidden layer (the one feeding the classifier), e.g. ``fc1`` for fashionnet, ``fc7`` for AlexNet."""
    return info.layer_names[-2]


def comparison_spaces(info: ModelInfo) -> list[str]:
    """The code spaces chapter 3 compares: ``pixels``, the last two stages (``pool*`` of fashionnet and
    AlexNet/VGG, ``layer*`` of ResNet, ``block*`` of EfficientNet-Lite0) and the last hidden layer (the CNN code)."""
    code = default_code_layer(info)
    stages = [n for n in info.layer_names if n.startswith(("pool", "layer", "block")) and n != code]
    return [PIXELS, *stages[-2:], code]


def layer_codes(model: nn.Module, info: ModelInfo, x: torch.Tensor, layers: Sequence[str],
                batch_size: int | None = None) -> dict[str, np.ndarray]:
    """Flattened codes ``(N, D)`` per layer; ``"pixels"`` gives the normalised input itself."""
    check_input(info, x, model)
    for name in layers:
        if name != PIXELS and name not in info.layers:
            raise choice_error("layer", name, [PIXELS, *info.layer_names])
    net_layers = [n for n in layers if n != PIXELS]
    acts = get_activations(model, info, x, net_layers, batch_size) if net_layers else {}
    acts[PIXELS] = x
    return {n: acts[n].flatten(1).cpu().float().numpy() for n in layers}


GRAM_MAX_POINTS = 512  # up to this many points with more dimensions than points, PCA goes through the Gram matrix


def pca(codes: np.ndarray, dims: int = 50, seed: int = 0) -> np.ndarray:
    """Project ``codes`` on their first ``dims`` principal components (fewer if there are fewer points).

    Few points with many dimensions (``N <= GRAM_MAX_POINTS < D``, e.g. 196 photos of 150 528 pixel
    values): with the centred codes ``X = U S Vᵀ``, the N x N Gram matrix ``X Xᵀ = U S² Uᵀ`` gives the
    projections ``X V = U S`` directly, ten times faster here than scikit-learn's randomized solver.
    Otherwise scikit-learn's PCA. Both agree with an exact SVD up to the sign of each component.
    BLAS runs on one thread: two OpenBLAS threads made PCA 10-50 times slower on a busy 2-core machine.
    """
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits
    codes = _check_codes(codes)
    n, d = codes.shape
    dims = min(dims, n, d)
    with threadpool_limits(limits=1, user_api="blas"):
        if not n <= GRAM_MAX_POINTS < d:
            return PCA(dims, random_state=seed).fit_transform(codes).astype(np.float32)
        x = codes - codes.mean(0)
        eigvals, eigvecs = np.linalg.eigh((x @ x.T).astype(np.float64))
        top = np.argsort(eigvals)[::-1][:dims]  # largest variance first
        proj = eigvecs[:, top] * np.sqrt(np.maximum(eigvals[top], 0.0))  # U S
    largest = proj[np.abs(proj).argmax(0), np.arange(dims)]
    return (proj * np.where(largest < 0, -1.0, 1.0)).astype(np.float32)  # signs: largest entry positive


EXAGGERATION_ITER = 250  # first iterations with the attractions multiplied by 12 (early exaggeration)


def tsne(codes: np.ndarray, seed: int = 0, pca_dims: int = 50, perplexity: float = 30.0,
         max_iter: int = 500, threads: int | None = 1) -> np.ndarray:
    """2-D t-SNE (van der Maaten & Hinton 2008) of ``codes`` after PCA to ``pca_dims``; seeded, so the
    same codes give the same map.

    openTSNE (Poličar, Stražar & Zupan 2024, https://doi.org/10.18637/jss.v109.i03) minimises
    ``KL(P || Q)``: ``P`` from each point's exact nearest neighbours at the given perplexity, ``Q`` the
    Student-t similarities of the 2-D points. Its repulsive forces are computed by FFT-accelerated
    interpolation on a grid (Linderman et al. 2019, https://doi.org/10.1038/s41592-018-0308-4),
    O(N) per iteration. ``max_iter`` counts all iterations: the first ``EXAGGERATION_ITER`` with early
    exaggeration. Grid intervals of 1.5 map units instead of 1 (at least 10 a side): on 10 000
    fashionnet codes 2.1x faster, exact KL 1.475 instead of 1.416 (scikit-learn's Barnes-Hut map: 1.582).
    The perplexity is lowered to ``(N - 1) / 3`` for tiny sets (t-SNE needs ``perplexity < N``).
    ``threads``: openTSNE's threads (``None``: all cores); the map does not depend on it.
    """
    from openTSNE import TSNE
    from threadpoolctl import threadpool_limits
    reduced = pca(codes, pca_dims, seed).astype(np.float64)
    n = reduced.shape[0]
    if n < 4:
        raise ConvVisError(f"t-SNE needs at least 4 points; got {n}")
    model = TSNE(2, perplexity=min(perplexity, (n - 1) / 3), initialization="pca", random_state=seed,
                 early_exaggeration_iter=EXAGGERATION_ITER, n_iter=max(max_iter - EXAGGERATION_ITER, 0),
                 neighbors="exact", negative_gradient_method="fft", ints_in_interval=1.5, min_num_intervals=10,
                 n_jobs=-1 if threads is None else threads)
    with threadpool_limits(limits=1, user_api="blas"):
        return np.asarray(model.fit(reduced), dtype=np.float32)


def grid_side(n: int) -> int:
    """Side of the smallest square grid with at least ``n`` cells."""
    return int(np.ceil(np.sqrt(n)))


EXACT_SNAP_LIMIT = 2500  # above this many points the exact assignment takes minutes: use blocks


def grid_cells(points: np.ndarray, side: int | None = None, exact: bool | None = None) -> np.ndarray:
    """Snap 2-D points to a ``side`` x ``side`` grid, one point per cell, minimising the total
    squared distance (optimal assignment, ``scipy.optimize.linear_sum_assignment``).

    Points are first stretched to the unit square. Returns the cell of each point as
    ``row * side + col`` (row 0 at the top, i.e. largest y). Above ``EXACT_SNAP_LIMIT`` points
    (or with ``exact=False``) the assignment is solved in blocks (:mod:`convvis_lib.gridsnap`),
    within a few percent of the optimum in seconds instead of minutes.
    """
    from scipy.optimize import linear_sum_assignment
    p = _check_codes(points)
    if p.shape[1] != 2:
        raise ConvVisError(f"expected 2-D points of shape (N, 2); got {p.shape}")
    side = grid_side(len(p)) if side is None else side
    if side * side < len(p):
        raise ConvVisError(f"a {side}x{side} grid has {side * side} cells, fewer than the {len(p)} points")
    if exact is False or (exact is None and len(p) > EXACT_SNAP_LIMIT):
        from .gridsnap import grid_cells_blocked
        return grid_cells_blocked(p, side)
    span = np.maximum(p.max(0) - p.min(0), 1e-12)
    p = (p - p.min(0)) / span
    ticks = np.linspace(0.0, 1.0, side)
    rows, cols = np.meshgrid(ticks[::-1], ticks, indexing="ij")  # row 0 = top = largest y
    centres = np.stack([cols.ravel(), rows.ravel()], axis=1)
    cost = ((p[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    point_idx, cell = linear_sum_assignment(cost)
    out = np.empty(len(p), dtype=np.int64)
    out[point_idx] = cell
    return out


def grid_mosaic(images: Sequence[np.ndarray], cells: np.ndarray, side: int,
                dim: np.ndarray | None = None, dim_factor: float = 0.25) -> np.ndarray:
    """One big image: ``images[i]`` (HxW or HxWx3, in [0, 1]) placed in grid cell ``cells[i]``.

    Empty cells stay white; images where ``dim`` is True are faded towards white.
    """
    first = np.asarray(images[0], dtype=np.float32)
    h, w = first.shape[:2]
    canvas = np.ones((side * h, side * w, *first.shape[2:]), dtype=np.float32)
    for i, cell in enumerate(np.asarray(cells)):
        r, c = divmod(int(cell), side)
        img = np.asarray(images[i], dtype=np.float32)
        if dim is not None and dim[i]:
            img = 1.0 - dim_factor * (1.0 - img)
        canvas[r * h:(r + 1) * h, c * w:(c + 1) * w] = img
    return canvas


def loo_neighbours(codes: np.ndarray, k: int = 5) -> np.ndarray:
    """The ``k`` nearest neighbours ``(N, k)`` of every point (Euclidean), the point itself left out."""
    from sklearn.neighbors import NearestNeighbors
    codes = _check_codes(codes).astype(np.float64)  # float64: the same neighbours on every machine
    n = len(codes)
    if not 1 <= k < n:
        raise ConvVisError(f"k must be in 1..{n - 1} for {n} points; got {k}")
    nbrs = NearestNeighbors(n_neighbors=k + 1).fit(codes).kneighbors(codes, return_distance=False)
    is_self = nbrs == np.arange(n)[:, None]
    is_self[~is_self.any(axis=1), -1] = True  # an exact duplicate came first: drop the farthest instead
    return nbrs[~is_self].reshape(n, k)


def knn_vote(neighbours: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Majority label among each row's neighbours (ties go to the smaller label)."""
    labels = np.asarray(labels)
    votes = labels[neighbours]
    counts = np.stack([np.bincount(row, minlength=int(labels.max()) + 1) for row in votes])
    return counts.argmax(axis=1)


def knn_accuracy(codes: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out ``k``-NN accuracy: how often the neighbours' majority label is the point's own."""
    labels = np.asarray(labels)
    if labels.shape != (len(codes),) or labels.min() < 0:
        raise ConvVisError(f"need one non-negative label per point ({len(codes)}); got shape {labels.shape}")
    return float((knn_vote(loo_neighbours(codes, k), labels) == labels).mean())


def neighbour_class_counts(neighbours: np.ndarray, labels: np.ndarray, cls: int, num_classes: int) -> np.ndarray:
    """How often each class appears among the neighbours of the points of class ``cls``."""
    labels = np.asarray(labels)
    if labels.min() < 0:
        raise ConvVisError(f"{int((labels < 0).sum())} points have no label (-1); class counts need a label "
                           "for every point: leave unlabelled images out or skip this measure")
    return np.bincount(labels[neighbours[labels == cls]].ravel(), minlength=num_classes)


def nearest(codes: np.ndarray, query: int, k: int = 5) -> np.ndarray:
    """Indices of the ``k`` points closest to point ``query`` (itself excluded), nearest first."""
    codes = _check_codes(codes).astype(np.float64)
    if not 0 <= query < len(codes):
        raise ConvVisError(f"query index {query} out of range; allowed: 0..{len(codes) - 1}")
    if not 1 <= k < len(codes):
        raise ConvVisError(f"k must be in 1..{len(codes) - 1} (N - 1 other points); got {k}")
    d = ((codes - codes[query]) ** 2).sum(1)
    d[query] = np.inf
    return np.argsort(d, kind="stable")[:k]


def _check_codes(codes) -> np.ndarray:
    a = np.asarray(codes, dtype=np.float32)
    if a.ndim != 2 or len(a) == 0:
        raise ConvVisError(f"expected codes of shape (N, D) with N >= 1; got {a.shape}")
    if not np.isfinite(a).all():
        raise ConvVisError("codes contain NaN or Inf values")
    return a
