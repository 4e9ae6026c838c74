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


# ---- the second Keras backend ------------------------------------------------------------
# `make test` runs the suite on TensorFlow, then again with KERAS_BACKEND=jax. In the JAX
# pass two kinds of test are left to the TensorFlow pass: tests whose reference is
# TensorFlow itself through Keras (tf.GradientTape on a Keras model, tf-keras-vis, tf.data),
# marked `tf_reference`; and test files whose code never touches Keras (the data layer,
# plots, the install and resolve checks) or that compare the backends themselves in
# subprocesses, listed below. Everything else runs on both.
_ONE_PASS = {"test_config", "test_csvparse", "test_outliers", "test_plots", "test_resolve",
             "test_split", "test_synth", "test_install", "test_vis_backends"}


def pytest_configure(config):
    config.addinivalue_line("markers", "tf_reference: compares with TensorFlow through Keras; "
                                       "runs only when Keras runs on TensorFlow")


def pytest_collection_modifyitems(config, items):
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "tensorflow":
        return
    why = {"tf_reference": "its reference is TensorFlow: the TensorFlow pass runs it",
           "one_pass": "no Keras code (or compares backends itself): the TensorFlow pass "
                       "runs it"}
    for item in items:
        if "tf_reference" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=why["tf_reference"]))
        elif item.module.__name__.rsplit(".", 1)[-1] in _ONE_PASS:
            item.add_marker(pytest.mark.skip(reason=why["one_pass"]))
