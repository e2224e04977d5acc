"""CNN codes, PCA + t-SNE, grid snapping and k-NN in code space."""
import numpy as np
import pytest
import torch

import convvis_lib as cv
from convvis_lib import embedding as emb


def test_grid_points_already_on_grid_keep_their_cells():
    side = 5
    cells = np.random.default_rng(0).permutation(side * side)
    rows, cols = np.divmod(cells, side)
    points = np.stack([cols * 2.0 + 1, (side - 1 - rows) * 2.0 - 3], axis=1)  # y up, any scale and shift
    assert np.array_equal(emb.grid_cells(points, side), cells)


def test_grid_cells_are_distinct_and_keep_order():
    pts = np.array([[0.0, 0.0], [1.0, 0.05], [0.1, 1.0], [0.9, 0.9], [0.5, 0.45]])
    cells = emb.grid_cells(pts)  # 3x3 grid
    assert len(set(cells)) == 5
    assert cells.tolist() == [6, 8, 0, 2, 4]  # bottom-left, bottom-right, top-left, top-right, centre
    with pytest.raises(cv.ConvVisError, match="2x2 grid has 4 cells, fewer than the 5 points"):
        emb.grid_cells(pts, side=2)
    with pytest.raises(cv.ConvVisError, match=r"shape \(N, 2\)"):
        emb.grid_cells(np.zeros((4, 3)))


def test_grid_mosaic_places_images():
    images = [np.full((2, 2), v, dtype=np.float32) for v in (0.0, 0.5)]
    mosaic = emb.grid_mosaic(images, np.array([3, 0]), side=2, dim=np.array([True, False]), dim_factor=0.5)
    assert mosaic.shape == (4, 4)
    assert (mosaic[2:, 2:] == 0.5).all()  # image 0 (black), faded half way to white, in cell 3
    assert (mosaic[:2, :2] == 0.5).all()  # image 1 unchanged in cell 0
    assert (mosaic[:2, 2:] == 1.0).all() and (mosaic[2:, :2] == 1.0).all()  # empty cells are white


def test_knn_accuracy_by_hand():
    x = np.array([[0.0], [1.0], [3.0], [10.0], [11.0], [20.0]])
    y = np.array([0, 0, 1, 1, 1, 0])
    # 1-NN, self left out: 0->1 ok, 1->0 ok, 3->1 wrong, 10->11 ok, 11->10 ok, 20->11 wrong
    assert emb.knn_accuracy(x, y, k=1) == pytest.approx(4 / 6)
    assert emb.loo_neighbours(x, k=2).tolist() == [[1, 2], [0, 2], [1, 0], [4, 2], [3, 2], [4, 3]]


def test_knn_accuracy_separable_clusters_is_one():
    rng = np.random.default_rng(1)
    centres = np.eye(3, 8) * 50
    y = np.repeat(np.arange(3), 30)
    x = centres[y] + rng.normal(size=(90, 8))
    assert emb.knn_accuracy(x, y, k=5) == 1.0


def test_duplicates_and_ties():
    x = np.array([[0.0], [0.0], [5.0]])
    nbrs = emb.loo_neighbours(x, k=1)
    assert nbrs.tolist() == [[1], [0], [1]] or nbrs.tolist() == [[1], [0], [0]]
    assert all(i not in row for i, row in enumerate(nbrs.tolist()))
    assert emb.knn_vote(np.array([[0, 1]]), np.array([2, 1])).tolist() == [1]  # tie 2 vs 1 -> smaller label
    counts = emb.neighbour_class_counts(np.array([[1, 2], [0, 2], [0, 1]]), np.array([0, 0, 1]), 0, 3)
    assert counts.tolist() == [2, 2, 0]
    assert emb.nearest(np.array([[0.0], [4.0], [1.0], [-2.0]]), 0, k=2).tolist() == [2, 3]


def test_tsne_is_seeded_and_keeps_clusters():
    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(3), 25)
    x = np.eye(3, 20)[y] * 50 + rng.normal(size=(75, 20))  # three far-apart clusters
    a = emb.tsne(x, seed=0, max_iter=300)
    assert a.shape == (75, 2)
    assert np.array_equal(a, emb.tsne(x, seed=0, max_iter=300))  # same machine, same seed: same map
    assert np.array_equal(a, emb.tsne(x, seed=0, max_iter=300, threads=2))  # the thread count does not matter
    assert not np.array_equal(a, emb.tsne(x, seed=1, max_iter=300))
    assert emb.knn_accuracy(a, y, k=5) == 1.0  # each cluster stays together in 2-D
    assert emb.tsne(x[:6], seed=0).shape == (6, 2)  # tiny sets: perplexity lowered automatically
    with pytest.raises(cv.ConvVisError, match="at least 4 points; got 3"):
        emb.tsne(x[:3])


