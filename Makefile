# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make run    - the main job (builds .venv on first use)
#   make test   - the whole test suite (builds .venv on first use)
# Nothing needs to be activated; every target calls .venv/bin/... directly.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint typecheck bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "make: Python 3.11 not found (python3.11 / python3)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c constraints.txt -e '.[dev,oracles,notebooks,corpus]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/convcost compare mobilenet_v1 shufflenet_v2 --input 224

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ratio_startup.py
	$(BIN)/python benchmarks/bench_zoo.py
	$(BIN)/python benchmarks/bench_analyze.py
	$(BIN)/python benchmarks/bench_latency_calibration.py
	$(BIN)/python benchmarks/bench_latency_model.py
	$(BIN)/python benchmarks/bench_latency_heldout.py
	$(BIN)/python benchmarks/bench_guidelines.py
	$(BIN)/python benchmarks/bench_corpus.py
	$(BIN)/python benchmarks/bench_memory.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
