"""The fer-kit command line: synth, info, and one clear error line for bad input."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fer_kit import cli


def test_synth_then_info(tmp_path, capsys):
    assert cli.main(["synth", "--out", str(tmp_path), "--n-train", "70", "--n-test", "15",
                     "--course-files"]) == 0
    for name in ("fer2013.csv", "fer2013.masks.npz", "train.csv", "test.csv", "test_labels.csv"):
        assert (tmp_path / name).is_file()
    assert cli.main(["info", str(tmp_path / "fer2013.csv")]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "public" in out and "private" in out


def test_bad_file_gives_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "fer2013.csv"
    bad.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    r = subprocess.run([sys.executable, "-m", "fer_kit.cli", "info", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"fer-kit: error: {bad}, line 2: expected 2304 pixel values, "
                                "found 3")


def test_unknown_profile_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("FER_KIT_PROFILE", "nope")
    assert cli.main(["info"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err


def test_train_evaluate_predict(tmp_path, capsys):
    import pandas as pd
    run = tmp_path / "run"
    assert cli.main(["train", "--model", "cnn3", "--epochs", "1", "--run-dir", str(run)]) == 0
    assert (run / "model.keras").is_file()
    assert cli.main(["evaluate", "--run", str(run)]) == 0
    out = capsys.readouterr().out
    assert "public" in out and "most confused" in out
    sub = tmp_path / "submission.csv"
    assert cli.main(["predict", "--run", str(run), "--out", str(sub), "--tta"]) == 0
    df = pd.read_csv(sub)
    assert list(df.columns) == ["id", "label"] and len(df) == 420  # smoke: 210 + 210
    assert df["label"].between(0, 6).all()


# A script that runs the command line and then says whether Keras or pandas was imported.
_PROBE = ("import sys\nfrom fer_kit import cli\ntry:\n    rc = cli.main(sys.argv[1:])\n"
          "except SystemExit as e:\n    rc = e.code\n"
          "print('loaded:', sorted({'keras', 'tensorflow', 'pandas'} & set(sys.modules)))\n"
          "sys.exit(rc)")


@pytest.mark.parametrize("argv, env, says", [
    (["train", "--model", "resnet"], {}, "invalid choice: 'resnet'"),
    (["train", "--recipe", "seed004"], {}, "invalid choice: 'seed004'"),
    (["ablate", "--profile", "fast"], {}, "invalid choice: 'fast'"),
    (["train"], {"FER_KIT_PROFILE": "fast"}, "unknown profile 'fast'"),
    (["evaluate", "--run", "/no/such/run"], {}, "--run /no/such/run: no such folder"),
    (["info", "/no/such/file.csv"], {}, "/no/such/file.csv: no such file or folder"),
    (["predict"], {"FER_KIT_DATA": "/no/such/fer2013.csv"}, "FER_KIT_DATA=/no/such/fer2013.csv"),
])
def test_argument_errors_come_before_keras_and_the_data(argv, env, says):
    r = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True,
                       env={**os.environ, **env})
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]  # argparse prints its usage lines first
    assert says in last and last.startswith("fer-kit") and "Traceback" not in r.stderr
    assert "loaded: []" in r.stdout  # answered before Keras, TensorFlow or pandas loaded


def test_version_help_and_python_m():
    from importlib import metadata
    import fer_kit
    for cmd in ([sys.executable, "-m", "fer_kit", "--version"], [sys.executable, "-c", _PROBE,
                                                                 "--version"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.splitlines()[0] == f"fer_kit {fer_kit.__version__}"
    assert metadata.version("fer_kit") == fer_kit.__version__  # pyproject reads __version__
    r = subprocess.run([sys.executable, "-c", _PROBE, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "demo" in r.stdout and "loaded: []" in r.stdout


def test_cli_names_match_the_registries():
    from fer_kit import models, train
    assert set(cli.MODELS) == set(models.names())
    assert set(cli.RECIPES) == set(train.RECIPES) | set(train.ALIASES)


def test_missing_run_files(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    assert cli.main(["evaluate", "--run", str(tmp_path)]) == 2
    assert "no model.keras" in capsys.readouterr().err
