# MLSys·im — the two set-up commands of the README are `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help venv test lint serve site site-instructor site-student site-check bench clean
.PHONY: assignments

help:
	@echo "make serve   build the site, serve it on http://localhost:8000, rebuild and reload on save"
	@echo "make test    create .venv, install everything, run lint and the whole test suite"
	@echo "make bench   run the speed benchmarks"
	@echo "make site    build the site into _site (make site-instructor: with worked solutions)"
	@echo "make site-student   the student edition into _site-student: no solutions at all"
	@echo "make site-check   build, then check every page in a headless browser"
	@echo "make assignments  every tutorial's exercises as an otter-grader assignment, in _assignments"
	@echo "make browser install Debian's chromium for the browser check (as root; make test does it)"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2

# The browser check (sitebuild/check.py, tests/test_browser.py) drives Debian's /usr/bin/chromium
# through Playwright; never `playwright install`. Installing chromium needs root and apt-get.
.PHONY: browser
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	    echo "make browser: Debian's chromium is missing; the browser check needs it." >&2; \
	    echo "  Install it as root: apt-get update && apt-get install -y chromium" >&2; \
	    exit 1; \
	  fi; \
	  echo "make browser: installing Debian's chromium (apt-get)"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	}
	@chromium --version 2>/dev/null

# Live preview (sitebuild/preview.py): rebuilds what changed and reloads the open tab on save;
# `make serve PORT=8001` for another port (the next free one is taken when it is busy).
PORT ?= 8000
serve: $(STAMP)
	$(PY) -m sitebuild serve --port $(PORT)

site: $(STAMP)
	$(PY) -m sitebuild build

site-instructor: $(STAMP)
	$(PY) -m sitebuild build --profile instructor

# The student edition (_quarto-student.yml): every worked solution removed, with its code,
# outputs and declared answers, from the pages, the search index and the notebooks.
site-student: $(STAMP)
	$(PY) -m sitebuild build --profile student

site-check: site
	$(PY) -m sitebuild check --site _site

# Student and solution notebooks and an otter-grader autograder per tutorial (sitebuild/assign.py);
# `make assignments ASSIGN_ARGS="--variants roster.txt --seed 42"` for per-student variants.
assignments: $(STAMP)
	$(PY) -m sitebuild assign --all --out _assignments $(ASSIGN_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf _site _site-instructor _site-student .sitebuild-cache .pytest_cache .ruff_cache
	rm -rf _assignments
