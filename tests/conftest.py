"""Shared fixtures: every test runs with its own cache/figure folders and the smoke profile."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("FER_KIT_CACHE", str(base / "cache"))
    monkeypatch.setenv("FER_KIT_FIGURES", str(base / "figures"))
    monkeypatch.setenv("FER_KIT_RUNS", str(base / "runs"))
    monkeypatch.setenv("FER_KIT_PROFILE", "smoke")
    monkeypatch.delenv("FER_KIT_DATA", raising=False)


@pytest.fixture(scope="session")
def synth_small():
    """600 SynthFER images (seed 0), shared by many tests."""
    from fer_kit.data import synth
    return synth.generate(600, seed=0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---- more than one Keras backend ---------------------------------------------------------
# `make test` (make.py) runs the suite once per installed backend: TensorFlow, then JAX, then
# PyTorch where torch is installed, setting FER_KIT_TEST_PASS=repeat on every pass after
# the first. Two kinds of test run once: tests whose reference is TensorFlow itself through
# Keras (tf.GradientTape on a Keras model, tf-keras-vis, tf.data), marked `tf_reference`,
# run only when Keras runs on TensorFlow; and test files whose code never touches Keras
# (the data layer, plots, the install and resolve checks) or that compare the backends
# themselves in subprocesses, listed below, run in the first pass only.
_ONE_PASS = {"test_config", "test_csvparse", "test_outliers", "test_plots", "test_resolve",
             "test_split", "test_synth", "test_install", "test_vis_backends", "test_make",
             # files, folders, processes and errors around training: the kit's own logic,
             # the same on every backend (SIGKILL, full disks, torn files, same-second runs)
             "test_robustness"}
# Single tests marked `one_pass` run in the first pass only too: subprocesses that pick
# their own backend, and run-folder logic that trains several models to test it.


# ---- two tiers ----------------------------------------------------------------------------
# Unit tests mirror the package and use tiny models and data: `pytest tests -m "not
# integration"` runs them in a few minutes. Integration tests build environments, resolve
# dependencies, start processes that pick their own backend, kill runs, fill disks or train
# full-size data; `make test` runs both tiers. A whole file is integration when listed here;
# a single test is when marked `integration`.
_INTEGRATION = {"test_install", "test_resolve", "test_make", "test_robustness", "test_cores",
                "test_vis_backends"}


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: environments, processes, crashes or "
                                       "full-size data; deselect with -m 'not integration'")
    config.addinivalue_line("markers", "one_pass: backend-independent or picks its own backend; "
                                       "runs in the first pass only")
    config.addinivalue_line("markers", "tf_reference: compares with TensorFlow through Keras; "
                                       "runs only when Keras runs on TensorFlow")


def pytest_collection_modifyitems(config, items):
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    repeat = os.environ.get("FER_KIT_TEST_PASS") == "repeat"
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in _INTEGRATION:
            item.add_marker(pytest.mark.integration)
        if backend != "tensorflow" and "tf_reference" in item.keywords:
            item.add_marker(pytest.mark.skip(
                reason="its reference is TensorFlow: the TensorFlow pass runs it"))
        elif repeat and (item.module.__name__.rsplit(".", 1)[-1] in _ONE_PASS
                         or "one_pass" in item.keywords):
            item.add_marker(pytest.mark.skip(
                reason="backend-independent, or picks its own backends: the first pass runs it"))
