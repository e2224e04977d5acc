# Two commands on a fresh machine:  make book   (build the HTML book)   make test   (run every test)
# Then:  make lab  (open the notebooks in JupyterLab)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
# Idle OpenMP threads sleep instead of spinning: on a busy 2-core machine spinning made torch ~100x slower.
export OMP_WAIT_POLICY := PASSIVE

.PHONY: book test unit nbval nbval-portable book-check browser bench system-deps clean lab vendor-js

$(STAMP): pyproject.toml constraints-ci.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints-ci.txt torch torchvision
	$(PY) -m pip install -q -c constraints-ci.txt -e ".[book,test,bench,lab]"
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $(STAMP)

book: $(STAMP)
	rm -rf _build
	CONVVIS_STATIC=1 $(VENV)/bin/jupyter-book build --all -W --keep-going .
	$(PY) scripts/postbuild.py _build/html
	@echo "book: open _build/html/index.html"

unit: $(STAMP)
	$(PY) -m pytest -q tests/ --ignore=tests/browser

nbval: $(STAMP)
	$(PY) -m pytest -q --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider $(NOTEBOOKS)

# The same notebooks with another machine's kernels: AVX2 only, one thread. A checked output that depends on the CPU's
# instruction set or thread count fails here, on any machine, before it fails on someone else's.
PORTABLE_ENV := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
nbval-portable: $(STAMP)
	$(PORTABLE_ENV) $(PY) -m pytest -q --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider $(NOTEBOOKS)

# Serves _build/html on localhost and drives Debian's headless Chromium (fails if the book is not built).
browser: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/browser

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# Re-fetch the self-hosted widget/MathJax scripts from npm (pinned versions, integrity-checked).
vendor-js: $(STAMP)
	$(PY) scripts/fetch_vendor_js.py

# The README's test command: unit tests, every notebook under nbval (as is, then with AVX2 kernels on one thread),
# a clean -W book build, the browser test.
test: system-deps unit nbval nbval-portable book browser

system-deps:
	@bash scripts/system_deps.sh

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf _build
