"""What a reader sees of the figures and the layout: every text in every figure (the static figures and every
pre-rendered widget view) is at least 9 CSS px tall at a 1280-px window, no page scrolls sideways on a
390-px phone, display math is never cut off, no math is left raw, and a chapter page stays under 5 MB.

The size of a figure's text is measured, not guessed: when convvis_lib draws a figure it records the smallest
text it drew, in px at the saved dpi (a PNG text chunk or JPEG comment, see convvis_lib.plot.figure_image);
here each image's record is multiplied by its displayed width / natural width in Chromium. Hidden widget
views (an explorer shows one of its pre-rendered views at a time) are measured in place of the visible
view, so they get the same width.

    python -m pytest -q -p no:cacheprovider tests/browser/test_figures.py -k 04_occlusion   # one chapter
"""
from __future__ import annotations

import base64
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from bookpages import BUILD, ROOT, toc_pages

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from convvis_lib.plot import recorded_fonts  # noqa: E402
from postbuild import LIMIT_MB, page_weight  # noqa: E402

PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]
MIN_TEXT_PX = 9.0
DESKTOP = (1280, 900)
PHONE = (390, 844)

# Every image in a cell output as shown, then every image of every pre-rendered widget view (from the page's
# widget state) as it would be shown: put in place of a visible view, measured, and the visible view restored.
MEASURE_JS = """async () => {
  const measure = (img, where) => ({src: img.getAttribute('src'), natural: img.naturalWidth,
                                    shown: img.getBoundingClientRect().width, where});
  const visible = [...document.querySelectorAll('main .cell_output img')]
    .filter(i => i.getClientRects().length > 0);
  const out = visible.map(i => measure(i, 'figure'));
  const stateTag = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  if (!stateTag) return out;
  const state = JSON.parse(stateTag.textContent).state;
  const views = Object.values(state).filter(m => m.model_name === 'HTMLModel' && /<img/.test(m.state.value || ''));
  const anchor = visible.map(i => i.closest('.widget-html-content')).find(Boolean);
  if (!anchor) return out.concat(views.map(v => ({src: null, natural: 0, shown: 0, where: 'no visible view'})));
  const shown = anchor.innerHTML;
  for (const v of views) {
    anchor.innerHTML = v.state.value;
    const imgs = [...anchor.querySelectorAll('img')];
    await Promise.all(imgs.map(i => i.decode().catch(() => null)));
    imgs.forEach(i => out.push(measure(i, 'widget view')));
  }
  anchor.innerHTML = shown;
  return out;
}"""


def image_bytes(src: str, page_url: str) -> bytes:
    """The bytes behind an <img src>: a data URI, or a file of the built book."""
    if src.startswith("data:"):
        return base64.b64decode(src.split(",", 1)[1])
    path = urlparse(page_url).path
    target = (BUILD / unquote(path).lstrip("/")).parent / unquote(urlparse(src).path)
    return target.resolve().read_bytes()


@pytest.fixture(scope="session")
def figure_sizes(open_page):
    cache: dict[str, list[dict]] = {}

    def sizes(doc: str) -> list[dict]:
        if doc not in cache:
            page, _ = open_page(f"{doc}.html", viewport=DESKTOP)
            try:
                found = page.evaluate(MEASURE_JS)
                url = page.url
            finally:
                page.context.close()
            for f in found:
                record = recorded_fonts(image_bytes(f["src"], url)) if f["src"] and f["natural"] else None
                f["record"] = record
                f["src"] = (f["src"] or "")[-60:]
                if record and record["min_font_px"] is not None:
                    f["text_px"] = round(record["min_font_px"] * f["shown"] / f["natural"], 2)
            cache[doc] = found
        return cache[doc]

    return sizes


