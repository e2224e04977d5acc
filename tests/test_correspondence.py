"""Correspondence: affine geometry by hand, matching with known answers, PCK, clean-up, refusals."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import convvis_lib as cv
from convvis_lib import correspondence as co
from convvis_lib.hooks import count_hooks


def _dot(h: int, w: int, x: int, y: int) -> torch.Tensor:
    img = torch.zeros(1, 1, h, w)
    img[0, 0, y, x] = 1.0
    return img


def _where(img: torch.Tensor) -> tuple[int, int]:
    y, x = np.unravel_index(int(img.argmax()), img.shape[-2:])
    return int(x), int(y)


# ---- geometry by hand ------------------------------------------------------------------------

def test_affine_matrix_by_hand():
    assert co.affine_matrix(size=(5, 5)) == pytest.approx(np.array([[1, 0, 0], [0, 1, 0]]))
    # 90° counter-clockwise about the centre (2, 2) of a 5x5 image: right of centre -> above it
    m = co.affine_matrix(90, size=(5, 5))
    assert co.warp_points([[4, 2], [2, 2], [2, 0]], m) == pytest.approx(np.array([[2, 0], [2, 2], [0, 2]]))
    # scale 2 about the centre, then shift by (1, -1)
    m = co.affine_matrix(0, 2.0, (1, -1), size=(5, 5))
    assert co.warp_points([[3, 2], [2, 2]], m) == pytest.approx(np.array([[5, 1], [3, 1]]))


def test_sampling_theta_of_identity_and_shift():
    assert co.sampling_theta(co.affine_matrix(size=(6, 8)), (6, 8)) == pytest.approx(
        torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]))
    # B(p) = A(p - (2, 0)): reading position moves left by 2 px = 2 * 2/8 in [-1, 1] units
    theta = co.sampling_theta(co.affine_matrix(shift=(2, 0), size=(6, 8)), (6, 8))
    assert theta[0, 2].item() == pytest.approx(-0.5) and theta[1, 2].item() == pytest.approx(0.0)


@pytest.mark.parametrize("angle,scale,shift,size,src", [
    (0, 1.0, (2, -1), (5, 7), (3, 2)),      # translation
    (90, 1.0, (0, 0), (5, 5), (4, 2)),      # quarter turn
    (180, 1.0, (0, 0), (5, 7), (1, 3)),     # half turn of a non-square image: (x, y) -> (6 - x, 4 - y)
    (-90, 1.0, (1, 0), (7, 7), (5, 1)),
])
def test_warped_image_agrees_with_warped_points(angle, scale, shift, size, src):
    h, w = size
    m = co.affine_matrix(angle, scale, shift, size)
    moved = co.warp_images(_dot(h, w, *src), [m], mode="nearest")
    assert moved.sum().item() == 1.0
    assert co.warp_points([src], m)[0] == pytest.approx(np.array(_where(moved)), abs=1e-9)


def test_half_turn_by_hand():
    assert co.warp_points([[1, 3]], co.affine_matrix(180, size=(5, 7)))[0] == pytest.approx([5, 1])


# ---- matching ----------------------------------------------------------------------------------

def test_match_and_similarity_by_hand():
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    diag = (e1 + e2) / math.sqrt(2)
    feat_a = torch.stack([e1, e2, diag], 1).view(2, 1, 3)             # A: e1 at x=0, e2 at x=1, diag at x=2
    feat_b = torch.stack([e2, diag, e1, -e1], 1).view(2, 2, 2)        # B: (0,0) e2, (1,0) diag, (0,1) e1, (1,1) -e1
    assert co.match_points(feat_a, feat_b, [[0, 0], [1, 0], [2, 0]]) == pytest.approx(
        np.array([[0, 1], [0, 0], [1, 0]]))
    assert co.similarity_map(feat_a, feat_b, (0, 0)) == pytest.approx(np.array([[0, 1 / math.sqrt(2)], [1, -1]]))


def test_batched_matching_equals_the_reference():
    g = torch.Generator().manual_seed(3)
    fa, fb = (F.normalize(torch.randn(3, 8, 6, 7, generator=g), dim=1) for _ in range(2))
    pts = [np.array([[0, 0], [6, 5], [3.4, 2.6]]), np.array([[1, 1]]), np.zeros((0, 2))]
    batched = co.match_batch(fa, fb, pts)
    for i in range(3):
        assert np.array_equal(batched[i], co.match_points(fa[i], fb[i], pts[i]))
    # and the reference agrees with a brute-force search written independently
    for (x, y), (bx, by) in zip(pts[0], co.match_points(fa[0], fb[0], pts[0])):
        q = fa[0][:, int(round(y)), int(round(x))]
        sims = [[float(q @ fb[0][:, r, c]) for c in range(7)] for r in range(6)]
        r, c = np.unravel_index(int(np.argmax(sims)), (6, 7))
        assert (bx, by) == (c, r)


def test_pck_by_hand():
    pred = [[0, 0], [3, 4], [1, 1]]
    truth = [[0, 0], [0, 0], [np.nan, np.nan]]                         # third point has no ground truth
    assert co.pck(pred, truth, 5.0) == 1.0                             # distances 0 and 5
    assert co.pck(pred, truth, 4.9) == 0.5
    with pytest.raises(cv.ConvVisError, match="no valid ground-truth"):
        co.pck([[0, 0]], [[np.nan, 0]], 1.0)


def test_patch_features_equal_unfold():
    x = torch.randn(2, 3, 9, 11)
    want = F.unfold(F.pad(x, (2, 2, 2, 2), mode="reflect"), 5).view(2, -1, 9, 11)
    assert torch.equal(co.patch_features(x, 5), want)
    with pytest.raises(cv.ConvVisError, match="odd positive integer; got 4"):
        co.patch_features(x, 4)


def test_identity_pair_gives_pck_one(fashion, sample):
    model, info = fashion
    img = cv.pixels.to_pixels(info, sample.images[:3])
    pairs = [co.Pair("same", a, a, co.keypoints(a[0].numpy(), 8), co.keypoints(a[0].numpy(), 8)) for a in img]
    assert sum(len(p.points) for p in pairs) >= 15
    got = co.pair_pck(model, info, pairs, [co.PIXELS, "conv1", "conv2"], [0.0])
    assert got == {co.PIXELS: pytest.approx([1.0]), "conv1": pytest.approx([1.0]), "conv2": pytest.approx([1.0])}


def test_integer_shift_is_recovered_by_patches(fashion):
    model, info = fashion
    noise = torch.rand(1, 1, 24, 30, generator=torch.Generator().manual_seed(0))
    m = co.affine_matrix(shift=(3, -2), size=(24, 30))
    moved = co.warp_images(noise, [m])                                  # integer shift: exact copy
    pts = np.array([[x, y] for x in range(4, 24, 4) for y in range(6, 20, 4)], dtype=float)
    pair = co.Pair("shift", noise[0], moved[0], pts, co.warp_points(pts, m))
    fa, fb = co.pair_features(model, info, pair, co.PIXELS)
    assert co.match_points(fa, fb, pts) == pytest.approx(pts + [3, -2])
    assert co.pair_pck(model, info, [pair], [co.PIXELS], [0.0])[co.PIXELS] == pytest.approx([1.0])


def test_dense_features_of_stride_one_layer_are_the_activation(fashion, batch):
    model, info = fashion
    feats = co.dense_features(model, info, batch[:2], "conv1")
    act = cv.get_activations(model, info, batch[:2], "conv1")["conv1"]
    assert torch.allclose(feats, F.normalize(act, dim=1, eps=1e-8), atol=1e-6)
    assert torch.allclose(feats.norm(dim=1)[act.abs().sum(1) > 0], torch.tensor(1.0))


def test_dense_features_upsample_to_input_size(fashion, batch):
    model, info = fashion
    assert co.dense_features(model, info, batch[:1], "pool3").shape == (1, 128, 28, 28)
    big = cv.pixels.normalize_pixels(info, torch.rand(1, 1, 40, 60))     # any size: conv layers only
    assert co.dense_features(model, info, big, "conv3").shape == (1, 128, 40, 60)


def test_matchable_layers(fashion):
    assert co.matchable_layers(*fashion) == ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3"]


def test_matchable_layers_leave_out_one_by_one_maps():
    """ResNet-18's global average pool gives (N, 512, 1, 1): a map (so Grad-CAM's spatial layer) but no positions."""
    from convvis_lib.gradcam import spatial_layers
    model, info = cv.load_model("resnet18", pretrained=False)
    mine = co.matchable_layers(model, info)
    assert "avgpool" in spatial_layers(model, info) and "avgpool" not in mine
    assert mine == [n for n in spatial_layers(model, info) if n != "avgpool"]


def test_affine_pairs_truth_inside_and_seeded(fashion, sample):
    _, info = fashion
    imgs = cv.pixels.to_pixels(info, sample.images[:4])
    pairs = co.affine_pairs(imgs, n_points=6, max_shift=4, seed=1)
    again = co.affine_pairs(imgs, n_points=6, max_shift=4, seed=1)
    for p, q in zip(pairs, again):
        assert len(p.points) <= 6 and p.points.shape == p.truth.shape
        assert ((p.truth >= 0) & (p.truth <= 27)).all()
        assert torch.equal(p.b, q.b) and np.array_equal(p.truth, q.truth)


def test_stereo_truth_points_at_the_same_content():
    pair = co.stereo_pair(downscale=4, n_points=30)
    assert pair.a.shape == pair.b.shape == (3, 125, 185)
    gray = co.stereo_pair(downscale=4, n_points=30, channels=1)        # for a grayscale model: same keypoints
    assert gray.a.shape == (1, 125, 185) and np.array_equal(gray.points, pair.points)
    assert torch.allclose(gray.b[0], pair.b.mean(0))
    with pytest.raises(cv.ConvVisError, match="channels must be 1 \\(gray\\) or 3 \\(RGB\\); got 2"):
        co.stereo_pair(channels=2)
    assert len(pair.points) == 30
    assert np.array_equal(pair.truth[:, 1], pair.points[:, 1])          # rectified: same row
    assert (pair.truth[:, 0] < pair.points[:, 0]).all()                 # positive disparity

    def patch(img, x, y):
        x, y = int(round(x)), int(round(y))
        return img[:, max(y - 2, 0):y + 3, max(x - 2, 0):x + 3]

    err_truth = [float((patch(pair.a, *p) - patch(pair.b, *t)).abs().mean())
                 for p, t in zip(pair.points, pair.truth) if patch(pair.b, *t).shape == patch(pair.a, *p).shape]
    err_same = [float((patch(pair.a, *p) - patch(pair.b, *p)).abs().mean()) for p in pair.points]
    assert np.median(err_truth) < 0.5 * np.median(err_same)


def test_clean_up_and_mode(fashion, batch):
    model, info = fashion
    model.train()
    try:
        co.dense_features(model, info, batch[:2], "pool2")
        assert model.training and count_hooks(model) == 0
    finally:
        model.eval()


def test_imagenet_path_with_random_weights():
    model, info = cv.load_model("alexnet", pretrained=False)
    img = torch.rand(2, 3, 72, 96, generator=torch.Generator().manual_seed(0))
    pairs = co.affine_pairs(img, n_points=5, max_angle=10, max_shift=3)
    got = co.pair_pck(model, info, pairs, [co.PIXELS, "conv2"], [2.0, 8.0])
    assert set(got) == {co.PIXELS, "conv2"}
    assert all(((v >= 0) & (v <= 1)).all() and v[0] <= v[1] for v in got.values())
    assert count_hooks(model) == 0


# ---- refusals ---------------------------------------------------------------------------------

def test_refusals(fashion, batch):
    model, info = fashion
    with pytest.raises(cv.ConvVisError, match=r"layer 'fc1' has no spatial map"):
        co.dense_features(model, info, batch[:1], "fc1")
    with pytest.raises(cv.ConvVisError, match=r"unknown layer 'conv7'; allowed: 'pixels', 'conv1'"):
        co.dense_features(model, info, batch[:1], "conv7")
    with pytest.raises(cv.ConvVisError, match="expects 1 input channel"):
        co.dense_features(model, info, torch.zeros(1, 3, 28, 28), "conv1")
    feats = co.dense_features(model, info, batch[:1], "conv1")[0]
    with pytest.raises(cv.ConvVisError, match=r"inside image A \(x in 0..27, y in 0..27\)"):
        co.match_points(feats, feats, [[28, 3]])
    with pytest.raises(cv.ConvVisError, match="shape \\(K, 2\\)"):
        co.match_points(feats, feats, [1, 2, 3])
    with pytest.raises(cv.ConvVisError, match="equal D"):
        co.similarity_map(feats, feats[:5], (1, 1))
    colour = co.Pair("rgb", torch.rand(3, 20, 20), torch.rand(3, 20, 20), np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(cv.ConvVisError, match="fashionnet expects 1 channel"):
        co.pair_features(model, info, colour, "conv1")
    with pytest.raises(cv.ConvVisError, match="one matrix per image"):
        co.warp_images(torch.zeros(2, 1, 5, 5), [co.affine_matrix(size=(5, 5))])


def test_efficientnet_lite0_identity_pair_and_layers():
    """Lite0's stages (padding modules, depthwise convs) give dense features at any input size; A == B matches itself."""
    model, info = cv.load_model("efficientnet_lite0")
    assert co.matchable_layers(model, info) == ["stem", *[f"block{i}" for i in range(1, 8)], "head"]
    img = cv.pixels.to_pixels(info, cv.examples_for(info).images[:1])[0]
    img = torch.nn.functional.interpolate(img[None], size=(72, 96), mode="bilinear", antialias=True)[0]
    pts = co.keypoints(img.mean(0).numpy(), 8, min_distance=4, border=4)
    assert len(pts) >= 5
    got = co.pair_pck(model, info, [co.Pair("same", img, img, pts, pts)], ["stem", "block2"], [0.0])
    assert got == {"stem": pytest.approx([1.0]), "block2": pytest.approx([1.0])}
    feats = co.dense_features(model, info, cv.pixels.normalize_pixels(info, img[None]), "block3")
    assert feats.shape[-2:] == (72, 96) and torch.allclose(feats.norm(dim=1), torch.ones(1, 72, 96), atol=1e-4)
    assert count_hooks(model) == 0


def test_affine_truth_follows_the_image_content(sample):
    """Independent of warp_points: for a pure shift, every keypoint's true position moves by the same vector,
    and that vector equals how far the image's intensity centroid moved (images padded so nothing leaves the frame)."""
    info = cv.load_model("fashionnet")[1]
    imgs = torch.nn.functional.pad(cv.pixels.to_pixels(info, sample.images[:6]), (6, 6, 6, 6))
    pairs = co.affine_pairs(imgs, n_points=6, max_angle=0.0, scales=(1.0, 1.0), max_shift=3, seed=1)

    def centroid(im: torch.Tensor) -> np.ndarray:
        a = im.mean(0).numpy()
        ys, xs = np.mgrid[:a.shape[0], :a.shape[1]]
        return np.array([(a * xs).sum() / a.sum(), (a * ys).sum() / a.sum()])

    for p in pairs:
        shift = p.truth - p.points
        assert len(p.points) >= 3 and np.ptp(shift, axis=0).max() < 1e-6   # one vector for all keypoints
        assert np.abs(shift[0]).max() > 0.05                                # the pair really moved
        np.testing.assert_allclose(shift[0], centroid(p.b) - centroid(p.a), atol=1e-3)
