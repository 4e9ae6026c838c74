"""The ablation table: one fresh run per configuration, resumable, and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fer_kit import ablation, cli, train
from fer_kit.config import ConfigError
from fer_kit.data import Dataset, Split, synth
from fer_kit.data.split import train_val_split
from fer_kit.preprocess import Rescale, load_normalizer


@pytest.fixture(scope="module")
def data():
    d = synth.generate(400, seed=3)
    return Dataset("tiny", train=Split(d.x[:300], d.y[:300], np.arange(300)),
                   public=Split(d.x[300:350], d.y[300:350], np.arange(300, 350)),
                   private=Split(d.x[350:], d.y[350:], np.arange(350, 400)))


def test_table_has_one_row_per_config_and_the_right_data_handling(tmp_path, data):
    names = ["baseline", "featurewise", "flip_double"]
    table = ablation.run(data, "cnn3", names, profile="smoke", out=tmp_path, epochs=1)
    assert table["config"].tolist() == names
    assert list(table.columns) == ablation.COLUMNS
    assert table[["val_acc", "public", "private"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (table["epochs"] == 1).all() and (table["val_loss"] > 0).all()
    # each config's run holds what it claims: the recipe's rescale everywhere, a
    # standardization only where one was asked for, twice the images with flip doubling
    cfg = {n: json.loads((tmp_path / n / "config.json").read_text()) for n in names}
    assert cfg["featurewise"]["recipe"]["normalization"] == "featurewise"
    norms = {n: load_normalizer(tmp_path / n / "normalizer.npz") for n in names}
    assert isinstance(norms["baseline"], Rescale)
    assert [s.kind for s in norms["featurewise"].steps] == ["rescale", "featurewise"]
    assert cfg["flip_double"]["train_images"] == 2 * cfg["baseline"]["train_images"]
    # the val figures are the returned model's, recomputed independently
    model, _, _ = train.load_run(tmp_path / "baseline")
    _, val = train_val_split(data.train, 0.1, seed=0)
    acc = np.mean(model.predict(val.x.astype("float32") / 255, verbose=0).argmax(1) == val.y)
    assert table.loc[0, "val_acc"] == pytest.approx(acc, abs=1e-6)
    saved = pd.read_csv(tmp_path / "ablation.csv")
    assert saved["config"].tolist() == names


def test_rerun_skips_finished_configs(tmp_path, data, monkeypatch):
    ablation.run(data, "cnn3", ["baseline"], profile="smoke", out=tmp_path, epochs=1)

    def boom(*a, **k):
        raise AssertionError("a finished config was trained again")
    monkeypatch.setattr(train, "fit", boom)
    again = ablation.run(data, "cnn3", ["baseline"], profile="smoke", out=tmp_path, epochs=1)
    assert again["config"].tolist() == ["baseline"]
    with pytest.raises(AssertionError):  # a different epoch budget is a different ablation
        ablation.run(data, "cnn3", ["baseline"], profile="smoke", out=tmp_path, epochs=2)


def test_unknown_config_is_a_clear_error(data):
    with pytest.raises(ConfigError, match="unknown ablation config.*'nope'"):
        ablation.run(data, configs=["baseline", "nope"])


def test_winner():
    t = pd.DataFrame({"config": ["a", "b"], "val_acc": [0.5, 0.7]})
    assert ablation.winner(t) == "b"


def test_cli_ablate(tmp_path, capsys):
    assert cli.main(["ablate", "--model", "cnn3", "--configs", "baseline,samplewise",
                     "--epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "samplewise" in out and "best by val_acc" in out
    assert cli.main(["ablate", "--configs", "bogus"]) == 2
