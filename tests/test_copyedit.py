"""Copy-edit rules for the Korean text: every notebook's markdown cells and every book page (issue 14 §2).

Each rule is a small function from prose to findings, unit-tested on good and bad strings first; the corpus
tests then run every rule over the book and name the file, the line (cell and line for notebooks) and the text.

The markdown is parsed with markdown-it (the parser MyST uses), so code spans, code blocks, math and URLs are
never read as prose, and a bold span that MyST would not render is seen exactly as MyST sees it.
Glossary decisions: CONTRIBUTING.md (table) and _scratch/COORD.md (issue 14)."""
from __future__ import annotations

import functools
import html
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PAGES = sorted((ROOT / "book").glob("*.md"))
LIBRARY = sorted((ROOT / "convvis_lib").rglob("*.py"))

# --- prose extraction -------------------------------------------------------------------------------------

BOLD_OPEN, BOLD_CLOSE, CODE, MATH = "\x01", "\x02", "\u27e6\u27e7", "\u27e6m\u27e7"  # markers, never in text
EPSILONS = {r"\epsilon", r"\varepsilon", "ε", "ϵ"}
DIRECTIVE = re.compile(r"\{([\w:-]+)\}")  # ```{glossary}, ```{note}, ... : their body is prose
_MD = MarkdownIt("commonmark", {"html": True}).enable("table").use(dollarmath_plugin)


@dataclass
class Prose:
    """One paragraph-like piece of prose; `text` keeps bold markers and newlines, `line` is its first line."""

    line: int
    text: str


