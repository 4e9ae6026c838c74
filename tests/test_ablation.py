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


@pytest.fixture(scope="module")
def data():
    d = synth.generate(400, seed=3)
    return Dataset("tiny", train=Split(d.x[:300], d.y[:300], np.arange(300)),
                   public=Split(d.x[300:350], d.y[300:350], np.arange(300, 350)),
                   private=Split(d.x[350:], d.y[350:], np.arange(350, 400)))


def test_table_has_one_row_per_config_and_the_right_data_handling(tmp_path, data):
    names = ["baseline", "featurewise", "flip_double"]
    table = ablation.run(data, "cnn3", names, profile="smoke", out=tmp_path, epochs=1, seeds=0)
    assert table["config"].tolist() == names and (table["seed"] == 0).all()
    assert list(table.columns) == ablation.COLUMNS
    assert "cnn3 at width 0.125" in table.attrs["setup"] and "1 epochs" in table.attrs["setup"]
    assert table[["val_acc", "public", "private"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (table["epochs"] == 1).all() and (table["val_loss"] > 0).all()
    # each config's run holds what it claims: the recipe's rescale everywhere, a
    # standardization only where one was asked for, twice the images with flip doubling
    cfg = {n: json.loads((tmp_path / f"{n}-rng0" / "config.json").read_text()) for n in names}
    assert cfg["featurewise"]["recipe"]["normalization"] == "featurewise"
    front = {n: [layer.name for layer in train.load_run(tmp_path / f"{n}-rng0").model.layers[1:3]]
             for n in names}  # the preprocessing layers each saved model starts with
    assert front["baseline"] == ["rescale", "conv1"]
    assert front["featurewise"] == ["rescale", "featurewise"]
    assert cfg["flip_double"]["train_images"] == 2 * cfg["baseline"]["train_images"]
    # the val figures are the returned model's, recomputed independently from uint8 pixels
    model = train.load_run(tmp_path / "baseline-rng0").model
    _, val = train_val_split(data.train, 0.1, seed=0)
    acc = np.mean(model.predict(val.x, verbose=0).argmax(1) == val.y)
    assert table.loc[0, "val_acc"] == pytest.approx(acc, abs=1e-6)
    saved = pd.read_csv(tmp_path / "ablation.csv")
    assert saved["config"].tolist() == names


def test_seeds_differ_share_the_split_and_reruns_skip_finished_runs(tmp_path, data, monkeypatch):
    table = ablation.run(data, "cnn3", ["baseline"], profile="smoke", out=tmp_path, epochs=1,
                         seeds=[0, 1])
    assert table["seed"].tolist() == [0, 1]
    cfg = [json.loads((tmp_path / f"baseline-rng{s}" / "config.json").read_text()) for s in (0, 1)]
    assert [c["seed"] for c in cfg] == [0, 1] and {c["split_seed"] for c in cfg} == {0}
    w0, w1 = (train.load_run(tmp_path / f"baseline-rng{s}").model.get_weights()[0]
              for s in (0, 1))
    assert not np.allclose(w0, w1)  # another seed, another model

    def boom(*a, **k):
        raise AssertionError("a finished run was trained again")
    monkeypatch.setattr(train, "fit", boom)
    again = ablation.run(data, "cnn3", ["baseline"], profile="smoke", out=tmp_path, epochs=1,
                         seeds=[0, 1])
    assert again["val_acc"].tolist() == table["val_acc"].tolist()
    with pytest.raises(AssertionError):  # a different epoch budget is a different ablation
        ablation.run(data, "cnn3", ["baseline"], profile="smoke", out=tmp_path, epochs=2, seeds=0)
    other = Dataset("tiny", train=data.train.take(np.arange(299)), public=data.public,
                    private=data.private)  # the same name, one image fewer
    assert ablation.data_key(other) != ablation.data_key(data)
    with pytest.raises(AssertionError):  # other data is a different ablation
        ablation.run(other, "cnn3", ["baseline"], profile="smoke", out=tmp_path, epochs=1, seeds=0)


def test_unknown_config_is_a_clear_error(data):
    with pytest.raises(ConfigError, match="unknown ablation config.*'nope'"):
        ablation.run(data, configs=["baseline", "nope"])


def _long(means: dict, sd: float, seeds: int = 3):
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"config": c, "seed": s, "val_acc": m + sd * rng.standard_normal()}
                         for c, m in means.items() for s in range(seeds)])


def test_summary_matches_pandas_and_the_standard_error():
    t = _long({"baseline": 0.5, "augmentation": 0.6}, 0.02)
    s = ablation.summarize(t)
    ref = t.groupby("config")["val_acc"].agg(["mean", "std", "count"])
    assert s.index.tolist() == ["baseline", "augmentation"]  # the table's order
    np.testing.assert_allclose(s["val_acc_mean"], ref.loc[s.index, "mean"])
    np.testing.assert_allclose(s["val_acc_se"], ref.loc[s.index, "std"] / np.sqrt(3))


