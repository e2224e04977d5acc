/* convvis-ko: the labelling quiz of chapter 10, played in the book without a kernel.
   convvis_lib.widgets.quiz.static_quiz_html writes <div class="convvis-quiz"> holding the data as JSON (class names,
   each image with its true class and the model's answer, the published human baseline). This script shows one
   image at a time with a button per class, says after each answer whether it was right and what the model
   answered, keeps the running score, and at the end sets the reader's accuracy beside the model's on the same
   images and the published baseline. Nothing is sent anywhere; the page needs no network. */
(function () {
  "use strict";

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function percent(x) {
    return (100 * x).toFixed(1) + "%";
  }

  function bar(label, right, total, accuracy, kind) {
    var row = make("div", "convvis-quiz-bar convvis-quiz-bar-" + kind);
    row.appendChild(make("span", "convvis-quiz-bar-label", label));
    var track = make("span", "convvis-quiz-bar-track");
    var fill = make("span", "convvis-quiz-bar-fill");
    fill.style.width = (100 * accuracy).toFixed(1) + "%";
    track.appendChild(fill);
    row.appendChild(track);
    var value = make("span", "convvis-quiz-bar-value");
    if (total !== null) {
      value.appendChild(make("span", "convvis-quiz-count", String(right)));
      value.appendChild(document.createTextNode("/" + total + " = "));
    }
    value.appendChild(make("span", "convvis-quiz-accuracy", percent(accuracy)));
    row.appendChild(value);
    return row;
  }

  function build(root) {
    var source = root.querySelector("script.convvis-quiz-data");
    if (!source || root.querySelector(".convvis-quiz-ui")) return;
    var data = JSON.parse(source.textContent);
    var items = data.items, names = data.classes, n = items.length;
    var answers = [];

    var fallback = root.querySelector(".convvis-quiz-fallback");
    if (fallback) fallback.remove();
    var ui = make("div", "convvis-quiz-ui");
    var progress = make("p", "convvis-quiz-progress");
    var image = make("img", "convvis-quiz-image");
    image.width = 140;
    image.height = 140;
    var buttons = make("div", "convvis-quiz-buttons");
    var feedback = make("p", "convvis-quiz-feedback");
    feedback.setAttribute("aria-live", "polite");
    var running = make("p", "convvis-quiz-running");
    var result = make("div", "convvis-quiz-result");
    var reset = make("button", "convvis-quiz-reset", "처음부터 다시");
    reset.type = "button";
    names.forEach(function (name, c) {
      var b = make("button", "convvis-quiz-answer", name);
      b.type = "button";
      b.dataset.cls = String(c);
      b.addEventListener("click", function () { answer(c); });
      buttons.appendChild(b);
    });
    reset.addEventListener("click", function () {
      answers = [];
      feedback.textContent = "";
      refresh();
    });
    [progress, image, buttons, feedback, running, result, reset].forEach(function (el) { ui.appendChild(el); });
    root.appendChild(ui);

    function rightCount(key, upTo) {
      var k = 0;
      for (var i = 0; i < upTo; i++) if ((key === "you" ? answers[i] : items[i].model) === items[i].truth) k++;
      return k;
    }

    function answer(c) {
      var i = answers.length;
      if (i >= n) return;
      answers.push(c);
      var item = items[i];
      var mine = c === item.truth ? "정답" : "오답 (정답: " + names[item.truth] + ")";
      var model = names[item.model] + (item.model === item.truth ? " (맞힘)" : " (틀림)");
      feedback.textContent = (i + 1) + "번: " + mine + " · " + data.model + "의 답: " + model;
      refresh();
    }

    function refresh() {
      var done = answers.length;
      var finished = done >= n;
      Array.prototype.forEach.call(buttons.children, function (b) { b.disabled = finished; });
      running.textContent = "";
      if (done > 0) {
        running.appendChild(document.createTextNode("지금까지: "));
        running.appendChild(make("span", "convvis-quiz-right", String(rightCount("you", done))));
        running.appendChild(document.createTextNode("/" + done + " 맞힘 (" + data.model + "은 같은 문제에서 "
          + rightCount("model", done) + "/" + done + ")"));
      }
      result.textContent = "";
      if (!finished) {
        progress.textContent = (done + 1) + " / " + n + " — 이 옷은 무엇일까요?";
        image.src = items[done].image;
        image.alt = "퀴즈 이미지 " + (done + 1) + "번 (28×28 흑백)";
        image.hidden = false;
        return;
      }
      progress.textContent = n + "문제를 모두 풀었습니다.";
      image.hidden = true;
      var you = rightCount("you", n), model = rightCount("model", n);
      result.appendChild(bar("나", you, n, you / n, "you"));
      result.appendChild(bar(data.model + " (같은 " + n + "장)", model, n, model / n, "model"));
      result.appendChild(bar("발표된 사람 기준선", null, null, data.baseline.accuracy, "baseline"));
      result.appendChild(make("p", "convvis-quiz-note", "사람 기준선: " + data.baseline.protocol + " ("
        + data.baseline.source + "). " + n + "장은 작은 표본이라 한 문제가 " + percent(1 / n) + "포인트입니다."));
      var both = 0, onlyYou = 0, onlyModel = 0;
      items.forEach(function (item, i) {
        var youWrong = answers[i] !== item.truth, modelWrong = item.model !== item.truth;
        if (youWrong && modelWrong) both++;
        else if (youWrong) onlyYou++;
        else if (modelWrong) onlyModel++;
      });
      result.appendChild(make("p", "convvis-quiz-errors", "틀린 문제: 나만 틀림 " + onlyYou + "개, "
        + data.model + "만 틀림 " + onlyModel + "개, 둘 다 틀림 " + both + "개."));
    }

    refresh();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".convvis-quiz"), build);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
