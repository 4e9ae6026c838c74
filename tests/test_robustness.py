"""Hostile inputs, crashes mid-run, determinism, safe loading, memory (issue 6)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fer_kit import cli, train
from fer_kit.data import Split, _cache, io
from fer_kit.data.csvparse import FERDataError

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def datasets(draw):
    n = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    # pixels from a drawn seed, with the edge values 0, 9, 10, 99, 100, 255 forced in
    x = rng.integers(0, 256, (n, 48, 48, 1), dtype=np.uint8)
    edges = draw(st.lists(st.sampled_from([0, 9, 10, 99, 100, 255]), min_size=1, max_size=6))
    x.reshape(-1)[rng.integers(0, x.size, len(edges))] = edges
    y = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), np.int64)
    usage = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    usage[draw(st.integers(0, n - 1))] = 0  # a Kaggle file needs Training rows (else: error)
    return x, y, usage


@SETTINGS
@given(data=datasets())
def test_any_dataset_round_trips_in_all_three_formats(tmp_path_factory, data):
    x, y, usage = data
    d = tmp_path_factory.mktemp("rt")
    ds = io.read_fer2013(io.write_fer2013(d / "fer2013.csv", x, y, usage), cache=False)
    for k, split in enumerate((ds.train, ds.public, ds.private)):
        want = usage == k
        if want.any():
            np.testing.assert_array_equal(split.x, x[want])
            np.testing.assert_array_equal(split.y, y[want])
    io.write_train_csv(d / "train.csv", x, y)
    io.write_test_csv(d / "test.csv", x, np.arange(len(x)) * 7)
    tt = io.read_train_test(d, cache=False)
    np.testing.assert_array_equal(tt.train.x, x)
    np.testing.assert_array_equal(tt.train.y, y)
    np.testing.assert_array_equal(tt.test.x, x)
    np.testing.assert_array_equal(tt.test.ids, np.arange(len(x)) * 7)


GOOD = " ".join(["7"] * 2304)
BASE = f"emotion,pixels,Usage\n3,{GOOD},Training\n4,{GOOD},PublicTest\n"


def _corrupt(kind: str, pos: int) -> bytes:
    lines = BASE.splitlines(keepends=True)
    if kind == "truncate":
        text = BASE[:len(lines[0]) + 1 + pos % (len(BASE) - len(lines[0]) - 2)]
    elif kind == "semicolons":
        text = BASE.replace(",", ";")
    elif kind == "stray quote":
        text = lines[0] + lines[1][:pos % 40 + 2] + '"' + lines[1][pos % 40 + 2:] + lines[2]
    elif kind == "extra column":
        text = lines[0] + lines[1].rstrip("\n") + ",x\n" + lines[2]
    elif kind == "empty pixels":
        text = lines[0] + "3,,Training\n" + lines[2]
    elif kind == "huge value":
        text = BASE.replace(" 7 ", f" {10 ** (3 + pos % 20)} ", 1)
    elif kind == "negative":
        text = BASE.replace(" 7 ", " -7 ", 1)
    elif kind == "bom":
        return b"\xef\xbb\xbf" + BASE.encode()
    elif kind == "crlf":
        return BASE.replace("\n", "\r\n").encode()
    return text.encode()


@SETTINGS
@given(kind=st.sampled_from(["truncate", "semicolons", "stray quote", "extra column",
                             "empty pixels", "huge value", "negative", "bom", "crlf"]),
       pos=st.integers(0, 10 ** 6))
def test_corrupt_files_load_correctly_or_fail_with_a_row_numbered_error(tmp_path_factory,
                                                                       kind, pos):
    path = tmp_path_factory.mktemp("bad") / "fer2013.csv"
    path.write_bytes(_corrupt(kind, pos))
    try:
        ds = io.read_fer2013(path, cache=False)
    except FERDataError as e:
        assert kind not in ("bom", "crlf"), f"{kind} must load: {e}"
        assert str(path) in str(e)
        assert e.line is None or f"line {e.line}" in str(e)
        return
    # whatever loads must be exactly right
    assert kind in ("bom", "crlf", "truncate"), f"{kind} loaded silently"
    assert ds.train.x.dtype == np.uint8 and (ds.train.x == 7).all()
    if kind != "truncate":
        assert len(ds.train) == 1 and len(ds.public) == 1


# ---- crash, determinism, safe loading ---------------------------------------------------
CRASH_SCRIPT = textwrap.dedent("""
    import sys, time, numpy as np, keras
    from fer_kit import train
    from fer_kit.config import get_profile
    from fer_kit.data import Split, synth
    from fer_kit.train import callbacks
    d = synth.generate(400, seed=1)
    callbacks.HistoryCSV.on_train_batch_end = (
        lambda self, batch, logs=None: time.sleep(0.15))  # slow batches: time to kill one
    train.fit(Split(d.x, d.y, np.arange(400)), "cnn3", "seed000", run_dir=sys.argv[1],
              profile=get_profile("smoke", epochs=4), verbose=0, epochs=4,
              flip_double=False, batch_size=32)
    print("finished")
