"""Korean full-text search for Sphinx: index stems found by the Kiwi analyser, match queries against them.

Sphinx has no Korean search language, so by default a word keeps its particle ("필터를") and the query
"필터" finds nothing. Here:

* index side (Python, at build time): each run of Hangul is analysed with ``kiwipiepy``; its particles
  and endings are dropped ("필터를" -> "필터", "활성화맵이" -> "활성화맵", "계산한" -> "계산"), and the
  noun part is also indexed by its prefixes of two or more syllables ("활성화맵" -> "활성", "활성화"), so
  a stem finds the compounds built on it. Latin words get Sphinx's English (Porter) stemming.
* query side (JavaScript, in the browser): a Hangul query word is reduced to its longest prefix that is
  an indexed term ("필터를" -> "필터"), so particles typed in the query do not hide the match; Latin
  words go through the same Porter stemmer as in English books.
"""
from __future__ import annotations

import functools
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.search.en import SearchEnglish

HANGUL = "\uac00-\ud7a3"
# Runs of Hangul, or of Latin letters/digits/underscore: the same split is done on the query side.
RUN_RE = re.compile(rf"[{HANGUL}]+|[^\W{HANGUL}]+")
HANGUL_RE = re.compile(rf"[{HANGUL}]")
# Kiwi tags that carry no content: particles (J*), endings (E*), verb/adjective-forming suffixes, copula,
# punctuation and symbols.
FUNCTION_TAGS = ("J", "E", "XSV", "XSA", "XSM", "VCP", "VCN", "S", "W", "Z", "UN")
NOUN_TAGS = ("NNG", "NNP", "NR", "NP", "XR", "XSN", "XPN")
MIN_PREFIX = 2


@functools.lru_cache(maxsize=1)
def kiwi():
    """The Kiwi analyser (its model ships with the ``kiwipiepy_model`` package; loads once, ~4 s)."""
    from kiwipiepy import Kiwi
    return Kiwi()


@dataclass(frozen=True)
class _Tok:
    tag: str
    start: int
    len: int


def _is_content(tag: str) -> bool:
    return not tag.startswith(FUNCTION_TAGS)


def _swallowed(tok: _Tok, tokens: list[_Tok]) -> bool:
    """A content morpheme that shares its whole syllable with a particle or ending, e.g. Kiwi's occasional
    "활성화를" -> 활성/화/르/ᆯ: the "르" only exists to carry the particle's jamo and is not part of the stem."""
    return _is_content(tok.tag) and any(not _is_content(o.tag) and o.start == tok.start and o.len >= tok.len
                                        for o in tokens)


def _run_terms(run: str, tokens: list[_Tok]) -> list[str]:
    """Index terms of one run of Hangul given its Kiwi tokens (offsets relative to the run)."""
    tokens = [t for t in tokens if not _swallowed(t, tokens)]
    content = [t for t in tokens if _is_content(t.tag)]
    if not content:
        return []
    stem = run[:max(t.start + t.len for t in content)]
    noun_end = 0
    for t in tokens:  # the leading noun part: consecutive noun-like morphemes from the start
        if not (t.tag.startswith(NOUN_TAGS) and t.start <= noun_end):
            break
        noun_end = max(noun_end, t.start + t.len)
    noun = run[:noun_end]
    terms = [stem, noun] + [noun[:i] for i in range(MIN_PREFIX, len(noun))]
    return [t for t in dict.fromkeys(terms) if t]


@functools.lru_cache(maxsize=50_000)
def split_korean(text: str) -> tuple[str, ...]:
    """Split text into index words: Kiwi stems (+ noun prefixes) for Hangul, plain words otherwise.

    Kiwi sees the whole text, so a particle cut off by punctuation ("(CNN)을") is still a particle.
    """
    runs = list(RUN_RE.finditer(text))
    if not any(HANGUL_RE.match(m.group()) for m in runs):
        return tuple(m.group() for m in runs)
    tokens = kiwi().tokenize(text)
    words: list[str] = []
    for m in runs:
        if not HANGUL_RE.match(m.group()):
            words.append(m.group())
            continue
        inside = [_Tok(t.tag, t.start - m.start(), t.len) for t in tokens if m.start() <= t.start < m.end()]
        words.extend(_run_terms(m.group(), inside))
    return tuple(words)


JS_SPLITTER = r"""
/* convvis-ko: split a query like the index (Hangul runs apart from Latin/digit runs). */
function splitQuery(query) {
  return query.match(/[\uac00-\ud7a3]+|(?:(?![\uac00-\ud7a3])[\p{Letter}\p{Number}_])+/gu) || [];
}
"""

JS_KOREAN_WRAPPER = r"""
/* convvis-ko: Hangul query words are reduced to their longest indexed prefix ("필터를" -> "필터"),
   Latin words use the Porter stemmer above. */
var EnglishStemmer = Stemmer;
Stemmer = function() {
  var english = new EnglishStemmer();
  function indexed(term) {
    var index = (typeof Search !== "undefined" && Search._index) || {};
    var has = Object.prototype.hasOwnProperty;
    return (index.terms && has.call(index.terms, term)) || (index.titleterms && has.call(index.titleterms, term));
  }
  this.stemWord = function(word) {
    if (!/[\uac00-\ud7a3]/.test(word)) return english.stemWord(word);
    for (var end = word.length; end > 0; end--) {
      if (indexed(word.slice(0, end))) return word.slice(0, end);
    }
    return word;
  };
};
"""


# --- ranking -------------------------------------------------------------------------------------------
# Sphinx scores a page by where a word occurs (title 15, text 5), not how often, so every page that mentions
# "적대적" once ties with chapter 9, and ties go alphabetically. The scorer below adds how often the query's
# stems occur on the page (counted at build time, appended to language_data.js as ConvvisTermCounts) and
# ranks the back matter (references, glossary, credits, ...) after the chapters unless its own title matches.
BACK_MATTER = ("book/intro", "book/how_to_use", "book/glossary", "book/references", "book/credits", "book/model_card")
MIN_COUNT = 3  # counts below this are not shipped (they add little and would fatten the file)
MAX_BOOST = 20

JS_SCORER = r"""
/* convvis-ko: ranking (see book/_ext/convvis_book/search_ko.py). */
var ConvvisTermCounts = (typeof ConvvisTermCounts !== "undefined") ? ConvvisTermCounts : {};
var ConvvisBackMatter = %(back_matter)s;
function convvisQueryStems(query) {
  var stemmer = new Stemmer();
  return splitQuery(query.toLowerCase()).map(function(w) { return stemmer.stemWord(w); });
}
function convvisScore(result, query) {
  var docname = result[0], title = result[1] || "", score = result[4];
  var pageTitle = title.split(" > ")[0].toLowerCase();
  var words = splitQuery(query.toLowerCase());
  if (ConvvisBackMatter.indexOf(docname) >= 0) {
    var own = words.length > 0 && words.every(function(w) { return pageTitle.indexOf(w) >= 0; });
    return own ? score : Math.min(score, 5) - 3;
  }
  var counts = ConvvisTermCounts[docname] || {}, tf = 0;
  convvisQueryStems(query).forEach(function(s) { tf += counts[s] || 0; });
  return score + Math.min(tf, %(max_boost)d);
}
if (typeof Scorer === "undefined") {
  var Scorer = {objNameMatch: 11, objPartialMatch: 6, objPrio: {0: 15, 1: 5, 2: -5}, objPrioDefault: 0,
                title: 15, partialTitle: 7, term: 5, partialTerm: 2};
}
Scorer.score = function(result) {
  var query = new URLSearchParams(window.location.search).get("q") || "";
  return convvisScore(result, query);
};
/* Search snippets: drop math (it is raw TeX such as \(x' = ...\) until MathJax runs). */
function convvisPatchSnippets() {
  if (typeof Search === "undefined" || Search.convvisPatched) return;
  var original = Search.htmlToText;
  Search.htmlToText = function(htmlString, anchor) {
    var doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll(".math, mjx-container, .MathJax").forEach(function(el) { el.replaceWith(" … "); });
    return original(doc.documentElement.outerHTML, anchor);
  };
  Search.convvisPatched = true;
}
convvisPatchSnippets();
if (typeof document !== "undefined") document.addEventListener("DOMContentLoaded", convvisPatchSnippets);
""" % {"back_matter": json.dumps(list(BACK_MATTER)), "max_boost": MAX_BOOST}


def page_term_counts(texts: list[str]) -> dict[str, int]:
    """How often each Hangul index term occurs in a page's texts (terms as the index makes them), >= MIN_COUNT."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w in split_korean(text) if HANGUL_RE.match(w) and len(w) > 1)
    return {term: n for term, n in sorted(counts.items()) if n >= MIN_COUNT}


def _page_texts(doctree: nodes.document) -> list[str]:
    skip = (nodes.literal_block, nodes.raw, nodes.comment, nodes.math, nodes.math_block)
    return [t.astext() for t in doctree.findall(nodes.Text)
            if not any(isinstance(p, skip) for p in _ancestors(t))]


def _ancestors(node: nodes.Node):
    while node.parent is not None:
        node = node.parent
        yield node


def write_term_counts(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: append the per-page term counts to _static/language_data.js (read by the scorer)."""
    if exception is not None or app.builder.format != "html" or not (app.config.language or "").startswith("ko"):
        return
    counts = {doc: page_term_counts(_page_texts(app.env.get_doctree(doc)))
              for doc in sorted(app.env.found_docs) if doc not in BACK_MATTER}
    target = Path(app.outdir) / "_static" / "language_data.js"
    with target.open("a", encoding="utf-8") as out:
        out.write("\nvar ConvvisTermCounts = " + json.dumps(counts, ensure_ascii=False, separators=(",", ":")) + ";\n")


def drop_glossary_index_entries(app: Sphinx, doctree: nodes.document) -> None:
    """doctree-read: the glossary's terms make index entries, which the search lists as a second glossary hit
    (above everything else: an index entry scores 50+). The book has no general index, so drop them."""
    if app.env.docname != app.config.convvis_glossary_doc:
        return
    for node in list(doctree.findall(addnodes.index)):
        if isinstance(node.parent, nodes.term):
            node.parent.remove(node)


class SearchKorean(SearchEnglish):
    """Search language 'ko': Kiwi-based stems for Hangul, Porter stems and stop words for English."""
    lang = "ko"
    language_name = "Korean"
    js_stemmer_code = SearchEnglish.js_stemmer_code + JS_KOREAN_WRAPPER + JS_SCORER
    js_splitter_code = JS_SPLITTER

    def split(self, input: str) -> list[str]:  # noqa: A002 (Sphinx's signature)
        return list(split_korean(input))

    def stem(self, word: str) -> str:
        if re.search(rf"[{HANGUL}]", word):
            return word
        return super().stem(word)
