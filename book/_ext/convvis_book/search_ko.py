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
import re
from dataclasses import dataclass

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


class SearchKorean(SearchEnglish):
    """Search language 'ko': Kiwi-based stems for Hangul, Porter stems and stop words for English."""
    lang = "ko"
    language_name = "Korean"
    js_stemmer_code = SearchEnglish.js_stemmer_code + JS_KOREAN_WRAPPER
    js_splitter_code = JS_SPLITTER

    def split(self, input: str) -> list[str]:  # noqa: A002 (Sphinx's signature)
        return list(split_korean(input))

    def stem(self, word: str) -> str:
        if re.search(rf"[{HANGUL}]", word):
            return word
        return super().stem(word)
