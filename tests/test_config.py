"""Profiles, environment variables and setup()."""
from __future__ import annotations

import os

import numpy as np
import pytest

from fer_kit import config


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("FER_KIT_PROFILE", "demo")
    assert config.get_profile().name == "demo"
    assert config.get_profile("full").width == 1.0
    monkeypatch.delenv("FER_KIT_PROFILE")
    assert config.get_profile().name == "demo"  # SynthFER default


def test_full_is_default_with_real_data(monkeypatch, tmp_path):
    monkeypatch.delenv("FER_KIT_PROFILE")
    monkeypatch.setenv("FER_KIT_DATA", str(tmp_path / "fer2013.csv"))
    assert config.get_profile().name == "full"


def test_unknown_profile_is_named(monkeypatch):
    monkeypatch.setenv("FER_KIT_PROFILE", "fast")
    with pytest.raises(config.ConfigError, match="unknown profile 'fast'.*smoke, demo, full"):
        config.get_profile()
    with pytest.raises(config.ConfigError, match="unknown profile field"):
        config.get_profile("demo", epochz=3)


def test_bad_fer_kit_data(monkeypatch, tmp_path):
    monkeypatch.setenv("FER_KIT_DATA", str(tmp_path / "missing.csv"))
    with pytest.raises(config.ConfigError, match="missing.csv: no such file"):
        config.data_source()
    monkeypatch.setenv("FER_KIT_DATA", str(tmp_path))
    with pytest.raises(config.ConfigError, match="neither fer2013.csv nor train.csv"):
        config.data_source()


def test_setup_seeds_and_reports(capsys):
    prof = config.setup(seed=3)
    a = np.random.rand(3)
    config.setup(seed=3, quiet=True)
    np.testing.assert_array_equal(a, np.random.rand(3))
    assert prof.name == "smoke"
    assert "dataset=SynthFER" in capsys.readouterr().out


def test_quiet_native_stderr_drops_only_start_up_notices(capfd):
    with config.quiet_native_stderr():
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on.\n"
                    b"E0000 something real went wrong\n")
    err = capfd.readouterr().err
    assert "something real went wrong" in err and "oneDNN" not in err


def test_tensorflow_loads_without_its_start_up_notices():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "import fer_kit as fk; fk.models.names()"],
                         capture_output=True, text=True, check=True)
    assert "oneDNN custom operations" not in out.stderr
    assert "absl::InitializeLog" not in out.stderr
