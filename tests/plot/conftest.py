"""Shared set-up for the drawing tests: a non-interactive backend, the Korean font, and no figure left open."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from convvis_lib.plot import setup_korean_font  # noqa: E402


@pytest.fixture(autouse=True)
def _korean_font_and_no_figures_left():
    setup_korean_font()
    yield
    plt.close("all")
