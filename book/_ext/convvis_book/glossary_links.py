"""Link the first use of each glossary term on a page to its entry in the glossary (용어집).

Chapters are notebooks that must read well in Jupyter and Colab too, where a ``{term}`` role would show
as raw markup. So the book links terms itself: on every page except the glossary, the first occurrence
of each term in running text (not in headings, code, links or outputs) becomes a link to the term's
entry. A term written with ``{term}`` on a page is left to that explicit link. Korean particles stay
outside the link ("필터를" -> [필터]를); a term with a space also matches without it ("활성화맵").
"""
from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx

SKIP = (nodes.literal, nodes.literal_block, nodes.reference, nodes.title, nodes.raw, nodes.math,
        nodes.math_block, nodes.term, nodes.FixedTextElement, nodes.rubric, nodes.target,
        addnodes.pending_xref, addnodes.toctree, nodes.caption)
WORD_CHAR = "0-9A-Za-z\uac00-\ud7a3"


def glossary_terms(app: Sphinx) -> dict[str, tuple[str, str]]:
    """term -> (docname, anchor) for every term of the glossary document (minus the excluded ones)."""
    std = app.env.get_domain("std")
    doc = app.config.convvis_glossary_doc
    skip = set(app.config.convvis_glossary_no_autolink)
    return {name: (entry[0], entry[1]) for (kind, name), entry in std.objects.items()
            if kind == "term" and entry[0] == doc and name not in skip}


def term_pattern(terms: list[str]) -> re.Pattern[str]:
    """One regex for the terms in the given order (pass them longest first, so "죽은 필터" wins over "필터");
    group ``t{i}`` is ``terms[i]``. A word boundary is required before each term and after Latin endings."""
    parts = []
    for term in terms:
        body = r"\s*".join(re.escape(w) for w in term.split())
        tail = r"(?![0-9A-Za-z])" if term[-1].isascii() and term[-1].isalnum() else ""
        parts.append(f"(?P<t{len(parts)}>{body}){tail}")
    return re.compile(rf"(?<![{WORD_CHAR}])(?:{'|'.join(parts)})")


def _skipped(node: nodes.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, SKIP) or "cell_output" in parent.get("classes", []):
            return True
        parent = parent.parent
    return False


def _explicit_anchors(doctree: nodes.document) -> set[str]:
    return {ref["refuri"].split("#", 1)[1] for ref in doctree.findall(nodes.reference)
            if "#" in ref.get("refuri", "")}


def link_first_uses(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """doctree-resolved handler: wrap each term's first use on the page in a link to the glossary."""
    if app.builder.format != "html" or docname == app.config.convvis_glossary_doc:
        return
    terms = glossary_terms(app)
    if not terms:
        return
    order = sorted(terms, key=len, reverse=True)
    pattern = term_pattern(order)
    done = _explicit_anchors(doctree)
    for text in list(doctree.findall(nodes.Text)):
        if _skipped(text):
            continue
        pieces, pos, source = [], 0, text.astext()
        for match in pattern.finditer(source):
            term = order[int(match.lastgroup[1:])]
            target_doc, anchor = terms[term]
            if anchor in done:
                continue
            done.add(anchor)
            pieces += [nodes.Text(source[pos:match.start()]), nodes.reference(
                "", match.group(), internal=True, classes=["glossary-autolink"], reftitle=f"용어집: {term}",
                refuri=f"{app.builder.get_relative_uri(docname, target_doc)}#{anchor}")]
            pos = match.end()
        if pieces:
            pieces.append(nodes.Text(source[pos:]))
            text.parent.replace(text, [p for p in pieces if not (isinstance(p, nodes.Text) and not p.astext())])
