"""The fer-kit command line: synth, info, and one clear error line for bad input."""
from __future__ import annotations

import subprocess
import sys

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


def test_unknown_model_and_missing_run(tmp_path, capsys):
    assert cli.main(["train", "--model", "resnet", "--epochs", "1"]) == 2
    assert "unknown model 'resnet'" in capsys.readouterr().err
    assert cli.main(["evaluate", "--run", str(tmp_path)]) == 2
    assert "no model.keras" in capsys.readouterr().err
