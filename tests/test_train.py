"""Training runs: run directory contents, resume after interruption, strategies, recipes."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

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
    res = train.fit(pool, "cnn3", "keras_vgg", profile="smoke", run_dir=tmp_path / "run",
                    verbose=0, epochs=2, normalization="featurewise")
    files = {p.name for p in res.run_dir.iterdir()}
    assert {"config.json", "history.csv", "best.keras", "model.keras", "split.npz"} <= files
    hist = pd.read_csv(res.run_dir / "history.csv")
    assert hist["epoch"].tolist() == [0, 1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(hist.columns)
    config = json.loads((res.run_dir / "config.json").read_text())
    assert config["model"] == "cnn3" and config["recipe"]["normalization"] == "featurewise"
    assert config["val_images"] == 32 and config["train_images"] == 288
    assert config["format"] == train.RUN_FORMAT and config["backend"]
    assert config["width"] == get_profile("smoke").width
    # the model's first layers are the rescale and the fitted featurewise statistics
    assert [layer.name for layer in res.model.layers[:3]] == ["pixels", "rescale", "featurewise"]
    assert train.latest_run("cnn3") == res.run_dir
    assert train.latest_run("dnn") is None


def test_saved_model_takes_raw_pixels_in_a_fresh_process(tmp_path, pool):
    """model.keras alone, loaded by plain Keras in a new process (no fer_kit import), gives
    the kit's predictions from uint8 pixels: the normalizer travels inside the model."""
    res = train.fit(pool, "cnn3", "keras_vgg", profile="smoke", run_dir=tmp_path / "run",
                    verbose=0, epochs=1, normalization="samplewise+featurewise")
    from fer_kit import evaluate
    ours = evaluate.predict_proba(res.model, pool.x[:16])
    # the same numbers the normalizer classes give on arrays, fed to the network alone
    chain = make_normalizer("samplewise+featurewise", 1 / 255).fit(train.prepare_data(
        pool, "keras_vgg", "smoke").train.x)
    net = res.model.layers[4:]  # after pixels, rescale, samplewise, featurewise
    z = chain.transform(pool.x[:16])
    for layer in net:
        z = layer(z, training=False)
    import keras
    np.testing.assert_allclose(keras.ops.convert_to_numpy(z), ours, atol=2e-5)
    np.save(tmp_path / "x.npy", pool.x[:16])  # uint8
    code = textwrap.dedent(f"""
        import numpy as np, keras
        model = keras.saving.load_model(r"{res.run_dir / 'model.keras'}", safe_mode=True)
        x = np.load(r"{tmp_path / 'x.npy'}")
        assert x.dtype == np.uint8
        np.save(r"{tmp_path / 'p.npy'}", model.predict(x, verbose=0))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), ours, atol=1e-5)


def test_a_run_from_before_the_model_took_pixels_still_loads(tmp_path, pool):
    """Format 1: model.keras took normalized input and normalizer.npz lay beside it."""
    from fer_kit import evaluate, models
    norm = make_normalizer("featurewise", 1 / 255).fit(pool.x)
    net = models.build("cnn3", width=0.125)
    run = tmp_path / "old"
    run.mkdir()
    net.save(run / "model.keras")
    norm.save(run / "normalizer.npz")
    (run / "config.json").write_text(json.dumps({"model": "cnn3"}))
    loaded = train.load_run(run)
    np.testing.assert_allclose(evaluate.predict_proba(loaded.model, pool.x[:8]),
                               net.predict(norm.transform(pool.x[:8]), verbose=0), atol=1e-5)


def test_fit_in_steps_and_the_saved_split(tmp_path, pool, monkeypatch):
    monkeypatch.setenv("FER_KIT_RUNS", str(tmp_path))
    prep = train.prepare_data(pool, "torch_cnn", "smoke", split_seed=3)
    assert len(prep.train) == 2 * (len(pool) - len(prep.val))  # mirrored after the split
    assert not np.isin(prep.val.ids, prep.train.ids).any()  # no mirror twin leaks
    model = train.build_model("cnn3", prep, "smoke")
    assert model.input.name == "pixels" and model.get_layer("rescale") is not None
    train.compile_model(model, prep.recipe)
    res = train.fit_model(model, prep, tmp_path / "run", verbose=0, profile="smoke")
    loaded = train.load_run(res.run_dir, pool=prep.pool)
    np.testing.assert_array_equal(loaded.val.ids, prep.val.ids)
    other = Split(pool.x[::-1], pool.y[::-1], pool.ids[::-1])
    with pytest.raises(ValueError, match="not the one this run was split from"):
        train.load_run(res.run_dir, pool=other)


def test_run_options_object_and_keywords_train_the_same_run(tmp_path, pool):
    """``fit(options=RunOptions(...))`` and the old keyword form are one run: the same
    weights and config.json; a keyword replaces that field of ``options``; a keyword that
    is neither a RunOptions nor a Recipe field is refused, naming both."""
    options = train.RunOptions(verbose=0, checkpoints=False, data_name="synth-a")
    new = train.fit(pool, "cnn3", "torch_cnn", profile="smoke", run_dir=tmp_path / "new",
                    options=options, data_name="synth-b", epochs=1)
    old = train.fit(pool, "cnn3", "torch_cnn", profile="smoke", run_dir=tmp_path / "old",
                    verbose=0, checkpoints=False, data_name="synth-b", epochs=1)
    assert new.config["data"] == old.config["data"] == "synth-b"
    assert not (new.run_dir / "best.keras").exists()  # checkpoints=False reached the run
    assert {k: v for k, v in new.config.items() if k != "seconds"} == \
        {k: v for k, v in old.config.items() if k != "seconds"}
    for a, b in zip(new.model.get_weights(), old.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match=r"\['epoch'\]: neither Recipe fields .* nor RunOptions"):
        train.fit(pool, "cnn3", profile="smoke", epoch=1)
    prep = train.prepare_data(pool, "torch_cnn", "smoke")
    with pytest.raises(TypeError, match=r"\['epochs'\]; RunOptions fields are verbose"):
        train.fit_model(train.build_model("cnn3", prep, "smoke"), prep, epochs=1)


def test_recipe_names_and_their_old_aliases():
    assert train.get_recipe("seed003") is train.RECIPES["keras_vgg"]
    assert train.get_recipe("seed000") is train.RECIPES["torch_cnn"]
    with pytest.raises(ValueError, match="known recipes: keras_vgg, torch_cnn"):
        train.get_recipe("seed001")


def test_precision_policy_names():
    assert train.precision_policy(False) is None
    assert train.precision_policy("bfloat16") == "mixed_bfloat16"
    assert train.precision_policy("mixed_float16") == "mixed_float16"
    assert train.precision_policy("auto") in (None, "mixed_bfloat16")
    with pytest.raises(ValueError):
        train.precision_policy("int8")


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

    class Slow(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            time.sleep(3)  # the first part's epochs take 3 s more each

    run = tmp_path / "run"
    four = get_profile("smoke", epochs=4)
    with pytest.raises(KeyboardInterrupt):
        train.fit(pool, "cnn3", "torch_cnn", profile=four, run_dir=run, verbose=0, epochs=4,
                  flip_double=False, callbacks=[Slow(), Crash()])
    assert pd.read_csv(run / "history.csv")["epoch"].tolist() == [0, 1]

    ran = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            ran.append(epoch)

    t0 = time.perf_counter()
    res = train.fit(pool, "cnn3", "torch_cnn", profile=four, run_dir=run, verbose=0, epochs=4,
                    flip_double=False, callbacks=[Record()])
    second = time.perf_counter() - t0
    assert ran == [2, 3]  # resumed after the last finished epoch, not from scratch
    # its training time counts the first part's two epochs (>= 6 s of sleep), not only this one
    assert res.seconds >= second + 5.9 and res.config["seconds"] == round(res.seconds, 1)
    assert res.history["epoch"].tolist() == [0, 1, 2, 3]
    assert keras.saving.load_model(run / "best.keras", safe_mode=True).count_params() > 0


def test_recipes_scale_to_the_profile():
    from fer_kit.config import get_profile
    r = train.RECIPES["keras_vgg"].scaled(get_profile("smoke"))
    assert r.epochs == 2 and r.patience == 2 and r.learning_rate == 0.002
    assert r.augment.rotation_range == 20
    full = train.RECIPES["keras_vgg"].scaled(get_profile("full"))
    assert (full.epochs, full.patience, full.batch_size) == (200, 30, 128)


def test_chain_normalizer_round_trips(tmp_path, pool):
    chain = make_normalizer("samplewise+featurewise").fit(pool.x)
    loaded = load_normalizer(chain.save(tmp_path / "n.npz"))
    np.testing.assert_array_equal(loaded.transform(pool.x[:5]), chain.transform(pool.x[:5]))


@pytest.mark.one_pass  # the subprocess picks its backend
def test_mirrored_strategy_over_two_cpu_devices(tmp_path):
    code = textwrap.dedent(f"""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from fer_kit import train
        from fer_kit.data import Split, synth
        d = synth.generate(256, seed=2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        res = train.fit(Split(d.x, d.y, np.arange(256)), "cnn3", "torch_cnn", profile="smoke",
                        run_dir=r"{tmp_path / 'mirrored'}", verbose=0, epochs=1,
                        strategy=strategy, flip_double=False)
        print("replicas", strategy.num_replicas_in_sync, "epochs", len(res.history))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**__import__("os").environ, "FER_KIT_PROFILE": "smoke"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "replicas 2 epochs 1" in r.stdout


@pytest.mark.one_pass  # the subprocess picks its backend
def test_jax_data_parallel_over_two_cpu_devices(tmp_path):
    """keras.distribution.DataParallel on JAX, over two host devices (XLA_FLAGS)."""
    pytest.importorskip("jax")
    code = textwrap.dedent(f"""
        import numpy as np, keras, jax
        from fer_kit import train
        from fer_kit.data import Split, synth
        assert keras.backend.backend() == "jax" and len(jax.devices()) == 2
        d = synth.generate(256, seed=2)
        dist = keras.distribution.DataParallel(devices=jax.devices())
        res = train.fit(Split(d.x, d.y, np.arange(256)), "cnn3", "torch_cnn", profile="smoke",
                        run_dir=r"{tmp_path / 'data_parallel'}", verbose=0, epochs=1,
                        strategy=dist, flip_double=False)
        kernel = res.model.get_layer("conv1").kernel.value
        print("devices", len(kernel.sharding.device_set), "epochs", len(res.history))
    """)
    env = {**__import__("os").environ, "FER_KIT_PROFILE": "smoke", "KERAS_BACKEND": "jax",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "devices 2 epochs 1" in r.stdout  # weights replicated on both devices