@functools.lru_cache(maxsize=1)
def substitutions() -> dict[str, str]:
    """The MyST substitutions the book extension computes ({{ fashionnet_test_accuracy }} -> "92.58%")."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from convvis_book import numbers
    return numbers.book_numbers()


def substitute(text: str) -> str:
    """Replace {{ name }} by its value, so particles after it are checked against the number the reader sees."""
    if "{{" not in text:
        return text
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: substitutions().get(m.group(1), CODE), text)


def _inline_prose(children) -> str:
    out = []
    for tok in children:
        if tok.type == "text":
            out.append(substitute(tok.content))
        elif tok.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif tok.type == "code_inline":
            out.append(CODE)
        elif tok.type == "math_inline":
            out.append("ε" if tok.content.strip() in EPSILONS else MATH)
        elif tok.type == "strong_open":
            out.append(BOLD_OPEN)
        elif tok.type == "strong_close":
            out.append(BOLD_CLOSE)
    return "".join(out)


def _html_prose(block: str) -> str:
    """Visible text of a raw HTML block (e.g. a <details> solution), <b>/<strong> kept as bold markers."""
    block = re.sub(r"<(code|pre)>.*?</(code|pre)>", CODE, block, flags=re.S)
    block = re.sub(r"\\\(.*?\\\)|\$[^$\n]+\$", lambda m: "ε" if m.group(0).strip("$\\()") in EPSILONS else MATH, block)
    block = re.sub(r"<(b|strong)>", BOLD_OPEN, block)
    block = re.sub(r"</(b|strong)>", BOLD_CLOSE, block)
    return html.unescape(re.sub(r"<[^>]+>", "", block))


def prose_of(markdown: str, first_line: int = 1) -> list[Prose]:
    """All prose in a markdown text, directive bodies (glossary, admonitions) included, code and math excluded."""
    found = []
    for tok in _MD.parse(markdown):
        line = first_line + (tok.map[0] if tok.map else 0)
        if tok.type == "inline":
            found.append(Prose(line, _inline_prose(tok.children or [])))
        elif tok.type == "html_block":
            found.append(Prose(line, _html_prose(tok.content)))
        elif tok.type == "fence" and DIRECTIVE.match(tok.info.strip()):
            body = "\n".join("" if re.match(r"\s*:[\w-]+:", ln) else ln for ln in tok.content.splitlines())
            found.extend(prose_of(body, line + 1))
    return found


def plain(text: str) -> str:
    return text.replace(BOLD_OPEN, "").replace(BOLD_CLOSE, "")


# --- the rules: each takes prose (with markers) and yields (offset, offending text, advice) -----------------

Finding = tuple[int, str, str]
END = r"(?=[\s.,:;!?)\]'\"”’…·/]|$)"  # a particle ends a word here
PARTICLES = ("이라고|라고|이라는|라는|이란|입니다|이다|에서|에게|으로서|으로써|으로|로서|로써|로|처럼|보다|까지|부터|마다|"
             "은|는|이|가|을|를|과|와|의|에|도|만|이나|나|이며|며")
DETACHED = re.compile(BOLD_CLOSE + r"(?:[ \t]+|[ \t]*\n[ \t]*)(" + PARTICLES + ")" + END)


def rule_detached_particle(text: str) -> Iterator[Finding]:
    """`**용어(term)** 을` renders a space before the particle; `**용어**(term)을` does not.

    A bold lead-in that ends a sentence (`**결론.** 이 그림은`) is followed by a new sentence, not a particle."""
    for m in DETACHED.finditer(text):
        start = text.rfind(BOLD_OPEN, 0, m.start())
        term = text[start + 1 : m.start()]
        if term.rstrip().endswith((".", "?", "!", ":", "다")):
            continue
        yield start, f"**{plain(term)}** {m.group(1)}", "write **용어**(term)조사 with no space before the particle"


def rule_unrendered_bold(text: str) -> Iterator[Finding]:
    """`**…(CNN)**의` is not bold in MyST (a closing ** after punctuation must be followed by space or punctuation)."""
    for m in re.finditer(r"\*\*", text):
        yield m.start(), plain(text[max(0, m.start() - 20) : m.end() + 20]).strip(), (
            "** shows literally (a ** next to punctuation and a letter): close bold before the parenthesis, "
            "e.g. **용어**(term)을")


# Korean reading of the last sound: V = ends in a vowel, L = in ㄹ, C = in another consonant.
DIGIT_SOUND = {"0": "C", "1": "L", "2": "V", "3": "C", "4": "V", "5": "V", "6": "C", "7": "L", "8": "L", "9": "V"}
# (form after a consonant, form after a vowel); after ㄹ the 으로-family takes the vowel form.
PARTICLE_PAIRS = [("을", "를"), ("은", "는"), ("이", "가"), ("과", "와"), ("으로", "로"), ("이라고", "라고"),
                  ("이라는", "라는")]


def final_sound(number: str) -> str:
    """V/L/C for the Korean reading of a number: 0.840 → 영(C), 10 → 십(C), 1 000 → 천(C), 7 → 칠(L), 25% → 퍼센트(V)."""
    if number.endswith("%"):
        return "V"
    digits = re.sub(r"[ ,\u202f\u2009]", "", number)
    if "." in digits:
        return DIGIT_SOUND[digits[-1]]  # the decimals are read digit by digit: 0.840 = 영 점 팔 사 영
    stripped = digits.rstrip("0")
    zeros = len(digits) - len(stripped)
    if not stripped:
        return "C"  # 영
    return DIGIT_SOUND[digits[-1]] if zeros == 0 else "C"  # 십, 백, 천, 만, 억 all end in a consonant


def right_particle(sound: str, particle: str) -> str | None:
    for after_consonant, after_vowel in PARTICLE_PAIRS:
        if particle in (after_consonant, after_vowel):
            if after_consonant == "으로":
                return after_consonant if sound == "C" else after_vowel
            return after_vowel if sound == "V" else after_consonant
    return None


PAIR_ALTERNATIVES = "|".join(sorted({p for pair in PARTICLE_PAIRS for p in pair}, key=len, reverse=True))
NUMBER_PARTICLE = re.compile(r"(?<![A-Za-z_\-./\d])(\d+(?:[ ,\u202f\u2009]\d{3})*(?:\.\d+)?%?)(" + PAIR_ALTERNATIVES + ")" + END)
EPSILON_PARTICLE = re.compile(r"ε(" + PAIR_ALTERNATIVES + ")" + END)


def rule_particle_after_number(text: str) -> Iterator[Finding]:
    """ε is read 엡실론 (ㄴ): ε을, ε은, ε이, ε으로. Numbers by their reading: 0.840으로, 3으로, 1로, 2를, 10을, 5%를.

    Numbers glued to Latin letters or a hyphen (conv5, ResNet-18, Lite0) are names and may be read in English, and a
    denominator (1/16 = 16분의 1) is not read last: both skipped."""
    text = plain(text)
    for m in EPSILON_PARTICLE.finditer(text):
        good = right_particle("C", m.group(1))
        if good != m.group(1):
            yield m.start(), m.group(0), f"ε is read 엡실론: write ε{good}"
    for m in NUMBER_PARTICLE.finditer(text):
        number, particle = m.groups()
        good = right_particle(final_sound(number), particle)
        if good != particle:
            yield m.start(), m.group(0), f"{number} is read with a final {final_sound(number)}: write {number}{good}"


def reference_surnames() -> set[str]:
    """First and other authors' surnames in book/references.md ("Zeiler, M. D., & Fergus, R.")."""
    text = (ROOT / "book" / "references.md").read_text(encoding="utf-8")
    return set(re.findall(r"([A-Z][A-Za-z'\-]+), (?:[A-Z]\.)", text))


