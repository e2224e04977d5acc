"""Occlusion sensitivity: hand-built models with known answers, batching, bad input, clean-up."""
from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

import convvis_lib as cv
from convvis_lib.hooks import count_hooks
from convvis_lib.occlusion import (cell_edges, cells_to_pixels, occluded_copies, occlusion_feature_drop,
                                   occlusion_map, occlusion_scan, occlusion_top_class, occlusion_windows)


class RegionNet(nn.Module):
    """Logit 0 = ``a`` times the sum of the pixels in rows 4..7, cols 8..11 of a 12x12 image; logit 1 = 1.

    The sums go through an ``nn.ReLU`` named ``feat`` with two channels: channel 0 sees that
    region, channel 1 (twice as strong) the region rows 0..3, cols 0..3.
    """

    def __init__(self, a: float = 0.25) -> None:
        super().__init__()
        self.a = a
        self.feat = nn.ReLU()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        sums = torch.stack([x[:, 0, 4:8, 8:12].sum((1, 2)), 2 * x[:, 0, 0:4, 0:4].sum((1, 2))], 1)
        f = self.feat(sums[:, :, None, None])
        return torch.stack([self.a * f[:, 0, 0, 0], torch.ones(len(x))], 1)


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


ONES = torch.ones(1, 1, 12, 12)


def test_windows_are_the_valid_positions_plus_one_flush_with_the_edge():
    starts, stops = occlusion_windows(12, 4, 4)
    assert starts.tolist() == [0, 4, 8] and stops.tolist() == [4, 8, 12]  # the stride lands on the edge
    starts, stops = occlusion_windows(28, 8, 6)
    assert starts.tolist() == [0, 6, 12, 18, 20] and stops.tolist() == [8, 14, 20, 26, 28]


@pytest.mark.parametrize("size, patch, stride", [(28, 7, 2), (28, 4, 1), (224, 32, 8), (224, 56, 16), (12, 5, 3),
                                                 (12, 12, 5), (13, 3, 3)])
def test_every_pixel_lies_in_a_window(size, patch, stride):
    starts, stops = occlusion_windows(size, patch, stride)
    covered = torch.zeros(size, dtype=torch.long)
    for a, b in zip(starts.tolist(), stops.tolist()):
        assert b - a == patch and 0 <= a and b <= size
        covered[a:b] += 1
    assert covered.min() >= 1
    assert starts[:-1].tolist() == list(range(0, size - patch + 1, stride))[:len(starts) - 1]
    assert len(starts) == math.ceil((size - patch) / stride) + 1


