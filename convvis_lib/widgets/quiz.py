"""Chapter 10's labelling quiz as widgets (ipywidgets 7.7 and 8) and as a kernel-free page for the book.

The quiz's state and scoring are :class:`convvis_lib.humans.LabelQuiz` (plain Python); this module only
shows it: :class:`QuizUI` wires one button per class to ``LabelQuiz.answer``, and :func:`static_quiz_html`
hands the same quiz to the book's script ``convvis-quiz.js``. No ``widgets.Stack`` (absent in ipywidgets 7,
which Colab ships).
"""
from __future__ import annotations

import base64
import html
import io
import json

import ipywidgets as widgets
import numpy as np

from ..humans import FASHION_MNIST_HUMAN, HumanBaseline, LabelQuiz
from ..plot import no_text_png
from .explorer import static_mode


def image_png(image: np.ndarray, size: int = 140) -> bytes:
    """PNG bytes of an image (uint8 or float in [0, 1]), upscaled with nearest neighbour to ``size`` px high."""
    from PIL import Image
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    img = Image.fromarray(a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a)
    img = img.resize((max(1, round(img.width * size / img.height)), size), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return no_text_png(buf.getvalue())


class QuizUI(widgets.VBox):
    """The quiz as widgets: the current image, one button per class, progress, feedback, final report.

    Works on ipywidgets 7.7 and 8 (no Stack). ``buttons[c].click()`` answers class ``c``.
    """

    def __init__(self, quiz: LabelQuiz, baseline: HumanBaseline = FASHION_MNIST_HUMAN) -> None:
        self.quiz, self.baseline = quiz, baseline
        self.image = widgets.Image(format="png")
        self.progress = widgets.HTML()
        self.feedback = widgets.HTML()
        self.result = widgets.HTML()
        self.buttons = [widgets.Button(description=name, layout=widgets.Layout(width="108px"))
                        for name in quiz.class_names]
        for c, button in enumerate(self.buttons):
            button.on_click(lambda _b, c=c: self._answer(c))
        self.reset_button = widgets.Button(description="처음부터 다시", button_style="warning")
        self.reset_button.on_click(lambda _b: self._reset())
        grid = widgets.HBox(self.buttons, layout=widgets.Layout(flex_flow="row wrap", max_width="580px"))
        super().__init__([self.progress, self.image, grid, self.feedback, self.result, self.reset_button])
        self._refresh()

    def _answer(self, cls: int) -> None:
        if self.quiz.finished:
            return
        i = self.quiz.position
        right = self.quiz.answer(cls)
        names = self.quiz.class_names
        truth, model = int(self.quiz.labels[i]), int(self.quiz.model_predictions[i])
        mark = "정답" if right else f"오답 (정답: {html.escape(names[truth])})"
        model_mark = "맞힘" if model == truth else "틀림"
        self.feedback.value = f"{i + 1}번: {mark} · 모델의 답: {html.escape(names[model])} ({model_mark})"
        self._refresh()

    def _reset(self) -> None:
        self.quiz.reset()
        self.feedback.value = ""
        self._refresh()

    def _refresh(self) -> None:
        q = self.quiz
        for b in self.buttons:
            b.disabled = q.finished
        if q.finished:
            self.progress.value = f"<b>{len(q)}문제를 모두 풀었습니다.</b>"
            self.result.value = "<pre>" + html.escape(q.report(self.baseline)) + "</pre>"
            return
        self.progress.value = f"<b>{q.position + 1} / {len(q)}</b> — 이 옷은 무엇일까요?"
        self.image.value = image_png(q.images[q.position])
        self.result.value = ""


def quiz_data(quiz: LabelQuiz, model_name: str, baseline: HumanBaseline = FASHION_MNIST_HUMAN) -> dict:
    """What the kernel-free quiz in the book needs: class names, each image with its truth and the model's
    answer, and the published baseline (the one in :data:`convvis_lib.humans.FASHION_MNIST_HUMAN`, never retyped)."""
    items = [{"image": "data:image/png;base64," + base64.b64encode(image_png(img, 28)).decode("ascii"),
              "truth": int(t), "model": int(m)}
             for img, t, m in zip(quiz.images, quiz.labels, quiz.model_predictions)]
    return {"classes": list(quiz.class_names), "items": items, "model": model_name,
            "baseline": {"accuracy": baseline.accuracy, "protocol": baseline.protocol, "source": baseline.source}}


def static_quiz_html(quiz: LabelQuiz, model_name: str = "fashionnet",
                     baseline: HumanBaseline = FASHION_MNIST_HUMAN) -> str:
    """Kernel-free quiz for the book: the data as JSON, played by the book's script ``convvis-quiz.js``
    (self-hosted, no network); a short note where scripts do not run."""
    data = json.dumps(quiz_data(quiz, model_name, baseline), ensure_ascii=False).replace("</", "<\\/")
    return ('<div class="convvis-quiz">'
            f'<script type="application/json" class="convvis-quiz-data">{data}</script>'
            '<p class="convvis-quiz-fallback">이 퀴즈는 책 페이지의 자바스크립트로 동작합니다. 자바스크립트가 꺼져 '
            "있으면 노트북을 Colab이나 Jupyter에서 실행해 풀어 보세요.</p></div>")


def quiz_view(quiz: LabelQuiz, baseline: HumanBaseline = FASHION_MNIST_HUMAN, model_name: str = "fashionnet"):
    """The live :class:`QuizUI` in a kernel; while the book is built (``CONVVIS_STATIC=1``), the same quiz
    played by the book's script."""
    if static_mode():
        from IPython.display import HTML
        return HTML(static_quiz_html(quiz, model_name, baseline))
    return QuizUI(quiz, baseline)
