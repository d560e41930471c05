# A fresh clone needs nothing but `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/esf-pipeline demo

test: $(STAMP)
	GX_ANALYTICS_ENABLED=False $(BIN)/python -m pytest -n 2 --dist loadgroup tests
	$(BIN)/ruff check pipeline tests benchmarks

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf outputs demo .pytest_cache
