"""Text output for the chapters: aligned tables, computed numbers for the prose, library source on show.

``table`` builds one string (print it once: one output box per table) whose columns line up in a
monospace font even when cells hold Hangul, which is two columns wide. ``glue`` passes a computed
number to the book text (MyST-NB's ``{glue:text}`name:.2f``` role) so no number is typed by hand.
``show_source`` displays a library function's code, so a chapter shows the very code it runs.
"""
from __future__ import annotations

import unicodedata
from typing import Any, Sequence

from .errors import ConvVisError


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospace font: East Asian wide/full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(text))


def pad(text: str, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` display columns (``align`` is ``<`` or ``>``)."""
    if align not in ("<", ">"):
        raise ConvVisError(f"align must be '<' or '>'; got {align!r}")
    fill = " " * max(0, width - display_width(text))
    return f"{text}{fill}" if align == "<" else f"{fill}{text}"


def table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None,
          align: str | None = None, gap: int = 2) -> str:
    """Rows as one aligned text block. ``align`` has one ``<``/``>`` per column (default: text left,
    numbers right); cells are shown with ``str``, so format numbers before passing them."""
    body = [[str(c) for c in r] for r in rows]
    lines = ([list(map(str, header))] if header is not None else []) + body
    if not lines:
        return ""
    ncols = len(lines[0])
    if any(len(r) != ncols for r in lines):
        raise ConvVisError(f"every row needs {ncols} cells; got rows of lengths {sorted({len(r) for r in lines})}")
    if align is None:
        align = "".join(">" if all(_is_number(r[j]) for r in body) and body else "<" for j in range(ncols))
    if len(align) != ncols:
        raise ConvVisError(f"align needs one '<' or '>' per column ({ncols}); got {align!r}")
    widths = [max(display_width(r[j]) for r in lines) for j in range(ncols)]
    out = [(" " * gap).join(pad(r[j], widths[j], align[j]) for j in range(ncols)).rstrip() for r in lines]
    if header is not None:
        out.insert(1, "-" * display_width(out[0]))
    return "\n".join(out)


def _is_number(cell: str) -> bool:
    try:
        float(cell.replace("%", "").replace("×", "").replace("−", "-").replace(",", ""))
        return True
    except ValueError:
        return False


GLUE_PREFIX = "application/papermill.record/"  # MyST-NB's glue output: hidden in notebooks, read by the book build


def glue(name: str, value: Any) -> Any:
    """Hand ``value`` to the book text as ``{glue:text}`name``` (MyST-NB); shows nothing in a notebook.

    Writes the output ``myst_nb.glue(name, value, display=False)`` writes, without importing myst-nb (its import
    pulls nbformat and jsonschema: seconds at every chapter's start). Outside IPython it only returns ``value``.
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()  # numpy/torch scalar -> Python number, so {glue:text}`name:.2f` can format it
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return value
    shell = get_ipython()
    if shell is None:
        return value
    bundle, metadata = shell.display_formatter.format(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    display({GLUE_PREFIX + mime: data for mime, data in bundle.items()}, raw=True, metadata=metadata)
    return value


def show_source(obj: Any) -> Any:
    """Display the source code of a library function or class (one source: the chapter shows the code it runs).

    Returns an IPython ``Code`` object (syntax-highlighted in Jupyter, Colab and the book); outside IPython,
    the plain source string.
    """
    import inspect
    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as err:
        raise ConvVisError(f"no source code available for {obj!r}: pass a function or class defined in Python") from err
    try:
        from IPython.display import Code
    except ImportError:
        return source
    return Code(source, language="python")
