"""convvis_lib.text: Hangul-aware tables, glue of computed numbers, library source on show."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from convvis_lib import ConvVisError, text


def test_display_width_counts_hangul_as_two_columns():
    assert text.display_width("abc") == 3
    assert text.display_width("셔츠") == 4
    assert text.display_width("셔츠 (shirt)") == 12


def test_table_columns_line_up_by_display_width():
    out = text.table([["셔츠", "0.91"], ["운동화 (sneaker)", "0.50"], ["bag", "1.00"]], header=["클래스", "정확도"])
    lines = out.splitlines()
    assert len(lines) == 5 and set(lines[1]) == {"-"}
    # every number ends in the same display column, whatever the width of the Hangul before it
    ends = {text.display_width(line) for line in lines[2:]}
    assert ends == {text.display_width(lines[0])}
    assert lines[2].startswith("셔츠 ") and lines[2].endswith("0.91")


def test_table_aligns_text_left_and_numbers_right_by_default():
    out = text.table([["a", "1.5"], ["bbbb", "10.25"]])
    assert out.splitlines() == ["a" + " " * 7 + "1.5", "bbbb  10.25"]


def test_table_refuses_ragged_rows_and_bad_align():
    with pytest.raises(ConvVisError, match="every row needs 2 cells"):
        text.table([["a", "b"], ["c"]])
    with pytest.raises(ConvVisError, match="one '<' or '>' per column"):
        text.table([["a", "b"]], align="<")


def test_glue_turns_array_scalars_into_numbers():
    assert type(text.glue("test_text_np", np.float64(0.43))) is float
    assert type(text.glue("test_text_torch", torch.tensor(3))) is int
    assert text.glue("test_text_str", "0.5") == "0.5"


def test_show_source_shows_the_function_it_is_given():
    shown = text.show_source(text.pad)
    source = getattr(shown, "data", shown)
    assert source.startswith("def pad(") and "display_width" in source
    with pytest.raises(ConvVisError, match="no source code"):
        text.show_source(len)


def test_glue_writes_what_myst_nb_glue_writes(monkeypatch):
    """The same display call as ``myst_nb.glue(name, value, display=False)``, so the book build finds the value."""
    from IPython.core.interactiveshell import InteractiveShell
    import IPython.display
    import myst_nb

    shell = InteractiveShell.instance()
    calls = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    assert text.glue("test_text_glue", np.float32(0.25)) == 0.25
    ours = calls.pop()
    import myst_nb.ext.glue as mg
    monkeypatch.setattr(mg, "ipy_display", lambda *a, **k: calls.append((a, k)))
    myst_nb.glue("test_text_glue", 0.25, display=False)
    assert ours == calls.pop()
    assert ours[0][0] == {"application/papermill.record/text/plain": "0.25"}
    assert ours[1]["metadata"]["scrapbook"] == {"name": "test_text_glue", "mime_prefix": "application/papermill.record/"}
