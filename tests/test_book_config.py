"""The book's configuration and its Sphinx extension, without building the book (fast unit tier).

The built book itself is checked in tests/browser/ (pages in Chromium, the search index)."""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import yaml
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from convvis_book import glossary_links, outputs, ui_ko  # noqa: E402
from convvis_book import search_ko  # noqa: E402
from convvis_book.search_ko import JS_KOREAN_WRAPPER, JS_SPLITTER, SearchKorean, split_korean  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- one home for the repository URL ---------------------------------------------------------------------

def test_repository_url_agrees_everywhere():
    url = CONFIG["repository"]["url"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url), url
    nbtools = load_script("nbtools")
    assert nbtools.repository_url() == url
    readme_urls = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", (ROOT / "README.md").read_text(encoding="utf-8")))
    assert readme_urls == {url}, f"README names {readme_urls}, _config.yml {url}"
    for path in NOTEBOOKS:
        setup = nbformat.read(path, as_version=4).cells[0]
        assert setup.source == nbtools.setup_cell_source(), f"{path.name}: setup cell differs (run nbtools.py sync)"
        assert f"git+{url}@" in setup.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_is_first_hidden_and_colab_only(path):
    cell = nbformat.read(path, as_version=4).cells[0]
    assert cell.cell_type == "code"
    assert {"remove-cell", "convvis-setup"} <= set(cell.metadata.get("tags", []))
    lines = cell.source.splitlines()
    guard = lines.index('if "google.colab" in sys.modules:')
    installs = [i for i, line in enumerate(lines) if "pip install" in line]
    assert installs and all(i > guard and lines[i].startswith("    ") for i in installs), cell.source


def test_launch_buttons_configured():
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert CONFIG["repository"]["branch"] == "main"


