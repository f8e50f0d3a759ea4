# Two entry points (see README): `make book` and `make test`. Both create .venv and install on first use.
SHELL := /bin/bash
PY    ?= python3
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed
export BOOK_PROFILE ?= ci

.PHONY: book test install unit chapters build-check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[book,test]"
	touch $(STAMP)

install: $(STAMP)

## Build the HTML book into _build/html, executing every chapter at $(BOOK_PROFILE).
book: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/jupyter-book build . -W -n --keep-going --config _config.yml

## A build without execution (markup check, seconds), then unit tests and every chapter of _toc.yml under nbval.
test: $(STAMP)
	$(MAKE) build-check
	TQDM_DISABLE=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=1800 --durations=15 -v

unit: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m pytest tests -q

chapters: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env chapters -v --durations=0

## Sphinx build with execution off: broken MyST markup, references or toc entries fail under -W.
build-check: $(STAMP)
	rm -rf _build/check && mkdir -p _build/check
	sed 's/execute_notebooks: force/execute_notebooks: "off"/' _config.yml > _build/check/_config.yml
	$(BIN)/jupyter-book build . -W -n --keep-going --path-output _build/check --config _build/check/_config.yml

clean:
	rm -rf _build
