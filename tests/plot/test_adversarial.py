"""convvis_lib.plot.adversarial: the attack figure and the eps curve show what adversarial computed."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from convvis_lib.adversarial import Attack, EpsSweep
from convvis_lib.models import ModelInfo
from convvis_lib.plot import MIN_FONT_PT
from convvis_lib.plot import adversarial as draw

LIN = ModelInfo("lin", "toy", ("a", "b", "c", "d"), ("가", "나", "다", "라"), (1, 4, 4), (0.5,), (0.25,))


def attack() -> Attack:
    x = torch.zeros(1, 1, 4, 4)                       # pixel 0.5 everywhere
    x_adv = x.clone()
    x_adv[0, 0, 0, 0], x_adv[0, 0, 1, 1] = 0.4, -0.4  # normalised +-0.4 = +-0.1 pixel units (std 0.25)
    return Attack(x, x_adv, 0.1, 2, np.array([0.7, 0.2, 0.06, 0.04]), np.array([0.1, 0.15, 0.7, 0.05]))


def test_plot_attack_shows_images_perturbation_and_probabilities():
    a = attack()
    fig = draw.plot_attack(LIN, a, k=2)
    images, bars = fig.axes  # the three images on one Axes, left to right
    orig, d, adv = images.get_images()
    assert np.allclose(orig.get_array(), 0.5) and orig.get_clim() == (0, 1)
    assert d.get_clim() == pytest.approx((-0.1, 0.1))                    # colour scale is +-eps
    assert d.get_array()[0, 0] == pytest.approx(0.1) and d.get_array()[1, 1] == pytest.approx(-0.1)
    assert adv.get_array()[0, 0] == pytest.approx(0.6)
    assert orig.get_extent()[1] < d.get_extent()[0] and d.get_extent()[1] < adv.get_extent()[0]
    titles = [t.get_text() for t in images.texts]
    assert "가 70.0%" in titles[0] and "다 70.0%" in titles[2]
    # top-2 before (가, 나) and after (다, 나), each class once, bars = the probabilities
    assert [t.get_text() for t in bars.get_yticklabels()] == ["가", "나", "다"]
    widths = sorted(round(p.get_width(), 6) for p in bars.patches)
    assert widths == sorted([0.7, 0.2, 0.06, 0.1, 0.15, 0.7])
    assert fig.get_size_inches()[0] <= 6.8 and all(t.get_fontsize() >= MIN_FONT_PT for t in bars.get_yticklabels())


def test_plot_eps_sweep_draws_both_curves():
    s = EpsSweep(np.array([0.0, 0.1, 0.2]), np.array([0.9, 0.3, 0.1]), np.array([np.nan, 0.6, 0.7]),
                 np.array([0.9, 0.88, 0.85]))
    ax = draw.plot_eps_sweep(s, title="제목")
    ys = [list(ln.get_ydata()) for ln in ax.get_lines()]
    assert ys == [list(s.accuracy), list(s.random_accuracy)]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["FGSM (그래디언트 부호)", "같은 크기의 무작위 부호"]
    assert ax.get_title() == "제목"
