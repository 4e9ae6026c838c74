# The two commands of the README. Each creates .venv and installs what it needs.
# PYTHON may be any CPython >= 3.10; nothing is picked here: the environment markers in
# pyproject.toml install TensorFlow on 3.10-3.13 and JAX instead on 3.14+ (no stable
# TensorFlow wheels there), where fer_kit sets KERAS_BACKEND=jax itself. .venv keeps the
# interpreter it was made with: `rm -rf .venv` before `make PYTHON=python3.14 test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/fer-kit demo --out build

# Unit tests, then every notebook top to bottom with nbval in the smoke profile: on
# TensorFlow, then again on JAX (tests/conftest.py says which tests run once). JAX keeps
# its compiled programs in build/jax-cache, so a model compiled once is not compiled again.
NBVAL := build/nbval
SMOKE := FER_KIT_PROFILE=smoke MPLBACKEND=Agg
NBVAL_RUN = $(SMOKE) FER_KIT_RUNS=$(CURDIR)/$(NBVAL)/runs FER_KIT_FIGURES=$(CURDIR)/$(NBVAL)/figures \
	  $(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax \
	  --sanitize-with .nbval-sanitize.cfg notebooks
JAX := KERAS_BACKEND=jax JAX_COMPILATION_CACHE_DIR=$(CURDIR)/build/jax-cache \
	JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
test: install-dev
	$(SMOKE) $(BIN)/python -m pytest -q tests
	rm -rf $(NBVAL)
	$(NBVAL_RUN)
	$(JAX) $(SMOKE) $(BIN)/python -m pytest -q -p no:cacheprovider tests
	rm -rf $(NBVAL)
	$(JAX) $(NBVAL_RUN)

bench: install-dev
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf build runs .pytest_cache
