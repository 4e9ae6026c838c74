"""SynthFER: shapes, determinism, priors, outliers, label noise, masks and expression geometry."""
from __future__ import annotations

import numpy as np

from fer_kit.data import synth


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
