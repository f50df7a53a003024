# Every target sets up what it needs: a virtual environment in .venv inside
# the checkout, with responder installed in it in editable mode.  `serve`
# installs only the package (.venv/.serve); the other targets add the test
# and documentation tools (.venv/.test).  Twisted
# finds plugins by scanning sys.path for twisted/plugins/ folders, which an
# editable install's import hook does not provide, so a .pth file also puts
# this checkout on the venv's sys.path: `twistd responder` then runs the code
# in the working tree.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 1984

.PHONY: serve test lint typecheck docs unit bench dist clean

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

# The wheel (txresponder-VERSION-py3-none-any.whl) into dist/, for
# `pip install dist/txresponder-*.whl` elsewhere.
dist: $(VENV)/.serve
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

$(VENV)/.serve: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	$(BIN)/python -c 'import site, sys; open(site.getsitepackages()[0] + "/responder-checkout.pth", "w").write(sys.argv[1] + "\n")' "$(CURDIR)"
	touch $@

$(VENV)/.test: $(VENV)/.serve
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) apidocs build dist *.egg-info twisted/plugins/dropin.cache
