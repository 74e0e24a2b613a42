# otnb: every target sets itself up (virtual environment, torch, the package) before it runs.
#   make test   -> the whole test suite: notebooks in fast test mode + pytest, side by side on all cores
#   make docs   -> execute every notebook at full quality, then build the docs pages
# Variables: VENV (default .venv), PYTHON (to create it), TORCH (the torch requirement installed
# when the environment has no torch yet; default torch==2.13.0, a CUDA build from PyPI on Linux
# GPU machines, the CPU wheel where only that is on disk), TORCH_INDEX (an extra --index-url for torch).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.otnb-installed
NBS := $(sort $(wildcard nbs/*.ipynb nbs/tutorials/*.ipynb))

.PHONY: install test test-nbs test-py check install-check sync readme proc docs-check browser-check run-notebooks docs site bench clean

install: $(STAMP)

# Torch first and alone, then the package against a constraints file that pins the installed torch,
# so that no later requirement can swap it for another (multi-GB) build.
$(STAMP): settings.ini setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import torch' 2>/dev/null || \
	  $(BIN)/python -m pip install --disable-pip-version-check -q $(TORCH) numpy $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	@$(BIN)/python -c 'import torch; print("torch==" + torch.__version__)' > $(VENV)/torch-constraint.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q -c $(VENV)/torch-constraint.txt -e ".[dev]"
	@touch $(STAMP)

# ---- tests -----------------------------------------------------------------------------------
# every notebook (one nbdev_test process each) and pytest, longest first on all cores (tools/run_tests.py)
test: install
	$(BIN)/python tools/run_tests.py

# two notebook workers on two cores: one BLAS/OpenMP thread each, or they oversubscribe the cores
test-nbs: install
	OTNB_TEST=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/nbdev_test --n_workers 2 --timing

test-py: install
	OTNB_TEST=1 $(BIN)/python -m pytest tests -q

# notebooks clean, library exported, README current: what CI requires of a commit
check: install
	$(BIN)/python tools/check_sync.py

# as a user installs it: sdist and wheel built and twine-checked, the wheel alone (no dev extras) in a fresh
# environment pinned to this torch, and the README's first example run there; requirements = what otnb/ imports
install-check: install
	$(BIN)/python tools/install_check.py

# ---- docs ------------------------------------------------------------------------------------
# nbdev's processing of nbs/ into _proc/ (reads _quarto.yml through the nbs/_quarto.yml symlink)
proc: install
	$(BIN)/python tools/proc_docs.py

readme: proc
	$(BIN)/python tools/readme.py _proc/index.ipynb README.md

# the docs build as far as a machine without Quarto can take it: sync checks, then the local site in _docs/
docs-check: proc
	$(BIN)/python tools/check_docs.py --out _docs

# every page of the local site in headless Chromium (Debian's package, installed if missing); screenshots in _docs/screenshots/
browser-check: docs-check
	bash tools/install_chromium.sh
	$(BIN)/python tools/browser_check.py _docs

# run every notebook at full quality and store its outputs (figures) in place
run-notebooks: install
	OTNB_TEST=0 $(BIN)/python tools/run_notebooks.py $(NBS)
	$(BIN)/nbdev_clean

docs: run-notebooks readme site

# the site: Quarto (nbdev_docs, what the deploy workflow publishes) where it exists, else the local preview in _docs/
site: proc
	@if command -v quarto >/dev/null 2>&1; then $(BIN)/nbdev_docs; \
	else echo "Quarto not found: building the local preview (tools/docs_site.py) into _docs/"; \
	  $(BIN)/python tools/check_docs.py --out _docs; fi

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf _proc _docs
