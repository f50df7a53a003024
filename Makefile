# Every target sets up what it needs: a virtual environment in .venv inside
# the checkout, with responder installed in it in editable mode.  `serve`
# installs only the package (.venv/.serve); the other targets add the test
# and documentation tools (.venv/.test).  The editable install is a plain
# .pth naming the checkout (see package-dir in pyproject.toml), so twistd,
# which finds plugins by scanning sys.path for twisted/plugins/ folders,
# runs `twistd responder` from the working tree.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 1984

.PHONY: serve test lint typecheck docs unit bench mutate dist clean

serve: $(VENV)/.serve
	$(BIN)/twistd -n responder --port $(PORT)

test: lint typecheck docs unit

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.test
	$(BIN)/mypy

# API documentation from the epytext docstrings, the way Twisted builds its
# own; any warning (a broken link, bad markup) fails the build.
docs: $(VENV)/.test
	$(BIN)/pydoctor --quiet --warnings-as-errors --docformat=epytext \
		--project-name=responder --project-version="$$($(BIN)/python -c 'import responder; print(responder.__version__)')" \
		--html-output=apidocs responder

unit: $(VENV)/.test
	$(BIN)/pytest

# BENCH_ARGS: more options for benchmarks/run.py, such as
# "--baseline OTHER/.venv" to compare with an earlier commit in the same run.
bench: $(VENV)/.test
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Mutation testing of the core modules against the fast unit tests, from
# scratch each time (a few minutes; docs/testing.md), then the score of
# each module.  Not part of `make test`.
mutate: $(VENV)/.test
	$(BIN)/pip install --quiet 'mutmut>=3.8,<4'
	rm -rf mutants
	$(BIN)/mutmut run
	$(BIN)/python tools/mutation_scores.py

# The wheel (txresponder-VERSION-py3-none-any.whl) into dist/, for
# `pip install dist/txresponder-*.whl` elsewhere.
dist: $(VENV)/.serve
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

$(VENV)/.serve: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.serve
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) apidocs build dist *.egg-info twisted/plugins/dropin.cache mutants
