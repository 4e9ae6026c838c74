"""Training runs: run directory contents, resume after interruption, strategies, recipes."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from fer_kit import train
from fer_kit.config import get_profile
from fer_kit.data import Split, synth
from fer_kit.preprocess import load_normalizer, make_normalizer


@pytest.fixture(scope="module")
def pool():
    d = synth.generate(320, seed=1)
    return Split(d.x, d.y, np.arange(320))


def test_fit_writes_a_complete_run(tmp_path, pool, monkeypatch):
    monkeypatch.setenv("FER_KIT_RUNS", str(tmp_path))
    res = train.fit(pool, "cnn3", "seed003", profile="smoke", run_dir=tmp_path / "run",
                    verbose=0, epochs=2, normalization="featurewise")
    files = {p.name for p in res.run_dir.iterdir()}
    assert {"config.json", "history.csv", "best.keras", "model.keras", "normalizer.npz"} <= files
    hist = pd.read_csv(res.run_dir / "history.csv")
    assert hist["epoch"].tolist() == [0, 1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(hist.columns)
    config = json.loads((res.run_dir / "config.json").read_text())
    assert config["model"] == "cnn3" and config["recipe"]["normalization"] == "featurewise"
    assert config["val_images"] == 32 and config["train_images"] == 288
    model, norm, _ = train.load_run(res.run_dir)
    x = norm.transform(pool.x[:4])
    np.testing.assert_allclose(model.predict(x, verbose=0), res.model.predict(x, verbose=0),
                               atol=1e-5)
    assert train.latest_run("cnn3") == res.run_dir
    assert train.latest_run("dnn") is None


def test_history_csv_drops_epochs_that_run_again(tmp_path):
    cb = train.HistoryCSV(tmp_path / "h.csv")
    for e in range(3):
        cb.on_epoch_begin(e)
        cb.on_epoch_end(e, {"loss": 1.0 / (e + 1)})
    resumed = train.HistoryCSV(tmp_path / "h.csv")
    resumed.on_epoch_begin(2)  # the backup was from epoch 1: epoch 2 runs again
    resumed.on_epoch_end(2, {"loss": 0.3})
    assert pd.read_csv(tmp_path / "h.csv")["epoch"].tolist() == [0, 1, 2]


def test_interrupted_run_resumes_from_last_finished_epoch(tmp_path, pool):
    import keras

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt("simulated crash")

    run = tmp_path / "run"
    net = __import__("fer_kit").models.build("cnn3", width=0.125)
    net.fit = _with_extra_callback(net.fit, Crash())
    four = get_profile("smoke", epochs=4)
    with pytest.raises(KeyboardInterrupt):
        train.fit(pool, net, "seed000", profile=four, run_dir=run, verbose=0, epochs=4,
                  flip_double=False)
    assert pd.read_csv(run / "history.csv")["epoch"].tolist() == [0, 1]

    ran = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            ran.append(epoch)

    net = __import__("fer_kit").models.build("cnn3", width=0.125)
    net.fit = _with_extra_callback(net.fit, Record())
    res = train.fit(pool, net, "seed000", profile=four, run_dir=run, verbose=0, epochs=4,
                    flip_double=False)
    assert ran == [2, 3]  # resumed after the last finished epoch, not from scratch
    assert res.history["epoch"].tolist() == [0, 1, 2, 3]
    assert keras.saving.load_model(run / "best.keras", safe_mode=True).count_params() > 0


def _with_extra_callback(fit, cb):
    def wrapped(*args, callbacks=(), **kwargs):
        return fit(*args, callbacks=[*callbacks, cb], **kwargs)
    return wrapped


def test_recipes_scale_to_the_profile():
    from fer_kit.config import get_profile
    r = train.RECIPES["seed003"].scaled(get_profile("smoke"))
    assert r.epochs == 2 and r.patience == 2 and r.learning_rate == 0.002
    assert r.augment.rotation_range == 20
    full = train.RECIPES["seed003"].scaled(get_profile("full"))
    assert (full.epochs, full.patience, full.batch_size) == (200, 30, 128)


def test_chain_normalizer_round_trips(tmp_path, pool):
    chain = make_normalizer("samplewise+featurewise").fit(pool.x)
    loaded = load_normalizer(chain.save(tmp_path / "n.npz"))
    np.testing.assert_array_equal(loaded.transform(pool.x[:5]), chain.transform(pool.x[:5]))


def test_mirrored_strategy_over_two_cpu_devices(tmp_path):
    code = textwrap.dedent(f"""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from fer_kit import train
        from fer_kit.data import Split, synth
        d = synth.generate(256, seed=2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        res = train.fit(Split(d.x, d.y, np.arange(256)), "cnn3", "seed000", profile="smoke",
                        run_dir=r"{tmp_path / 'mirrored'}", verbose=0, epochs=1,
                        strategy=strategy, flip_double=False)
        print("replicas", strategy.num_replicas_in_sync, "epochs", len(res.history))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**__import__("os").environ, "FER_KIT_PROFILE": "smoke"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "replicas 2 epochs 1" in r.stdout
