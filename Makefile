# Two entry points (see README): `make book` and `make test`. Both create .venv and install on first use.
SHELL := /bin/bash
PY    ?= python3
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed
export BOOK_PROFILE ?= ci
# Debian's Chromium + ChromeDriver drive the browser check of the built book (installed by `make test`)
CHROMIUM     ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
TIMES := _build/stage-times.txt
# the chapters as nbval executed them (conftest.py stores them; `make test`'s book build reads them)
EXECUTED := _build/.jupyter_cache
# $(call stage,name,command): run a stage of `make test`, print and record its wall time, keep its exit code
stage = s=$$(date +%s); $(2); rc=$$?; t=$$(( $$(date +%s) - s )); mkdir -p _build; \
        echo "== stage $(1): $${t} s (exit $${rc})" | tee -a $(TIMES); exit $${rc}

.PHONY: book book-from-tests test install unit chapters format build-check browser browser-deps gpu-check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[book,test]"
	touch $(STAMP)

install: $(STAMP)

## Build the HTML book into _build/html, executing every chapter at $(BOOK_PROFILE). `--all`: Sphinx would skip
## unchanged pages, but a page also depends on lib/ and on the cached models, so every page is rebuilt.
book: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/jupyter-book build . --all -W -n --keep-going --config _config.yml

## The book from the executions nbval just checked (`make test`): pages are read from $(EXECUTED), where
## conftest.py stored each chapter whose cells all passed; a chapter missing there is executed as usual.
book-from-tests: $(STAMP)
	mkdir -p _build/from-tests
	sed -e 's|execute_notebooks: force.*|execute_notebooks: cache\n  cache: $(CURDIR)/$(EXECUTED)|' \
	    -e 's|: _ext  *#|: $(CURDIR)/_ext  #|' \
	    _config.yml > _build/from-tests/_config.yml
	grep -q 'execute_notebooks: cache' _build/from-tests/_config.yml
	set -o pipefail; TQDM_DISABLE=1 $(BIN)/jupyter-book build . --all -W -n --keep-going \
	  --config _build/from-tests/_config.yml 2>&1 | tee _build/from-tests/build.log
	@echo "pages read from nbval's executions: $$(grep -c 'Using cached notebook' _build/from-tests/build.log);" \
	      "chapters executed again: $$(grep -c 'Executing notebook' _build/from-tests/build.log)"

## Everything, in order: a build without execution (markup check, seconds); unit tests and every chapter of
## _toc.yml under nbval (trains and caches the models, keeps each executed chapter); the book built from those
## executions (nothing runs twice); headless Chromium reading every page of the built book; then `make book`
## as a reader runs it, warm (every model cached by the nbval stage), which must take at most half the cold
## stage: a cell stalled until its limit fails it (_ext/cell_timeouts.py). Stage times: _build/stage-times.txt.
## At ci each cell runs under its own limit (its ':timeout:' option, else 300 s); 1800 s is the limit at the
## other profiles.
test: $(STAMP) browser-deps
	@rm -f $(TIMES)
	@$(call stage,markup-check,$(MAKE) --no-print-directory build-check)
	@rm -rf $(EXECUTED)
	@$(call stage,unit+chapters,BOOK_EXECUTED_CACHE=$(CURDIR)/$(EXECUTED) TQDM_DISABLE=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=1800 --durations=25 -v)
	@$(call stage,book-build,$(MAKE) --no-print-directory book-from-tests)
	@$(call stage,browser,$(MAKE) --no-print-directory browser)
	@$(call stage,warm-book,$(MAKE) --no-print-directory book)
	@$(BIN)/python scripts/stage_times.py $(TIMES) --warm warm-book --cold unit+chapters --at-most 0.5
	@cat $(TIMES)

unit: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m pytest tests -q

chapters: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env chapters -v --durations=0