YEAR_AFTER = re.compile(r"\s*[,(]?\s*(?:19|20)\d\d")


def glossary_avoid() -> dict[str, str]:
    """Words to avoid -> the glossary's rendering, from the third column of the one glossary table (CONTRIBUTING.md)."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    table = text.split("<!-- glossary-table:start -->")[1].split("<!-- glossary-table:end -->")[0]
    avoid = {}
    for line in table.strip().splitlines()[2:]:
        english, korean, bad = [c.strip() for c in line.strip().strip("|").split("|")]
        avoid.update({word.strip(): f"{english} → {korean}" for word in bad.split(",") if word.strip()})
    return avoid


def _literal(word: str) -> re.Pattern:
    return re.compile(r"\s+".join(re.escape(w) for w in word.split()))


TABLE_VARIANTS = [(_literal(word), advice) for word, advice in glossary_avoid().items()]
# Variants that need context to be told from correct text ("일정한 간격으로" is fine; "패치 크기와 간격" is stride).
CONTEXT_VARIANTS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"(?:단위|노트북|브라우저|통합|회귀|모든)\s?시험|(?<![가-힣])시험\s?(?:데이터|표본|손실|오차|집합|샘플)"),
     "test → 테스트 (단위 테스트, 테스트 세트)"),
    (re.compile(r"목표\s?(?:레이블|범주)"), "target → 대상"),
    (re.compile(r"(?:크기|패치)\s*(?:와|과|,)\s*간격|간격\s+(?:\d|\u27e6)|간격[을를이가]\s*\d|"
                r"stride[^.\n]{0,20}간격|간격[^.\n]{0,20}stride"), "stride → 보폭(stride)"),
    (re.compile(r"(?i)fashion\s?net"), "the model's name is `fashionnet` in code font (<code>fashionnet</code> in HTML)"),
    (re.compile(r"\bet al\b"), "et al. → 외 (Simonyan 외, 2014)"),
]


def rule_glossary_variant(text: str, surnames: set[str] | None = None) -> Iterator[Finding]:
    """Non-glossary renderings; 등 after an author (a surname from references.md, or followed by a year) → 외."""
    text = plain(text)
    seen = set()
    for pattern, advice in TABLE_VARIANTS + CONTEXT_VARIANTS:
        for m in pattern.finditer(text):
            if m.start() not in seen:
                seen.add(m.start())
                yield m.start(), m.group(0), advice
    names = reference_surnames() if surnames is None else surnames
    for m in re.finditer(r"([A-Z][A-Za-z'\-]+) 등(?:은|이|의|도|과|에|을)?(?![가-힣])", text):
        if m.group(1) in names or YEAR_AFTER.match(text, m.end()):
            yield m.start(), m.group(0), f"et al. → 외: {m.group(1)} 외"


REFERENCE_STYLE = re.compile(r"- (?:(?:van der |de )?[A-Z][\w'\-]+, (?:[A-Z]\.[ -]?)+(?:, |, & | & )?)+\((?:(?:19|20)\d\d|연도 없음)\)\. "
                             r"|- [\w .]+ \((?:(?:19|20)\d\d|연도 없음)\)\. ")
REFERENCE_HEADING = re.compile(r"^#+ 참고 문헌", re.M)


def reference_list_entries(markdown: str) -> list[str]:
    """The "- " entries under a "## 참고 문헌" heading, each on one line."""
    heading = REFERENCE_HEADING.search(markdown)
    if heading is None:
        return []
    entries = re.split(r"\n(?=- )", "\n" + markdown[heading.end():])
    return [" ".join(e.split()) for e in entries if e.strip().startswith("- ")]


EMOJI = re.compile("[\U0001F000-\U0001FAFF\uFE0F\u200D\u20E3\u231A\u231B\u23E9-\u23EC\u23F0\u23F3\u25FD\u25FE"
                   "\u2614\u2615\u2648-\u2653\u267F\u2693\u26A0\u26A1\u26AA\u26AB\u26BD\u26BE\u26C4\u26C5\u26CE"
                   "\u26D4\u26EA\u26F2\u26F3\u26F5\u26FA\u26FD\u2705\u270A\u270B\u2728\u274C\u274E\u2753-\u2755"
                   "\u2757\u2795-\u2797\u27B0\u27BF\u2B1B\u2B1C\u2B50\u2B55]")


def rule_emoji(text: str) -> Iterator[Finding]:
    """No emoji (🚀, ⚠️, ✅, …): the book's fonts have none and a reader sees a box; use words."""
    for m in EMOJI.finditer(text):
        yield m.start(), text[max(0, m.start() - 15) : m.end() + 15].strip(), f"emoji U+{ord(m.group(0)):04X}: use words"


