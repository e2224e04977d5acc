"""Chapter 10's labelling quiz, played without a kernel: the test clicks answers (some right, some wrong, chosen
from the quiz's own data) and checks that the page scores exactly the clicks it made, shows the model's score on
the same images and the published human baseline of convvis_lib.humans. Once in the built book, once on a bare page
made from convvis_lib.widgets.static_quiz_html and the book's script (no book build needed)."""
from __future__ import annotations

import json
import sys

import pytest

from bookpages import ROOT

sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402

from conftest import is_local  # noqa: E402
from convvis_lib import FASHION_CLASSES_KO, widgets  # noqa: E402
from convvis_lib.humans import FASHION_MNIST_HUMAN, LabelQuiz  # noqa: E402

QUIZ_PAGE = "notebooks/10_humans.html"
QUIZ_JS = ROOT / "book/_ext/convvis_book/static/convvis-quiz.js"


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%"


@pytest.fixture()
def quiz_page(open_page, book):
    if not (book / QUIZ_PAGE).is_file():
        pytest.fail(f"{QUIZ_PAGE} is not in the built book")
    page, log = open_page(QUIZ_PAGE, viewport=(1280, 900))
    yield page, log
    page.context.close()


def test_quiz_plays_and_scores_the_clicks(quiz_page):
    play_and_check(*quiz_page)


@pytest.fixture()
def bare_quiz_page(browser):
    """A page holding only a 12-item quiz over the ten Fashion-MNIST classes and the book's quiz script."""
    labels = [i % 10 for i in range(12)]
    model = [(3 * i) % 10 if i % 4 == 0 else i % 10 for i in range(12)]  # the model misses items 4 and 8
    quiz = LabelQuiz([np.full((28, 28), 20 * i, np.uint8) for i in range(12)], labels, model, FASHION_CLASSES_KO)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    log = {"page_errors": [], "external": []}
    context.route("**/*", lambda r: r.continue_() if is_local(r.request.url)
                  else (log["external"].append(r.request.url), r.abort()))
    page = context.new_page()
    page.on("pageerror", lambda e: log["page_errors"].append(str(e)))
    page.set_content('<!doctype html><html><head><meta charset="utf-8"></head><body>'
                     f"{widgets.static_quiz_html(quiz)}<script>{QUIZ_JS.read_text(encoding='utf-8')}</script>"
                     "</body></html>")
    yield page, log
    context.close()


def test_book_script_plays_the_quiz_python_writes(bare_quiz_page):
    play_and_check(*bare_quiz_page)


def play_and_check(page, log) -> None:
    """Answer every item (every third one wrong), then check the running and final scores and the reset."""
    quiz = page.locator(".convvis-quiz")
    assert quiz.count() == 1, "chapter 10 has no kernel-free quiz"
    data = json.loads(quiz.locator("script.convvis-quiz-data").text_content())
    items, names = data["items"], data["classes"]
    assert len(items) >= 10 and len(names) == 10
    assert quiz.locator(".convvis-quiz-fallback").count() == 0, "the script did not start the quiz"
    buttons = quiz.locator("button.convvis-quiz-answer")
    assert buttons.all_inner_texts() == names

    right = 0
    for i, item in enumerate(items):
        assert quiz.locator(".convvis-quiz-progress").inner_text().startswith(f"{i + 1} / {len(items)}")
        src = quiz.locator("img.convvis-quiz-image").get_attribute("src")
        assert src == item["image"]
        choice = item["truth"] if i % 3 else (item["truth"] + 1) % len(names)  # every third answer wrong
        right += choice == item["truth"]
        buttons.nth(choice).click()
        feedback = quiz.locator(".convvis-quiz-feedback").inner_text()
        assert feedback.startswith(f"{i + 1}번: " + ("정답" if choice == item["truth"] else "오답"))
        assert quiz.locator(".convvis-quiz-right").inner_text() == str(right)

    model_right = sum(item["model"] == item["truth"] for item in items)
    n = len(items)
    counts = quiz.locator(".convvis-quiz-count").all_inner_texts()
    accuracies = quiz.locator(".convvis-quiz-accuracy").all_inner_texts()
    assert counts == [str(right), str(model_right)]
    assert accuracies == [_percent(right / n), _percent(model_right / n), _percent(FASHION_MNIST_HUMAN.accuracy)]
    assert data["baseline"]["accuracy"] == FASHION_MNIST_HUMAN.accuracy
    assert all(b.is_disabled() for b in buttons.all())
    errors = quiz.locator(".convvis-quiz-errors").inner_text()
    only_me = sum(1 for i, it in enumerate(items) if i % 3 == 0 and it["model"] == it["truth"])
    only_model = sum(1 for i, it in enumerate(items) if i % 3 and it["model"] != it["truth"])
    both = sum(1 for i, it in enumerate(items) if i % 3 == 0 and it["model"] != it["truth"])
    assert errors == f"틀린 문제: 나만 틀림 {only_me}개, {data['model']}만 틀림 {only_model}개, 둘 다 틀림 {both}개."

    quiz.locator("button.convvis-quiz-reset").click()
    assert quiz.locator(".convvis-quiz-progress").inner_text().startswith(f"1 / {n}")
    assert quiz.locator(".convvis-quiz-count").count() == 0 and not buttons.first.is_disabled()
    assert log["page_errors"] == [] and log["external"] == []
