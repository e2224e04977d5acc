"""The widget layer, on top of computing (technique modules) and drawing (:mod:`convvis_lib.plot`).

* :mod:`.explorer` -- selectors built from model metadata (``layer_dropdown``, ``class_dropdown``,
  ``method_dropdown``, ``image_dropdown``, ``choice``, ``ImagePicker``) and :func:`explore`, which shows a
  render function under them: live in a kernel, every combination pre-rendered while the book is built
  (``CONVVIS_STATIC=1``);
* :mod:`.quiz` -- chapter 10's labelling quiz (:class:`QuizUI` in a kernel, a script-played static version in
  the book) around the plain-Python :class:`convvis_lib.humans.LabelQuiz`.

Notebooks use ``from convvis_lib import widgets`` and call ``widgets.explore(...)``, ``widgets.quiz_view(...)``.
"""
from __future__ import annotations

from .explorer import (MAX_CACHED_VIEWS, MAX_STATIC_RENDERS, STATIC_ENV, STYLE, ImagePicker, ViewCache, choice,
                       class_dropdown, class_label, combinations, explore, image_dropdown, layer_dropdown,
                       live_explorer, method_dropdown, pinned_note, render_to_html, static_explorer, static_mode)
from .quiz import QuizUI, image_png, quiz_data, quiz_view, static_quiz_html

__all__ = [
    "MAX_CACHED_VIEWS", "MAX_STATIC_RENDERS", "STATIC_ENV", "STYLE", "ImagePicker", "QuizUI", "ViewCache", "choice",
    "class_dropdown", "class_label", "combinations", "explore", "image_dropdown", "image_png", "layer_dropdown",
    "live_explorer", "method_dropdown", "pinned_note", "quiz_data", "quiz_view", "render_to_html", "static_explorer",
    "static_mode", "static_quiz_html",
]