PROSE_RULES: list[Callable[[str], Iterator[Finding]]] = [
    rule_detached_particle, rule_unrendered_bold, rule_particle_after_number, rule_glossary_variant, rule_emoji]


# --- unit tests of the rules ------------------------------------------------------------------------------

def bold(md: str) -> str:
    """Prose of one markdown paragraph, as the corpus test sees it."""
    return "\n\n".join(p.text for p in prose_of(md))


def hits(rule, md: str) -> list[str]:
    return [found for _, found, _ in rule(bold(md))]


@pytest.mark.parametrize("md", [
    "**활성화 맵(activation map)** 이라고 부릅니다.", "**섭동(perturbation)** 을 더합니다.", "**83.5%** 입니다.",
    "일정한 **간격(stride)**\n으로 옮깁니다.", "<p><b>로짓</b> 입니다.</p>"])
def test_detached_particle_found(md):
    assert len(hits(rule_detached_particle, md)) == 1, bold(md)


@pytest.mark.parametrize("md", [
    "**활성화 맵**(activation map)이라고 부릅니다.", "**결론.** 이 그림은 보여 줍니다.", "**무작위** 부호를 씁니다.",
    "**흐리게(blur)** 하는 연산", "`f(**kw)` 을 부릅니다.", "**왜 그럴까?** 이 장에서", "**정확도는 높습니다** 그러나",
    "**굵게**\n\n이 문단은 새 문단입니다.", "**배치**로 계산합니다."])
def test_detached_particle_not_found(md):
    assert hits(rule_detached_particle, md) == [], bold(md)


def test_unrendered_bold_found_and_not():
    assert hits(rule_unrendered_bold, "**합성곱 층(conv layer)**의 출력") != []
    assert hits(rule_unrendered_bold, "**합성곱 층**(conv layer)의 출력과 **`fashionnet`** 모델") == []
    assert hits(rule_unrendered_bold, "`a ** 2`와 $x^{**}$") == []


