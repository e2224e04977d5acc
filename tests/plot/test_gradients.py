"""convvis_lib.plot.gradients: display scaling and the colour each kind of map is drawn in."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from convvis_lib.plot.gradients import draw_map, saliency_display, to_display


def test_display_scaling():
    g = torch.tensor([[[-2.0, 0.0, 2.0, 1.0]]])
    assert to_display(g, percentile=100).tolist() == [[0.0, 0.5, 1.0, 0.75]]  # 0 -> grey, +-max -> 1 / 0
    assert saliency_display(torch.tensor([[0.0, 2.0, 4.0]]), percentile=100).tolist() == [[0.0, 0.5, 1.0]]
    rgb = to_display(torch.stack([torch.full((2, 2), v) for v in (-1.0, 0.0, 1.0)]), percentile=100)
    assert rgb.shape == (2, 2, 3) and rgb[0, 0].tolist() == [0.0, 0.5, 1.0]  # channels last for imshow


def test_draw_map_signed_one_channel_magnitude_and_colour():
    fig, axes = plt.subplots(1, 3)
    g = torch.tensor([[[-2.0, 0.0], [2.0, 1.0]]])
    draw_map(axes[0], g, "raw", percentile=100)  # one channel: signed, -1..1 in RdBu_r
    im = axes[0].get_images()[0]
    assert im.get_array().tolist() == [[-1.0, 0.0], [1.0, 0.5]]
    assert im.get_cmap().name == "RdBu_r" and im.get_clim() == (-1, 1) and axes[0].get_title() == "raw"
    draw_map(axes[1], g.abs()[0], percentile=100)  # (H, W): a magnitude, 0..1 in inferno
    im = axes[1].get_images()[0]
    assert im.get_array().tolist() == [[1.0, 0.0], [1.0, 0.5]] and im.get_cmap().name == "inferno"
    draw_map(axes[2], torch.zeros(3, 2, 2))
    assert axes[2].get_images()[0].get_array().shape == (2, 2, 3)
    plt.close(fig)
