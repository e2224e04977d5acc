"""Weights and data are loaded only through formats that cannot run code: safetensors, npz without
pickled objects, or ``torch.load(weights_only=True)``. Checked statically (every Python file and
notebook in the repository) and by behaviour (a booby-trapped checkpoint in the cache is refused)."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import convvis_lib as cv

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", "_build", ".git", "node_modules", "_scratch", ".ipynb_checkpoints", ".pytest_cache"}
PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
URL_LOADERS = {"load_state_dict_from_url", "get_state_dict"}


def _python_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not SKIP_DIRS & set(p.relative_to(ROOT).parts))


def _notebook_sources() -> list[tuple[Path, str]]:
    out = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        from IPython.core.inputtransformer2 import TransformerManager
        to_python = TransformerManager().transform_cell  # %pip, !cmd, x = %time f() -> plain Python calls
        out.append((nb, "\n".join(to_python("".join(c["source"])) for c in cells if c["cell_type"] == "code")))
    return out


def _sources() -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in _python_files()] + _notebook_sources()


def _calls(tree: ast.AST, names: set[str]):
    """Calls whose function is ``name`` or ``<anything>.name`` for a name in ``names``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name in names:
                yield name, node


def _dotted(node: ast.AST) -> str:
    return ast.unparse(node) if hasattr(ast, "unparse") else ""


def _weights_only_true(call: ast.Call) -> bool:
    return any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
               for k in call.keywords)


def _offenders(check) -> list[str]:
    found = []
    for path, source in _sources():
        try:
            tree = ast.parse(source)
        except SyntaxError as err:  # a source the scan cannot read is not exempt from it
            found.append(f"{path.relative_to(ROOT)}:{err.lineno}: does not parse, so it cannot be checked ({err.msg})")
            continue
        found += [f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}: {msg}" for node, msg in check(tree)]
    return found


def test_the_scan_sees_the_package_and_the_notebooks():
    names = {p.relative_to(ROOT).as_posix() for p in _python_files()}
    assert {"convvis_lib/models.py", "convvis_lib/data.py", "convvis_lib/imageio.py"} <= names
    assert len(_notebook_sources()) >= 1


def test_torch_load_always_passes_weights_only_true():
    def check(tree):
        for _, call in _calls(tree, {"load"}):
            if _dotted(call.func) == "torch.load" and not _weights_only_true(call):
                yield call, "torch.load(...) without weights_only=True"
    assert _offenders(check) == []


def test_url_loaders_pass_weights_only_true():
    """torch.hub.load_state_dict_from_url (behind torchvision's get_state_dict) defaults to weights_only=False."""
    def check(tree):
        for name, call in _calls(tree, URL_LOADERS):
            if not _weights_only_true(call):
                yield call, f"{name}(...) without weights_only=True (torch.hub defaults to weights_only=False)"
    assert _offenders(check) == []


def test_no_pickle_based_module_is_imported_or_used():
    def check(tree):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                bad = [a.name for a in node.names if a.name.split(".")[0] in PICKLE_MODULES]
            elif isinstance(node, ast.ImportFrom):
                bad = [node.module] if (node.module or "").split(".")[0] in PICKLE_MODULES else []
            else:
                continue
            for name in bad:
                yield node, f"imports {name}"
        for name, call in _calls(tree, {"load", "read_pickle", "hub_load"}):
            text = _dotted(call.func)
            if text in ("torch.hub.load", "pd.read_pickle", "pandas.read_pickle"):
                yield call, f"{text}(...) runs arbitrary code"
        for _, call in _calls(tree, {"load"}):
            if any(k.arg == "allow_pickle" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                   for k in call.keywords):
                yield call, "np.load(..., allow_pickle=...)"
    assert _offenders(check) == []


def test_no_pickle_even_in_text():
    """A plain-text pass catches what the AST pass cannot see (strings handed to exec, shell cells)."""
    pattern = re.compile(r"\b(import\s+(c?pickle|dill|cloudpickle|joblib)\b|pickle\.loads?\(|torch\.hub\.load\()")
    hits = [f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}: {m.group(0)}"
            for p, src in _sources() if p.name != "test_safety.py" for m in pattern.finditer(src)]
    assert hits == []


def test_shipped_assets_are_safe_formats():
    assets = Path(cv.__file__).parent / "assets"
    weights = sorted(p.name for p in assets.iterdir() if p.suffix in (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt"))
    assert weights == [], f"pickle-based weight files shipped: {weights}"
    from safetensors.torch import load_file
    for path in assets.glob("*.safetensors"):
        assert all(isinstance(t, torch.Tensor) for t in load_file(str(path)).values())
    for path in assets.glob("*.npz"):
        with np.load(path, allow_pickle=False) as z:     # raises if any array holds pickled objects
            assert all(z[k].dtype != object for k in z.files)


class _Trap:
    """Unpickling this runs ``_sprung`` -- what a malicious checkpoint would do."""

    def __reduce__(self):
        return (_sprung, ("pwned",))


SPRUNG: list[str] = []


def _sprung(tag: str) -> str:
    SPRUNG.append(tag)
    return tag


def test_a_booby_trapped_cached_checkpoint_is_refused_not_run(tmp_path, monkeypatch):
    from convvis_lib.models import IMAGENET_MODELS
    import torchvision.models as tvm
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("CONVVIS_OFFLINE", "1")
    url = getattr(tvm, IMAGENET_MODELS["resnet18"][1]).IMAGENET1K_V1.url
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save({"fc.weight": _Trap()}, cache / Path(url).name)
    SPRUNG.clear()
    with pytest.raises(Exception) as err:
        cv.load_model("resnet18")
    assert SPRUNG == [], "the checkpoint's pickle payload was executed"
    assert "weights_only" in str(err.value) or "Unsupported" in str(err.value) or "_sprung" in str(err.value)


def test_a_genuine_cached_checkpoint_loads_through_weights_only(tmp_path, monkeypatch):
    from convvis_lib.models import IMAGENET_MODELS
    import torchvision.models as tvm
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    url = getattr(tvm, IMAGENET_MODELS["resnet18"][1]).IMAGENET1K_V1.url
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.manual_seed(3)
    state = tvm.resnet18(weights=None).state_dict()
    torch.save(state, cache / Path(url).name)
    seen = []
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    model, info = cv.load_model("resnet18")
    assert info.pretrained and seen == [True]
    assert torch.equal(model.fc.weight, state["fc.weight"])


@pytest.mark.parametrize("content", ["trap", "truncated"])
def test_a_bad_cached_checkpoint_gives_a_clear_error_and_the_fallback(tmp_path, monkeypatch, content, capsys):
    from convvis_lib.errors import WeightsUnavailableError
    from convvis_lib.models import IMAGENET_MODELS
    import torchvision.models as tvm
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("CONVVIS_OFFLINE", "1")
    name = Path(getattr(tvm, IMAGENET_MODELS["resnet18"][1]).IMAGENET1K_V1.url).name
    path = tmp_path / "hub" / "checkpoints" / name
    path.parent.mkdir(parents=True)
    if content == "trap":
        torch.save({"fc.weight": _Trap()}, path)
    else:
        torch.save({"fc.bias": torch.zeros(1000)}, path)
        path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(WeightsUnavailableError, match=re.escape(name)):
        cv.load_model("resnet18")
    _, info = cv.load_model_or_fallback("resnet18")
    assert info.name == "fashionnet"
