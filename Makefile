# MLSys·im — the two set-up commands of the README are `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help venv test lint serve site bench clean

help:
	@echo "make serve   build the site and serve it on http://localhost:8000"
	@echo "make test    create .venv, install everything, run lint and the whole test suite"
	@echo "make bench   run the speed benchmarks"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2

serve: $(STAMP)
	$(PY) -m sitebuild serve

site: $(STAMP)
	$(PY) -m sitebuild build

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf _site .sitebuild-cache .pytest_cache .ruff_cache
