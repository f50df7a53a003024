# Every target sets up what it needs: a virtual environment in .venv inside
# the checkout, with responder installed in it in editable mode.  The
# editable install is a plain .pth naming the checkout (see package-dir in
# pyproject.toml), so twistd, which finds plugins by scanning sys.path for
# twisted/plugins/ folders, runs `twistd responder` from the working tree.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 1984

.PHONY: serve test lint typecheck unit bench mutate clean

serve: $(VENV)/.installed
	$(BIN)/twistd --nodaemon --pidfile= responder --port $(PORT)

test: lint typecheck unit

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed
	$(BIN)/mypy

unit: $(VENV)/.installed
	$(BIN)/pytest

# BENCH_ARGS: more options for benchmarks/run.py, such as
# "--baseline OTHER/.venv" to compare with an earlier commit in the same run.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Mutation testing of the core modules against the fast unit tests, from
# scratch each time (a few minutes; docs/testing.md), then the score of
# each module.  Not part of `make test`.
mutate: $(VENV)/.installed
	$(BIN)/pip install --quiet 'mutmut>=3.8,<4'
	rm -rf mutants
	$(BIN)/mutmut run
	$(BIN)/python tools/mutation_scores.py

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build dist *.egg-info twisted/plugins/dropin.cache mutants
