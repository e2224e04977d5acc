"""Tests for convvis_lib.humans: quiz state and scoring through simulated button clicks, static version."""
from __future__ import annotations

import base64
import gzip
import inspect
import io
import json
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import convvis_lib as cv
from convvis_lib import humans, plot
from convvis_lib.hooks import count_hooks

NAMES = ["가", "나", "다"]
ROOT = Path(__file__).resolve().parents[1]


def toy_quiz() -> humans.LabelQuiz:
    images = [np.full((28, 28), 40 * i, dtype=np.uint8) for i in range(5)]
    labels = [0, 1, 2, 2, 1]
    model = [0, 1, 1, 2, 0]  # model right on items 0, 1, 3
    return humans.LabelQuiz(images, labels, model, NAMES, indices=[10, 11, 12, 13, 14])


def test_clicks_are_recorded_and_scored_against_truth_and_model():
    quiz = toy_quiz()
    ui = humans.QuizUI(quiz)
    assert "1 / 5" in ui.progress.value and ui.image.value[:4] == b"\x89PNG"
    first_image = ui.image.value
    ui.buttons[0].click()  # right
    assert quiz.answers[:2] == [0, None] and "1번: 정답 ·" in ui.feedback.value
    assert "2 / 5" in ui.progress.value and ui.image.value != first_image
    ui.buttons[2].click()  # wrong (truth 나), model right
    assert "오답 (정답: 나)" in ui.feedback.value and "모델의 답: 나 (맞힘)" in ui.feedback.value
    ui.buttons[1].click()  # wrong (truth 다), model wrong too (나)
    s = quiz.score()
    assert (s.n_answered, s.human_correct, s.model_correct, s.agreement) == (3, 1, 2, 2)  # items 0 and 2 agree
    assert s.human_accuracy == pytest.approx(1 / 3) and s.model_accuracy == pytest.approx(2 / 3)
    assert np.array_equal(s.human_confusion, [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert np.array_equal(s.model_confusion, [[1, 0, 0], [0, 1, 0], [0, 1, 0]])
    ui.buttons[2].click()
    ui.buttons[1].click()
    s = quiz.score()
    assert quiz.finished and (s.human_correct, s.model_correct) == (3, 3)
    assert all(b.disabled for b in ui.buttons)
    assert "5문제를 모두" in ui.progress.value and "나 0.600, 같은 이미지에서 모델 0.600" in ui.result.value
    ui.buttons[0].click()  # ignored once finished
    assert quiz.answers == [0, 2, 1, 2, 1]
    ui.reset_button.click()
    assert quiz.position == 0 and not any(b.disabled for b in ui.buttons) and "1 / 5" in ui.progress.value


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


def test_static_version_carries_the_quiz_for_the_book_script(monkeypatch):
    quiz = toy_quiz()
    page = humans.static_quiz_html(quiz)
    match = re.search(r'<script type="application/json" class="convvis-quiz-data">(.*?)</script>', page, re.S)
    data = json.loads(match.group(1).replace("<\\/", "</"))
    assert data["classes"] == NAMES and data["model"] == "fashionnet"
    assert [(i["truth"], i["model"]) for i in data["items"]] == [(0, 0), (1, 1), (2, 1), (2, 2), (1, 0)]
    assert data["baseline"]["accuracy"] == humans.FASHION_MNIST_HUMAN.accuracy
    first = base64.b64decode(data["items"][0]["image"].split(",", 1)[1])
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(first))), quiz.images[0])  # the image itself, 28x28
    assert plot.recorded_fonts(first) == {"min_font_px": None, "text": None}
    assert "convvis-quiz-fallback" in page
    monkeypatch.setenv("CONVVIS_STATIC", "1")
    assert "convvis-quiz-data" in humans.quiz_view(quiz)._repr_html_()
    monkeypatch.setenv("CONVVIS_STATIC", "0")
    assert isinstance(humans.quiz_view(quiz), humans.QuizUI)


README = Path("/usr/share/doc/dataset-fashion-mnist/README.md.gz")


@pytest.mark.skipif(not README.is_file(), reason="Debian's dataset-fashion-mnist README is not installed")
def test_human_baseline_is_the_readme_row():
    row = next(line for line in gzip.open(README, "rt", encoding="utf-8") if line.startswith("|Human Performance|"))
    cells = [c.strip() for c in row.strip("|\n").split("|")]
    assert float(cells[2]) == humans.FASHION_MNIST_HUMAN.accuracy
    assert "1000 randomly sampled test images, 3 labels per image, majority" in cells[1]
    assert humans.FASHION_MNIST_HUMAN.n_images == 1000


def test_no_emoji_in_quiz_strings():
    source = inspect.getsource(humans) + (ROOT / "book/_ext/convvis_book/static/convvis-quiz.js").read_text()
    emoji = [ch for ch in source if ord(ch) >= 0x2600 and not "\uac00" <= ch <= "\ud7a3" and ch not in "−→×·—‘’…"]
    assert not emoji, f"emoji or symbols that need an emoji font: {sorted(set(emoji))}"


def test_image_png_and_no_ipywidgets8_only_api():
    png = humans.image_png(np.arange(28 * 28, dtype=np.uint8).reshape(28, 28) % 255, size=140)
    img = Image.open(io.BytesIO(png))
    assert img.size == (140, 140)
    assert np.asarray(img)[0, 0] == 0 and np.asarray(img)[0, 5] == 1  # nearest-neighbour upscale by 5
    assert "Stack(" not in inspect.getsource(humans)
