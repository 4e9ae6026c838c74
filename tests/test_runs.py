"""Runs that are what they say (issue 22): never NaN weights, their own folder and split,
served only for what was asked, resumed as the uninterrupted run, refused in one line."""
from __future__ import annotations

import json
import math
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest

from fer_kit import train
from fer_kit.train import callbacks, runs
from fer_kit.config import get_profile
from fer_kit.data import Dataset, Split, synth
from fer_kit.data.split import split_indices

FOUR = get_profile("smoke", epochs=4)


@pytest.fixture(scope="module")
def pool():
    d = synth.generate(320, seed=1)
    return Split(d.x, d.y, np.arange(320))


def _jump(epoch: int, to: float):
    """SGD at 0.01, then ``to`` from ``epoch`` on: an infinite learning rate makes the
    weights, then the loss, NaN on every backend (the issue's 1e6 does on TensorFlow;
    Keras on JAX clips the loss, which then diverges instead)."""
    return keras.callbacks.LearningRateScheduler(lambda e, lr: to if e >= epoch else 0.01)


def _sgd(pool, run_dir, epochs=4, callbacks_=(), **kw):
    return train.fit(pool, "cnn3", "torch_cnn", profile=FOUR, run_dir=run_dir, verbose=0,
                     epochs=epochs, optimizer="sgd", flip_double=False,
                     callbacks=list(callbacks_), **kw)


