"""The package's layout rules (issue 12), read from the source with ``ast`` so they hold for every module:

* computing apart from drawing: outside ``convvis_lib/plot`` and ``convvis_lib/widgets`` no module imports matplotlib
  or ipywidgets (``data.py`` reads the Grace Hopper photo that ships inside matplotlib: it may import
  ``matplotlib.cbook``), and no ``draw_*``/``plot_*`` function is defined;
* one meaning per name: no public top-level name (function, class, constant) is defined in two modules;
* no sideways borrowing: no module imports another module's private (``_``) names;
* tests mirror the package: each module has ``tests/[subpackage/]test_<module>.py``.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "convvis_lib"
DRAWING = ("plot", "widgets")  # subpackages / modules where drawing and UI live
UI_LIBRARIES = ("matplotlib", "ipywidgets")
ALLOWED_UI_IMPORTS = {("data.py", "matplotlib.cbook")}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "assets" not in p.parts)


def rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def is_drawing(path: Path) -> bool:
    first = path.relative_to(PACKAGE).parts[0]
    return first in DRAWING or first.removesuffix(".py") in DRAWING


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(module: ast.Module) -> list[str]:
    """Every absolute module name imported anywhere in the file (also inside functions)."""
    names = []
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def public_definitions(module: ast.Module) -> list[str]:
    """Top-level functions, classes and assigned names that do not start with ``_``."""
    names = []
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return [n for n in names if not n.startswith("_")]


@pytest.mark.parametrize("path", [p for p in modules() if not is_drawing(p)], ids=rel)
def test_computing_modules_import_no_plotting_or_ui(path):
    bad = [m for m in imported_modules(tree(path)) if m.split(".")[0] in UI_LIBRARIES
           and (rel(path), m) not in ALLOWED_UI_IMPORTS]
    assert not bad, f"{rel(path)} imports {bad}: drawing goes to convvis_lib/plot, UI to convvis_lib/widgets"


@pytest.mark.parametrize("path", [p for p in modules() if not is_drawing(p)], ids=rel)
def test_draw_and_plot_functions_live_in_the_plot_package(path):
    bad = [n.name for n in ast.walk(tree(path)) if isinstance(n, ast.FunctionDef)
           and n.name.startswith(("draw_", "plot_"))]
    assert not bad, f"{rel(path)} defines {bad}; move them to convvis_lib/plot/"


def test_no_public_name_is_defined_in_two_modules():
    where = defaultdict(list)
    for path in modules():
        for name in public_definitions(tree(path)):
            where[name].append(rel(path))
    twice = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert not twice, f"names defined in more than one module (one meaning per name): {twice}"


@pytest.mark.parametrize("path", modules(), ids=rel)
def test_no_private_names_borrowed_from_other_modules(path):
    bad = [f"{'.' * n.level}{n.module or ''}.{a.name}" for n in ast.walk(tree(path))
           if isinstance(n, ast.ImportFrom) and n.level > 0 for a in n.names
           if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad, f"{rel(path)} imports private names {bad}; shared helpers belong in a lower-layer module"


@pytest.mark.parametrize("path", [p for p in modules() if p.name != "__init__.py"], ids=rel)
def test_each_module_has_its_test_file(path):
    parts = path.relative_to(PACKAGE).parts
    expected = ROOT / "tests" / Path(*parts[:-1]) / f"test_{path.stem}.py"
    assert expected.is_file(), f"{rel(path)} has no {expected.relative_to(ROOT)}"


def test_the_rules_see_what_they_should():
    """The checks above would catch a violation: run them on a small hand-made source."""
    src = ast.parse("import matplotlib.pyplot as plt\nfrom .hooks import _private\nX = 1\n_y = 2\n"
                    "def draw_thing():\n    from ipywidgets import Button\n")
    assert imported_modules(src) == ["matplotlib.pyplot", "ipywidgets"]
    assert public_definitions(src) == ["X", "draw_thing"]
    assert is_drawing(PACKAGE / "plot" / "occlusion.py") and not is_drawing(PACKAGE / "occlusion.py")


def test_package_docstring_names_every_module_and_only_real_functions():
    """The public API is documented in one place (the package docstring): every module appears there, and every name it
    lists after a module exists in that module."""
    import importlib
    import re

    import convvis_lib
    doc = convvis_lib.__doc__
    for path in modules():
        dotted = ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        if dotted != "__init__":
            assert re.search(rf"\b{re.escape(dotted)}\b", doc), f"convvis_lib.{dotted} is missing from the package docstring"
    checked = 0
    for line in doc.splitlines():
        m = re.match(r"^    ([a-z_]+)\s{2,}(?:ch\. [\d-]+\s+)?(.+)$", line)
        if not m:
            continue
        module = importlib.import_module(f"convvis_lib.{m.group(1)}")
        for token in re.split(r",\s*", re.sub(r"\([^)]*\)?", "", m.group(2))):
            name = token.strip().rstrip("*")
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name not in ("and",):
                assert hasattr(module, name), f"docstring lists {m.group(1)}.{name}, which does not exist"
                checked += 1
    assert checked > 40
