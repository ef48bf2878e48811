# Everything runs from a fresh clone with only Python 3.11 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# The main job on the embedded example: the Toolforge incident of February 2024.
# Exit 1 means "findings at or above --fail-on"; the demo shows them rather than failing.
demo: $(STAMP)
	$(BIN)/harborguard simulate --snapshot examples/toolforge-snapshot.json --format table \
		|| [ $$? -eq 1 ]

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check harborguard tests benchmarks examples
	$(BIN)/mypy --strict harborguard

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_simulate.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
