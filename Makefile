# Two entry points for a fresh machine (Python 3.11): `make run` and `make test`.
# Both create the virtual environment in .venv and install flowrisk into it when needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## The main job end to end on the embedded defaults (data under FLOWRISK_HOME, default ./.flowrisk).
run: $(STAMP)
	$(BIN)/flowrisk run

## The test suite (unit, contracts, model, integration); PYTEST_ARGS passes extra options.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check flowrisk tests benchmarks
	$(BIN)/mypy flowrisk benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_synth.py --entities 100000 1000000
	$(BIN)/python benchmarks/bench_validate.py

clean:
	rm -rf $(VENV) .flowrisk .pytest_cache .ruff_cache .mypy_cache