def too_small(figures: list[dict]) -> list[str]:
    """Human-readable failures: figures without a record, and figures whose smallest text is below 9 px."""
    bad = []
    for f in figures:
        if f["record"] is None:
            bad.append(f"{f['where']} {f['src']!r}: no font record (not drawn through convvis_lib.plot)")
        elif f.get("text_px") is not None and f["text_px"] < MIN_TEXT_PX:
            bad.append(f"{f['where']} {f['src']!r}: {f['record']['text']!r} is {f['text_px']} px "
                       f"({f['record']['min_font_px']} px at {f['shown']:.0f}/{f['natural']} px)")
    return bad


@pytest.mark.parametrize("doc", CHAPTERS)
def test_figure_text_at_least_9px(figure_sizes, doc):
    figures = figure_sizes(doc)
    assert figures, f"no figure measured on {doc}"
    bad = too_small(figures)
    assert not bad, f"{len(bad)} of {len(figures)} figures on {doc} have text under {MIN_TEXT_PX} px:\n" + "\n".join(bad)


# The page's width, and what makes it wider than the window: from <body> down, the child whose hiding brings the
# page back inside the window (the deepest such element is named; often a long unbreakable word or formula).
PHONE_JS = """() => {
  const width = () => document.documentElement.scrollWidth, W = window.innerWidth, page = width();
  let node = document.body, culprit = null;
  while (node && page > W) {
    const next = [...node.children].find(k => {
      const old = k.style.display; k.style.display = 'none';
      const fits = width() <= W; k.style.display = old;
      return fits;
    });
    if (!next) break;
    culprit = node = next;
  }
  const where = culprit ? culprit.tagName + '.' + culprit.className + ': ' + (culprit.textContent || '').trim().slice(0, 120) : null;
  return {page, window: W, culprit: where};
}"""


@pytest.mark.parametrize("doc", PAGES)
def test_no_sideways_scroll_on_a_phone(open_page, doc):
    page, _ = open_page(f"{doc}.html", viewport=PHONE)
    try:
        r = page.evaluate(PHONE_JS)
    finally:
        page.context.close()
    assert r["page"] <= r["window"], f"{doc} is {r['page']} px wide in a {r['window']}-px window: {r['culprit']}"


MATH_JS = """() => {
  const main = document.querySelector('main').cloneNode(true);
  main.querySelectorAll('pre, code, script, style, mjx-container, .highlight, textarea').forEach(e => e.remove());
  const cut = [...document.querySelectorAll('main mjx-container[display="true"]')].filter(m => {
    const box = m.closest('div.math') || m.parentElement;
    const overflow = getComputedStyle(box).overflowX;
    return box.scrollWidth > box.clientWidth + 1 && !['auto', 'scroll'].includes(overflow);
  }).map(m => m.textContent.slice(0, 40));
  return {text: main.textContent, typeset: document.querySelectorAll('main mjx-container').length, cut};
}"""
RAW_MATH = re.compile(r"\$[^$\n]{1,120}?\$|\\\(|\\\[")


@pytest.mark.parametrize("doc", CHAPTERS)
def test_math_is_typeset_and_not_cut_off(open_page, doc):
    page, _ = open_page(f"{doc}.html", viewport=DESKTOP)
    try:
        # MathJax loads deferred: wait until it has started (pages with math), then until its first typeset ends
        page.wait_for_function("() => !document.querySelector('.math') || (window.MathJax && MathJax.startup"
                               " && MathJax.startup.promise)", timeout=30000)
        page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
        r = page.evaluate(MATH_JS)
    finally:
        page.context.close()
    raw = sorted({m.group(0) for m in RAW_MATH.finditer(r["text"])})
    assert not raw, f"math left raw on {doc} (is it inside an HTML block such as <p>?): {raw[:8]}"
    assert not r["cut"], f"display math cut off on {doc}: {r['cut']}"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_chapter_page_at_most_5_mb(book, doc):
    """The page with its pre-rendered widget views, and everything it loads compressed, stays under the limit."""
    weight = page_weight(book / f"{doc}.html", book)
    assert weight["own"] <= LIMIT_MB * 1e6, f"{doc}.html is {weight['own'] / 1e6:.2f} MB"
    assert weight["transfer"] <= LIMIT_MB * 1e6, f"{doc} transfers {weight['transfer'] / 1e6:.2f} MB"
