"""Comparing a ConvNet with human labellers: a labelling quiz (logic + ipywidgets 7.7/8 UI) and published baselines.

The quiz state and scoring live in :class:`LabelQuiz` (plain Python, unit-tested); :class:`QuizUI`
only wires buttons to it. No ``widgets.Stack`` (absent in ipywidgets 7, which Colab ships).
"""
from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from .attributes import confusion_matrix, top_confusions
from .errors import ConvVisError
from .hooks import eval_mode, model_device
from .models import ModelInfo
from .plot import no_text_png
from .preprocess import preprocess


@dataclass(frozen=True)
class HumanBaseline:
    """A published human accuracy and how it was measured."""

    accuracy: float
    n_images: int
    protocol: str
    source: str


FASHION_MNIST_HUMAN = HumanBaseline(
    0.835, 1000,
    "비전문가 크라우드소싱, 무작위로 고른 테스트 이미지 1000개, 이미지마다 3명이 레이블을 달고 다수결",
    "Fashion-MNIST README, Benchmark 표의 'Human Performance' 항목")
# The one place this figure is written: the chapter's prose (glue), its printed outputs and the book's quiz
# script all read it from here; tests/test_humans.py compares it with the README's row where the README is
# installed (Debian's dataset-fashion-mnist).


@dataclass(frozen=True)
class QuizScore:
    """Scores on the answered items only: the reader's, the model's on the same images, and confusions."""

    n_answered: int
    n_items: int
    human_correct: int
    model_correct: int
    agreement: int
    human_confusion: np.ndarray
    model_confusion: np.ndarray

    @property
    def human_accuracy(self) -> float:
        return self.human_correct / self.n_answered if self.n_answered else float("nan")

    @property
    def model_accuracy(self) -> float:
        return self.model_correct / self.n_answered if self.n_answered else float("nan")


class LabelQuiz:
    """N seeded images to label; records answers in order and scores them against truth and the model."""

    def __init__(self, images: Sequence[np.ndarray], labels: Sequence[int], model_predictions: Sequence[int],
                 class_names: Sequence[str], indices: Sequence[int] | None = None) -> None:
        self.class_names = list(class_names)
        k = len(self.class_names)
        self.images = list(images)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.model_predictions = np.asarray(model_predictions, dtype=np.int64)
        self.indices = list(range(len(self.images))) if indices is None else [int(i) for i in indices]
        if not (len(self.images) == len(self.labels) == len(self.model_predictions) == len(self.indices)):
            raise ConvVisError("images, labels, model_predictions and indices must have the same length; got "
                               f"{len(self.images)}, {len(self.labels)}, {len(self.model_predictions)}, "
                               f"{len(self.indices)}")
        if len(self.images) == 0:
            raise ConvVisError("a quiz needs at least one image")
        for name, arr in (("label", self.labels), ("model prediction", self.model_predictions)):
            bad = arr[(arr < 0) | (arr >= k)]
            if bad.size:
                raise ConvVisError(f"{name} {int(bad[0])} out of range; allowed: 0..{k - 1} "
                                   "(a quiz needs labelled images, e.g. Fashion-MNIST)")
        self.answers: list[int | None] = [None] * len(self.images)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def position(self) -> int:
        """Index of the next item to answer (``len(self)`` when finished)."""
        return sum(a is not None for a in self.answers)

    @property
    def finished(self) -> bool:
        return self.position == len(self)

    def answer(self, cls: int) -> bool:
        """Record ``cls`` for the current item, move on; return whether it was right."""
        if self.finished:
            raise ConvVisError(f"the quiz is finished ({len(self)} answers); call reset() to start again")
        if isinstance(cls, bool) or not isinstance(cls, (int, np.integer)) or not 0 <= cls < len(self.class_names):
            raise ConvVisError(f"answer {cls!r} is not a class index; allowed: 0..{len(self.class_names) - 1}")
        i = self.position
        self.answers[i] = int(cls)
        return int(cls) == int(self.labels[i])

    def reset(self) -> None:
        """Forget every answer."""
        self.answers = [None] * len(self)

    def score(self) -> QuizScore:
        """Scores over the answered items (the model is scored on exactly the same images)."""
        n = self.position
        k = len(self.class_names)
        y, m = self.labels[:n], self.model_predictions[:n]
        h = np.asarray(self.answers[:n], dtype=np.int64)
        return QuizScore(n, len(self), int((h == y).sum()), int((m == y).sum()), int((h == m).sum()),
                         confusion_matrix(y, h, k), confusion_matrix(y, m, k))

    def model_accuracy_all(self) -> float:
        """The model's accuracy on all items of the quiz (answered or not)."""
        return float((self.model_predictions == self.labels).mean())

    def report(self, baseline: HumanBaseline = FASHION_MNIST_HUMAN) -> str:
        """A Korean summary: the reader vs the model on the same images vs the published baseline."""
        s = self.score()
        lines = [f"퀴즈 이미지 {len(self)}개에서 모델 정확도: {self.model_accuracy_all():.3f}",
                 f"발표된 사람 기준선: {baseline.accuracy:.3f} ({baseline.protocol})"]
        if s.n_answered == 0:
            lines.append("아직 답한 문제가 없습니다. 위 퀴즈의 버튼으로 답을 고른 뒤 이 셀을 다시 실행하세요.")
            return "\n".join(lines)
        lines += [f"답한 문제 {s.n_answered}/{len(self)}개: 나 {s.human_accuracy:.3f}, "
                  f"같은 이미지에서 모델 {s.model_accuracy:.3f}, 나와 모델의 답이 같은 비율 {s.agreement / s.n_answered:.3f}",
                  "내가 헷갈린 쌍(정답 → 내 답): " + _pairs_text(s.human_confusion, self.class_names),
                  "모델이 헷갈린 쌍(정답 → 모델 답): " + _pairs_text(s.model_confusion, self.class_names)]
        return "\n".join(lines)