def test_tsne_map_keeps_neighbours_as_well_as_scikit_learns(labelled_batch):
    """On 300 real fc1 codes, as trustworthy (k=10) as scikit-learn's Barnes-Hut t-SNE of the same PCA codes,
    and its 2-D 5-NN accuracy within 0.03 of the codes' own (measured: 0.9923 vs 0.9925; 0.900 vs 0.893)."""
    from sklearn.manifold import TSNE, trustworthiness
    model, info, x, y = labelled_batch(300)
    codes = emb.layer_codes(model, info, x, ["fc1"])["fc1"]
    ours = emb.tsne(codes, seed=0, max_iter=350)
    ref = TSNE(2, init="pca", random_state=0, max_iter=350).fit_transform(emb.pca(codes))
    assert trustworthiness(codes, ours, n_neighbors=10) >= trustworthiness(codes, ref, n_neighbors=10) - 0.005
    assert emb.knn_accuracy(ours, y) >= emb.knn_accuracy(codes, y) - 0.03


def test_pca_dims():
    x = np.random.default_rng(3).normal(size=(10, 30))
    assert emb.pca(x, 50).shape == (10, 10)
    p = emb.pca(x, 4)
    assert p.shape == (10, 4)
    np.testing.assert_allclose(p.mean(0), 0, atol=1e-5)
    assert np.all(np.diff(p.var(0)) <= 1e-6)  # components sorted by variance


def _svd_projection(x: np.ndarray, dims: int) -> np.ndarray:
    """Reference PCA: the centred codes' exact SVD in float64, ``U S`` of the first ``dims`` components."""
    u, s, _ = np.linalg.svd(x - x.mean(0), full_matrices=False)
    return u[:, :dims] * s[:dims]


def _assert_equal_up_to_sign(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    signs = np.sign((a * b).sum(0))
    np.testing.assert_allclose(a * signs, b, atol=1e-4 * np.abs(b).max())


@pytest.mark.parametrize("n, d, gram", [(60, 700, True), (60, 700, False), (600, 40, False)])
def test_pca_matches_exact_svd(n, d, gram, monkeypatch):
    if not gram:
        monkeypatch.setattr(emb, "GRAM_MAX_POINTS", 0)  # scikit-learn's PCA even for few points
    rng = np.random.default_rng(4)
    basis = np.linalg.qr(rng.normal(size=(d, 30)))[0].T  # 30 orthonormal directions in D dims
    x = (rng.normal(size=(n, 30)) * np.linspace(20, 2, 30)) @ basis + 5 + 0.01 * rng.normal(size=(n, d))
    _assert_equal_up_to_sign(emb.pca(x, 20), _svd_projection(x, 20))


@pytest.fixture(scope="module")
def labelled(labelled_batch):
    return labelled_batch(200)


def test_layer_codes(labelled):
    model, info, x, _ = labelled
    codes = emb.layer_codes(model, info, x, ["pixels", "pool3", "fc1"])
    assert np.array_equal(codes["pixels"], x.flatten(1).numpy())
    assert codes["pool3"].shape == (200, 128 * 3 * 3) and codes["fc1"].shape == (200, 256)
    fc1 = cv.get_activations(model, info, x, "fc1")["fc1"].numpy()
    np.testing.assert_array_equal(codes["fc1"], fc1)
    with pytest.raises(cv.ConvVisError, match=r"unknown layer 'fc3'; allowed: 'pixels', 'conv1'"):
        emb.layer_codes(model, info, x, ["fc3"])


def test_codes_beat_pixels_on_fashion(labelled):
    model, info, x, y = labelled
    codes = emb.layer_codes(model, info, x, ["pixels", "fc1"])
    assert emb.knn_accuracy(codes["fc1"], y) > emb.knn_accuracy(codes["pixels"], y) + 0.05


def test_comparison_spaces():
    _, info = cv.load_model("fashionnet", pretrained=False)
    assert emb.comparison_spaces(info) == ["pixels", "pool2", "pool3", "fc1"]
    with torch.device("meta"):
        for name, expected in {"alexnet": ["pixels", "pool2", "pool5", "fc7"],
                               "resnet18": ["pixels", "layer3", "layer4", "avgpool"],
                               "efficientnet_lite0": ["pixels", "block6", "block7", "pool"]}.items():
            assert emb.comparison_spaces(cv.load_model(name, pretrained=False)[1]) == expected


def test_bad_codes():
    with pytest.raises(cv.ConvVisError, match="NaN"):
        emb.knn_accuracy(np.array([[0.0], [np.nan], [1.0]]), np.array([0, 1, 0]), k=1)
    with pytest.raises(cv.ConvVisError, match=r"k must be in 1\.\.2 for 3 points; got 3"):
        emb.loo_neighbours(np.zeros((3, 2)), k=3)
    with pytest.raises(cv.ConvVisError, match="non-negative label per point"):
        emb.knn_accuracy(np.zeros((3, 2)), np.array([-1, -1, -1]), k=1)
    with pytest.raises(cv.ConvVisError, match="2 points have no label"):
        emb.neighbour_class_counts(np.array([[1], [0], [1]]), np.array([0, -1, -1]), 0, 2)
    with pytest.raises(cv.ConvVisError, match=r"query index 5 out of range; allowed: 0\.\.2"):
        emb.nearest(np.zeros((3, 2)), 5)
