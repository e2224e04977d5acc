"""Sphinx extension for the convvis-ko book: Korean search, Korean UI strings, glossary links,
self-hosted scripts, alt text for output figures. Loaded from ``_config.yml`` (``sphinx.local_extensions``)."""
from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

from . import assets, glossary_links, numbers, outputs, ui_ko
from .search_ko import SearchKorean, drop_glossary_index_entries, write_term_counts

STATIC = Path(__file__).parent / "static"


def _add_static_path(app: Sphinx, config) -> None:
    config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict:
    app.add_search_language(SearchKorean)
    app.add_config_value("convvis_glossary_doc", "book/glossary", "env")
    app.add_config_value("convvis_glossary_no_autolink", [], "env")
    app.connect("config-inited", _add_static_path)
    app.connect("config-inited", numbers.set_substitutions)
    app.connect("builder-inited", ui_ko.install)
    app.connect("doctree-read", drop_glossary_index_entries)
    app.connect("build-finished", write_term_counts)
    app.connect("doctree-resolved", glossary_links.link_first_uses)
    app.connect("doctree-resolved", outputs.label_output_images)
    app.connect("html-page-context", assets.tidy_scripts, priority=900)
    app.add_js_file("convvis-ko.js", priority=600)  # after sphinx-copybutton's script (500)
    app.add_js_file("convvis-quiz.js", priority=600)  # chapter 10's quiz without a kernel (no-op elsewhere)
    app.add_css_file("convvis-ko.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
