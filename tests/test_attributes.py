"""Tests for convvis_lib.attributes: transforms with hand-computed results, sweeps, confusion matrices."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import convvis_lib as cv
from convvis_lib import attributes as A
from convvis_lib.hooks import count_hooks
from convvis_lib.models import ModelInfo
from convvis_lib.pixels import normalize_pixels, to_pixels

pytestmark = pytest.mark.usefixtures("one_thread")


TOY = ModelInfo("toy", "toy", ("dark", "bright"), ("어두움", "밝음"), (1, 8, 8), (0.5,), (0.25,))


class MeanBrightness(nn.Module):
    """Predicts 'bright' when the mean pixel (in [0, 1]) is above 0.5; has dropout to check eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2, 3))  # normalised mean: (pixel_mean - 0.5) / 0.25
        return torch.stack([-m, m], dim=1) + 0 * self.drop(x).sum()


@pytest.fixture(scope="module")
def fashion():
    model, info = cv.load_model("fashionnet")
    ex = cv.examples_for(info)
    return model, info, to_pixels(info, ex.images[:60]), ex.labels[:60]


def test_every_attribute_identity_level_is_exact_copy(fashion):
    _, info, p, _ = fashion
    for name, attr in A.ATTRIBUTES.items():
        out = A.apply_attribute(info, p, name, attr.identity)
        assert torch.equal(out, p), name
        assert out.data_ptr() != p.data_ptr()


def test_brightness_and_contrast_hand_computed():
    p = torch.tensor([0.0, 0.25, 0.75, 1.0]).view(1, 1, 2, 2)
    assert torch.allclose(A.apply_attribute(TOY, p, "brightness", 0.5).flatten(), torch.tensor([0.5, 0.75, 1.0, 1.0]))
    assert torch.allclose(A.apply_attribute(TOY, p, "brightness", -0.5).flatten(), torch.tensor([0.0, 0.0, 0.25, 0.5]))
    # mean 0.5: deviations halve at contrast 0.5, vanish at 0
    assert torch.allclose(A.apply_attribute(TOY, p, "contrast", 0.5).flatten(),
                          torch.tensor([0.25, 0.375, 0.625, 0.75]))
    assert torch.allclose(A.apply_attribute(TOY, p, "contrast", 0.0), torch.full_like(p, 0.5))


def test_scale_half_puts_image_in_centre_with_black_border():
    p = torch.ones(1, 1, 4, 4)
    out = A.apply_attribute(TOY, p, "scale", 0.5)[0, 0]
    expected = torch.zeros(4, 4)
    expected[1:3, 1:3] = 1
    assert torch.allclose(out, expected, atol=1e-6)


def test_rotation_is_counter_clockwise_and_180_flips_both_axes():
    p = torch.zeros(1, 1, 5, 5)
    p[0, 0, 0, 2] = 1  # top middle
    out = A.apply_attribute(TOY, p, "rotation", 90)[0, 0]
    assert out[2, 0] == pytest.approx(1, abs=1e-5) and out.sum() == pytest.approx(1, abs=1e-5)  # -> left middle
    q = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(A.apply_attribute(TOY, q, "rotation", 180), q.flip(-1).flip(-2), atol=1e-5)


def test_translation_moves_centre_of_mass_by_level_times_side():
    p = torch.zeros(3, 1, 16, 16)
    p[:, 0, 7:9, 7:9] = 1
    out = A.apply_attribute(TOY, p, "translation", 0.125, seed=3)  # 2 pixels
    ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")

    def com(a):
        return torch.stack([(a * ys).sum((-1, -2)) / a.sum((-1, -2)), (a * xs).sum((-1, -2)) / a.sum((-1, -2))], -1)

    shift = (com(out[:, 0]) - com(p[:, 0])).norm(dim=-1)
    assert torch.allclose(shift, torch.full((3,), 2.0), atol=1e-4)
    assert torch.allclose(out.sum((1, 2, 3)), p.sum((1, 2, 3)), atol=1e-4)  # nothing fell off
    assert torch.equal(out, A.apply_attribute(TOY, p, "translation", 0.125, seed=3))


def test_occlusion_covers_exact_area_with_dataset_mean():
    p = torch.ones(4, 1, 8, 8)
    out = A.apply_attribute(TOY, p, "occlusion", 0.25, seed=0)
    covered = out == 0.5  # TOY mean
    assert covered.sum((1, 2, 3)).tolist() == [16, 16, 16, 16]
    for mask in covered[:, 0]:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert len(rows) == 4 and len(cols) == 4 and rows.diff().eq(1).all() and cols.diff().eq(1).all()
    assert torch.equal(out, A.apply_attribute(TOY, p, "occlusion", 0.25, seed=0))


def test_noise_has_requested_std_and_is_seeded():
    p = torch.full((2, 1, 64, 64), 0.5)
    out = A.apply_attribute(TOY, p, "noise", 0.05, seed=7)
    assert (out - p).std().item() == pytest.approx(0.05, rel=0.05)
    assert torch.equal(out, A.apply_attribute(TOY, p, "noise", 0.05, seed=7))
    assert not torch.equal(out, A.apply_attribute(TOY, p, "noise", 0.05, seed=8))


def test_bad_attribute_and_level_raise_clear_errors():
    p = torch.zeros(1, 1, 8, 8)
    with pytest.raises(cv.ConvVisError, match=r"unknown attribute 'blur'.*'brightness'.*'noise'"):
        A.apply_attribute(TOY, p, "blur", 1)
    with pytest.raises(cv.ConvVisError, match=r"occlusion level 1.5 out of range; allowed: 0.0 .. 1.0"):
        A.apply_attribute(TOY, p, "occlusion", 1.5)
    with pytest.raises(cv.ConvVisError, match="float pixel batch"):
        A.apply_attribute(TOY, np.zeros((1, 1, 8, 8)), "noise", 0.1)