class CornerNet(nn.Module):
    """Logit 0 = sum of the pixels in the bottom-right 2x2 corner of a 12x12 image; logit 1 = 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x[:, 0, 10:, 10:].sum((1, 2)), torch.zeros(len(x))], 1)


def test_the_last_rows_and_columns_are_occluded_too():
    # patch 4, stride 3 on 12 px: windows 0-3, 3-6, 6-9 and the edge window 8-11 (without it, 10-11 is never covered)
    prob = occlusion_map(CornerNet(), None, ONES, 0, patch=4, stride=3)
    assert prob.shape == (4, 4)
    expected = torch.full((4, 4), sigmoid(4.0))
    expected[3, 3] = sigmoid(0.0)  # only the edge window pair covers the corner, all of it
    torch.testing.assert_close(prob, expected)
    pix = cells_to_pixels(sigmoid(4.0) - prob, 4, 3, (12, 12))
    assert pix[11, 11] > 0 and pix[10:, 10:].min() > 0 and pix[:8, :8].abs().max() == 0


def test_map_is_hot_exactly_over_the_region():
    model = RegionNet(a=0.25)
    prob = occlusion_map(model, None, ONES, 0, patch=4, stride=4)
    # unoccluded: logit0 = 0.25 * 16 = 4; the patch at cell (1, 2) covers the region: logit0 = 0
    expected = torch.full((3, 3), sigmoid(4 - 1))
    expected[1, 2] = sigmoid(0 - 1)
    torch.testing.assert_close(prob, expected)


def test_overlapping_patches_scale_with_covered_area():
    model = RegionNet(a=0.25)
    prob = occlusion_map(model, None, ONES, 0, patch=4, stride=2)  # starts 0, 2, 4, 6, 8 per axis
    covered = torch.zeros(5, 5)
    for i, top in enumerate(range(0, 9, 2)):
        for j, left in enumerate(range(0, 9, 2)):
            rows = max(0, min(top + 4, 8) - max(top, 4))
            cols = max(0, min(left + 4, 12) - max(left, 8))
            covered[i, j] = rows * cols
    expected = torch.sigmoid(0.25 * (16 - covered) - 1)
    torch.testing.assert_close(prob, expected)
    assert covered[2, 4] == 16 and covered[1, 3] == 4  # full and quarter cover


def test_fill_value_is_in_normalised_units_and_per_channel():
    model = RegionNet(a=0.25)
    prob = occlusion_map(model, None, ONES, 0, patch=4, stride=4, fill=-1.0)
    assert prob[1, 2].item() == pytest.approx(sigmoid(0.25 * 0 - 1))  # ReLU(-16) = 0
    prob = occlusion_map(model, None, ONES, 0, patch=4, stride=4, fill=[0.5])
    assert prob[1, 2].item() == pytest.approx(sigmoid(0.25 * 8 - 1))
    x = torch.arange(2 * 3 * 3, dtype=torch.float32).view(1, 2, 3, 3)
    rows = torch.tensor([[True, False, False], [False, False, True]])
    cols = torch.tensor([[True, True, False], [False, False, True]])
    out = occluded_copies(x, rows, cols, torch.tensor([-1.0, -2.0]).view(1, 2, 1, 1))
    expected = x.repeat(2, 1, 1, 1)
    expected[0, 0, 0, :2], expected[0, 1, 0, :2] = -1, -2
    expected[1, 0, 2, 2], expected[1, 1, 2, 2] = -1, -2
    assert torch.equal(out, expected)


def test_top_class_and_feature_drop_panels():
    model = RegionNet(a=0.5)  # unoccluded logit0 = 8 > 1
    top = occlusion_top_class(model, None, ONES, patch=4, stride=4)
    expected = torch.zeros(3, 3, dtype=torch.long)
    expected[1, 2] = 1  # covering the region leaves logit0 = 0 < logit1 = 1
    assert torch.equal(top, expected)
    drop, channel = occlusion_feature_drop(model, None, ONES, "feat", patch=4, stride=4)
    assert channel == 1  # 2 * 16 = 32 beats 16
    expected_drop = torch.zeros(3, 3)
    expected_drop[0, 0] = 32.0
    assert torch.equal(drop, expected_drop)
    drop0, _ = occlusion_feature_drop(model, None, ONES, "feat", channel=0, patch=4, stride=4)
    assert drop0[1, 2] == 16 and drop0.sum() == 16


def test_scan_batches_and_includes_the_clean_image():
    model = RegionNet()
    ref = occlusion_scan(model, None, ONES, patch=2, stride=1, batch_size=1000)
    assert model.calls == 1  # 11 * 11 positions + the clean image in one forward
    model.calls = 0
    scan = occlusion_scan(model, None, ONES, patch=2, stride=1, batch_size=7)
    assert model.calls == math.ceil((121 + 1) / 7)
    torch.testing.assert_close(scan.probs, ref.probs)
    assert scan.base_probs[0].item() == pytest.approx(sigmoid(4 - 1))
    assert not torch.is_inference(scan.probs) and not scan.probs.requires_grad


def test_fashionnet_matches_a_naive_loop():
    model, info = cv.load_model("fashionnet")
    x = cv.preprocess(info, cv.examples_for(info).images[0])
    scan = occlusion_scan(model, info, x, layer="conv3", patch=7, stride=7)
    assert scan.probs.shape == (4, 4, 10) and scan.feature.shape == (4, 4, 128)
    with torch.no_grad():
        for i, top in enumerate(range(0, 22, 7)):
            for j, left in enumerate(range(0, 22, 7)):
                xo = x.clone()
                xo[..., top:top + 7, left:left + 7] = 0.0
                torch.testing.assert_close(scan.probs[i, j], model(xo).softmax(-1)[0])
        torch.testing.assert_close(scan.base_probs, model(x).softmax(-1)[0])
    assert torch.equal(occlusion_map(model, info, x, "T-shirt/top", patch=7, stride=7), scan.prob(0))
    assert count_hooks(model) == 0


def _naive_cells_to_pixels(cells: torch.Tensor, patch: int, stride: int, hw: tuple[int, int]) -> torch.Tensor:
    """Loop over the windows, add each cell's value to its pixels, divide by the number of windows."""
    sums, counts = torch.zeros(hw), torch.zeros(hw)
    rows, cols = occlusion_windows(hw[0], patch, stride), occlusion_windows(hw[1], patch, stride)
    for i, (r0, r1) in enumerate(zip(*rows)):
        for j, (c0, c1) in enumerate(zip(*cols)):
            sums[r0:r1, c0:c1] += cells[i, j]
            counts[r0:r1, c0:c1] += 1
    return sums / counts


