# Two set-up commands do everything on a fresh clone: `make demo` and `make test`.
# Both create .venv if missing and install the package; both are idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Installed first and pinned: here it is the local CPU wheel; on a GPU machine PyPI's
# Linux wheel of the same release is CUDA-enabled. Override with TORCH=...
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow lint format wheel-test clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev,distributed,tensorboard,jax]"
	touch $(STAMP)

install: $(STAMP)

# The quick grid into a resumable store (a second `make demo` skips finished runs),
# then its report: tables, plots and runs/demo-report/report.html.
demo: install
	mkdir -p runs
	$(BIN)/rewarddesign bench quick --store runs/demo.sqlite
	$(BIN)/rewarddesign report runs/demo.sqlite --grid quick --out runs/demo-report

# The rooms' import layering (pyproject.toml, ARCHITECTURE.md), then the tests: one
# worker per core, each test file on one worker (its module fixtures built once).
test: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -n auto --dist loadfile

test-slow: install
	$(BIN)/python -m pytest -q -m slow

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) dist build .pytest_cache
