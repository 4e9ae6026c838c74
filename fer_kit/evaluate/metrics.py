"""Evaluation: predictions (optionally with flip test-time augmentation), accuracy,
public/private scores, confusion matrices, classification reports, submissions.

Metrics come from scikit-learn; this module only arranges them. Their readings in words
are ``readings``'s.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import binomtest
from sklearn.metrics import classification_report as _sk_report
from sklearn.metrics import confusion_matrix as _sk_confusion

from .. import atomic
from ..config import EMOTIONS
from ..data.io import Dataset, Split


def check_pixels(x: np.ndarray) -> None:
    """Refuse float images that are not 0-255 pixels: divided by 255, or standardized.

    The kit's models take raw pixels and rescale (and normalize) inside, so images
    already divided by 255 reach the network 255 times too dark, and every face comes
    out as one class, with no error from Keras. Dividing by 255 is the most common habit
    in Keras homework code, so this check is on by default. uint8 images always pass.

    Raises:
        ValueError: for float images whose values all lie in [0, 1] (and are not all 0),
            or that have negative values.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f" or x.size == 0:
        return
    lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
    what = ("lie in [0, 1] (divided by 255 already?)" if 0 <= lo and 0 < hi <= 1 else
            "have negative values (standardized already?)" if lo < 0 else None)
    if what:
        raise ValueError(f"the images {what}: min {lo:.3g}, max {hi:.3g}; the model takes "
                         "0-255 pixels and rescales inside: pass the uint8 images (or "
                         "check_range=False for a model of your own that wants this input)")


def predict_proba(model, x: np.ndarray, *, tta_flip: bool = False,
                  batch_size: int = 256, check_range: bool = True) -> np.ndarray:
    """Class probabilities (N, classes) for images.

    Args:
        model: a Keras model that takes pixels (what ``fk.train.fit`` returns and saves).
        x: uint8 images (N, H, W, C), 0-255 (float 0-255 works too).
        tta_flip: also predict the mirrored images and average the probabilities.
        check_range: refuse float images in [0, 1] or with negative values
            (``check_pixels``); False for a model that wants such input.

    Raises:
        ValueError: no images, the wrong image shape, or pixels in the wrong range.
    """
    if len(x) == 0:
        raise ValueError("no images to predict (the test set is empty)")
    if check_range:
        check_pixels(x)
    expected = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) != expected:
        raise ValueError(f"model {model.name!r} expects images of shape {expected}, "
                         f"got {tuple(x.shape[1:])}")
    proba = model.predict(x, batch_size=batch_size, verbose=0)
    if tta_flip:
        proba = (proba + model.predict(x[:, :, ::-1], batch_size=batch_size, verbose=0)) / 2
    return proba


def predict(model, x: np.ndarray, *, tta_flip: bool = False,
            check_range: bool = True) -> np.ndarray:
    """Predicted labels (N,) (``predict_proba``'s arguments)."""
    return predict_proba(model, x, tta_flip=tta_flip, check_range=check_range).argmax(axis=1)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def scores(model, data: Dataset, *, tta_flip: bool = False,
           check_range: bool = True) -> pd.Series:
    """Accuracy on every labeled test split the data has (public, private)."""
    out = {}
    for name in ("public", "private"):
        split: Split | None = getattr(data, name)
        if split is not None and split.y is not None and len(split):
            out[name] = accuracy(split.y, predict(model, split.x, tta_flip=tta_flip,
                                                  check_range=check_range))
    return pd.Series(out, name="accuracy", dtype=float)


def paired_gain(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> tuple[float, float]:
    """Accuracy of ``pred_b`` minus that of ``pred_a`` on the same images, and the standard
    error of that difference (paired: per-image differences in correctness), e.g. what
    flip test-time augmentation adds.

    Returns:
        (gain, standard error).
    """
    y_true = np.asarray(y_true)
    d = (np.asarray(pred_b) == y_true).astype(float) - (np.asarray(pred_a) == y_true)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else np.nan


def welch_margin(se_a: float, se_b: float, n_a: int, n_b: int, level: float = 0.95) -> float:
    """Half-width of the ``level`` interval of a difference of two means (Welch's t)."""
    var = se_a ** 2 + se_b ** 2
    if not np.isfinite(var) or var == 0:
        return 0.0 if var == 0 else np.inf
    df = var ** 2 / (se_a ** 4 / max(n_a - 1, 1) + se_b ** 4 / max(n_b - 1, 1))
    return float(stats.t.ppf(0.5 + level / 2, df) * np.sqrt(var))


def confusion(y_true: np.ndarray, y_pred: np.ndarray, normalize: bool = False,
              labels=EMOTIONS) -> pd.DataFrame:
    """Confusion matrix as a DataFrame (rows: true class, columns: predicted);
    ``normalize`` divides each row by its total (recall on the diagonal)."""
    cm = _sk_confusion(y_true, y_pred, labels=range(len(labels)),
                       normalize="true" if normalize else None)
    return pd.DataFrame(cm, index=pd.Index(labels, name="true"),
                        columns=pd.Index(labels, name="predicted"))


def report(y_true: np.ndarray, y_pred: np.ndarray, labels=EMOTIONS) -> pd.DataFrame:
    """scikit-learn's classification report as a DataFrame."""
    rep = _sk_report(y_true, y_pred, labels=range(len(labels)), target_names=list(labels),
                     output_dict=True, zero_division=0)
    return pd.DataFrame(rep).T


def share_interval(count, total, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the proportions ``count / total`` (elementwise; NaN where
    ``total`` is 0): what a rate measured on a few test images can and cannot say."""
    count, total = np.broadcast_arrays(np.asarray(count, int), np.asarray(total, int))
    low, high = np.full(count.shape, np.nan), np.full(count.shape, np.nan)
    for i in np.ndindex(count.shape):
        if total[i] > 0:
            ci = binomtest(int(count[i]), int(total[i])).proportion_ci(level, method="wilson")
            low[i], high[i] = ci.low, ci.high
    return low, high


def test_set(data: Dataset) -> Split:
    """The rows to predict for a submission: the unlabeled test set, else Kaggle's
    PublicTest + PrivateTest rows (labels dropped)."""
    if data.test is not None and len(data.test):
        return data.test
    parts = [s for s in (data.public, data.private) if s is not None and len(s)]
    if not parts:
        raise ValueError(f"{data.name}: no test rows to predict (empty test set)")
    return Split(np.concatenate([p.x for p in parts]), None,
                 np.concatenate([p.ids for p in parts]))


def labeled_test(data: Dataset, fallback: Split | None = None) -> Split:
    """A labeled held-out split to analyse: PrivateTest, else PublicTest, else ``fallback``
    (e.g. the run's validation split when only the course's unlabeled test.csv exists)."""
    for split in (data.private, data.public, fallback):
        if split is not None and split.y is not None and len(split):
            return split
    raise ValueError(f"{data.name}: no labeled test rows and no fallback split")


def write_submission(path: str | Path, ids: np.ndarray, labels: np.ndarray) -> Path:
    """Write a Kaggle-style ``id,label`` submission CSV (atomically)."""
    ids, labels = np.asarray(ids), np.asarray(labels)
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} ids but {len(labels)} labels")
    df = pd.DataFrame({"id": ids, "label": labels})
    return atomic.write_text(path, df.to_csv(index=False))
