"""Korean search in the built book: the index holds stems (Python side, at build time) and the browser
reduces a query with particles to an indexed stem (JavaScript side)."""
from __future__ import annotations

import json
import re

import pytest

from bookpages import toc_pages

# Stems that occur in the book mostly with particles or inside compounds.
STEMS = ["필터", "활성화", "그래디언트", "정확도", "모델", "이미지"]
HANGUL = "\uac00-\ud7a3"


@pytest.fixture(scope="module")
def index(book):
    text = (book / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1:text.rindex(")")])


@pytest.fixture(scope="module")
def page_texts(book):
    """Visible text of each indexed page (what Sphinx fed to the index, near enough)."""
    texts = {}
    for doc in toc_pages():
        html = (book / f"{doc}.html").read_text(encoding="utf-8")
        main = html[html.find('<article class="bd-article"'):html.rfind("</article>")]
        main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
        texts[doc] = re.sub(r"<[^>]+>", " ", main)
    return texts


def docs_for(index, term: str) -> set[str]:
    hits = set()
    for table in (index["terms"], index["titleterms"]):
        found = table.get(term, [])
        hits |= {index["docnames"][i] for i in ([found] if isinstance(found, int) else found)}
    return hits


def test_index_has_stems_not_particles(index):
    terms = index["terms"]
    assert "필터" in terms and "활성화" in terms
    assert "필터를" not in terms and "활성화를" not in terms


@pytest.mark.parametrize("stem", STEMS)
def test_every_page_using_a_word_is_found_by_its_stem(index, page_texts, stem):
    """A page that has the stem at the start of a word (필터를, 활성화맵, ...) is found by the stem alone."""
    using = {doc for doc, text in page_texts.items() if re.search(rf"(?<![{HANGUL}]){stem}", text)}
    assert using, f"no page uses {stem}"
    missing = using - docs_for(index, stem)
    assert not missing, f"pages with {stem}… that the index does not return for {stem}: {sorted(missing)}"


def search_results(open_page, query: str) -> list[str]:
    page, log = open_page(f"search.html?q={query}")
    try:
        page.wait_for_selector("#search-results .search-summary:not(:empty)", timeout=15000)
        hrefs = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.getAttribute('href'))")
        assert log["page_errors"] == [] and log["console_errors"] == [], log
    finally:
        page.context.close()
    return sorted({h.split("#")[0].split("?")[0].removesuffix(".html") for h in hrefs})


@pytest.mark.parametrize("query,stem", [("필터를", "필터"), ("활성화맵을", "활성화"), ("그래디언트는", "그래디언트")])
def test_browser_query_with_particle_finds_the_stem_pages(open_page, index, query, stem):
    with_particle = search_results(open_page, query)
    assert with_particle, f"search for {query} found nothing"
    assert set(with_particle) <= docs_for(index, stem) | docs_for(index, query), with_particle
    assert set(search_results(open_page, stem)) >= set(with_particle)


def test_browser_stem_query_finds_pages_with_particles(open_page, page_texts):
    """The query 필터 finds every page where 필터 appears only with a particle or inside a compound."""
    only_inflected = {doc for doc, text in page_texts.items()
                      if re.search(rf"(?<![{HANGUL}])필터[{HANGUL}]", text)}
    found = set(search_results(open_page, "필터"))
    assert only_inflected and only_inflected <= found, (sorted(only_inflected - found), sorted(found))


def search_listing(open_page, query: str) -> list[tuple[str, str]]:
    """(page, snippet) of every result, in the order the search page lists them."""
    page, log = open_page(f"search.html?q={query}")
    try:
        page.wait_for_selector("#search-results .search-summary:not(:empty)", timeout=15000)
        rows = page.eval_on_selector_all("#search-results ul.search li", """items => items.map(li => {
            const a = li.querySelector('a'); const p = li.querySelector('p');
            return [a ? a.getAttribute('href') : '', p ? p.textContent : ''];
        })""")
        assert log["page_errors"] == [] and log["console_errors"] == [], log
    finally:
        page.context.close()
    return [(h.split("#")[0].split("?")[0].removesuffix(".html"), s) for h, s in rows]


def test_chapter_about_a_word_ranks_first_and_the_glossary_once(open_page):
    results = search_listing(open_page, "적대적")
    pages = [doc for doc, _ in results]
    assert pages and pages[0] == "notebooks/09_fooling", pages[:5]
    assert pages.count("book/glossary") <= 1, pages
    raw = [s for _, s in results if "\\(" in s or "\\[" in s]
    assert not raw, f"search snippets with raw TeX: {raw[:3]}"