def test_cells_to_pixels():
    cells = torch.arange(9.0).view(3, 3)
    pix = cells_to_pixels(cells, 2, 1, (4, 4))
    assert pix[0, 0] == 0 and pix[0, 1] == 0.5 and pix[1, 1] == 2.0 and pix[3, 3] == 8
    cells = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    pix = cells_to_pixels(cells, 2, 2, (5, 5))  # windows 0-1, 2-3 and the edge window 3-4
    assert pix[0].tolist() == [1, 1, 2, 2.5, 3] and pix[4, 4] == 9
    torch.testing.assert_close(pix, _naive_cells_to_pixels(cells, 2, 2, (5, 5)))
    cells = torch.rand(12, 6, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(cells_to_pixels(cells, 7, 2, (28, 17)), _naive_cells_to_pixels(cells, 7, 2, (28, 17)))
    with pytest.raises(cv.ConvVisError, match=r"allowed: shape \(3, 3\)"):
        cells_to_pixels(torch.zeros(2, 2), 2, 1, (4, 4))


def test_cell_edges():
    assert cell_edges(12, 4, 4).tolist() == [-0.5, 3.5, 7.5, 11.5]              # centres 1.5, 5.5, 9.5
    assert cell_edges(12, 4, 2).tolist() == [0.5, 2.5, 4.5, 6.5, 8.5, 10.5]     # centres 1.5, 3.5, ..., 9.5
    # 28 px, patch 7, stride 2: centres 3, 5, ..., 23 and the edge window's 24 -> a last cell 1 px wide
    assert cell_edges(28, 7, 2).tolist() == [2.0, *range(4, 23, 2), 23.5, 24.5]
    assert cell_edges(28, 28, 5).tolist() == [11.0, 16.0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(patch=0), r"patch 0 is not allowed; allowed: an int in 1\.\.12"),
    (dict(patch=13), r"patch 13 .*1\.\.12"),
    (dict(stride=2.5), r"stride 2\.5 .*1\.\.1 \(at most the patch"),  # default patch: 12 // 7 = 1
    (dict(patch=4, stride=5), r"stride 5 is not allowed; allowed: an int in 1\.\.4 \(at most the patch, so that every"),
    (dict(fill=[0.0, 1.0]), r"fill \[0\.0, 1\.0\] .*one per channel \(1 values\)"),
    (dict(layer="conv9"), r"unknown layer 'conv9'; allowed: 'feat'"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(cv.ConvVisError, match=message):
        occlusion_scan(RegionNet(), None, ONES, **kwargs)


def test_bad_input_and_class():
    model, info = cv.load_model("fashionnet")
    x = torch.zeros(2, 1, 28, 28)
    with pytest.raises(cv.ConvVisError, match="one image at a time; got a batch of 2"):
        occlusion_scan(model, info, x)
    with pytest.raises(cv.ConvVisError, match="unknown class 'Hat'; allowed: .*'가방'"):
        occlusion_map(model, info, x[:1], "Hat")
    with pytest.raises(cv.ConvVisError, match="expects 28x28"):
        occlusion_scan(model, info, torch.zeros(1, 1, 32, 32))


def test_hooks_removed_and_mode_restored_after_an_error():
    class Failing(RegionNet):
        def forward(self, x):
            if self.calls == 1:
                raise RuntimeError("boom")
            return super().forward(x)

    model = Failing().train()
    with pytest.raises(RuntimeError, match="boom"):
        occlusion_scan(model, None, ONES, layer="feat", patch=2, stride=1, batch_size=10)
    assert count_hooks(model) == 0 and model.training and model.feat.training


def test_progress_bar_only_when_asked(capsys):
    occlusion_scan(RegionNet(), None, ONES, patch=4, stride=4)
    assert "occlusion" not in capsys.readouterr().err
    occlusion_scan(RegionNet(), None, ONES, patch=4, stride=4, progress=True)
    assert "occlusion" in capsys.readouterr().err


def test_imagenet_model_with_random_weights(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, info = cv.load_model("alexnet", allow_random=True)
    x = cv.preprocess(info, cv.examples_for(info).images[0])
    scan = occlusion_scan(model, info, x, layer="conv5", patch=112, stride=112)
    assert "occlusion" not in capsys.readouterr().err  # no progress bar by default (none in stored outputs)
    assert scan.probs.shape == (2, 2, 1000) and scan.feature.shape == (2, 2, 256)
    torch.testing.assert_close(scan.probs.sum(-1), torch.ones(2, 2))
    assert scan.top_class().shape == (2, 2) and count_hooks(model) == 0


def test_fashionnet_edge_windows_match_a_naive_loop(fashion, sample):
    """A grid whose stride misses the edge (28 px, patch 6, stride 4): the library equals a loop over the
    hand-listed windows 0, 4, ..., 20 and 22, and batching does not change the numbers."""
    model, info = fashion
    x = cv.preprocess(info, sample.images[:1])
    scan = occlusion_scan(model, info, x, "conv2", patch=6, stride=4, batch_size=7)
    starts = [0, 4, 8, 12, 16, 20, 22]
    assert scan.probs.shape == (7, 7, 10)
    with torch.no_grad():
        for i, top in enumerate(starts):
            for j, left in enumerate(starts):
                xo = x.clone()
                xo[..., top:top + 6, left:left + 6] = 0.0
                torch.testing.assert_close(scan.probs[i, j], model(xo).softmax(-1)[0])
    whole = occlusion_scan(model, info, x, "conv2", patch=6, stride=4, batch_size=1000)
    torch.testing.assert_close(scan.probs, whole.probs)
    torch.testing.assert_close(scan.feature, whole.feature)


@pytest.mark.parametrize("fill", [math.nan, math.inf, "grey", [0.0, math.nan]])
def test_non_finite_or_non_numeric_fill_is_refused(fill):
    with pytest.raises(cv.ConvVisError, match=r"fill .* is not allowed; allowed: one finite number"):
        occlusion_map(RegionNet(), None, ONES, 0, patch=4, stride=4, fill=fill)


def test_lite0_occluding_the_cats_face_lowers_its_probability_more_than_the_background():
    """Real EfficientNet-Lite0 weights on chapter 4's image: the cat photo (chelsea) and the coffee photo shrunk to
    112x112 side by side, mean grey above and below. Windows over the cat's face (rows 64..160, columns 0..96) lower
    the top (cat) class far more than the windows of the top and bottom rows (mostly the grey bands)."""
    model, info = cv.load_model("efficientnet_lite0")
    x, _, _ = cv.samples.cat_and_coffee(info)
    scan = occlusion_scan(model, info, x, patch=64, stride=32)
    cat = int(scan.base_probs.argmax())
    assert info.class_names[cat] in ("tabby", "tiger cat", "Egyptian cat")  # measured: Egyptian cat, p 0.47
    p = scan.prob(cat)
    assert p.shape == (6, 6)
    face, background = p[2:4, :2].mean(), p[[0, -1], :].mean()
    assert face < background - 0.1                               # measured: 0.21 and 0.44
    row, col = divmod(int(p.argmin()), 6)
    assert 2 <= row <= 3 and col <= 1                            # the lowest window is on the face (measured: (3, 1))
    assert count_hooks(model) == 0