## The chapters in two lanes at once (scripts/lanes.py: chapters 1, 2, 5 | 0, 3, 4, then the claims page), each
## lane's cell limits doubled: one lane's single-threaded evaluation cells use the core the other's training
## leaves idle. Not yet `make test`'s chapter stage: its cold time against one session is to be measured.
LANES := chapters/01-harmonic-representations.md,chapters/02-min-norm-denoisers.md,chapters/05-synthesis.md \
         chapters/00-denoisers-and-generalization.md,chapters/03-gaussian-structure.md,chapters/04-subspace-clustering.md
LAST_PAGE := chapters/06-claims.md
.PHONY: chapters-lanes
chapters-lanes: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python scripts/lanes.py --toc _toc.yml --after $(LAST_PAGE) \
	  --pytest "--nbval-lax --nbval-current-env --durations=15 -v" $(LANES)

## Reflow the chapters' code cells to 88 columns with ruff (tests/test_cells.py checks the width). Long
## strings and comments are left to the author.
format: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/jupytext --pipe "ruff format --line-length 88 -" chapters/*.md

## Every chapter at BOOK_PROFILE=gpu on one CUDA GPU (≤ 5 min each, ≤ 15 min in all): stage times, device and
## each chapter's claims table in _build/gpu-check; non-zero exit on a failure or a timeout (README).
gpu-check: $(STAMP)
	$(BIN)/python scripts/gpu_check.py --out _build/gpu-check

## Headless Chromium checks the built book in _build/html (screenshots in _build/screenshots).
browser: $(STAMP) browser-deps
	BOOK_HTML=_build/html BOOK_CHROMIUM=$(CHROMIUM) BOOK_CHROMEDRIVER=$(CHROMEDRIVER) \
	  $(BIN)/python -m pytest tests/test_browser.py -v -p no:cacheprovider

## The built book as one PDF (_build/pdf/book.pdf): headless Chromium prints every page of _build/html with
## dropdowns and solutions open, code wrapped, no navigation (_ext/print_book.py). Build the book first
## (or print another build: `make pdf HTML=path/to/html`).
.PHONY: pdf notebooks
HTML ?= _build/html
pdf: $(STAMP) browser-deps
	@test -f $(HTML)/intro.html || { echo "no built book in $(HTML): run \`make book\` first"; exit 1; }
	BOOK_CHROMIUM=$(CHROMIUM) BOOK_CHROMEDRIVER=$(CHROMEDRIVER) $(BIN)/python _ext/print_book.py --html $(HTML)

## notebooks/<chapter>.ipynb, what the Colab button opens: each chapter with an install cell first, glued
## numbers from the last build (_build/jupyter_execute) written into the text. Needs BOOK_REPO_URL (README).
notebooks: $(STAMP)
	$(BIN)/python _ext/reader_notebooks.py

browser-deps:
	@if [ ! -x "$(CHROMIUM)" ] || [ ! -x "$(CHROMEDRIVER)" ]; then \
	  command -v apt-get >/dev/null || { echo "Install Chromium and ChromeDriver, or set CHROMIUM= and CHROMEDRIVER="; exit 1; }; \
	  echo "installing Debian's chromium and chromium-driver"; \
	  $(SUDO) apt-get install -y -q chromium chromium-driver >/dev/null || \
	  { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q chromium chromium-driver >/dev/null; }; fi

## Sphinx build with execution off: broken MyST markup, references or toc entries fail under -W.
build-check: $(STAMP)
	rm -rf _build/check && mkdir -p _build/check
	sed -e 's/execute_notebooks: force/execute_notebooks: "off"/' \
	    -e 's/suppress_warnings: \["mystnb.unknown_mime_type"\]/suppress_warnings: ["mystnb.unknown_mime_type", "mystnb.glue", "mystnb.glue_ref", "ref.numref"]/' \
	    -e 's|: _ext  *#|: $(CURDIR)/_ext  #|' \
	    _config.yml > _build/check/_config.yml
	grep -q '"mystnb.glue"' _build/check/_config.yml  # without execution glued values and figures made by code cells (their {numref}s) do not exist
	$(BIN)/jupyter-book build . -W -n --keep-going --path-output _build/check --config _build/check/_config.yml

clean:
	rm -rf _build
