"""Chapter 10's labelling quiz, played in the built book without a kernel: the test clicks answers (some right,
some wrong, chosen from the quiz's own data) and checks that the page scores exactly the clicks it made, shows
the model's score on the same images and the published human baseline of convvis_lib.humans."""
from __future__ import annotations

import json
import sys

import pytest

from bookpages import ROOT

sys.path.insert(0, str(ROOT))
from convvis_lib.humans import FASHION_MNIST_HUMAN  # noqa: E402

QUIZ_PAGE = "notebooks/10_humans.html"


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
    page, log = quiz_page
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