""")


def test_sigkill_mid_epoch_then_restart_finishes_cleanly(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    run_dir = tmp_path / "run"
    hist = run_dir / "history.csv"
    proc = subprocess.Popen([sys.executable, str(script), str(run_dir)])
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if hist.is_file() and len(pd.read_csv(hist)) >= 1:
            break
        time.sleep(0.1)
    time.sleep(0.8)  # into the next epoch
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(pd.read_csv(hist))
    assert 1 <= done_before < 4
    out = subprocess.run([sys.executable, str(script), str(run_dir)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    h = pd.read_csv(hist)
    assert h["epoch"].tolist() == [0, 1, 2, 3]  # each epoch once, in order
    resumed = train.load_run(run_dir)
    assert not [p for p in run_dir.rglob("*") if "fktmp" in p.name]  # no half-written files
    # the same run, never killed: the resumed run continued it (each epoch's batch order,
    # augmentation and dropout come from (seed, epoch)), so the two are equal, bit for bit
    whole = tmp_path / "whole"
    out = subprocess.run([sys.executable, str(script), str(whole)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    pd.testing.assert_frame_equal(pd.read_csv(whole / "history.csv"), h)
    for a, b in zip(train.load_run(whole).model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_same_seed_gives_identical_history_and_weights(tmp_path):
    d = np.random.default_rng(0)
    x = d.integers(0, 255, (200, 48, 48, 1), dtype=np.uint8)
    y = d.integers(0, 7, 200)
    runs = [train.fit(Split(x, y, np.arange(200)), "cnn3", "seed003", profile="smoke",
                      run_dir=tmp_path / f"r{i}", seed=5, verbose=0, epochs=2)
            for i in range(2)]
    pd.testing.assert_frame_equal(runs[0].history, runs[1].history)
    for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_with_code_is_refused_in_safe_mode(tmp_path):
    import keras
    inp = keras.Input((48, 48, 1))
    out = keras.layers.Lambda(lambda t: t * 2)(inp)  # arbitrary Python: could run anything
    model = keras.Model(inp, keras.layers.Dense(7, activation="softmax")(
        keras.layers.Flatten()(out)))
    run = tmp_path / "run"
    run.mkdir()
    model.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"model": "evil"}))
    with pytest.raises(ValueError, match="(?i)unsafe|lambda|safe_mode"):
        train.load_run(run)


def test_cache_with_pickled_objects_is_not_loaded(tmp_path, rng):
    from fer_kit.data import io as dio
    x = rng.integers(0, 255, (3, 48, 48, 1), dtype=np.uint8)
    csv = dio.write_fer2013(tmp_path / "fer2013.csv", x, np.array([1, 2, 3]), np.zeros(3, int))
    dio.read_csv(csv)
    cache = _cache._cache_file(csv)
    np.savez(cache, x=np.array([object()], dtype=object))  # a pickle where arrays should be
    again = dio.read_csv(csv)  # refused (allow_pickle=False), re-parsed, rebuilt
    np.testing.assert_array_equal(again.x, x)


# ---- memory ---------------------------------------------------------------------------
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (large) pytest parent.
MEM_SCRIPT = textwrap.dedent("""
    import re, sys
    from fer_kit.data import io
    ds = io.read_fer2013(sys.argv[1], cache=False)
    assert ds.train.x.dtype.name == "uint8"
    hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
    print(len(ds.train) + len(ds.public) + len(ds.private), hwm)
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_fer2013_size_load_peaks_under_1_gib(tmp_path):
    rng = np.random.default_rng(0)
    n = 35887
    x = rng.integers(0, 256, (n, 48, 48, 1), dtype=np.uint8)
    usage = np.repeat([0, 1, 2], [28709, 3589, 3589])
    csv = io.write_fer2013(tmp_path / "fer2013.csv", x, rng.integers(0, 7, n), usage)
    del x
    out = subprocess.run([sys.executable, "-c", MEM_SCRIPT, str(csv)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows, peak_kib = map(int, out.stdout.split())
    assert rows == n
    assert peak_kib < 1024 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


# ---- clear errors from the CLI ---------------------------------------------------------
def test_cli_answers_bad_environment_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FER_KIT_DATA", str(tmp_path / "missing.csv"))
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fer-kit: error:") and "missing.csv" in err and err.count("\n") == 1
    bad = tmp_path / "fer2013.csv"
    bad.write_text("hello,world\n1,2\n")
    monkeypatch.setenv("FER_KIT_DATA", str(bad))
    assert cli.main(["train"]) == 2
    assert "fer2013.csv" in capsys.readouterr().err
    monkeypatch.delenv("FER_KIT_DATA")
    monkeypatch.setenv("FER_KIT_PROFILE", "turbo")
    assert cli.main(["info"]) == 2
    assert "unknown profile 'turbo'" in capsys.readouterr().err


def test_wrong_input_shape_and_empty_test_set(tmp_path, capsys, monkeypatch):
    import keras
    inp = keras.Input((32, 32, 3))
    m = keras.Model(inp, keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(inp)))
    run = tmp_path / "run"
    run.mkdir()
    m.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"model": "other"}))
    assert cli.main(["predict", "--run", str(run), "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert "expects images of shape (32, 32, 3), got (48, 48, 1)" in err
    # a course folder whose test.csv has a header and no rows
    data = tmp_path / "course"
    data.mkdir()
    x = np.zeros((2, 48, 48, 1), np.uint8)
    io.write_train_csv(data / "train.csv", x, np.array([0, 1]))
    (data / "test.csv").write_text("id,feature\n")
    monkeypatch.setenv("FER_KIT_DATA", str(data))
    code = cli.main(["predict", "--run", str(run), "--out", str(tmp_path / "s.csv")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("fer-kit: error:") and ("empty" in err or "no test rows" in err)


def test_atomic_files_get_the_mode_a_plain_open_would(tmp_path):
    """A figure or submission is readable like any file the user writes (not mkstemp's 0600)."""
    import os

    from fer_kit import atomic
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    ours = atomic.write_text(tmp_path / "ours.txt", "x")
    assert (ours.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777)
    old = os.umask(0o077)
    try:
        private = atomic.write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert private.stat().st_mode & 0o777 == 0o600


# ---- issue 22: runs that collide, disks that fill, files that are not what they seem --------
TWIN_SCRIPT = textwrap.dedent("""
    import sys, time, numpy as np
    time.strftime = lambda *a: "20250101-120000"  # both start "in the same second"
    from fer_kit import train
    from fer_kit.data import Split, synth
    d = synth.generate(320, seed=1)
    res = train.fit(Split(d.x, d.y, np.arange(320)), "cnn3", "torch_cnn", profile="smoke",
                    seed=0, split_seed=int(sys.argv[1]), verbose=0, epochs=2, flip_double=False)
    print(res.run_dir)
""")


def test_two_trainings_started_in_the_same_second_get_two_complete_runs(tmp_path):
    """Same seed, same second (the clock is fixed in both processes), run together: two
    folders, each with its own config.json, split, history and models."""
    script = tmp_path / "twin.py"
    script.write_text(TWIN_SCRIPT)
    env = {**os.environ, "FER_KIT_RUNS": str(tmp_path / "runs")}
    procs = [subprocess.Popen([sys.executable, str(script), str(s)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for s in (0, 1)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-2000:] for _, e in outs]
    dirs = [Path(o.strip().splitlines()[-1]) for o, _ in outs]
    assert len(set(dirs)) == 2 and {d.parent for d in dirs} == {tmp_path / "runs"}
    assert sorted(d.name for d in dirs) == ["20250101-120000-cnn3-torch_cnn-seed0",
                                            "20250101-120000-cnn3-torch_cnn-seed0-2"]
    from fer_kit.data import synth
    d = synth.generate(320, seed=1)
    pool = Split(d.x, d.y, np.arange(320))
    for split_seed, run in zip((0, 1), dirs):
        assert {"config.json", "split.npz", "history.csv", "best.keras", "model.keras"} <= \
            {p.name for p in run.iterdir()}
        res = train.load_run(run, pool=pool)  # the split is the run's own, and this pool's
        assert res.config["split_seed"] == split_seed
        assert res.history["epoch"].tolist() == [0, 1]


def test_a_full_disk_skips_the_optional_parse_cache_with_a_warning(tmp_path, rng, monkeypatch):
    import errno
    monkeypatch.setenv("FER_KIT_CACHE", str(tmp_path / "cache"))
    x = rng.integers(0, 256, (40, 48, 48, 1), dtype=np.uint8)
    csv = io.write_fer2013(tmp_path / "fer2013.csv", x, rng.integers(0, 7, 40), np.zeros(40, int))

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    need = f"it needs {(128 + x.nbytes):,} bytes"  # the .npy: header and pixels
    with pytest.warns(io.CacheWarning, match=r"parse cache not written \(.*: no space left on "
                                             rf"the device \(.* free in .*; {need}\)\)"):
        parsed = io.read_csv(csv)
    np.testing.assert_array_equal(parsed.x, x)
    assert not list(_cache._cache_file(csv).parent.iterdir())  # no cache, no temporary files


FULL_DISK_SCRIPT = textwrap.dedent("""
    set -e
    mount -t tmpfs -o size=192k tmpfs "$1"
    exec "$2" -c "import sys; from fer_kit import cli; sys.exit(cli.main())" \\
        train --model cnn3 --recipe torch_cnn --profile smoke --epochs 1
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tmpfs in a mount namespace")
def test_a_full_disk_is_one_line_naming_the_file_and_the_space(tmp_path, rng):
    """A real full disk (a 192 KiB tmpfs in a private mount namespace) under the cache
    and the runs: the data loads with a warning, the run fails in one line, no temporaries."""
    small = tmp_path / "small"
    small.mkdir()
    x = rng.integers(0, 256, (300, 48, 48, 1), dtype=np.uint8)  # 0.66 MiB of pixels to cache
    csv = io.write_fer2013(tmp_path / "fer2013.csv", x, np.arange(300) % 7,
                           np.repeat([0, 1, 2], [240, 30, 30]))
    script = tmp_path / "full.sh"
    script.write_text(FULL_DISK_SCRIPT)
    env = {**os.environ, "FER_KIT_DATA": str(csv), "FER_KIT_CACHE": str(small / "cache"),
           "FER_KIT_RUNS": str(small / "runs")}
    cmd = ["unshare", "--user", "--map-root-user", "--mount", "sh", str(script), str(small),
           sys.executable]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    except FileNotFoundError:
        pytest.skip("no unshare")
    if "mount" in r.stderr and r.returncode != 2 or "unshare:" in r.stderr:
        pytest.skip(f"no private tmpfs here: {r.stderr.strip()[:200]}")
    assert r.returncode == 2, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    assert "CacheWarning: " in r.stderr and "parse cache not written" in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("fer-kit: error: ") and "no space left on the device" in last
    assert str(small / "runs") in last and "free in" in last and "it need" in last


def test_temporary_files_of_killed_writers_are_removed_by_the_next_write(tmp_path):
    from fer_kit import atomic
    killed = textwrap.dedent(f"""
        import os
        from fer_kit import atomic
        tmp = atomic.atomic_path(r"{tmp_path / 'fer2013.csv'}").__enter__()
        tmp.write_bytes(b"x" * 100_000)
        print(tmp, flush=True)
        os.kill(os.getpid(), 9)  # killed mid-write: nothing can clean up after it
    """)
    r = subprocess.run([sys.executable, "-c", killed], capture_output=True, text=True)
    left = Path(r.stdout.strip())
    assert r.returncode == -9 and left.is_file() and left.parent == tmp_path
    with atomic.atomic_path(tmp_path / "mine.txt") as live:  # ours, in progress: kept
        (tmp_path / "fer2013.csv").write_text("old")
        old = tmp_path / ".fer2013.csv.k3j4h5g6.csv"  # left by a kit without pids, a day ago
        young = tmp_path / ".fer2013.csv.a1b2c3d4.csv"
        for f in (old, young):
            f.write_text("x")
        os.utime(old, (time.time() - 2 * 86400,) * 2)
        atomic.write_text(tmp_path / "submission.csv", "id,label\n")  # any write there
        assert not left.exists() and not old.exists()
        assert young.exists() and live.exists()
        live.write_text("done")
    assert (tmp_path / "mine.txt").read_text() == "done"
    with pytest.raises(RuntimeError, match="boom"), atomic.atomic_path(tmp_path / "f.txt") as t:
        t.write_text("half")
        raise RuntimeError("boom")  # a write that fails removes its temporary file
    assert not [p for p in tmp_path.iterdir() if "fktmp" in p.name]


def test_a_corrupt_masks_sidecar_is_rebuilt_or_named(tmp_path, monkeypatch):
    import warnings
    monkeypatch.setenv("FER_KIT_CACHE", str(tmp_path / "cache"))
    ds = io.load()
    side = next((tmp_path / "cache").glob("synthfer*/fer2013.masks.npz"))
    good = side.read_bytes()
    bad = {"pickled": None, "torn": good[:len(good) // 2],
           "wrong shape": None, "drawn classes out of range": None}
    for kind in bad:
        if kind == "drawn classes out of range":
            with np.load(side) as z:
                np.savez(side, masks=z["masks"], y_clean=np.full(len(z["masks"]), 9))
        elif kind == "pickled":
            np.savez(side, masks=np.array([object()], dtype=object))
        elif kind == "wrong shape":
            np.savez(side, masks=np.zeros((3, 48, 48), bool))
        else:
            side.write_bytes(bad[kind])
        with pytest.warns(io.CacheWarning, match="masks sidecar .*generating SynthFER again"):
            again = io.load()
        np.testing.assert_array_equal(again.train.masks, ds.train.masks)
        np.testing.assert_array_equal(again.public.drawn, ds.public.drawn)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "fer2013.csv").write_bytes((side.parent / "fer2013.csv").read_bytes())
    np.savez(user / "fer2013.masks.npz", masks=np.array([object()], dtype=object))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a file of the user's is never rebuilt
        with pytest.raises(FERDataError) as e:
            io.read(user / "fer2013.csv")
    msg = str(e.value)
    assert msg.startswith(str(user / "fer2013.masks.npz")) and "cannot be read" in msg
    assert "\n" not in msg and "delete it" in msg


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_a_file_with_no_line_end_is_refused_before_it_is_read(tmp_path):
    """A 2 GiB file of zero bytes (sparse: no disk used), written just now: refused from
    its first 64 KiB; the process stays small (it once read it whole: 6.2 GiB)."""
    big = tmp_path / "fer2013.csv"
    with open(big, "wb") as f:
        f.truncate(2 * 2 ** 30)
    code = textwrap.dedent(f"""
        import re
        from fer_kit.data import io
        from fer_kit.data.csvparse import FERDataError
        try:
            io.read_csv(r"{big}")
        except FERDataError as e:
            print(e)
        print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    message, peak_kib = r.stdout.strip().splitlines()
    assert message == (f"{big}, line 1: no line end in the first 64 KiB of 2,147,483,648 "
                       "bytes: not a FER CSV text file (its first line is a short header "
                       "such as emotion,pixels,Usage)")
    assert int(peak_kib) < 1024 * 1024, f"peak RSS {int(peak_kib) / 1024:.0f} MiB"


def test_cli_refuses_a_run_of_another_dataset_naming_both(tmp_path, monkeypatch, capsys, rng):
    monkeypatch.setenv("FER_KIT_RUNS", str(tmp_path / "runs"))
    x = rng.integers(0, 256, (300, 48, 48, 1), dtype=np.uint8)
    csv = io.write_fer2013(tmp_path / "fer2013.csv", x, np.arange(300) % 7,
                           np.repeat([0, 1, 2], [240, 30, 30]))
    monkeypatch.setenv("FER_KIT_DATA", str(csv))
    assert cli.main(["train", "--model", "cnn3", "--recipe", "torch_cnn", "--profile", "smoke",
                     "--epochs", "1"]) == 0
    run = train.latest_run()
    monkeypatch.delenv("FER_KIT_DATA")  # back to SynthFER, smoke profile
    capsys.readouterr()
    for cmd in (["evaluate"], ["predict", "--out", str(tmp_path / "s.csv")]):
        assert cli.main(cmd) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("fer-kit: error: ")
        assert f"trained on {csv} (profile smoke)" in err and "now is SynthFER (profile smoke)" in err
    assert not (tmp_path / "s.csv").exists()
    assert cli.main(["predict", "--run", str(run), "--out", str(tmp_path / "s.csv")]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"fer-kit: warning: {run} was trained on {csv} (profile smoke)")
    # the newest run of this data is unreadable: skipped, in one line, for the previous one
    monkeypatch.setenv("FER_KIT_DATA", str(csv))
    newer = train.new_run_dir("cnn3", "torch_cnn", 0)
    for name in ("config.json", "split.npz", "history.csv"):
        (newer / name).write_bytes((run / name).read_bytes())
    (newer / "model.keras").write_text("not a model")
    assert cli.main(["evaluate"]) == 0
    captured = capsys.readouterr()
    assert f"fer-kit: skipping {newer.name}: " in captured.err
    assert f"run: {run} " in captured.out
