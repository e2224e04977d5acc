"""Comparing a ConvNet with human labellers: the labelling quiz's logic and the published human baseline.

:func:`make_quiz` draws seeded labelled images and the model's answers on them; :class:`LabelQuiz` records a
reader's answers and scores them against the truth and the model on the same images (plain Python, no UI).
The quiz is shown by :mod:`convvis_lib.widgets.quiz` (buttons in a kernel, a script in the book) and the
comparison drawn by :mod:`convvis_lib.plot.humans`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from torch import nn

from .errors import ConvVisError
from .hooks import model_device
from .metrics import confusion_matrix, top_confusions
from .models import ModelInfo
from .predict import predict_labels
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
        if n == 0:  # nothing answered yet: every count is zero
            cm_h = cm_m = np.zeros((k, k), dtype=np.int64)
        else:
            cm_h, cm_m = confusion_matrix(y, h, k), confusion_matrix(y, m, k)
        return QuizScore(n, len(self), int((h == y).sum()), int((m == y).sum()), int((h == m).sum()), cm_h, cm_m)

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
    preds = predict_labels(model, info, preprocess(info, images).to(model_device(model)))
    return LabelQuiz(images, labels[idx], preds, [info.label(c) for c in range(info.num_classes)], idx)
