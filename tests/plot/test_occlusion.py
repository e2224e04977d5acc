"""convvis_lib.plot.occlusion: the drawn panels show the scan's numbers, at the patch centres."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import convvis_lib as cv
from convvis_lib import plot
from convvis_lib.occlusion import OcclusionScan, occlusion_scan


def _scan(with_layer: bool = True) -> OcclusionScan:
    """A hand-made scan of a 12x12 image, patch 4, stride 4 (3x3 cells), 10 classes, 2 channels.

    Class 0 wins everywhere except cell (1, 2) (class 4) and cell (2, 0) (class 9); channel 1 is the
    strongest (total 32 unoccluded) and the patch at cell (0, 0) removes all of it.
    """
    probs = torch.full((3, 3, 10), 0.02)
    probs[..., 0] = 0.82
    probs[1, 2, 0], probs[1, 2, 4] = 0.1, 0.74
    probs[2, 0, 0], probs[2, 0, 9] = 0.3, 0.54
    feature = torch.tensor([16.0, 32.0]).repeat(3, 3, 1)
    feature[0, 0, 1] = 0.0
    feature[2, 2, 1] = 40.0  # the patch raised it here
    base_probs = torch.full((10,), 0.02)
    base_probs[0] = 0.82
    return OcclusionScan(probs, base_probs, feature if with_layer else None,
                         torch.tensor([16.0, 32.0]) if with_layer else None, "conv3" if with_layer else None,
                         patch=4, stride=4, input_hw=(12, 12))


def _mesh(ax) -> tuple[np.ndarray, np.ndarray]:
    """The (rows, cols) values and the cell-corner coordinates of the map drawn on ``ax``."""
    mesh = ax.collections[0]
    return np.asarray(mesh.get_array()).reshape(3, 3), mesh.get_coordinates()


def test_probability_panel_draws_the_scans_map_over_the_image():
    _, info = cv.load_model("fashionnet")
    fig, ax = plt.subplots()
    plot.occlusion.draw_class_probability(ax, np.zeros((12, 12)), _scan(), 0, info)
    values, corners = _mesh(ax)
    assert np.allclose(values, _scan().probs[..., 0].numpy())
    assert corners[0, :, 0].tolist() == [-0.5, 3.5, 7.5, 11.5]  # cells of 4 px tile the 12 px image
    assert corners[:, 0, 1].tolist() == [-0.5, 3.5, 7.5, 11.5]
    assert ax.get_title() == "p(티셔츠/탑): 원래 0.82, 최저 0.10"
    assert ax.collections[0].get_clim() == (0, 1)
    assert ax.get_images()[0].get_array().shape == (12, 12)


def test_top_class_panel_legend_lists_the_classes_that_occur():
    _, info = cv.load_model("fashionnet")
    fig, ax = plt.subplots()
    plot.occlusion.draw_top_class(ax, np.zeros((12, 12)), _scan(), info)
    values, _ = _mesh(ax)
    expected = np.zeros((3, 3))
    expected[1, 2], expected[2, 0] = 4, 9
    assert np.array_equal(values, expected)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [info.label(0), info.label(4), info.label(9)] == ["티셔츠/탑", "코트", "앵클부츠"]
    colours = [tuple(h.get_facecolor()) for h in ax.get_legend().legend_handles]
    assert colours == [plt.get_cmap("tab10")(c) for c in (0, 4, 9)]


def test_feature_drop_panel_uses_the_strongest_channel_and_a_symmetric_scale():
    fig, axes = plt.subplots(1, 2)
    plot.occlusion.draw_feature_drop(axes[0], np.zeros((12, 12)), _scan())
    values, _ = _mesh(axes[0])
    expected = np.zeros((3, 3))
    expected[0, 0], expected[2, 2] = 32.0, -8.0  # 32 - 0 and 32 - 40
    assert np.array_equal(values, expected)
    assert axes[0].get_title() == "conv3 채널 1의 활성화 감소량"
    assert axes[0].collections[0].get_clim() == (-32.0, 32.0)
    plot.occlusion.draw_feature_drop(axes[1], np.zeros((12, 12)), _scan(), channel=0)
    assert np.array_equal(_mesh(axes[1])[0], np.zeros((3, 3)))  # channel 0 never changes
    assert axes[1].get_title() == "conv3 채널 0의 활성화 감소량"


def test_four_panels_and_an_empty_last_one_without_a_layer():
    _, info = cv.load_model("fashionnet")
    fig, axes = plt.subplots(2, 4)
    plot.occlusion.draw_occlusion_panels(axes[0], np.zeros((12, 12)), _scan(), 4, info)
    patch = axes[0, 0].patches[0]
    assert (patch.get_width(), patch.get_height(), patch.get_xy()) == (4, 4, (-0.5, -0.5))
    assert tuple(patch.get_facecolor()[:3]) == pytest.approx((info.mean[0],) * 3)  # the mean colour: fill 0
    assert axes[0, 0].get_title() == "입력 (4×4 패치, 보폭 4)"
    assert axes[0, 1].get_title() == "p(코트): 원래 0.02, 최저 0.02"
    assert len(axes[0, 2].get_legend().get_texts()) == 3
    assert axes[0, 3].get_title() == "conv3 채널 1의 활성화 감소량"
    plot.occlusion.draw_occlusion_panels(axes[1], np.zeros((12, 12)), _scan(with_layer=False), 0, info)
    assert not axes[1, 3].axison and not axes[1, 3].collections


def test_panels_of_a_real_scan_line_up_with_the_image():
    model, info = cv.load_model("fashionnet")
    x = cv.preprocess(info, cv.examples_for(info).images[0])
    scan = occlusion_scan(model, info, x, layer="conv3", patch=6, stride=4)  # edge window at 22
    fig, axes = plt.subplots(1, 4)
    plot.occlusion.draw_occlusion_panels(axes, cv.deprocess(info, x), scan, 0, info)
    values = np.asarray(axes[1].collections[0].get_array()).reshape(7, 7)
    assert np.allclose(values, scan.prob(0).numpy())
    corners = axes[1].collections[0].get_coordinates()[0, :, 0]  # centres 2.5, 6.5, ..., 22.5, 24.5
    assert corners.tolist() == [0.5, 4.5, 8.5, 12.5, 16.5, 20.5, 23.5, 25.5]
    legend = [t.get_text() for t in axes[2].get_legend().get_texts()]
    assert legend == [info.label(c) for c in sorted(set(scan.top_class().flatten().tolist()))][:6]


def test_patch_panel_draws_the_patch_at_the_chosen_window_with_a_visible_edge():
    from matplotlib.patches import Rectangle
    info = cv.load_model("fashionnet")[1]
    scan = OcclusionScan(torch.full((3, 3, 10), 0.1), torch.full((10,), 0.1), None, None, None,
                         patch=5, stride=4, input_hw=(12, 12))  # windows start at 0, 4 and the edge window 7
    fig, ax = plt.subplots()
    plot.occlusion.draw_patch(ax, np.zeros((12, 12)), scan, info, at=(1, 2))
    (rect,) = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert rect.get_xy() == (7 - 0.5, 4 - 0.5) and rect.get_width() == rect.get_height() == 5
    assert rect.get_edgecolor()[:3] != rect.get_facecolor()[:3]
    with pytest.raises(cv.ConvVisError, match="rows 0..2, columns 0..2"):
        plot.occlusion.draw_patch(ax, np.zeros((12, 12)), scan, info, at=(3, 0))
    plt.close(fig)
