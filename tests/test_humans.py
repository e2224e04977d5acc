"""convvis_lib.humans: the quiz's state and scoring, seeded quizzes from a model, the published baseline.

The quiz's buttons and its book version are tested in tests/widgets/test_quiz.py."""
from __future__ import annotations

import gzip
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import convvis_lib as cv
from convvis_lib import humans
from convvis_lib.hooks import count_hooks

NAMES = ["가", "나", "다"]


def toy_quiz() -> humans.LabelQuiz:
    images = [np.full((28, 28), 40 * i, dtype=np.uint8) for i in range(5)]
    labels = [0, 1, 2, 2, 1]
    model = [0, 1, 1, 2, 0]  # model right on items 0, 1, 3
    return humans.LabelQuiz(images, labels, model, NAMES, indices=[10, 11, 12, 13, 14])


def test_answers_are_recorded_in_order_and_scored_against_truth_and_model():
    quiz = toy_quiz()
    assert (quiz.position, quiz.finished) == (0, False) and np.isnan(quiz.score().human_accuracy)
    assert [quiz.answer(c) for c in (0, 2, 1)] == [True, False, False]  # truth 0, 1, 2
    assert quiz.answers == [0, 2, 1, None, None] and quiz.position == 3
    s = quiz.score()
    assert (s.n_answered, s.n_items, s.human_correct, s.model_correct, s.agreement) == (3, 5, 1, 2, 2)
    assert s.human_accuracy == pytest.approx(1 / 3) and s.model_accuracy == pytest.approx(2 / 3)
    # rows: truth, columns: answer
    assert np.array_equal(s.human_confusion, [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert np.array_equal(s.model_confusion, [[1, 0, 0], [0, 1, 0], [0, 1, 0]])
    assert quiz.model_accuracy_all() == pytest.approx(3 / 5)  # on all five items, answered or not
    quiz.answer(2)
    quiz.answer(1)
    s = quiz.score()
    assert quiz.finished and (s.human_correct, s.model_correct, s.agreement) == (3, 3, 3)
    quiz.reset()
    assert quiz.position == 0 and quiz.answers == [None] * 5 and quiz.score().n_answered == 0


def test_report_before_and_after_answers():
    quiz = toy_quiz()
    text = quiz.report()
    assert "모델 정확도: 0.600" in text and "0.835" in text and "아직 답한 문제가 없습니다" in text
    for c in (0, 2, 1):
        quiz.answer(c)
    text = quiz.report()
    assert "답한 문제 3/5개: 나 0.333, 같은 이미지에서 모델 0.667, 나와 모델의 답이 같은 비율 0.667" in text
    assert "나 → 다 (1회)" in text and "다 → 나 (1회)" in text


def test_quiz_rejects_bad_answers_and_inputs():
    quiz = toy_quiz()
    with pytest.raises(cv.ConvVisError, match=r"answer 3 is not a class index; allowed: 0..2"):
        quiz.answer(3)
    with pytest.raises(cv.ConvVisError, match="answer True"):
        quiz.answer(True)
    for _ in range(5):
        quiz.answer(0)
    with pytest.raises(cv.ConvVisError, match="finished"):
        quiz.answer(0)
    with pytest.raises(cv.ConvVisError, match="same length"):
        humans.LabelQuiz([np.zeros((8, 8))], [0, 1], [0], NAMES)
    with pytest.raises(cv.ConvVisError, match=r"label -1 out of range; allowed: 0..2"):
        humans.LabelQuiz([np.zeros((8, 8))], [-1], [0], NAMES)


def test_make_quiz_is_seeded_and_uses_the_model():
    model, info = cv.load_model("fashionnet")
    ex = cv.examples_for(info)
    model.train()
    quiz = humans.make_quiz(model, info, ex, n=12, seed=5)
    assert model.training and count_hooks(model) == 0
    model.eval()
    again = humans.make_quiz(model, info, ex, n=12, seed=5)
    assert quiz.indices == again.indices and len(set(quiz.indices)) == 12
    assert quiz.indices != humans.make_quiz(model, info, ex, n=12, seed=6).indices
    with torch.no_grad():
        expected = model(cv.preprocess(info, [ex.images[i] for i in quiz.indices])).argmax(1).numpy()
    assert np.array_equal(quiz.model_predictions, expected)
    assert np.array_equal(quiz.labels, ex.labels[quiz.indices])
    assert quiz.class_names[6] == "셔츠"
    counts = np.bincount(quiz.labels, minlength=10)
    assert sorted(counts.tolist()) == [1] * 8 + [2] * 2  # stratified: 12 = 10 x 1 + 2 extra
    assert np.array_equal(np.bincount(humans.make_quiz(model, info, ex, n=20).labels, minlength=10), [2] * 10)
    uniform = humans.make_quiz(model, info, ex, n=12, seed=5, stratified=False)
    assert np.array_equal(uniform.indices, np.random.default_rng(5).choice(2000, 12, replace=False))
    with pytest.raises(cv.ConvVisError, match=r"n=0 out of range; allowed: 1..2000"):
        humans.make_quiz(model, info, ex, n=0)


def test_make_quiz_refuses_unlabelled_photos():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, info = cv.load_model("resnet18", allow_random=True)
    photos = SimpleNamespace(images=[np.zeros((32, 32, 3), np.uint8)] * 3, labels=np.full(3, -1))  # label -1: unknown
    with pytest.raises(cv.ConvVisError, match="no labels"):
        humans.make_quiz(model, info, photos, n=3)


README = Path("/usr/share/doc/dataset-fashion-mnist/README.md.gz")


@pytest.mark.skipif(not README.is_file(), reason="Debian's dataset-fashion-mnist README is not installed")
def test_human_baseline_is_the_readme_row():
    row = next(line for line in gzip.open(README, "rt", encoding="utf-8") if line.startswith("|Human Performance|"))
    cells = [c.strip() for c in row.strip("|\n").split("|")]
    assert float(cells[2]) == humans.FASHION_MNIST_HUMAN.accuracy
    assert "1000 randomly sampled test images, 3 labels per image, majority" in cells[1]
    assert humans.FASHION_MNIST_HUMAN.n_images == 1000


def test_humans_is_logic_only():
    """No drawing or UI library is loaded by importing the module (they live in plot.humans and widgets.quiz)."""
    code = ("import sys, convvis_lib.humans; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'ipywidgets', 'IPython'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert not [name for name in vars(humans) if name.startswith(("plot_", "draw_"))]
