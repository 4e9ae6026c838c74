"""Stratified split, flip doubling after the split, and the leak of flipping first."""
from __future__ import annotations

import numpy as np
import pytest

from fer_kit.data import Split, split


def _split(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(7, n, p=[.14, .02, .14, .25, .17, .11, .17])
    x = rng.integers(0, 256, (n, 48, 48, 1), dtype=np.uint8)
    return Split(x, y, np.arange(n), rng.random((n, 48, 48)) > 0.5)


def test_stratified_90_10_without_overlap():
    s = _split()
    tr, va = split.train_val_split(s, 0.1, seed=0)
    assert len(va) == 100 and len(tr) == 900
    assert not set(tr.ids) & set(va.ids)
    full = np.bincount(s.y, minlength=7) / len(s)
    np.testing.assert_allclose(np.bincount(va.y, minlength=7) / len(va), full, atol=0.011)
    tr2, va2 = split.train_val_split(s, 0.1, seed=0)
    np.testing.assert_array_equal(va.ids, va2.ids)  # same seed, same split


def test_flip_double_mirrors_images_and_masks():
    s = _split(10)
    d = split.flip_double(s)
    assert len(d) == 20
    np.testing.assert_array_equal(d.x[10 + 3, :, 0], s.x[3, :, 47])  # column 0 <- column 47
    np.testing.assert_array_equal(d.masks[10 + 3], s.masks[3][:, ::-1])
    np.testing.assert_array_equal(d.y, np.r_[s.y, s.y])


def test_flipping_before_splitting_leaks_mirror_twins():
    y = _split(28709).y  # FER2013's training size
    leak = split.mirror_leak(y, 0.1, seed=0)
    before = leak.loc["flip, then split (seed 000)"]
    after = leak.loc["split, then flip (fer_kit)"]
    assert before["val_images"] == 5742  # 10% of 57,418
    assert before["share"] > 0.85  # ~90% of validation images have their twin in training
    assert after["twin_in_train"] == 0


def test_unlabeled_split_is_refused():
    s = _split(10)
    with pytest.raises(ValueError, match="unlabeled"):
        split.train_val_split(Split(s.x, None, s.ids))
    with pytest.raises(ValueError, match="val_fraction"):
        split.split_indices(s.y, 1.5)
