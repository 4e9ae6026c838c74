"""Shared fixtures: every test runs with its own cache/figure folders and the smoke profile."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

pytest_plugins = ["pytester"]  # test_make runs pytest on made-up test files, in process


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
# the first. The passes after the first run only the files whose code path differs by
# backend: what the kit computes with keras.ops or fer_kit.backend (warps, normalizer and
# augmentation layers, gradients, model graphs, training, saving and resuming, loading a
# saved or fetched model). Every other file runs in the first pass only: the data layer,
# plots, the import graph, the notebook runner, the CLI's and the ablation's own logic (their
# trainings go through fit, which test_train and test_runs check on every backend), and the
# install, resolve and subprocess checks, which pick their own backend. Every test file is
# in exactly one of the two sets (tests/test_make.py checks it), so a new file is a choice.
_EVERY_BACKEND = {"test_augment", "test_backend", "test_evaluate", "test_keras_internals",
                  "test_keras_vis", "test_keras_vis_homework", "test_keras_vis_master",
                  "test_legacy", "test_models", "test_nested", "test_porting",
                  "test_preprocess", "test_pretrained", "test_runs", "test_theory",
                  "test_train", "test_vis"}
_FIRST_PASS_ONLY = {"test_ablation", "test_cli", "test_config", "test_cores", "test_csvparse",
                    "test_install", "test_layers", "test_make", "test_notebooks",
                    "test_outliers", "test_plots", "test_resolve", "test_results",
                    "test_robustness", "test_sanity_reading", "test_split", "test_synth",
                    "test_tf_pipeline", "test_vis_backends"}
# Single tests in an every-backend file marked `one_pass` run in the first pass only too:
# subprocesses that pick their own backend, and run-folder logic that trains several models
# to test it. Tests whose reference is TensorFlow itself through Keras (tf.GradientTape on
# a Keras model, tf-keras-vis), marked `tf_reference`, run only when Keras runs on
# TensorFlow.


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
        elif repeat and (item.module.__name__.rsplit(".", 1)[-1] not in _EVERY_BACKEND
                         or "one_pass" in item.keywords):
            item.add_marker(pytest.mark.skip(
                reason="backend-independent, or picks its own backends: the first pass runs it"))
