# The two commands of the README. Each creates .venv and installs what it needs; make.py
# does the work (it is also the way to run them without make: `python make.py demo`).
# PYTHON may be any CPython >= 3.10; nothing is picked here: the environment markers in
# pyproject.toml install TensorFlow on 3.10-3.13 and JAX instead on 3.14+ (no stable
# TensorFlow wheels there), where fer_kit sets KERAS_BACKEND=jax itself. .venv keeps the
# interpreter it was made with: `rm -rf .venv` before `make PYTHON=python3.14 test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: demo test lab install install-dev bench clean

# demo: a plain install (no dev extras) runs the nine notebooks in the demo profile.
# test: the dev extras, then pytest jobs side by side, one per core (make.py plan): both
# tiers and the nine smoke notebooks from a plain install on TensorFlow; on each further
# backend (JAX; PyTorch where torch is in .venv) the backend-dependent unit tests and nbval
# on notebooks 05 and 07. Logs in build/test-logs/.
demo test lab install install-dev:
	$(PYTHON) make.py $@

bench: install-dev
	for f in benchmarks/bench_*.py; do .venv/bin/python $$f || exit 1; done

clean:
	rm -rf build runs .pytest_cache