@pytest.mark.parametrize("number, sound", [("0.840", "C"), ("0.5", "V"), ("1", "L"), ("2", "V"), ("3", "C"),
                                           ("10", "C"), ("20", "C"), ("100", "C"), ("1 000", "C"), ("10 000", "C"),
                                           ("17", "L"), ("0", "C"), ("91.8%", "V"), ("0.437", "L"), ("2014", "V")])
def test_final_sound(number, sound):
    assert final_sound(number) == sound


@pytest.mark.parametrize("md, n", [
    ("ε를 바꿉니다.", 1), ("ε로 나눕니다.", 1), ("ε가 크면", 1), ("ε는 작습니다.", 1), ("$\\varepsilon$를 키우면", 1),
    ("정확도가 0.840로 떨어집니다.", 1), ("10로 나누면", 1), ("3로 바꾸고 2을 더하면", 2), ("1 000를 넘고", 1),
    ("ε을 바꿉니다. ε으로 나눕니다. ε이 크면 ε은 작고 ε과 함께", 0), ("0.840으로 떨어지고 1로 나누고 7로, 8로, 2로", 0),
    ("10을 넘고 5%를 넘고 3가지 방법, 2가지", 0), ("conv5를 보고 ResNet-18을, Lite0는", 0), ("`eps`를 바꾸면", 0),
    ("2이상은 없습니다", 0), ("(0.2)로 바뀝니다", 0), ("1/8~1/16로 줄어듭니다", 0)])
def test_particle_after_number(md, n):
    assert len(hits(rule_particle_after_number, md)) == n, hits(rule_particle_after_number, md)


@pytest.mark.parametrize("md", [
    "라벨을 섞습니다.", "데이터 세트 전체", "모델 파라미터를", "시험 세트의 정확도", "시험 정확도 92%", "단위 시험과",
    "테스트 셋", "표적 클래스", "목표 클래스로 바꾸는", "일정한 간격(stride)으로", "패치 크기와 간격", "간격 16이면",
    "간격을 4로 넓히면", "피처 맵", "퍼플렉시티", "FashionNet은", "fashionnet 모델", "Simonyan 등(2014)",
    "Szegedy 등은", "Zeiler et al. (2014)", "Wattenberg 등, 2016"])
def test_glossary_variant_found(md):
    assert len(list(rule_glossary_variant(bold(md), {"Simonyan", "Szegedy", "Zeiler"}))) == 1, md


@pytest.mark.parametrize("md", [
    "레이블을 섞습니다.", "데이터셋 전체", "모델 매개변수를", "테스트 세트의 정확도", "합성곱 특징을 시험한 이유",
    "대상 클래스", "이 장의 목표입니다", "일정한 간격으로 옮깁니다", "보폭(stride) 4", "특징 맵", "퍼플렉서티",
    "`fashionnet`은", "`FashionNet` 클래스", "Fashion-MNIST", "Simonyan 외, 2014", "ReLU, Sigmoid 등의 함수",
    "AlexNet, VGG16 등"])
def test_glossary_variant_not_found(md):
    assert list(rule_glossary_variant(bold(md), {"Simonyan", "Szegedy", "Zeiler"})) == [], md


def test_substitutions_are_read_as_their_values():
    value = substitutions()["fashionnet_test_accuracy"]
    assert re.fullmatch(r"\d+\.\d\d%", value)
    assert substitute("정확도는 {{ fashionnet_test_accuracy }}입니다") == f"정확도는 {value}입니다"
    assert substitute("{{ no_such_name }}") == CODE
    assert hits(rule_particle_after_number, "{{ fashionnet_epochs }}로 나누면") == []  # 8로 (팔, ㄹ)


def test_glossary_avoid_column_is_read():
    avoid = glossary_avoid()
    assert avoid["라벨"] == "label → 레이블" and "파라미터" in avoid and "간격(stride)" in avoid
    assert not any("," in word for word in avoid)