def test_sweep_on_toy_model_matches_hand_count():
    p = torch.cat([torch.full((3, 1, 8, 8), 0.3), torch.full((2, 1, 8, 8), 0.7)])
    labels = np.array([0, 0, 0, 1, 1])
    model = MeanBrightness().train()
    s = A.attribute_sweep(model, TOY, p, labels, "brightness", levels=[-0.3, 0.0, 0.1, 0.3])
    # -0.3: all dark -> 3/5; 0: all right; +0.1: 0.4 & 0.8 -> right; +0.3: 0.6 & 1.0 -> all 'bright' -> 2/5
    assert np.allclose(s.accuracy, [0.6, 1.0, 1.0, 0.4])
    assert np.allclose(s.per_class[:, 0], [1.0, 1.0, 1.0, 0.0]) and np.allclose(s.per_class[:, 1], [0, 1, 1, 1])
    assert s.predictions.shape == (4, 5)
    assert model.training and count_hooks(model) == 0


def test_brightness_zero_leaves_fashionnet_accuracy_unchanged(fashion):
    model, info, p, labels = fashion
    model.train()
    try:
        s = A.attribute_sweep(model, info, p, labels, "brightness", levels=[0.0, 0.3])
        assert model.training
    finally:
        model.eval()
    with torch.no_grad():
        clean = (model(normalize_pixels(info, p)).argmax(1).numpy() == labels).mean()
    assert s.accuracy[0] == pytest.approx(clean)
    assert s.accuracy[1] < s.accuracy[0]  # this model never saw a grey background
    assert count_hooks(model) == 0


def test_per_class_accuracy_hand_counted_and_nan_for_absent_class():
    acc = A.per_class_accuracy(np.array([0, 0, 2]), np.array([0, 1, 2]), 3)
    assert acc[0] == 0.5 and np.isnan(acc[1]) and acc[2] == 1.0


def test_imagenet_path_with_random_weights_uses_clean_prediction_as_reference():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, info = cv.load_model("resnet18", allow_random=True)
    ex = cv.examples_for(info)
    p = to_pixels(info, ex.images[:2])
    assert p.shape == (2, 3, 224, 224) and 0 <= p.min() and p.max() <= 1
    unlabelled = np.full(2, -1)  # the photos' labels are not used: -1 means "no label"
    s = A.attribute_sweep(model, info, p, unlabelled, "occlusion", levels=[0.0, 0.2])
    assert s.accuracy[0] == 1.0 and np.array_equal(s.labels, s.predictions[0])
    assert A.apply_attribute(info, p, "occlusion", 0.2).shape == p.shape
    assert count_hooks(model) == 0


def test_pixels_round_trip_and_bounds(fashion):
    _, info, p, _ = fashion
    ex = cv.examples_for(info)
    assert torch.allclose(p[0, 0], torch.from_numpy(ex.images[0]).float() / 255, atol=1e-6)
    assert torch.allclose(normalize_pixels(info, p), cv.preprocess(info, ex.images[:60]), atol=1e-5)
    from convvis_lib.pixels import from_normalized, pixel_bounds
    lo, hi = pixel_bounds(info, p)
    assert torch.allclose(from_normalized(info, lo), torch.zeros(1))
    assert torch.allclose(from_normalized(info, hi), torch.ones(1))
    with pytest.raises(cv.ConvVisError, match="fashionnet expects 1 channel"):
        normalize_pixels(info, torch.zeros(1, 3, 28, 28))


def test_accepted_sweeps_counts_any_acceptable_class_and_sums_their_probability():
    info = ModelInfo("toy3", "toy", ("dark", "grey", "bright"), ("어두움", "회색", "밝음"), (1, 8, 8), (0.5,), (0.25,))

    class Three(nn.Module):  # logits from the mean pixel m in [0, 1]: dark (1-m), grey 0.5, bright m, times 8
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            m = x.mean(dim=(1, 2, 3)) * 0.25 + 0.5
            return 8 * torch.stack([1 - m, torch.full_like(m, 0.5), m], dim=1)

    model = Three()
    pix = torch.stack([torch.full((1, 8, 8), 0.1), torch.full((1, 8, 8), 0.9)])
    accepted = [(0, 1), (2,)]  # photo 0: dark or grey is fine; photo 1: only bright
    sweeps = A.accepted_sweeps(model, info, pix, accepted, {"brightness": (-0.3, 0.0, 0.6), "contrast": (1.0,)})
    s = sweeps["brightness"]
    means = torch.tensor([[0.0, 0.6], [0.1, 0.9], [0.7, 1.0]])  # clipped to [0, 1]
    z = 8 * torch.stack([1 - means, torch.full_like(means, 0.5), means], dim=-1)
    p = z.softmax(-1)
    expected_conf = torch.stack([p[:, 0, 0] + p[:, 0, 1], p[:, 1, 2]], dim=1)
    np.testing.assert_allclose(s.confidence, expected_conf.numpy(), rtol=1e-5)
    assert s.correct.tolist() == [[True, True], [True, True], [False, True]]  # 0.7: bright wins on photo 0
    assert s.accuracy.tolist() == [1.0, 1.0, 0.5]
    np.testing.assert_array_equal(sweeps["contrast"].confidence[0], s.confidence[1])  # the shared unchanged row
    with pytest.raises(cv.ConvVisError, match="acceptable classes per photo"):
        A.accepted_sweeps(model, info, pix, [(0,), ()], {"noise": (0.0,)})
    with pytest.raises(cv.ConvVisError, match="attribute"):
        A.accepted_sweeps(model, info, pix, accepted, {"blur": (1.0,)})
