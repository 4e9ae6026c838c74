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