def test_verdict_names_a_winner_only_beyond_the_noise():
    clear = ablation.verdict(_long({"baseline": 0.5, "augmentation": 0.6, "featurewise": 0.52},
                                   0.01))
    # the margin is Welch's t interval, as scipy computes it for the two rows
    from scipy.stats import ttest_ind
    t = _long({"baseline": 0.5, "augmentation": 0.53}, 0.02)
    a, b = (t.loc[t["config"] == c, "val_acc"] for c in ("augmentation", "baseline"))
    resolved = ablation.verdict(t).winner == "augmentation"
    assert resolved == (ttest_ind(a, b, equal_var=False).pvalue < 0.05)
    assert clear.winner == "augmentation" and clear.text.startswith("winner: augmentation")
    assert "augmentation" in clear.text and "better than the baseline" in clear.text
    noisy = ablation.verdict(_long({"baseline": 0.5, "augmentation": 0.51}, 0.05))
    assert noisy.winner is None
    assert noisy.text.startswith("no difference this budget can resolve")
    assert "not distinguishable from the baseline" in noisy.text
    one_seed = ablation.verdict(_long({"baseline": 0.5, "augmentation": 0.9}, 0.0, seeds=1))
    assert one_seed.winner is None and "one seed" in one_seed.text


def test_cli_ablate(tmp_path, capsys):
    assert cli.main(["ablate", "--model", "cnn3", "--configs", "baseline,samplewise",
                     "--epochs", "1", "--seeds", "0", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "samplewise" in out and "one seed per configuration" in out
    assert cli.main(["ablate", "--configs", "bogus"]) == 2


def test_read_results_puts_benchmark_csvs_in_the_table_columns(tmp_path):
    rows = "config,seed,policy,val_acc,public_acc,private_acc\nbaseline,0,float32,0.8,0.81,0.79\n"
    (tmp_path / "a.csv").write_text(rows)
    (tmp_path / "b.csv").write_text(rows.replace("baseline,0", "baseline,1"))
    t = ablation.read_results(sorted(tmp_path.glob("*.csv")))
    assert t["seed"].tolist() == [0, 1] and t["public"].tolist() == [0.81, 0.81]
    assert ablation.summarize(t).loc["baseline", "private_mean"] == pytest.approx(0.79)
    assert ablation.read_results([]).empty


def test_overfit_regime_trains_baseline_and_augmentation_on_its_budget(tmp_path, data):
    """The overfit regime: its own image cap and epochs, baseline and augmentation only,
    named in the table, the setup line and the verdict."""
    from fer_kit.config import get_profile
    prof = get_profile("smoke", overfit_train=120, overfit_epochs=3)  # smoke's patience is 2
    table = ablation.run(data, "cnn3", profile=prof, out=tmp_path, seeds=[0, 1], regime="overfit")
    assert table["config"].tolist() == ["baseline", "baseline", "augmentation", "augmentation"]
    # every epoch runs (no early stop cuts off the slower learner), the best is kept
    assert (table["regime"] == "overfit").all() and (table["epochs"] == 3).all()
    assert table.attrs["setup"].startswith("overfit regime (few images, many epochs): cnn3")
    assert "3 epochs (all run, the best kept)" in table.attrs["setup"]
    cfg = json.loads((tmp_path / "augmentation-rng0" / "config.json").read_text())
    assert cfg["recipe"]["patience"] == 3
    assert cfg["pool_images"] == 120 and cfg["recipe"]["augment"] is not None
    v = ablation.verdict(table, metric="public")
    where = ablation.regime_of(table)
    assert where.startswith("overfit regime (few images, many epochs; cnn3 at width 0.125")
    assert v.text.splitlines()[0] == f"{where}, by public:"
    assert v.against_baseline["augmentation"].endswith(f"; {where}")
    with pytest.raises(ConfigError, match="unknown ablation regime 'long'"):
        ablation.get_regime("long", prof)


def test_verdict_line_against_the_baseline_names_metric_margin_and_regime():
    from scipy.stats import t as student_t
    table = _long({"baseline": 0.5, "augmentation": 0.56}, 0.01).assign(regime="overfit")
    v = ablation.verdict(table)
    a, b = (table.loc[table["config"] == c, "val_acc"] for c in ("augmentation", "baseline"))
    va, vb = a.var(ddof=1) / 3, b.var(ddof=1) / 3  # Welch's interval, written out
    df = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 2)
    margin = student_t.ppf(0.975, df) * np.sqrt(va + vb)
    line = v.against_baseline["augmentation"]
    assert line.startswith(f"augmentation better than the baseline: {a.mean() - b.mean():+.3f} val_acc, "
                           f"beyond the 95% margin ({margin:.3f}, 3 and 3 seeds)")
    assert line.endswith("overfit regime (few images, many epochs)")
    assert v.text.startswith("overfit regime (few images, many epochs), by val_acc:")


def test_featurewise_outlier_shift_matches_the_statistics_written_out():
    """Blank images pull every pixel's mean down: leaving the flagged ones out moves the
    mean by what numpy computes, and by more than leaving out as many random faces."""
    d = synth.generate(1200, seed=8, blank_rate=0.02, nonface_rate=0.0, label_noise=0.0)
    shift = ablation.featurewise_outlier_shift(d.x, d.y, repeats=3)
    from fer_kit.data.outliers import find_outliers
    flagged = find_outliers(d.x, d.y)["index"].to_numpy(int)
    assert set(np.flatnonzero(d.kind == 1)) <= set(flagged)
    keep = np.setdiff1d(np.arange(len(d.x)), flagged)
    x = d.x[..., 0].astype(np.float64)
    want = np.abs(x.mean(0) - x[keep].mean(0)).max()
    assert shift.loc["outliers", "dropped"] == len(flagged)
    assert shift.loc["outliers", "mean_shift"] == pytest.approx(want, rel=1e-4)
    assert shift.loc["outliers", "mean_shift"] > 3 * shift.loc["random images", "mean_shift"]
    assert shift.loc["random images", "dropped"] == len(flagged)


def test_the_printed_margin_is_welchs_95_interval_near_the_decision():
    """The margin the verdict prints is the half-width of scipy's Welch 95% interval of
    the difference, and the decision follows it just above and just below (a one-sided
    quantile, about 0.8 of it with these seeds, would name a winner at 0.9 x the margin)."""
    import re

    from scipy.stats import ttest_ind
    base = np.array([0.50, 0.52, 0.545])
    spread = np.array([0.0, 0.035, 0.012])

    def table(lead):
        aug = base.mean() + lead + spread - spread.mean()
        return pd.DataFrame([{"config": c, "seed": s, "val_acc": v}
                             for c, vals in (("baseline", base), ("augmentation", aug))
                             for s, v in enumerate(vals)])

    ci = ttest_ind(table(0.1).query("config == 'augmentation'")["val_acc"], base,
                   equal_var=False).confidence_interval(0.95)
    half = (ci.high - ci.low) / 2  # the same for any lead: only the means move
    for factor, winner in ((1.03, "augmentation"), (0.97, None), (0.9, None)):
        v = ablation.verdict(table(factor * half))
        assert v.winner == winner, (factor, v.text)
        printed = [float(m) for m in re.findall(r"margin \((\d+\.\d+)\)", v.text)]
        printed += [float(m) for m in re.findall(r"\+/- (\d+\.\d+)", v.text)]
        assert len(printed) == 2 and all(abs(m - half) <= 5e-4 for m in printed), v.text
        assert ("better than the baseline" in v.text) == (winner is not None)


def test_demo_overfit_regime_runs_100_epochs_with_seed_003s_patience(tmp_path, data, monkeypatch):
    """The demo's overfit regime: 400 images, up to 100 epochs, early stopping with seed
    003's patience (30), not the profile's 10, which cut the slower augmented rows off;
    the setup line says so. The training itself is stopped at its first call."""
    from fer_kit.config import get_profile
    from fer_kit.train import get_recipe
    seen = {}

    class Stop(Exception):
        pass

    def capture(pool, net, recipe, profile, **kw):
        seen.update(profile=profile, epochs=kw["epochs"])
        raise Stop

    monkeypatch.setattr(ablation.train, "fit", capture)
    with pytest.raises(Stop):
        ablation.run(data, profile="demo", out=tmp_path, seeds=[0], regime="overfit")
    rec = get_recipe("keras_vgg").scaled(seen["profile"])
    assert (seen["epochs"], rec.epochs, rec.patience) == (100, 100, 30)
    assert seen["profile"].max_train == 400
    line = ablation.setup_of(seen["profile"], "cnn3", 100, ablation.get_regime("overfit", "demo"),
                             rec.patience)
    assert "100 epochs at most (early stopping patience 30, seed 003's; the best kept)" in line


def test_a_row_trained_alone_equals_the_row_trained_after_others(tmp_path, data):
    """A resumed table trains only its missing rows: each row's model must start from its
    own seed, not from the random state the rows before it left (it did: the model was
    built before fit seeded anything)."""
    from fer_kit.config import seed_everything
    full = ablation.run(data, "cnn3", configs=["baseline", "featurewise"], seeds=[1],
                        out=tmp_path / "full", epochs=1)
    seed_everything(99)  # a new session (fk.setup(seed=...)) resuming the table
    alone = ablation.run(data, "cnn3", configs=["featurewise"], seeds=[1],
                         out=tmp_path / "alone", epochs=1)
    a = full.set_index("config").loc["featurewise", ["val_loss", "val_acc", "public"]]
    b = alone.set_index("config").loc["featurewise", ["val_loss", "val_acc", "public"]]
    np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-6)