def test_reference_style():
    md = ("## 참고 문헌\n\n- Kuhn, H. W. (1955). The Hungarian method. *NRLQ*.\n- M. Zeiler, R. Fergus. [Visualizing]"
          "(https://arxiv.org/abs/1311.2901). ECCV 2014.\n- Stanford CS231n (연도 없음). Visualizing. <https://x>\n")
    entries = reference_list_entries(md)
    assert [bool(REFERENCE_STYLE.match(e)) for e in entries] == [True, False, True]


def test_emoji_rule():
    assert len(list(rule_emoji("🚀 버튼, ⚠️ 주의, ✅ 정답"))) == 4  # ⚠ and its variation selector are two
    assert list(rule_emoji("→ − ∇ ○ ✓ ✗ × ε 한글")) == []


def test_prose_of_skips_code_math_and_urls_and_reads_directives():
    md = ("```python\n라벨 = 1\n```\n\n    라벨 = 2\n\n$$ 라벨 $$\n\n[링크](https://x.org/라벨)\n\n"
          "```{glossary}\n:sorted:\n\n레이블\n  라벨이 아니라 레이블\n```\n")
    texts = [p for p in prose_of(md) if "라벨" in p.text]
    assert [p.line + p.text[: p.text.index("라벨")].count("\n") for p in texts] == [15], texts


# --- the corpus --------------------------------------------------------------------------------------------

@dataclass
class Source:
    name: str
    markdown: list[tuple[str, str]]  # (where, markdown text) with where = "" for a page, "cell N" for a cell
    other: list[tuple[str, str]]  # code and outputs, checked for emoji only


def sources() -> list[Source]:
    found = [Source(p.name, [("", p.read_text(encoding="utf-8"))], []) for p in PAGES]
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        md, other = [], []
        for i, cell in enumerate(cells):
            src = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                md.append((f"cell {i}", src))
                continue
            other.append((f"cell {i}", src))
            for out in cell.get("outputs", []):
                text = out.get("text") or out.get("data", {}).get("text/plain") or ""
                other.append((f"cell {i} output", "".join(text)))
        found.append(Source(path.name, md, other))
    return found


def findings(source: Source) -> list[str]:
    lines = []
    for where, md in source.markdown:
        for prose in prose_of(md):
            for rule in PROSE_RULES:
                for offset, found, advice in rule(prose.text):
                    line = prose.line + prose.text[:offset].count("\n")
                    place = f"{where} line {line}" if where else f"line {line}"
                    lines.append(f"{source.name}:{place}: [{rule.__name__[5:]}] {found!r} — {advice}")
    if source.name.endswith(".ipynb"):
        for where, md in source.markdown:
            lines += [f"{source.name}:{where}: [reference_style] {entry[:60]!r} — copy the entry from book/references.md "
                      "(Surname, I., & Surname, I. (Year). Title. *Venue*. link)"
                      for entry in reference_list_entries(md) if not REFERENCE_STYLE.match(entry)]
    for where, text in source.other:
        for offset, found, advice in rule_emoji(text):
            lines.append(f"{source.name}:{where} line {text[:offset].count(chr(10)) + 1}: [emoji] {found!r} — {advice}")
    return lines


SOURCES = sources()


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_copyedit(source):
    problems = findings(source)
    assert not problems, f"{len(problems)} copy-edit problem(s):\n" + "\n".join(problems)


# --- citations -----------------------------------------------------------------------------------------------

REFERENCES = ROOT / "book" / "references.md"
SURNAME = r"(?:van der |de )?[A-Z][\w'\-]+"
CITATION = re.compile(rf"(?<![\w.])({SURNAME})(?: 외| 등|(?:와|과| &| and) {SURNAME})?(?:가|는|은|의|이)?\s*[,(]\s*((?:19|20)\d\d)(?!\d)")


