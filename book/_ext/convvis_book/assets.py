"""Per-page script list: self-hosted files get clean relative URLs, duplicated inline scripts go.

Sphinx puts every relative script path under ``_static/``. The self-hosted widget and MathJax files
live in ``vendor/`` at the root of the HTML output (copied from ``book/_extra`` by ``html_extra_path``,
so that JupyterBook does not add them to every page as it does with ``_static``), and the config names
them as ``../vendor/...``; here ``_static/../vendor/x.js`` becomes ``vendor/x.js`` before Sphinx turns
it into a page-relative URL. Inline scripts that extensions register after the builder started
(sphinx-thebe, sphinx-togglebutton) end up in the list twice, once with filename None and once with
filename '' (Sphinx re-adds registry entries in ``prepare_writing``), which makes the browser report
"Identifier 'THEBE_JS_URL' has already been declared"; identical scripts are kept once.
"""
from __future__ import annotations

import posixpath

from sphinx.application import Sphinx
from sphinx.builders.html._assets import _JavaScript


def _canonical(js: _JavaScript) -> _JavaScript:
    name = js.filename
    if isinstance(name, str) and name.startswith("_static/../"):
        return _JavaScript(posixpath.normpath(name), priority=js.priority, **js.attributes)
    return js


def tidy_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """html-page-context handler (runs after the others): canonical vendor paths, no duplicates."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        js = _canonical(js) if isinstance(js, _JavaScript) else js
        key = (getattr(js, "filename", js) or "", tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept
