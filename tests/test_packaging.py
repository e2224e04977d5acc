"""pyproject.toml and environment.yml list the same dependencies."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[@;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r.replace(" ", "") for r in project["dependencies"]}
    for extra in ("book", "test", "lab"):
        wanted.update({_name(r): r.replace(" ", "") for r in project["optional-dependencies"][extra]})
    import yaml
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {_name(m): m.replace(" ", "") for m in pip if not m.startswith("-e")}
    assert listed == wanted
    assert "-e ." in pip


def test_jupyter_book_is_pinned_below_2():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'"jupyter-book[^"]*<2"', text)


def test_ipywidgets_range_admits_colab_7_7():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"ipywidgets>=7.7,<9"' in text
