"""Every page of the book in Chromium: loads cleanly offline, shows its figures, its static controls switch
the shown output, Hangul renders with a real font, the Colab/Binder links point at the page's notebook,
and the theme's interface speaks Korean."""
from __future__ import annotations

import io
import json
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from bookpages import ROOT, repository_url, toc_pages

PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]
# Strings the themes leave in English (or render badly) unless convvis_book translates them.
ENGLISH_UI = ["Skip to main content", "Back to top", "Search this book", "Launch on", "Launch interactive",
              "Toggle primary sidebar", "Toggle secondary sidebar", "Color mode", "System Settings",
              "Copy to clipboard", "Fullscreen mode", "Download this page", "Print to PDF", "previous page",
              "next page", "Contents", "© Copyright", "Link to this heading", "Show code cell", "Click to show",
              "Colab logo", "Binder logo"]



def korean_font_families() -> set[str]:
    """Font families that fontconfig says cover Korean (fonts-nanum provides them)."""
    out = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True, check=True).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


KOREAN_FONTS = korean_font_families()

VISIBLE_OUTPUT_JS = """(root) => {
  const shown = (el) => el.offsetParent !== null && el.getClientRects().length > 0;
  const imgs = [...root.querySelectorAll('img')].filter(shown).map(i => i.src.slice(-200));
  const pres = [...root.querySelectorAll('pre')].filter(shown).map(p => p.textContent);
  return JSON.stringify([imgs, pres]);
}"""

UI_TEXT_JS = """() => {
  const attrs = [...document.querySelectorAll('[title],[aria-label],[data-bs-title],[placeholder],[data-tooltip]')]
    .flatMap(el => ['title', 'aria-label', 'data-bs-title', 'placeholder', 'data-tooltip']
      .map(a => el.getAttribute(a)).filter(Boolean));
  const chrome = [...document.querySelectorAll('header, footer, nav, .bd-header-article, .skip-link, #pst-back-to-top, .prev-next-area, .bd-sidebar-secondary')]
    .map(el => el.innerText);
  return attrs.concat(chrome).join('\\n');
}"""


def ink(png: bytes) -> np.ndarray:
    """Grey levels of a screenshot as a float array (0 white .. 1 black)."""
    return 1.0 - np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64) / 255.0


def hangul_check(page) -> dict:
    """Screenshot the page's title and the same text in unassigned code points (always 'tofu' boxes or
    blanks); Hangul drawn with a real font must differ from that and put real ink on the page."""
    page.evaluate("""() => {
        const h = [...document.querySelectorAll('main h1')].find(e => e.getClientRects().length > 0);
        const t = h.cloneNode(false); t.id = 'tofu-probe';
        h.dataset.probe = '1';
        t.textContent = '\\uE000'.repeat(h.innerText.trim().length); h.after(t); }""")
    title = page.locator("main h1[data-probe]")
    text = title.inner_text().strip()
    real = ink(title.screenshot())
    tofu = ink(page.locator("#tofu-probe").screenshot())
    page.evaluate("document.getElementById('tofu-probe').remove()")
    width = min(real.shape[1], tofu.shape[1])
    height = min(real.shape[0], tofu.shape[0])
    diff = float(np.abs(real[:height, :width] - tofu[:height, :width]).mean())
    cdp = page.context.new_cdp_session(page)
    doc = cdp.send("DOM.getDocument")
    node = cdp.send("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": "main h1[data-probe]"})
    cdp.send("CSS.enable")
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    return {"text": text, "ink": float(real.mean()), "diff_from_tofu": diff, "fonts": [f["familyName"] for f in fonts]}


def switch_controls(page) -> list[dict]:
    """For every visible dropdown of a static explorer: pick another option, see whether the output changes."""
    results = []
    selects = page.locator(".cell_output .widget-dropdown select")
    for i in range(selects.count()):
        select = selects.nth(i)
        if not select.is_visible():
            continue
        box = select.locator("xpath=ancestor::div[contains(@class,'widget-vbox')][1]")
        options = select.locator("option").all_inner_texts()
        if len(options) < 2 or box.count() == 0:
            continue
        label = select.locator("xpath=preceding-sibling::label").all_inner_texts()
        before = box.evaluate(VISIBLE_OUTPUT_JS)
        current = select.evaluate("s => s.selectedIndex")
        select.select_option(index=(current + 1) % len(options))
        page.wait_for_timeout(200)
        after = box.evaluate(VISIBLE_OUTPUT_JS)
        results.append({"label": (label or ["?"])[0], "options": len(options),
                        "changed": before != after and json.loads(after) != [[], []]})
    return results


@pytest.fixture(scope="session")
def reports(open_page, book):
    cache: dict[str, dict] = {}

    def report(doc: str) -> dict:
        if doc in cache:
            return cache[doc]
        html = book / f"{doc}.html"
        if not html.is_file():
            pytest.fail(f"{doc}.html is not in the built book")
        page, log = open_page(f"{doc}.html")
        try:
            images = page.evaluate("""() => [...document.querySelectorAll('main img')].map(i =>
                ({src: i.src.slice(0, 80), ok: i.complete && i.naturalWidth > 0,
                  output: !!i.closest('.cell_output')}))""")
            links = page.evaluate("""() => [...document.querySelectorAll('a[href]')].map(a => a.href)""")
            cache[doc] = {**log, "images": images, "links": links,
                          "hangul": hangul_check(page), "controls": switch_controls(page),
                          "ui_text": page.evaluate(UI_TEXT_JS),
                          "glossary_links": page.locator("a.glossary-autolink").count()}
        finally:
            page.context.close()
        return cache[doc]

    return report


