"""Packaging: the built wheel works on its own, and the version statements agree with each other.

One place states each fact: pyproject.toml the supported ranges, constraints-ci.txt the exact versions CI installs,
environment.yml follows pyproject.toml.
"""
from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tomllib
import venv
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _requirements() -> dict[str, Requirement]:
    """Every requirement in pyproject.toml (dependencies and the extras), by normalised name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {Requirement(r).name.lower().replace("_", "-"): Requirement(r) for r in reqs}


def _ci_pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints-ci.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, ver = line.partition("==")
            pins[name.strip().lower()] = Version(ver.strip())
    return pins


def test_environment_yml_matches_pyproject():
    import yaml
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {Requirement(m).name.lower().replace("_", "-"): Requirement(m) for m in pip if not m.startswith("-e")}
    wanted = {n: r for n, r in _requirements().items() if n != "captum"}  # the bench extra is not in the conda env
    assert {n: str(r.specifier) for n, r in listed.items()} == {n: str(r.specifier) for n, r in wanted.items()}
    assert "-e ." in pip


def test_ci_pins_lie_inside_the_supported_ranges():
    reqs, pins = _requirements(), _ci_pins()
    assert set(pins) == {"torch", "torchvision"}
    for name, pinned in pins.items():
        assert pinned in reqs[name].specifier, f"constraints-ci.txt pins {name} {pinned}, outside {reqs[name]}"


def test_this_environment_runs_the_ci_versions():
    """The venv `make` built holds exactly the pinned torch/torchvision (a local +cpu/+cu suffix aside)."""
    for name, pinned in _ci_pins().items():
        assert Version(version(name)).release == pinned.release, f"{name} {version(name)} installed, CI pins {pinned}"


def test_jupyter_book_1_is_required_and_installed():
    spec = _requirements()["jupyter-book"].specifier
    assert Version("1.0.4") in spec and Version("2.0.0") not in spec
    assert Version(version("jupyter-book")).major == 1


def test_ipywidgets_range_admits_colab_7_7_and_8():
    """Colab ships ipywidgets 7.7: a range that excluded it would make pip upgrade it there and blank the widgets."""
    spec = _requirements()["ipywidgets"].specifier
    assert all(Version(v) in spec for v in ("7.7.1", "8.1.5")) and Version("9.0") not in spec


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(ROOT)], check=True, timeout=300)
    (whl,) = out.glob("convvis_ko-*.whl")
    return whl


def test_wheel_installed_in_a_clean_venv_imports_and_runs(wheel, tmp_path):
    """Install the built wheel into a fresh venv (dependencies borrowed read-only from this one, without its editable
    convvis_lib), then, outside the repository, load fashionnet with the shipped weights and classify the shipped
    Fashion-MNIST sample."""
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    py = env / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # A plain path line: the dependencies become importable, but the .pth files there (the editable install) are not run.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site),
                    str(wheel)], check=True, timeout=300)
    probe = (
        "import convvis_lib as cv, torch\n"
        "from pathlib import Path\n"
        "model, info = cv.load_model('fashionnet')\n"
        "data = cv.load_sample()\n"
        "x = cv.preprocess(info, data.images)\n"
        "with torch.no_grad():\n"
        "    acc = (torch.cat([model(b) for b in x.split(500)]).argmax(1).numpy() == data.labels).mean()\n"
        "print(Path(cv.__file__).resolve().parent, len(data.images), acc)\n"
    )
    run = subprocess.run([str(py), "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    where, n, acc = run.stdout.split()
    assert Path(where) == site / "convvis_lib", f"imported convvis_lib from {where}, not from the installed wheel"
    assert int(n) == 2000 and float(acc) > 0.88, run.stdout


def test_wheel_ships_the_assets(wheel):
    import zipfile
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in ("fashionnet.safetensors", "fashion_mnist_sample.npz"):
        assert f"convvis_lib/assets/{asset}" in names
    assert not any(re.match(r"(tests|notebooks|book)/", n) for n in names)
