"""Drawing, apart from computing: every ``draw_*``/``plot_*`` function of the book lives in this package.

* :mod:`.figure` -- Korean font, one dpi, figure output with the smallest drawn text recorded;
* :mod:`.images` -- image / filter / activation grids, heatmap overlays, display scaling;
* one module per technique (``plot.occlusion``, ``plot.gradients``, ...) drawing what that technique's
  module in :mod:`convvis_lib` computed. Technique modules never import matplotlib.
"""
from __future__ import annotations

from .figure import (FIGURE_DPI, FONT_KEY, KOREAN_FONT, MAX_FIGURE_WIDTH_IN, MIN_FONT_PT, figure_image, figure_png,
                     install_png_formatter, korean_font_path, no_text_png, one_axes, recorded_fonts, setup_figures,
                     setup_korean_font)
from .images import (DIVERGING_CMAP, HEATMAP_CMAP, activation_grid, filter_grid, heatmap_overlay, image_grid,
                     minmax_scale, to_numpy)

# one drawing module per technique (``plot.occlusion.draw_top_class`` ...); each imports only its technique module
from . import adversarial, attributes, correspondence, embedding, explain, gradients, humans, maxact, occlusion  # noqa: E402,F401

# Korean display names of every attribution method, one table for chapters 5 and 11 (keys as in
# gradients.METHODS and explain.METHODS).
METHOD_LABELS = {
    "saliency": "세일리언시 맵",
    "plain": "그래디언트",
    "deconvnet": "디컨브넷",
    "guided_backprop": "가이디드 역전파",
    "occlusion": "가림 민감도",
    "gradcam": "Grad-CAM",
    "guided_gradcam": "가이디드 Grad-CAM",
    "random": "무작위 맵",
}

__all__ = [
    "DIVERGING_CMAP", "FIGURE_DPI", "FONT_KEY", "HEATMAP_CMAP", "KOREAN_FONT", "MAX_FIGURE_WIDTH_IN", "METHOD_LABELS",
    "MIN_FONT_PT", "activation_grid", "figure_image", "figure_png", "filter_grid", "heatmap_overlay", "image_grid",
    "install_png_formatter", "korean_font_path", "minmax_scale", "no_text_png", "one_axes", "recorded_fonts", "setup_figures",
    "setup_korean_font", "to_numpy",
]