@pytest.mark.parametrize("doc", PAGES)
def test_page_loads_offline_without_console_errors(reports, doc):
    r = reports(doc)
    assert r["failed"] == [], f"local requests that failed on {doc}: {r['failed']}"
    assert r["page_errors"] == [], f"uncaught errors on {doc}: {r['page_errors']}"
    assert r["console_errors"] == [], f"console errors on {doc}: {r['console_errors']}"
    assert r["external"] == [], f"{doc} asked the network for {r['external']} (the book must work offline)"


@pytest.mark.parametrize("doc", PAGES)
def test_figures_present(reports, doc):
    images = reports(doc)["images"]
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"images that did not load on {doc}: {broken}"
    if doc in CHAPTERS:
        assert any(i["output"] for i in images), f"{doc} shows no output figure"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_static_controls_switch_output(reports, doc):
    controls = reports(doc)["controls"]
    if not controls:
        assert "explore(" not in (ROOT / f"{doc}.ipynb").read_text(encoding="utf-8"), \
            f"{doc} builds an explorer but shows no static control that switches"
        pytest.skip(f"{doc} builds no explorer")
    unchanged = [c["label"] for c in controls if not c["changed"]]
    assert not unchanged, f"choosing another option did not change the output on {doc}: {unchanged}"


@pytest.mark.parametrize("doc", PAGES)
def test_hangul_renders_with_a_font(reports, doc):
    h = reports(doc)["hangul"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in h["text"]), f"title of {doc} has no Hangul: {h['text']!r}"
    assert h["ink"] > 0.01, f"the title of {doc} is (nearly) blank: {h}"
    assert h["diff_from_tofu"] > 0.02, f"Hangul on {doc} renders like missing glyphs: {h}"
    assert set(h["fonts"]) & KOREAN_FONTS, f"no Hangul font among those drawing the title of {doc}: {h['fonts']}"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_launch_links_point_at_this_notebook(reports, doc):
    repo = repository_url().removeprefix("https://github.com/")
    links = reports(doc)["links"]
    colab = [u for u in links if u.startswith("https://colab.research.google.com/")]
    binder = [u for u in links if u.startswith("https://mybinder.org/")]
    assert colab == [f"https://colab.research.google.com/github/{repo}/blob/main/{doc}.ipynb"], colab
    assert len(binder) == 1 and binder[0].endswith(f"urlpath=tree/{doc}.ipynb") and f"/gh/{repo}/main" in binder[0], binder


@pytest.mark.parametrize("doc", PAGES)
def test_interface_is_korean(reports, doc):
    text = reports(doc)["ui_text"]
    left = [s for s in ENGLISH_UI if s in text]
    assert not left, f"English interface strings on {doc}: {left}"
    assert "으로 convvis" not in text, "the theme's 'By X' author line ('으로 X') is back"


def test_chapters_link_terms_to_the_glossary(reports):
    linked = {doc: reports(doc)["glossary_links"] for doc in CHAPTERS}
    assert linked and all(n > 0 for n in linked.values()), f"glossary links per chapter: {linked}"


def test_glossary_links_land_on_terms(book):
    """Every automatic glossary link points at an existing term of the glossary page."""
    ids = set(re.findall(r'<dt id="(term-[^"]+)"', (book / "book" / "glossary.html").read_text(encoding="utf-8")))
    assert len(ids) >= 30
    for doc in PAGES:
        html = (book / f"{doc}.html").read_text(encoding="utf-8")
        for href in re.findall(r'<a class="glossary-autolink[^"]*" href="([^"]+)"', html):
            path, anchor = href.split("#")
            assert path.endswith("glossary.html") and anchor in ids, f"{doc}: {href}"


def test_no_cdn_in_built_html(book):
    """No page loads a script, stylesheet or icon from outside the book."""
    bad = {}
    for html in book.rglob("*.html"):
        text = html.read_text(encoding="utf-8", errors="replace")
        found = re.findall(r'<script\b[^>]*\bsrc="(https?:[^"]+)"', text)
        for tag in re.findall(r"<link\b[^>]*>", text):
            rel = re.search(r'\brel="([^"]+)"', tag)
            href = re.search(r'\bhref="(https?:[^"]+)"', tag)
            if href and rel and set(rel.group(1).split()) & {"stylesheet", "preload", "modulepreload", "icon"}:
                found.append(href.group(1))
        if found:
            bad[str(html.relative_to(book))] = found
    assert not bad, f"pages that load from the network: {bad}"


def test_no_visible_single_option_dropdown(open_page, book):
    """A static control with one option switches nothing: the explorer hides it (its value is in the figure).
    Every chapter whose notebook builds an explorer must show at least one working multi-option dropdown,
    so a book whose widgets failed to render cannot pass by showing no dropdown at all."""
    single, missing = {}, []
    for doc in CHAPTERS:
        page, _ = open_page(f"{doc}.html")
        try:
            found = page.evaluate("""() => [...document.querySelectorAll('.cell_output .widget-dropdown select')]
                .filter(s => s.offsetParent !== null)
                .map(s => ({options: s.options.length,
                            label: (s.closest('.widget-dropdown').querySelector('label') || {}).innerText || '?'}))""")
        finally:
            page.context.close()
        if [f for f in found if f["options"] < 2]:
            single[doc] = [f["label"] for f in found if f["options"] < 2]
        source = (ROOT / f"{doc}.ipynb").read_text(encoding="utf-8")
        if "explore(" in source and not [f for f in found if f["options"] >= 2]:
            missing.append(doc)
    assert not single, f"visible dropdowns with a single option: {single}"
    assert not missing, f"chapters that build an explorer but show no multi-option dropdown: {missing}"