# uPile: `make test` and `make sim` set everything up themselves.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.stamp
JOBS    ?= 2

.PHONY: all test test-device test-host build sim bench clean distclean

all: test

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

build: $(STAMP)
	$(BIN)/upile build

test: $(STAMP) build
	$(BIN)/pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder --durations=25 tests

test-device: $(STAMP)
	$(BIN)/pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder tests/device

test-host: $(STAMP) build
	$(BIN)/pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder tests/host

sim: $(STAMP) build
	$(BIN)/upile sim demo

bench: $(STAMP) build
	for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build .sim .pytest_cache

distclean: clean
	rm -rf $(VENV)