def reference_entries() -> list[str]:
    """The entries ("- " items) of book/references.md, each on one line."""
    text = REFERENCES.read_text(encoding="utf-8")
    return [" ".join(e.split()) for e in re.split(r"\n(?=- )", text) if e.startswith("- ")]


def cited(text: str) -> set[tuple[str, str]]:
    """(first author's surname, year) of every author-year citation in a text: "Simonyan 외, 2014", "Zeiler와
    Fergus(2014)", "(van der Maaten & Hinton, 2008)", "Kuhn(1955)"."""
    return {(m.group(1), m.group(2)) for m in CITATION.finditer(text)}


def test_citation_pattern():
    text = ("Simonyan 외, 2014; Zeiler와 Fergus(2014)가; (van der Maaten & Hinton, 2008); Kuhn(1955); Szegedy 등(2014)은; "
            "Yosinski 외(2015)는; CVPR 2015; ImageNet 2012; conv5, 2014")
    assert cited(text) == {("Simonyan", "2014"), ("Zeiler", "2014"), ("van der Maaten", "2008"), ("Kuhn", "1955"),
                           ("Szegedy", "2014"), ("Yosinski", "2015")}


def test_listed_needs_the_surname_and_the_year():
    entries = ["- Kuhn, H. W. (1955). The Hungarian method.", "- Zeiler, M. D., & Fergus, R. (2014). Visualizing."]
    assert listed("Kuhn", "1955", entries) and listed("Fergus", "2014", entries)
    assert not listed("Kuhn", "1956", entries) and not listed("Harris", "1988", entries)


def listed(surname: str, year: str, entries: list[str]) -> bool:
    return any(e.startswith(f"- {surname},") and f"({year})" in e for e in entries) or any(
        surname in e.split(f"({year})")[0] for e in entries if f"({year})" in e)


def chapter_reference_links(markdown: str) -> set[str]:
    """Links (URLs) in the 참고 문헌 section of a chapter."""
    section = markdown.split("참고 문헌", 1)[1] if "참고 문헌" in markdown else ""
    return set(re.findall(r"(https?://[^\s)>]+)", section))


def test_every_cited_work_is_in_the_references_page():
    """Every author-year citation in a chapter or page, and every link in a chapter's reference list, is in
    book/references.md (issue 14: "the references page lists every cited work")."""
    entries = reference_entries()
    refs = REFERENCES.read_text(encoding="utf-8")
    missing = []
    for src in SOURCES:
        if src.name == REFERENCES.name:
            continue
        text = "\n".join(md for _, md in src.markdown)
        running = "\n".join(REFERENCE_HEADING.split(md)[0] for _, md in src.markdown)  # lists are checked by link
        for surname, year in sorted(cited(running)):
            if not listed(surname, year, entries):
                missing.append(f"{src.name}: {surname} ({year})")
        if src.name.endswith(".ipynb"):
            missing += [f"{src.name}: {url}" for url in sorted(chapter_reference_links(text))
                        if url.rstrip("/.,") not in refs and "cs231n.github.io" not in url]
    assert not missing, "cited but not in book/references.md:\n" + "\n".join(missing)


def test_references_page_entries_share_one_style():
    """Every entry: "Surname, I., ... (YYYY). Title. ..." (or an organisation with a year, or 연도 없음)."""
    bad = [e[:80] for e in reference_entries() if not REFERENCE_STYLE.match(e)]
    assert not bad, bad


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_no_emoji_in_library_strings(path):
    """Library strings end up in outputs and widgets: no emoji there either."""
    text = path.read_text(encoding="utf-8")
    problems = [f"{path.name} line {text[:o].count(chr(10)) + 1}: {found!r}" for o, found, _ in rule_emoji(text)]
    assert not problems, "\n".join(problems)


if __name__ == "__main__":  # python tests/test_copyedit.py: the per-file counts and every finding
    for src in SOURCES:
        probs = findings(src)
        print(f"{src.name}: {len(probs)}")
        for p in probs:
            print("   ", p)
    sys.exit(0)