def _pairs_text(cm: np.ndarray, names: Sequence[str], k: int = 3) -> str:
    pairs = top_confusions(cm, k)
    return ", ".join(f"{names[t]} → {names[p]} ({c}회)" for t, p, c in pairs) or "없음"


def _pick(labels: np.ndarray, pool: np.ndarray, n: int, rng: np.random.Generator, stratified: bool) -> np.ndarray:
    if not stratified:
        return rng.choice(pool, size=n, replace=False)
    classes = np.unique(labels[pool])
    per, extra = divmod(n, len(classes))
    bonus = set(rng.choice(classes, size=extra, replace=False).tolist())
    picks = []
    for c in classes:
        members, k = pool[labels[pool] == c], per + (int(c) in bonus)
        if k > len(members):
            raise ConvVisError(f"class {int(c)} has only {len(members)} images; cannot pick {k} (lower n)")
        picks.append(rng.choice(members, size=k, replace=False))
    return rng.permutation(np.concatenate(picks))


def make_quiz(model: nn.Module, info: ModelInfo, examples, n: int = 20, seed: int = 0,
              stratified: bool = True) -> LabelQuiz:
    """A quiz of ``n`` seeded random labelled examples, with ``model``'s predictions on them.

    ``stratified``: every class appears ``n // K`` times (the remainder goes to random classes),
    in a shuffled order; otherwise the ``n`` images are drawn uniformly.
    """
    labels = np.asarray(examples.labels)
    pool = np.flatnonzero(labels >= 0)
    if len(pool) == 0:
        raise ConvVisError(f"{info.name}'s examples have no labels, so a quiz cannot be scored; "
                           "use a labelled set (fashionnet with Fashion-MNIST)")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(pool):
        raise ConvVisError(f"n={n!r} out of range; allowed: 1..{len(pool)}")
    idx = _pick(labels, pool, int(n), np.random.default_rng(seed), stratified)
    images = [examples.images[i] for i in idx]
    x = preprocess(info, images).to(model_device(model))
    with eval_mode(model), torch.inference_mode():
        preds = model(x).argmax(1).cpu().numpy()
    return LabelQuiz(images, labels[idx], preds, [info.label(c) for c in range(info.num_classes)], idx)


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
        self.feedback.value = (f"{i + 1}번: {mark} · 모델의 답: {html.escape(names[model])} ({model_mark})")
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
    answer, and the published baseline (the one in :data:`FASHION_MNIST_HUMAN`, never retyped)."""
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
    """The live :class:`QuizUI` in a kernel; while the book is built, the same quiz played by a script."""
    from .widgets import static_mode
    if static_mode():
        from IPython.display import HTML
        return HTML(static_quiz_html(quiz, model_name, baseline))
    return QuizUI(quiz, baseline)


# ---------------------------------------------------------------- plotting (no computation below)

def plot_comparison(rows: Sequence[tuple[str, float]], ax: plt.Axes | None = None,
                    title: str = "Fashion-MNIST 정확도 비교") -> plt.Axes:
    """Horizontal bars of ``(label, accuracy)`` pairs (NaN rows are skipped), value written at each bar."""
    rows = [(n, a) for n, a in rows if a == a]
    ax = ax or plt.subplots(figsize=(6, 0.5 * len(rows) + 1))[1]
    pos = np.arange(len(rows))
    ax.barh(pos, [a for _, a in rows], color=[f"C{i}" for i in range(len(rows))])
    for p, (_, a) in zip(pos, rows):
        ax.text(min(a, 1.0) + 0.01, p, f"{a:.1%}", va="center", fontsize=9)
    ax.set_yticks(pos, [n for n, _ in rows], fontsize=9)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.12), xlabel="정확도", title=title)
    return ax
