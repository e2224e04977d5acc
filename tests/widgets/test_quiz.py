"""convvis_lib.widgets.quiz: the labelling quiz's buttons in a kernel and its kernel-free version for the book."""
from __future__ import annotations

import base64
import inspect
import io
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from convvis_lib import humans, plot, widgets
from convvis_lib.widgets import quiz as quiz_module
from test_humans import NAMES, toy_quiz  # tests/ is on the path: the five-item quiz the logic tests use

ROOT = Path(__file__).resolve().parents[2]
QUIZ_JS = ROOT / "book/_ext/convvis_book/static/convvis-quiz.js"


def test_button_clicks_answer_the_quiz_and_update_the_score():
    quiz = toy_quiz()
    ui = widgets.QuizUI(quiz)
    assert [b.description for b in ui.buttons] == NAMES
    assert "1 / 5" in ui.progress.value and ui.image.value == widgets.image_png(quiz.images[0])
    ui.buttons[0].click()  # right
    assert quiz.answers[:2] == [0, None] and "1번: 정답 ·" in ui.feedback.value
    assert "2 / 5" in ui.progress.value and ui.image.value == widgets.image_png(quiz.images[1])
    ui.buttons[2].click()  # wrong (truth 나), model right
    assert "오답 (정답: 나)" in ui.feedback.value and "모델의 답: 나 (맞힘)" in ui.feedback.value
    ui.buttons[1].click()  # wrong (truth 다), model wrong too (나)
    assert "모델의 답: 나 (틀림)" in ui.feedback.value
    s = quiz.score()
    assert (s.n_answered, s.human_correct, s.model_correct, s.agreement) == (3, 1, 2, 2)
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
    assert ui.feedback.value == "" and ui.result.value == ""


def test_static_version_carries_the_quiz_for_the_book_script(monkeypatch):
    quiz = toy_quiz()
    page = widgets.static_quiz_html(quiz)
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
    assert "convvis-quiz-data" in widgets.quiz_view(quiz)._repr_html_()
    monkeypatch.setenv("CONVVIS_STATIC", "0")
    assert isinstance(widgets.quiz_view(quiz), widgets.QuizUI)


def test_book_script_reads_what_python_writes_and_renders_what_the_browser_test_clicks():
    """The browser test (tests/browser/test_quiz.py) needs a built book; this checks the contract without one."""
    js = QUIZ_JS.read_text(encoding="utf-8")
    page = widgets.static_quiz_html(toy_quiz())
    written = set(re.findall(r'class="(convvis-quiz[-a-z]*)"', page))
    assert written == {"convvis-quiz", "convvis-quiz-data", "convvis-quiz-fallback"}
    assert all(name in js for name in written)
    browser_test = (ROOT / "tests/browser/test_quiz.py").read_text(encoding="utf-8")
    wanted = set(re.findall(r"\.(convvis-quiz-[a-z-]+)", browser_test)) - written
    assert wanted >= {"convvis-quiz-answer", "convvis-quiz-progress", "convvis-quiz-reset"}
    missing = [name for name in wanted if f'"{name}"' not in js]
    assert not missing, f"the browser test selects classes the script never sets: {missing}"


def test_no_emoji_in_quiz_strings():
    source = inspect.getsource(humans) + inspect.getsource(quiz_module) + QUIZ_JS.read_text(encoding="utf-8")
    emoji = [ch for ch in source if ord(ch) >= 0x2600 and not "\uac00" <= ch <= "\ud7a3" and ch not in "−→×·—‘’…"]
    assert not emoji, f"emoji or symbols that need an emoji font: {sorted(set(emoji))}"


def test_image_png_upscales_by_nearest_neighbour():
    png = widgets.image_png(np.arange(28 * 28, dtype=np.uint8).reshape(28, 28) % 255, size=140)
    img = Image.open(io.BytesIO(png))
    assert img.size == (140, 140)
    a = np.asarray(img)
    assert a[0, 0] == 0 and a[0, 4] == 0 and a[0, 5] == 1 and a[5, 0] == 28  # each pixel became a 5x5 block
    rgb = widgets.image_png(np.full((10, 20, 3), 0.5), size=30)
    assert Image.open(io.BytesIO(rgb)).size == (60, 30) and np.asarray(Image.open(io.BytesIO(rgb)))[0, 0, 0] == 128


def test_no_ipywidgets8_only_api():
    assert "Stack(" not in inspect.getsource(quiz_module)  # Colab ships ipywidgets 7.7, which has no Stack
