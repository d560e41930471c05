# A fresh clone needs nothing but `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/esf-pipeline demo

# the local web page; without a database of its own it shows the demo data of `make demo`
serve: $(STAMP)
	$(BIN)/esf-pipeline serve --config config.toml

test: $(STAMP)
	GX_ANALYTICS_ENABLED=False $(BIN)/python -m pytest -n 2 --dist loadgroup tests
	$(BIN)/ruff check pipeline tests benchmarks

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf outputs demo .pytest_cache