# ---- NaN and divergence ----------------------------------------------------------------
def test_a_nan_run_saves_its_best_finite_epoch_and_says_so(tmp_path, pool, capsys):
    res = _sgd(pool, tmp_path / "nan", callbacks_=[_jump(2, math.inf)])
    out = capsys.readouterr().out.strip().splitlines()
    hist = pd.read_csv(res.run_dir / "history.csv")
    best = int(hist["val_loss"].iloc[:2].idxmin())  # the best finite epoch (0 or 1 by backend)
    assert len(out) == 1 and "stopped in epoch 2" in out[0] and f"holds epoch {best}" in out[0]
    stopped = res.config["stopped"]
    assert (stopped["reason"], stopped["epoch"], res.config["model_epoch"]) == ("nan", 2, best)
    events = ["", "", "stopped: nan"]
    events[best] = "model.keras"
    assert hist["loss"].isna().iloc[-1] and hist["event"].fillna("").tolist() == events
    saved = keras.saving.load_model(res.run_dir / "model.keras").get_weights()
    assert all(np.isfinite(w).all() for w in saved)
    # reference: the same seeded run stopped after the kept epoch (no jump) ends where the
    # NaN run's model.keras is (each epoch's draws come from (seed, epoch), so they agree)
    two = _sgd(pool, tmp_path / "two", epochs=best + 1, callbacks_=[_jump(2, math.inf)])
    for a, b in zip(saved, two.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    loaded = train.load_run(res.run_dir)  # served, with a note
    assert "training stopped in epoch 2" in capsys.readouterr().out
    assert loaded.config["stopped"]["reason"] == "nan"


def test_no_finite_epoch_is_an_error_and_saves_nothing(tmp_path, pool):
    with pytest.raises(train.TrainingDiverged, match="before any epoch ended with finite"):
        _sgd(pool, tmp_path / "run", epochs=2, callbacks_=[_jump(0, math.inf)])
    assert not (tmp_path / "run" / "model.keras").exists()
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["stopped"]["reason"] == "nan" and config["model_epoch"] is None


def _guard_on(vals, losses=None):
    g = callbacks.Guard()
    g.set_model(keras.Sequential([keras.Input((3,)), keras.layers.Dense(7)]))
    for e, v in enumerate(vals):
        g.on_epoch_begin(e)
        g.on_epoch_end(e, {"loss": 1.0 if losses is None else losses[e], "val_loss": v})
        if g.event:
            return g.event
    return None


def test_divergence_is_many_times_the_first_epochs_validation_loss():
    ln7 = math.log(7)
    assert _guard_on([1.8, 2.5, 10 * ln7 - 1e-6]) is None  # the limit is 10 x ln 7 here
    event = _guard_on([1.8, 2.5, 10 * ln7 + 1e-6])
    assert event["reason"] == "diverged" and event["epoch"] == 2
    assert _guard_on([2.5, 24.9]) is None and _guard_on([2.5, 25.1])["epoch"] == 1
    assert _guard_on([0.05, 5.0]) is None  # a very good first epoch: overfitting is not divergence
    assert _guard_on([12.0, 3.0, 2.5]) is None  # a high first validation loss alone is not
    # a training loss over 4 ln 7: diverged, also when clipped (JAX) or from the start
    assert _guard_on([1.9, 2.0], [2.0, 4 * ln7 - 1e-6]) is None
    assert _guard_on([1.9, 2.0], [2.0, 4 * ln7 + 1e-6])["epoch"] == 1
    assert _guard_on([1e9], [1e7])["epoch"] == 0
    assert _guard_on([1.9], [float("nan")])["reason"] == "nan"


def test_a_learning_rate_of_10_is_flagged_and_never_served_as_the_recipe(tmp_path, pool,
                                                                         monkeypatch):
    monkeypatch.setenv("FER_KIT_RUNS", str(tmp_path))
    data = Dataset("tiny", pool)
    res = train.get_run(data, "cnn3", "keras_vgg", profile=FOUR, verbose=0, epochs=2,
                        learning_rate=10.0)
    assert res.config["stopped"]["reason"] == "diverged"
    assert all(np.isfinite(w).all() for w in res.model.get_weights())
    again = train.get_run(data, "cnn3", "keras_vgg", profile=FOUR, verbose=0, epochs=2,
                          learning_rate=10.0)
    assert again.run_dir == res.run_dir  # the same training: served
    plain = train.get_run(data, "cnn3", "keras_vgg", profile=FOUR, verbose=0, epochs=2)
    assert plain.run_dir != res.run_dir and plain.config["recipe"]["learning_rate"] == 0.002


# ---- folders, splits, serving ---------------------------------------------------------
def test_run_folders_are_claimed_with_the_seed_and_a_suffix(tmp_path, monkeypatch):
    monkeypatch.setattr(runs.time, "strftime", lambda fmt: "20250101-120000")
    dirs = [runs.claim_run_dir("cnn3", "keras_vgg", 0, tmp_path) for _ in range(3)]
    dirs.append(runs.claim_run_dir("cnn3", "keras_vgg", 1, tmp_path))
    assert [d.name for d in dirs] == [
        "20250101-120000-cnn3-keras_vgg-seed0", "20250101-120000-cnn3-keras_vgg-seed0-2",
        "20250101-120000-cnn3-keras_vgg-seed0-3", "20250101-120000-cnn3-keras_vgg-seed1"]


def test_prepare_data_splits_as_split_indices_with_the_same_seed(tmp_path, pool):
    """Against fer_kit.data.split called directly: the split seed is honoured, and
    config.json records the split actually used."""
    vals = []
    for seed in (0, 3):
        prep = train.prepare_data(pool, "torch_cnn", "smoke", split_seed=seed)
        tr_idx, val_idx = split_indices(pool.y, 0.1, seed)
        np.testing.assert_array_equal(prep.val_index, val_idx)
        np.testing.assert_array_equal(prep.val.ids, pool.ids[val_idx])
        np.testing.assert_array_equal(np.unique(prep.train.ids), pool.ids[tr_idx])
        vals.append(val_idx)
    assert not np.array_equal(*vals)  # two seeds, two splits: the test can tell them apart
    res = train.fit(pool, "cnn3", "torch_cnn", profile="smoke", run_dir=tmp_path / "r",
                    verbose=0, epochs=1, flip_double=False, seed=5, split_seed=3)
    split = res.config["split"]
    assert split["seed"] == 3 and split["val_images"] == len(vals[1])
    assert split["val_index_sha"] == runs.index_hash(vals[1])
    assert split["pool_hash"] == runs.pool_hash(pool) == res.config["pool_hash"]
    with np.load(res.run_dir / "split.npz") as z:
        assert int(z["split_seed"]) == 3 and str(z["pool_hash"]) == split["pool_hash"]


@pytest.mark.one_pass  # which split a run folder holds: file logic, the same on every backend
def test_load_run_refuses_a_split_that_is_not_its_own(tmp_path, pool):
    kw = dict(profile="smoke", verbose=0, epochs=1, flip_double=False)
    a = train.fit(pool, "cnn3", "torch_cnn", run_dir=tmp_path / "a", seed=0, **kw)
    b = train.fit(pool, "cnn3", "torch_cnn", run_dir=tmp_path / "b", seed=1, **kw)
    assert len(train.load_run(a.run_dir, pool=pool).val) == a.config["val_images"]
    (a.run_dir / "split.npz").write_bytes((b.run_dir / "split.npz").read_bytes())
    with pytest.raises(runs.RunError, match=r"split.npz: not this run's split \(split seed 1"):
        train.load_run(a.run_dir, pool=pool)
    with np.load(b.run_dir / "split.npz") as z:
        empty = {k: z[k] for k in z.files}
    empty.update(val_index=np.zeros(0, np.int64), val_ids=np.zeros(0, np.int64))
    np.savez(a.run_dir / "split.npz", **empty)
    with pytest.raises(runs.RunError, match="the validation split is empty"):
        train.load_run(a.run_dir, pool=pool)
    other = Split(pool.x[:, ::-1], pool.y, pool.ids)  # same ids and labels, other images
    with pytest.raises(runs.RunError, match="not the one this run was split from"):
        train.load_run(b.run_dir, pool=other)


@pytest.mark.one_pass  # which run is served: file logic, trained on the first backend
def test_get_run_serves_only_the_training_asked_for(tmp_path, pool, monkeypatch, capsys):
    monkeypatch.setenv("FER_KIT_RUNS", str(tmp_path))
    data = Dataset("SynthFER", pool)
    kw = dict(profile=FOUR, verbose=0, epochs=1)
    first = train.get_run(data, "cnn3", "torch_cnn", seed=0, **kw)
    assert train.get_run(data, "cnn3", "torch_cnn", seed=0, **kw).run_dir == first.run_dir
    asked = [dict(seed=1), dict(seed=0, learning_rate=0.01), dict(seed=0, flip_double=False)]
    for change in asked:  # each changes the model: a new run, never the first one
        other = train.get_run(data, "cnn3", "torch_cnn", **{**kw, **change})
        assert other.run_dir != first.run_dir, change
    smaller = Dataset("SynthFER", pool.take(np.arange(300)))  # same name, other pool
    assert train.get_run(smaller, "cnn3", "torch_cnn", seed=0, **kw).run_dir != first.run_dir
    wider = get_profile("smoke", epochs=4, width=0.25)
    assert train.get_run(data, "cnn3", "torch_cnn", seed=0, profile=wider, verbose=0,
                         epochs=1).run_dir != first.run_dir
    # a newer run of the same training with a corrupt model.keras is skipped, in one line
    newer = runs.claim_run_dir("cnn3", "torch_cnn", 0, tmp_path)
    for name in ("config.json", "history.csv", "split.npz"):
        (newer / name).write_bytes((first.run_dir / name).read_bytes())
    (newer / "model.keras").write_bytes(b"\0" * 100)
    capsys.readouterr()
    assert train.get_run(data, "cnn3", "torch_cnn", seed=0, **kw).run_dir == first.run_dir
    out = capsys.readouterr().out
    assert f"skipping {newer.name}: " in out and "not a .keras archive" in out


def test_a_corrupt_or_nan_model_is_refused_in_one_line(tmp_path, pool):
    res = train.fit(pool, "cnn3", "torch_cnn", profile="smoke", run_dir=tmp_path / "r",
                    verbose=0, epochs=1, flip_double=False)
    model_file = res.run_dir / "model.keras"
    good = model_file.read_bytes()
    junk = tmp_path / "junk.zip"
    with zipfile.ZipFile(junk, "w") as z:
        z.writestr("config.json", "{}")  # a zip archive, but no Keras model in it
    for bad, words in ((b"not a zip at all", "cannot be read: not a .keras archive"),
                       (good[:len(good) // 2], "cannot be read: not a .keras archive"),
                       (junk.read_bytes(), "cannot be read: ")):
        model_file.write_bytes(bad)
        with pytest.raises(runs.RunError) as e:
            train.load_run(res.run_dir)
        assert str(e.value).startswith(f"{model_file}: {words}") and "\n" not in str(e.value)
    model_file.write_bytes(good)
    net = train.load_run(res.run_dir).model
    net.set_weights([np.full_like(w, np.nan) if w.ndim > 1 else w for w in net.get_weights()])
    net.save(model_file)
    with pytest.raises(runs.RunError, match=r"model.keras: NaN or inf in \d+ of \d+ weight arrays"):
        train.load_run(res.run_dir)


# ---- resume ----------------------------------------------------------------------------
class _Crash(keras.callbacks.Callback):
    def __init__(self, at: int):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt("simulated crash")


class _Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ran = []

    def on_epoch_begin(self, epoch, logs=None):
        self.ran.append(epoch)


def _vgg(pool, run_dir, cbs=()):
    """keras_vgg (augmentation, dropout, early stopping) on cnn3, up to 4 epochs."""
    return train.fit(pool, "cnn3", "keras_vgg", profile=FOUR, run_dir=run_dir, verbose=0,
                     epochs=4, patience=3, callbacks=list(cbs))


def _same_run(a: train.TrainResult, b: train.TrainResult):
    pd.testing.assert_frame_equal(a.history, b.history)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
        np.testing.assert_array_equal(wa, wb)


@pytest.fixture(scope="module")
def whole(tmp_path_factory, pool):
    """The uninterrupted run the resume tests compare with, trained once for all of them
    (the same seeded training each time: only its copies would differ)."""
    return _vgg(pool, tmp_path_factory.mktemp("whole") / "run")


def test_a_resumed_run_equals_the_uninterrupted_one(tmp_path, pool, whole):
    """Resumed after epoch 1, epochs 2-3 draw the batch order, augmentation and dropout
    of the uninterrupted run's epochs 2-3: histories and weights equal, bit for bit."""
    with pytest.raises(KeyboardInterrupt):
        _vgg(pool, tmp_path / "cut", [_Crash(1)])
    record = _Record()
    resumed = _vgg(pool, tmp_path / "cut", [record])
    assert len(whole.history) > 2 and record.ran == list(range(2, len(whole.history)))
    _same_run(whole, resumed)


@pytest.mark.one_pass  # reading a torn backup file: the same on every backend
@pytest.mark.parametrize("torn", [1, 2])
def test_a_torn_backup_is_skipped_for_the_state_before(tmp_path, pool, whole, torn):
    """Tear the newest backup (and, with torn=2, the one before): the run resumes from
    the last state that reads, and still ends as the uninterrupted run does."""
    with pytest.raises(KeyboardInterrupt):
        _vgg(pool, tmp_path / "cut", [_Crash(2)])
    state = json.loads((tmp_path / "cut" / "backup" / "state.json").read_text())
    assert (state["epoch"], state["previous"]["epoch"]) == (3, 2)
    for s in (state, state["previous"])[:torn]:
        f = tmp_path / "cut" / "backup" / s["weights"]
        f.write_bytes(f.read_bytes()[:f.stat().st_size // 2])
    record = _Record()
    with pytest.warns(UserWarning, match=r"backup cannot be read .*; skipped") as w:
        resumed = _vgg(pool, tmp_path / "cut", [record])
    assert len([x for x in w if "backup cannot be read" in str(x.message)]) == torn
    assert record.ran == list(range(2 if torn == 1 else 0, len(whole.history)))
    _same_run(whole, resumed)
