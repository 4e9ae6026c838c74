"""Outlier detectors: blank, duplicates with conflicting labels, non-face candidates,
the last checked on scikit-image's real photographs and on SynthFER's ground truth."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fer_kit.data import outliers, synth

skd = pytest.importorskip("skimage.data")
from skimage import color, transform  # noqa: E402

PHOTOS = ("camera", "coins", "coffee", "chelsea", "rocket", "moon", "page", "text", "clock",
          "grass", "gravel", "brick")  # bundled with scikit-image: no network


def _to48(imgs) -> np.ndarray:
    return np.stack([np.round(transform.resize(im, (48, 48), anti_aliasing=True) * 255)
                     for im in imgs]).clip(0, 255).astype(np.uint8)[..., None]


def _photo_crops(n: int, seed: int) -> np.ndarray:
    """Square crops (48 px to half the shorter side) of ordinary photographs, as 48x48."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        im = getattr(skd, PHOTOS[rng.integers(len(PHOTOS))])()
        im = color.rgb2gray(im[..., :3]) if im.ndim == 3 else im / 255.0
        side = int(rng.integers(48, min(im.shape) // 2 + 1))
        r, c = rng.integers(0, im.shape[0] - side + 1), rng.integers(0, im.shape[1] - side + 1)
        out.append(im[r:r + side, c:c + side])
    return _to48(out)


@pytest.fixture(scope="module")
def lfw():
    faces = skd.lfw_subset()  # 200 images 25x25: 100 faces, then 100 non-face patches
    return _to48(faces[:100]), _to48(faces[100:])


def _mixes(lfw, kind: str):
    """Five pools of the 100 real faces plus 10 non-faces (the detector fits on the pool)."""
    faces, patches = lfw
    for m in range(5):
        rng = np.random.default_rng(100 + m)
        non = (patches[rng.choice(len(patches), 10, replace=False)] if kind == "lfw"
               else _photo_crops(10, 100 + m))
        yield np.concatenate([faces, non]), np.r_[np.zeros(100, bool), np.ones(10, bool)]


@pytest.mark.parametrize("kind", ["lfw", "photos"])
def test_nonfaces_on_real_photographs(lfw, kind):
    # Measured: AUC 0.980 (lfw patches) / 0.986 (photo crops), mean over the 5 pools; the
    # brief's target of 0.99 is NOT met. The old PCA score gave 0.15 / 0.10 (inverted).
    auc, recall, flagged = [], [], []
    for x, truth in _mixes(lfw, kind):
        auc.append(roc_auc_score(truth, outliers.nonface_scores(x)))
        found = outliers.find_outliers(x)["index"].to_numpy()
        recall.append(np.isin(np.flatnonzero(truth), found).mean())
        flagged.append(np.isin(np.flatnonzero(~truth), found).mean())
    assert np.mean(auc) > 0.97 and min(auc) > 0.95, auc
    assert max(flagged) <= 0.02, flagged
    assert np.mean(recall) >= 0.5, recall  # measured 0.64 / 0.54: short of the 0.9 target


def test_nonfaces_on_synthfer():
    # The generator's own ground truth (kind 2 = non-face), whatever its renderer draws.
    d = synth.generate(4000, seed=11, nonface_rate=0.01)
    df = outliers.find_outliers(d.x, d.y)
    truth = np.flatnonzero(d.kind == 2)
    cand = df.loc[df.reason.str.contains("non-face"), "index"].to_numpy()
    recall, precision = np.isin(truth, cand).mean(), np.isin(cand, truth).mean()
    # SynthFER v4 (recalibrated pose), seeds 11/12: recall 0.65/0.62, precision 0.76/0.74
    # (mean-face correlation alone: recall 0.50/0.70, precision 0.19/0.20); AUC 0.974/0.977.
    # Short of the recall target of 0.78.
    assert recall > 0.55 and precision > 0.64, (recall, precision)
    ok = d.kind != 1
    assert roc_auc_score(d.kind[ok] == 2, outliers.nonface_scores(d.x[ok])) > 0.96


def test_blank_and_near_constant():
    x = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 1), dtype=np.uint8)
    x[1] = 0
    x[3] = 120
    x[3, 0, 0, 0] = 121
    df = outliers.find_blank(x)
    assert df["index"].tolist() == [1, 3]
    assert df["reason"].tolist() == ["blank", "near-constant"]


def test_duplicates_with_conflicting_labels():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 48, 48, 1), dtype=np.uint8)
    x[4] = x[1]
    x[5] = x[2]
    y = np.array([0, 3, 5, 1, 4, 5])
    df = outliers.find_duplicates(x, y).set_index("index")
    assert sorted(df.index) == [1, 2, 4, 5]
    assert df.loc[1, "reason"] == "duplicate, labels disagree"
    assert df.loc[2, "reason"] == "duplicate"
    assert "same as 4; labels 3, 4" in df.loc[1, "detail"]


def test_an_image_blank_and_duplicated_counts_once():
    d = synth.generate(300, seed=3, blank_rate=0, nonface_rate=0)
    x, y = d.x.copy(), d.y.copy()
    x[[5, 9]] = 0  # two blank images: also duplicates of each other
    y[5], y[9] = 0, 1
    df = outliers.find_outliers(x, y)
    assert df["index"].is_unique
    assert df.set_index("index").loc[5, "reason"] == "blank; duplicate, labels disagree"
    assert list(df.columns) == ["index", "reason", "score", "detail"]