def test_toc_files_exist():
    files = [TOC["root"]] + [c["file"] for part in TOC["parts"] for c in part["chapters"]]
    missing = [f for f in files if not any((ROOT / f"{f}{ext}").is_file() for ext in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


# --- self-hosted scripts ---------------------------------------------------------------------------------

def test_vendor_files_match_their_manifest():
    fetch = load_script("fetch_vendor_js")
    assert fetch.check() == 0
    manifest = json.loads((fetch.VENDOR / "VERSIONS.json").read_text(encoding="utf-8"))
    pinned = {p["name"]: p for p in manifest["packages"]}
    assert {p["name"] for p in fetch.PACKAGES} == set(pinned)
    for rel in ("widgets/LICENSE-html-manager.txt", "widgets/LICENSE-requirejs.txt", "mathjax/LICENSE-mathjax.txt"):
        assert rel in manifest["files"], f"licence file {rel} not shipped"


def test_html_manager_speaks_the_installed_ipywidgets_protocol():
    """ipywidgets declares the html-manager range it needs (8.1.x: ^1.0.x); the pinned bundle must satisfy it."""
    from ipywidgets import _version
    fetch = load_script("fetch_vendor_js")
    pinned = next(p["version"] for p in fetch.PACKAGES if p["name"] == "@jupyter-widgets/html-manager")
    need = _version.__html_manager_version__
    assert need.startswith("^"), need
    lo = tuple(int(x) for x in need[1:].split("."))
    have = tuple(int(x) for x in pinned.split("."))
    assert have[0] == lo[0] and have >= lo, f"html-manager {pinned} does not satisfy {need}"


def test_config_loads_scripts_from_the_book_not_a_cdn():
    sphinx = CONFIG["sphinx"]["config"]
    extra = ROOT / sphinx["html_extra_path"][0]
    scripts = list(sphinx["nb_ipywidgets_js"]) + [sphinx["mathjax_path"]]
    static = ROOT / "book" / "_ext" / "convvis_book" / "static"
    for src in scripts:
        assert "://" not in src, f"{src} is not self-hosted"
        target = extra / src.removeprefix("../") if src.startswith("../") else static / src
        assert target.is_file(), f"{src} -> {target} is missing"
    assert [Path(s).name for s in sphinx["nb_ipywidgets_js"]] == ["require.js", "convvis-widgets.js", "embed-amd.js"]
    assert "_static" not in extra.parts


# --- Korean search ----------------------------------------------------------------------------------------

def test_korean_index_words_are_stems():
    words = split_korean("필터를 보면 활성화맵이 보입니다.")
    assert "필터" in words and "필터를" not in words
    assert {"활성화맵", "활성화"} <= set(words) and "활성화맵이" not in words
    words = split_korean("그래디언트는 로짓을 미분한 값")
    assert {"그래디언트", "그래디", "로짓", "미분", "값"} <= set(words)
    assert not {"그래디언트는", "로짓을", "는", "을"} & set(words)


def test_korean_splitter_keeps_latin_words_and_splits_scripts():
    assert split_korean("CNN코드와 t-SNE") == ("CNN", "코드", "t", "SNE")
    assert split_korean("Guided backprop 2014") == ("Guided", "backprop", "2014")


def test_search_language_stems_english_and_keeps_hangul():
    lang = SearchKorean({})
    assert lang.lang == "ko"
    assert lang.stem("activations") == "activ"
    assert lang.stem("필터") == "필터"
    # particles and verb endings are not index words; nouns keep their 2+-syllable prefixes
    assert lang.split("필터를 봅니다") == ["필터"]
    assert lang.split("활성화 맵을 계산한 값") == ["활성화", "활성", "맵", "계산", "값"]
    assert lang.split("ReLU의 출력과 적대적 예제") == ["ReLU", "출력", "적대적", "적대", "예제"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (the browser test covers the JS)")
def test_query_side_reduces_hangul_words_to_indexed_stems():
    """The JS in language_data.js: a query word becomes its longest prefix found in the index."""
    script = (SearchKorean.js_stemmer_code + JS_SPLITTER + """
        var Search = {_index: {terms: {"필터": [0], "활성화맵": 1, "activ": 2}, titleterms: {"활성화": 3}}};
        var s = new Stemmer();
        console.log(JSON.stringify([s.stemWord("필터를"), s.stemWord("필터"), s.stemWord("활성화를"),
            s.stemWord("활성화맵에서"), s.stemWord("없는말"), s.stemWord("activations"), splitQuery("CNN코드의 필터를")]));
    """)
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True, timeout=30).stdout
    assert json.loads(out) == ["필터", "필터", "활성화", "활성화맵", "없는말", "activ", ["CNN", "코드의", "필터를"]]
    assert "EnglishStemmer" in JS_KOREAN_WRAPPER


# --- glossary ---------------------------------------------------------------------------------------------

def glossary_terms_in_page() -> set[str]:
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    block = text.split("```{glossary}")[1].split("```")[0]
    return {line.strip() for line in block.splitlines() if line and not line.startswith((" ", ":"))}


def glossary_table() -> list[list[str]]:
    """Rows (English, 한국어, 쓰지 않는 말) of the one glossary table, in CONTRIBUTING.md between its markers."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    table = text.split("<!-- glossary-table:start -->")[1].split("<!-- glossary-table:end -->")[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table.strip().splitlines()]
    return [r for r in rows[2:] if len(r) == 3]


def test_glossary_table_is_the_one_source():
    rows = glossary_table()
    assert len(rows) >= 30 and ["label", "레이블", "라벨"] in rows
    page = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    assert "```{include} ../CONTRIBUTING.md" in page and "| 영어 |" not in page  # included, not copied


def test_glossary_page_defines_every_term_of_the_contributing_table():
    korean = set()
    for row in glossary_table():
        for group in row[1].split(","):
            parts = [re.sub(r"\(.*?\)", "", p).split() for p in group.split("/")]
            for words in parts:  # "삭제 / 삽입 곡선" is short for 삭제 곡선 / 삽입 곡선
                if len(words) == 1 and len(parts[-1]) == 2 and words[0] != parts[-1][0]:
                    words = words + parts[-1][1:]
                korean.add(" ".join(words))
    korean.discard("")
    defined = glossary_terms_in_page()
    assert korean - defined == set(), f"terms of CONTRIBUTING.md without a glossary entry: {korean - defined}"
    for term in (ROOT / "_config.yml").read_text(encoding="utf-8").split("convvis_glossary_no_autolink:")[1:]:
        assert all(t in defined for t in re.findall(r'"([^"]+)"', term.splitlines()[0]))


def test_term_pattern_matches_first_uses_with_particles_and_boundaries():
    terms = ["필터", "죽은 필터", "활성화", "활성화 맵", "정규화", "ReLU"]
    pattern = glossary_links.term_pattern(sorted(terms, key=len, reverse=True))
    order = sorted(terms, key=len, reverse=True)
    found = [order[int(m.lastgroup[1:])] for m in pattern.finditer(
        "죽은 필터를 보면 활성화맵과 배치정규화, ReLUs, ReLU를 본다. 필터")]
    assert found == ["죽은 필터", "활성화 맵", "ReLU", "필터"]


def _doctree(rst: str) -> nodes.document:
    doc = new_document("<test>", get_default_settings(Parser))
    Parser().parse(rst, doc)
    return doc


def test_link_first_uses_links_once_outside_code_and_titles():
    doc = _doctree("제목의 필터\n" + "=" * 20 + "\n\n``필터`` 코드와 필터를 본다. 다시 필터와 활성화.\n\n활성화 맵과 대응.\n")
    std = SimpleNamespace(objects={("term", "필터"): ("book/glossary", "term-1"),
                                   ("term", "활성화"): ("book/glossary", "term-2"),
                                   ("term", "대응"): ("book/glossary", "term-3")})
    app = SimpleNamespace(
        env=SimpleNamespace(get_domain=lambda name: std),
        builder=SimpleNamespace(format="html", get_relative_uri=lambda a, b: "../book/glossary.html"),
        config=SimpleNamespace(convvis_glossary_doc="book/glossary", convvis_glossary_no_autolink=["대응"]))
    glossary_links.link_first_uses(app, doc, "notebooks/01")
    links = [(r.astext(), r["refuri"]) for r in doc.findall(nodes.reference)]
    assert links == [("필터", "../book/glossary.html#term-1"), ("활성화", "../book/glossary.html#term-2")]
    para = doc.findall(nodes.paragraph).__next__()
    assert para.astext() == "필터 코드와 필터를 본다. 다시 필터와 활성화."  # text unchanged, particle outside
    glossary_links.link_first_uses(app, doc, "book/glossary")  # the glossary itself is never touched
    assert len(list(doc.findall(nodes.reference))) == 2


def test_output_images_get_korean_alt_text_and_others_keep_theirs():
    doc = _doctree("x")
    out = nodes.container(classes=["cell_output"])
    out += nodes.image(uri="../_images/a.png")
    doc += out
    doc += nodes.image(uri="fig.png", alt="직접 쓴 설명")
    doc += nodes.image(uri="logo.png")
    outputs.label_output_images(None, doc, "notebooks/01")
    assert [i.get("alt") for i in doc.findall(nodes.image)] == [outputs.OUTPUT_ALT, "직접 쓴 설명", None]


def run_scorer(results: list[list], query: str, counts: dict) -> list[str]:
    """Rank Sphinx search results with the book's scorer in node (stub stemmer: words as they are)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    script = ("var window = {location: {search: '?q=' + encodeURIComponent(%s)}};\n" % json.dumps(query)
              + "function Stemmer() { this.stemWord = function(w) { return w; }; }\n"
              + JS_SPLITTER + search_ko.JS_SCORER.replace("var ConvvisTermCounts = (typeof", "var _unused = (typeof")
              + "\nvar ConvvisTermCounts = %s;\n" % json.dumps(counts)
              + "var results = %s; results.forEach(function(r) { r[4] = Scorer.score(r); });\n" % json.dumps(results)
              + "results.sort(function(a, b) { return b[4] - a[4]; });\n"
              + "console.log(JSON.stringify(results.map(function(r) { return r[0] + r[2]; })));\n")
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_search_ranks_the_chapter_that_uses_a_word_most_above_back_matter():
    # [docname, title, anchor, descr, score, filename] as Sphinx makes them for the query 적대적
    results = [["book/references", "참고 문헌", "", None, 15, ""],
               ["book/references", "참고 문헌 > 적대적 예제", "#id5", None, 8, ""],
               ["book/glossary", "용어집", "", None, 5, ""],
               ["notebooks/06_inversion", "6. CNN 코드로 원본 이미지 재구성", "", None, 5, ""],
               ["notebooks/09_fooling", "9. ConvNet 속이기", "", None, 5, ""]]
    ranked = run_scorer(results, "적대적", {"notebooks/09_fooling": {"적대적": 12}})
    assert ranked[:2] == ["notebooks/09_fooling", "notebooks/06_inversion"], ranked
    # the back matter keeps its place when the query is its own title
    assert run_scorer([["book/glossary", "용어집", "", None, 16, ""], ["notebooks/01", "1. 필터", "", None, 5, ""]],
                      "용어집", {"notebooks/01": {"용어집": 3}})[0] == "book/glossary"


def test_glossary_terms_make_no_index_entries():
    from sphinx import addnodes
    doc = _doctree("x")
    term = nodes.term("", "필터")
    term += addnodes.index(entries=[("single", "필터", "term-0", "main", None)])
    doc += nodes.definition_list("", nodes.definition_list_item("", term))
    app = SimpleNamespace(env=SimpleNamespace(docname="book/glossary"), config=SimpleNamespace(
        convvis_glossary_doc="book/glossary"))
    search_ko.drop_glossary_index_entries(app, doc)
    assert list(doc.findall(addnodes.index)) == []


def test_page_term_counts_count_index_terms():
    counts = search_ko.page_term_counts(["적대적 예제를 만듭니다. 적대적 섭동과 적대적 공격."])
    assert counts["적대적"] == 3 and all(n >= search_ko.MIN_COUNT for n in counts.values())


# --- interface strings ------------------------------------------------------------------------------------

def test_ui_overrides_answer_first_and_fall_back():
    import gettext

    class Theme(gettext.NullTranslations):
        def gettext(self, message):
            return {"Launch": "시작하다", "Search": "찾기", "Only theme": "테마"}.get(message, message)

    wrapped = ui_ko.Overrides(ui_ko.UI_KO)
    wrapped.add_fallback(Theme())
    assert wrapped.gettext("Launch") == "실행"  # the theme's awkward translation is replaced
    assert wrapped.gettext("Only theme") == "테마"  # the theme's other strings are kept
    assert wrapped.gettext("Unknown") == "Unknown"
    assert wrapped.gettext("By") != "으로"
    assert wrapped.gettext("© Copyright %(copyright)s.") % {"copyright": "2026 x"} == "© 2026 x."


def test_every_ui_override_is_korean():
    for english, korean in ui_ko.UI_KO.items():
        assert re.search("[\uac00-\ud7a3]", korean) or korean.startswith(("%", "©")), (english, korean)


def test_every_permalink_title_of_the_html_writer_is_korean():
    """Sphinx titles its permalinks ("Link to this term", x41 on the glossary page): each one has a Korean override."""
    import sphinx.ext.mathjax
    import sphinx.writers.html5
    sources = Path(sphinx.writers.html5.__file__).read_text() + Path(sphinx.ext.mathjax.__file__).read_text()
    titles = set(re.findall(r"_\('(Link to this \w+)'\)", sources))
    assert {"Link to this term", "Link to this heading"} <= titles
    assert titles - set(ui_ko.UI_KO) == set()


# --- pages that state numbers ------------------------------------------------------------------------------

BOOK_PAGES = sorted((ROOT / "book").glob("*.md"))


def test_book_numbers_come_from_the_training_log_and_the_models():
    import convvis_lib as cv
    from convvis_book import numbers
    from convvis_lib.efficientnet_lite import EfficientNetLite0
    values = numbers.book_numbers()
    log = (ROOT / "convvis_lib" / "assets" / "training_log.txt").read_text(encoding="utf-8")
    acc = float(re.search(r"test accuracy: ([\d.]+) on 10000", log).group(1))
    first = float(re.search(r"epoch 1/\d+: test accuracy ([\d.]+)", log).group(1))
    assert values["fashionnet_test_accuracy"] == f"{acc * 100:.2f}%"
    assert values["fashionnet_epoch_first_accuracy"] == f"{first * 100:.2f}%"
    assert values["fashionnet_train_seconds"] == re.search(r"training time: (\d+) s", log).group(1)
    model, _ = cv.load_model("fashionnet")
    assert values["fashionnet_params"] == f"{sum(p.numel() for p in model.parameters()):,}".replace(",", " ")
    assert values["lite0_params"] == f"{sum(p.numel() for p in EfficientNetLite0().parameters()):,}".replace(",", " ")
    size_mb = (ROOT / "convvis_lib" / "assets" / "fashionnet.safetensors").stat().st_size / 1e6
    assert values["fashionnet_weights_mb"] == f"{size_mb:.2f} MB"
    assert values["sample_images"] == "2 000" and values["sample_per_class"] == "200"


def test_pages_take_numbers_from_substitutions_not_typed_copies():
    from convvis_book import numbers
    values = numbers.book_numbers()
    typed = {k: v for k, v in values.items() if k in ("fashionnet_test_accuracy", "fashionnet_params", "lite0_params",
                                                      "fashionnet_weights_mb", "fashionnet_epoch_mid_accuracy")}
    for page in BOOK_PAGES:
        text = page.read_text(encoding="utf-8")
        used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", text))
        assert used <= set(values), f"{page.name}: unknown substitutions {used - set(values)}"
        copies = [v for v in typed.values() if v in text]
        assert not copies, f"{page.name} types {copies}: write the {{{{ name }}}} substitution instead"
    card = (ROOT / "book" / "model_card.md").read_text(encoding="utf-8")
    assert "{{ fashionnet_test_accuracy }}" in card and "{{ lite0_params }}" in card


def test_model_card_class_table_matches_the_full_test_set():
    """The per-class table (accuracy, most confused class) recomputed on the 10 000 test images."""
    import numpy as np
    import torch
    import convvis_lib as cv
    from convvis_lib import data
    from convvis_lib.errors import ConvVisError
    try:
        test = data.load_fashion_mnist("test", download=False)
    except (ConvVisError, OSError) as err:
        pytest.skip(f"full Fashion-MNIST test set not available here: {err}")
    model, info = cv.load_model("fashionnet")
    with torch.no_grad():
        preds = torch.cat([model(cv.preprocess(info, test.images[i:i + 2000])).argmax(1)
                           for i in range(0, len(test.labels), 2000)]).numpy()
    labels = np.asarray(test.labels)
    card = (ROOT / "book" / "model_card.md").read_text(encoding="utf-8")
    rows = {r[0]: r[1:] for r in re.findall(r"^\| (\S+) \| ([\d.]+)% \| (\S+) \((\d+)\) \|$", card, re.M)}
    assert len(rows) == 10, rows
    for c, name in enumerate(info.class_names_ko):
        mine = preds[labels == c]
        wrong = np.bincount(mine[mine != c], minlength=10)
        most = "·".join(info.class_names_ko[k] for k in np.flatnonzero(wrong == wrong.max()))
        assert rows[name] == (f"{(mine == c).mean() * 100:.1f}", most, str(wrong.max())), name


def test_references_list_every_arxiv_paper_cited_in_the_chapters():
    refs = (ROOT / "book" / "references.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"arxiv\.org/abs/(\d{4}\.\d{4,5})", refs))
    cited = {}
    for path in NOTEBOOKS:
        text = "".join("".join(c.source) for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        for arxiv in re.findall(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", text):
            cited.setdefault(arxiv, path.name)
    missing = {a: nb for a, nb in cited.items() if a not in listed}
    assert not missing, f"papers cited in chapters but missing from book/references.md: {missing}"


# --- page weight --------------------------------------------------------------------------------------------

def test_page_weight_counts_each_local_asset_once(tmp_path):
    postbuild = load_script("postbuild")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "a.js").write_bytes(b"x" * 1000)
    (tmp_path / "fig.png").write_bytes(b"y" * 500)
    page = tmp_path / "p.html"
    page.write_text('<script src="_static/a.js?v=1"></script><script src="_static/a.js"></script>'
                    '<img src="fig.png"><a href="https://example.org/x.js">x</a><link href="missing.css">', "utf-8")
    w = postbuild.page_weight(page, tmp_path)
    assert w["own"] == page.stat().st_size
    assert w["raw"] == page.stat().st_size + 1000 + 500
    assert w["transfer"] < w["raw"]  # repeated bytes compress
    assert postbuild.main(tmp_path) == 0


def _png(array, mode="RGB") -> bytes:
    import io
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG")
    return buf.getvalue()


def test_compact_image_palette_is_lossless_for_plots_and_keeps_what_it_cannot_improve():
    import io

    import numpy as np
    from PIL import Image
    postbuild = load_script("postbuild")
    rng = np.random.default_rng(0)
    # a 'heatmap': 101 viridis colours -> exact palette PNG, clearly smaller
    from matplotlib import colormaps
    yy, xx = np.mgrid[0:120, 0:160]
    z = (np.sin(xx / 9.0) * np.cos(yy / 7.0) + 1) / 2
    plot = (colormaps["viridis"](np.round(z * 100) / 100)[..., :3] * 255).astype(np.uint8)
    data = _png(plot)
    mime, small = postbuild.compact_image(data)
    assert mime == "image/png" and len(small) < len(data)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(small)).convert("RGB")), plot)
    # transparency and already-palette images are left alone
    rgba = np.dstack([plot, np.full((120, 160), 128, np.uint8)])
    assert postbuild.compact_image(_png(rgba, "RGBA"))[1] == _png(rgba, "RGBA")
    assert postbuild.compact_image(small) == ("image/png", small)
    # a 'photo' (smooth colour noise, > 4096 colours): no faithful palette; JPEG only where allowed
    photo = (rng.random((96, 96, 3)) * 255).astype(np.uint8)
    assert postbuild.compact_image(_png(photo)) == ("image/png", _png(photo))
    mime, jpeg = postbuild.compact_image(_png(photo), allow_jpeg=True)
    assert mime == "image/jpeg" and jpeg[:2] == b"\xff\xd8" and len(jpeg) < len(_png(photo))


def test_compact_figures_rewrites_inline_and_file_pngs(tmp_path):
    import numpy as np
    postbuild = load_script("postbuild")
    from matplotlib import colormaps
    yy, xx = np.mgrid[0:64, 0:64]
    plot = (colormaps["magma"](((np.sin(xx / 5.0) + np.cos(yy / 4.0) + 2) / 4 * 50).round() / 50)[..., :3] * 255)
    plot = plot.astype(np.uint8)
    import base64
    data = _png(plot)
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "f.png").write_bytes(data)
    page = tmp_path / "p.html"
    page.write_text(f'<img src="data:image/png;base64,{base64.b64encode(data).decode()}">', "utf-8")
    before, after = postbuild.compact_figures(tmp_path)
    assert before == 2 * len(data) and after < before
    assert (tmp_path / "_images" / "f.png").stat().st_size < len(data)
    assert postbuild.compact_figures(tmp_path)[0] == after  # idempotent: a second pass changes nothing
