"""Evaluation helpers against scikit-learn and hand-made cases."""
from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from fer_kit import evaluate
from fer_kit.data import Dataset, Split


def test_confusion_and_most_confused(rng):
    y_true = rng.integers(0, 7, 500)
    y_pred = np.where(rng.random(500) < 0.7, y_true, rng.integers(0, 7, 500))
    y_pred[(y_true == 2)[:]] = np.where(rng.random((y_true == 2).sum()) < 0.5, 5, 2)  # Fear->Surprise
    cm = evaluate.confusion(y_true, y_pred)
    np.testing.assert_array_equal(cm.to_numpy(), confusion_matrix(y_true, y_pred, labels=range(7)))
    norm = evaluate.confusion(y_true, y_pred, normalize=True)
    np.testing.assert_allclose(norm.sum(axis=1), 1)
    top = evaluate.most_confused(y_true, y_pred, top=3)
    assert (top.loc[0, "true"], top.loc[0, "predicted"]) == ("Fear", "Surprise")
    assert top.loc[0, "count"] == cm.loc["Fear", "Surprise"]
    rep = evaluate.report(y_true, y_pred)
    assert abs(rep.loc["accuracy", "precision"] - evaluate.accuracy(y_true, y_pred)) < 1e-12


def test_most_confused_by_rate_finds_a_rare_class_mostly_mistaken():
    # 200 Angry images, 20 taken for Neutral (10%); 13 Disgust images, 9 taken for Angry (69%)
    y_true = np.r_[np.zeros(200, int), np.ones(13, int)]
    y_pred = np.r_[np.zeros(180, int), np.full(20, 6), np.zeros(9, int), np.ones(4, int)]
    by_rate = evaluate.most_confused(y_true, y_pred, top=1)
    assert by_rate.iloc[0][["true", "predicted", "count"]].tolist() == ["Disgust", "Angry", 9]
    assert abs(by_rate.iloc[0]["share_of_true"] - 9 / 13) < 1e-12
    by_count = evaluate.most_confused(y_true, y_pred, top=1, by="count")
    assert by_count.iloc[0][["true", "predicted", "count"]].tolist() == ["Angry", "Neutral", 20]
    with pytest.raises(ValueError, match="'rate' or 'count'"):
        evaluate.most_confused(y_true, y_pred, by="size")


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval, written out (Wilson 1927; Agresti and Coull 1998)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_confusion_rates_carry_wilson_intervals_and_small_classes_can_be_left_out():
    y_true = np.r_[np.zeros(200, int), np.ones(19, int), np.full(157, 6)]
    y_pred = np.r_[np.zeros(180, int), np.full(20, 6), np.full(5, 6), np.ones(14, int),
                   np.full(41, 4), np.full(116, 6)]
    top = evaluate.most_confused(y_true, y_pred, top=3)
    # 5 of 19 (26.3%) ranks above 41 of 157 (26.1%)
    assert top.iloc[0][["true", "predicted", "count", "support"]].tolist() == ["Disgust",
                                                                               "Neutral", 5, 19]
    assert top.iloc[1][["true", "predicted", "count", "support"]].tolist() == ["Neutral", "Sad",
                                                                               41, 157]
    for r in top.itertuples():
        np.testing.assert_allclose((r.low, r.high), _wilson(r.count, r.support), atol=1e-9)
    # 5 of 19 and 41 of 157 are both 26%, but only one of them is a narrow interval
    assert top.iloc[0]["high"] - top.iloc[0]["low"] > 2.5 * (top.iloc[1]["high"] - top.iloc[1]["low"])
    big = evaluate.most_confused(y_true, y_pred, top=3, min_support=30)
    assert "Disgust" not in set(big["true"])
    assert evaluate.share_interval(0, 0)[0] != evaluate.share_interval(0, 0)[0]  # NaN: no images


def test_reading_follows_the_numbers():
    y_true = np.r_[np.zeros(200, int), np.ones(13, int), np.full(50, 3)]
    y_pred = np.r_[np.zeros(180, int), np.full(20, 6), np.zeros(13, int), np.full(50, 3)]
    text = evaluate.reading(y_true, y_pred)
    acc = evaluate.accuracy(y_true, y_pred)
    assert f"Accuracy {acc:.3f}" in text
    lo, hi = _wilson(20, 200)
    assert f"Angry -> Neutral 10% (20 of 200; 95% interval {lo:.0%}-{hi:.0%})" in text.splitlines()[1]
    assert "Disgust -> Angry" not in text.splitlines()[1]  # 13 images: set apart
    assert "Fewer than 30 test images" in text and "Disgust (13)" in text
    assert "Disgust -> Angry 100% (13 of 13" in text
    assert "Never predicted: Disgust (13 images)" in text and "its recall is 0" in text
    from sklearn.metrics import f1_score, precision_score, recall_score
    assert f"macro-averaged F1 {f1_score(y_true, y_pred, average='macro'):.3f}" in text
    # Angry is answered for 193 images where 200 are Angry; Neutral 20 for 0: no images of
    # its own, so no ratio; the most over-predicted with images of its own is none here
    assert "Most over-predicted" not in text
    assert "Weakest recall: Angry 0.90" in text and "best: Happy 1.00" in text
    # a model that answers Sad too often, as notebook 04's demo model did
    y_true = np.r_[np.full(100, 4), np.full(100, 6)]
    y_pred = np.r_[np.full(97, 4), np.full(3, 6), np.full(50, 4), np.full(50, 6)]
    text = evaluate.reading(y_true, y_pred)
    p = precision_score(y_true, y_pred, labels=[4], average=None)[0]
    r = recall_score(y_true, y_pred, labels=[4], average=None)[0]
    assert (f"Most over-predicted: Sad, answered for 147 images where 100 are Sad (1.47x; "
            f"precision {p:.2f}, recall {r:.2f})") in text


def test_paired_gain_is_the_accuracy_difference_with_a_paired_standard_error(rng):
    y = rng.integers(0, 7, 400)
    a = np.where(rng.random(400) < 0.7, y, (y + 1) % 7)
    b = np.where(rng.random(400) < 0.1, y, a)  # b fixes some of a's mistakes
    gain, se = evaluate.paired_gain(y, a, b)
    assert abs(gain - (evaluate.accuracy(y, b) - evaluate.accuracy(y, a))) < 1e-12
    d = (b == y).astype(float) - (a == y)
    # the standard error of a mean, as scipy computes it
    from scipy.stats import sem
    assert abs(se - sem(d)) < 1e-12 and se > 0


class _Mirror(keras.layers.Layer):
    """Scores class 0 by the left half's brightness, class 1 by the right half's."""

    def call(self, x):
        left = keras.ops.mean(x[:, :, :24], axis=(1, 2, 3))
        right = keras.ops.mean(x[:, :, 24:], axis=(1, 2, 3))
        return keras.ops.softmax(keras.ops.stack([left, right], axis=1))


def test_flip_tta_averages_the_mirror(rng):
    model = keras.Sequential([keras.Input((48, 48, 1)), _Mirror()])
    x = np.zeros((2, 48, 48, 1), np.uint8)
    x[0, :, :24] = 2  # brighter left
    x[1, :, 24:] = 2
    p = evaluate.predict_proba(model, x)
    assert p[0, 0] > p[0, 1] and p[1, 1] > p[1, 0]
    np.testing.assert_allclose(evaluate.predict_proba(model, x, tta_flip=True), 0.5, atol=1e-6)


def test_scores_public_private_and_submission(tmp_path, rng):
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(7, activation="softmax")])
    mk = lambda n: Split(rng.integers(0, 256, (n, 48, 48, 1), dtype=np.uint8),  # noqa: E731
                         rng.integers(0, 7, n), np.arange(n))
    data = Dataset("x", mk(10), public=mk(20), private=mk(30))
    s = evaluate.scores(model, data)
    assert list(s.index) == ["public", "private"]
    pred = evaluate.predict(model, data.private.x)
    assert s["private"] == evaluate.accuracy(data.private.y, pred)
    path = evaluate.write_submission(tmp_path / "submission.csv", data.private.ids, pred)
    sub = pd.read_csv(path)
    assert list(sub.columns) == ["id", "label"] and sub["label"].tolist() == pred.tolist()


def test_wrong_input_shape_and_empty_set_are_explained():
    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(7)], name="tiny")
    with pytest.raises(ValueError, match=r"'tiny' expects images of shape \(32, 32, 1\), got \(48, 48, 1\)"):
        evaluate.predict(model, np.zeros((2, 48, 48, 1), np.uint8))
    with pytest.raises(ValueError, match="test set is empty"):
        evaluate.predict(model, np.zeros((0, 32, 32, 1), np.uint8))


def test_images_divided_by_255_or_standardized_are_refused(rng):
    """The kit's models take 0-255 pixels; x / 255 or standardized x once gave every face
    one class, silently. Every prediction path refuses them in one line."""
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(), keras.layers.Dense(7, activation="softmax")])
    x = rng.integers(0, 256, (20, 48, 48, 1), dtype=np.uint8)
    y = rng.integers(0, 7, 20)
    data = Dataset("x", Split(x, y, np.arange(20)), public=Split(x / 255.0, y, np.arange(20)))
    scaled = x.astype(np.float32) / 255
    standard = (x - x.mean()) / x.std()
    calls = [lambda z: evaluate.predict(model, z), lambda z: evaluate.predict_proba(model, z),
             lambda z: evaluate.predict(model, z, tta_flip=True)]
    for z, words in ((scaled, r"lie in \[0, 1\] \(divided by 255 already\?\): min 0, max 1"),
                     (standard, r"have negative values \(standardized already\?\)")):
        for call in calls:
            with pytest.raises(ValueError, match=words + ".*the model takes 0-255 pixels"):
                call(z)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        evaluate.scores(model, data)
    # 0-255 floats and uint8 are the same input; check_range=False lets a model of one's own through
    np.testing.assert_allclose(evaluate.predict_proba(model, x.astype(np.float32)),
                               evaluate.predict_proba(model, x), rtol=1e-6)
    assert evaluate.predict_proba(model, scaled, check_range=False).shape == (20, 7)
    assert evaluate.predict(model, np.zeros((2, 48, 48, 1), np.float32)).shape == (2,)  # black


# ---- notebook 02's and 08's readings, on inputs whose answers are known --------------------
class _LeftBiased(keras.layers.Layer):
    """Logits (left half's mean + 10, right half's mean): class 1 only when the right half
    is brighter by more than 10. Averaged with its mirror, class 0 always wins (for any
    bias c > 0, sigmoid(c - d) + sigmoid(c + d) > 1), so flip TTA answers 0 everywhere."""

    def call(self, x):
        left = keras.ops.mean(x[:, :, :24], axis=(1, 2, 3))
        right = keras.ops.mean(x[:, :, 24:], axis=(1, 2, 3))
        return keras.ops.softmax(keras.ops.stack([left + 10.0, right], axis=1))


def _halves(sides: str) -> np.ndarray:
    """One uint8 image per letter: 'L' has its left half at 200, 'R' its right half."""
    x = np.zeros((len(sides), 48, 48, 1), np.uint8)
    for i, s in enumerate(sides):
        if s == "L":
            x[i, :, :24] = 200
        else:
            x[i, :, 24:] = 200
    return x


def test_tta_gains_and_reading_on_a_model_whose_flip_answers_are_known():
    model = keras.Sequential([keras.Input((48, 48, 1)), _LeftBiased()])
    # public: 6 'L' faces labeled 0 (both right), 4 'R' faces labeled 1 (plain right, TTA
    # wrong): plain 1.0, TTA 0.6, per-image differences four -1s and six 0s
    public = Split(_halves("LLLLLLRRRR"), np.r_[np.zeros(6, int), np.ones(4, int)], np.arange(10))
    # private: 3 'R' faces labeled 0 (plain wrong, TTA right), 1 labeled 1: gain +0.5
    private = Split(_halves("RRRR"), np.array([0, 0, 0, 1]), np.arange(4))
    table = evaluate.tta_gains(model, Dataset("x", public, public=public, private=private))
    assert list(table.index) == ["public", "private"]
    assert list(table.columns) == ["images", "plain", "flip TTA", "gain", "gain SE"]
    np.testing.assert_allclose(table["plain"], [1.0, 0.25])
    np.testing.assert_allclose(table["flip TTA"], [0.6, 0.75])
    np.testing.assert_allclose(table["gain"], [-0.4, 0.5])
    d_pub, d_priv = np.r_[np.zeros(6), -np.ones(4)], np.array([1.0, 1, 1, -1])
    se = [d.std(ddof=1) / np.sqrt(len(d)) for d in (d_pub, d_priv)]  # 0.163, 0.5
    np.testing.assert_allclose(table["gain SE"], se)
    lines = evaluate.tta_reading(table).splitlines()
    # public: |-0.4| > 2 * 0.163: beyond the noise; private: 0.5 < 2 * 0.5: within it
    assert lines[0].startswith("public: 1.0000 -> 0.6000, gain -0.4000 +/- 0.3266 (2 SE): beyond")
    assert lines[1] == ("private: 0.2500 -> 0.7500, gain +0.5000 +/- 1.0000 (2 SE): "
                        "within the noise of this test set")
    # the splits disagree: pooled, the gain is the mean over all 14 images, its SE that of a
    # weighted mean of two independent splits
    pooled_se = np.sqrt((10 * se[0]) ** 2 + (4 * se[1]) ** 2) / 14
    gain = np.r_[d_pub, d_priv].mean()
    assert lines[2] == (f"The splits disagree; together (14 images) the gain is {gain:+.4f} "
                        f"+/- {2 * pooled_se:.4f} (2 SE): within their noise.")
    assert len(evaluate.tta_reading(table.iloc[:1]).splitlines()) == 1  # one split: no pooling
    # no labeled split: an empty table and nothing to read
    unlabeled = Dataset("x", public, public=Split(public.x, None, public.ids))
    assert len(evaluate.tta_gains(model, unlabeled)) == 0
    assert evaluate.tta_reading(evaluate.tta_gains(model, unlabeled)) == ""


def test_paired_reading_and_fit_diagnosis():
    y = np.zeros(8, int)
    a = np.r_[np.zeros(6, int), np.ones(2, int)]   # 6 of 8 right
    b = np.r_[np.zeros(2, int), np.ones(6, int)]   # 2 of 8 right: a leads by 0.5
    gain, line = evaluate.paired_reading(y, a, b, "A", "B")
    d = np.r_[np.zeros(2), np.ones(4), np.zeros(2)]  # per image: a right minus b right
    assert gain == 0.5
    assert line == (f"A is above B by 0.500 +/- {2 * d.std(ddof=1) / np.sqrt(8):.3f} "
                    "(2 paired standard errors): resolved")
    gain, line = evaluate.paired_reading(y, b, a, "B", "A")
    assert gain == -0.5 and line.startswith("B is below A by 0.500")
    assert evaluate.paired_reading(y, a, a, "A", "A2")[1].endswith("not resolved on these images")
    assert evaluate.fit_diagnosis(0.9, 0.7, 0.5).startswith("overfits")
    assert evaluate.fit_diagnosis(0.45, 0.44, 0.5) == (
        "underfits: it fits its training data worse than logistic regression (0.500)")
    assert evaluate.fit_diagnosis(0.6, 0.55, 0.5).startswith("fits")
    assert evaluate.fit_diagnosis(0.79, 0.7, 0.5).startswith("fits")  # a gap under 0.1 is no overfit


def _comparison_table():
    """Four models on 10 images (labels all 0): CNN right on 9, DNN a 7, DNN b 4, linear 6."""
    right = {"CNN": 9, "DNN a": 7, "DNN b": 4, "linear": 6}
    preds = {n: np.r_[np.zeros(k, int), np.ones(10 - k, int)] for n, k in right.items()}
    table = pd.DataFrame({"CNN": {"train_acc": 0.95, "val_acc": 0.9, "public": 0.9},
                          "DNN a": {"train_acc": 0.9, "val_acc": 0.7, "public": 0.7},
                          "DNN b": {"train_acc": 0.5, "val_acc": 0.45, "public": 0.4},
                          "linear": {"train_acc": 0.6, "val_acc": 0.6, "public": 0.6}}).T
    return table, preds, np.zeros(10, int)


def test_compare_models_ranks_pairs_diagnoses_and_notes_the_budget():
    table, preds, y = _comparison_table()
    r = evaluate.compare_models(table, preds, y, "public", epochs=3, cnn="CNN", linear="linear")
    assert r.best_dnn == "DNN a"  # the better dense network by 'public', not the first row
    lines = r.text.splitlines()
    assert lines[0] == "By public accuracy (10 images):"
    assert [l.split()[0] for l in lines[1:5]] == ["CNN", "DNN", "linear", "DNN"]
    assert lines[5] == r.cnn_vs_dnn == evaluate.paired_reading(y, preds["CNN"], preds["DNN a"],
                                                               "CNN", "DNN a")[1]
    assert r.cnn_vs_dnn.startswith("CNN is above DNN a by 0.200")
    assert lines[6] == r.dnn_vs_linear and r.dnn_vs_linear.startswith("DNN a is above linear by 0.100")
    assert lines[7] == "  DNN a: train 0.900, validation 0.700: overfits: training accuracy far above validation"
    assert lines[8].startswith("  DNN b: train 0.500, validation 0.450: underfits")
    assert r.budget is None and not any(l.startswith("Note:") for l in lines)
    assert lines[-1].startswith("One training seed per network here")
    # the dense network below the linear model: the note names the budget
    table.loc["linear", "public"] = 0.8
    preds["linear"] = np.r_[np.zeros(8, int), np.ones(2, int)]
    r = evaluate.compare_models(table, preds, y, "public", epochs=3, cnn="CNN", linear="linear")
    assert r.dnn_vs_linear.startswith("DNN a is below linear by 0.100")
    assert r.budget.startswith("at this budget (3 epochs) the DNN did not beat the linear model")
    assert "Note: " + r.budget + "." in r.text.splitlines()
    assert "better than the linear model does (0.900 against 0.600): it overfits" in r.budget
    table.loc["DNN a", "train_acc"] = 0.5  # fits its training images worse: not yet learned
    r = evaluate.compare_models(table, preds, y, "public", epochs=3, cnn="CNN", linear="linear")
    assert "worse than the linear model does (training accuracy 0.500 against 0.600)" in r.budget
    assert "has not yet learned what it can" in r.budget


def test_accuracy_row_is_measured_on_clean_images_in_inference_mode(rng):
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                              keras.layers.Dropout(0.9), keras.layers.Dense(7, activation="softmax")])
    mk = lambda n: Split(rng.integers(0, 256, (n, 48, 48, 1), dtype=np.uint8),  # noqa: E731
                         rng.integers(0, 7, n), np.arange(n))
    train, val, public = mk(30), mk(20), mk(25)
    row = evaluate.accuracy_row(model, Dataset("x", train, public=public), train, val)
    assert list(row) == ["params", "train_acc", "val_acc", "public"]
    assert row["params"] == 48 * 48 * 7 + 7
    probs = lambda s: model(s.x.astype("float32"), training=False)  # noqa: E731 (no dropout)
    for key, s in (("train_acc", train), ("val_acc", val), ("public", public)):
        expected = np.mean(np.argmax(keras.ops.convert_to_numpy(probs(s)), 1) == s.y)
        assert row[key] == pytest.approx(expected)


def _run(val_acc, val_loss, epochs, patience=10, model_epoch=None):
    """A run as get_run returns it, reduced to what progress_reading reads."""
    from types import SimpleNamespace
    h = pd.DataFrame({"val_accuracy": val_acc, "val_loss": val_loss})
    config = {"recipe": {"epochs": epochs, "patience": patience}}
    if model_epoch is not None:
        config["model_epoch"] = model_epoch
    return SimpleNamespace(history=h, config=config, run_dir="runs/x")


def test_progress_reading_tells_a_rising_run_from_a_finished_one():
    # notebook 01's demo run (07:00 fresh clone): best at the last of 12 epochs
    acc = [0.199, 0.191, 0.234, 0.234, 0.259, 0.314, 0.293, 0.363, 0.267, 0.544, 0.530, 0.568]
    loss = [1.917, 1.846, 1.828, 1.820, 1.790, 1.704, 1.701, 1.629, 1.792, 1.356, 1.321, 1.252]
    line = evaluate.progress_reading(_run(acc, loss, 12, model_epoch=11), "The CNN")
    assert line.startswith("The CNN was still improving when its budget ran out: its validation "
                           "loss, which early stopping watches, is lowest at its last epoch (12 "
                           "of 12; early stopping (patience 10) never fired); ")
    # the last third is 4 epochs: from epoch 8 (index 7) to epoch 12
    assert "validation accuracy went 0.363 -> 0.568 over the last 4 epochs" in line
    # without model_epoch the lowest validation loss decides, as the checkpoint does
    assert evaluate.progress_reading(_run(acc, loss, 12)) == line.replace(
        "The CNN", "The model analysed here")
    # early stopping fired: 6 of 20 epochs, best at epoch 2, 4 epochs without improvement
    stop = evaluate.progress_reading(_run([.2, .5, .4, .45, .41, .42], [2, 1, 1.1, 1.2, 1.3, 1.4],
                                          20, patience=4))
    assert stop == ("The model analysed here stopped at epoch 6 of 20: validation loss had not "
                    "improved for 4 epochs after epoch 2, whose weights it keeps (validation "
                    "accuracy 0.500), so it had stopped improving at this budget.")
    # the budget ran out after the best epoch, before patience did
    flat = evaluate.progress_reading(_run([.2, .5, .4], [2, 1, 1.1], 3))
    assert flat == ("The model analysed here keeps epoch 2 of 3: validation loss did not improve "
                    "in the last epoch, but early stopping (patience 10) never fired, so "
                    "whether it had finished improving is not settled (validation accuracy went "
                    "0.500 -> 0.400 over the last epoch).")
    # a run cut short while still improving is not called finished
    cut = evaluate.progress_reading(_run([.2, .3], [2, 1.5], 12))
    assert "still improving when its run was cut short at epoch 2 of 12" in cut
    empty = evaluate.progress_reading(_run([], [], 12))
    assert empty.endswith("has no validation history (history.csv), so whether it was still "
                          "improving is unknown.")


def _seed_table():
    """Three networks' public accuracy over seeds (linear fitted once)."""
    return evaluate.seed_table({
        "CNN": [{"seed": s, "public": v} for s, v in enumerate([0.90, 0.86, 0.88])],
        "DNN a": [{"seed": s, "public": v} for s, v in enumerate([0.70, 0.62, 0.75])],
        "DNN b": [{"seed": s, "public": v} for s, v in enumerate([0.40, 0.45, 0.41])],
        "linear": [{"seed": 0, "public": 0.6}]})


def test_seed_gap_margin_is_welchs_interval_and_the_images_in_quadrature():
    from scipy import stats
    table, preds, y = _comparison_table()
    per_seed = _seed_table()
    gap, margin, line = evaluate.seed_gap(per_seed, "public", "CNN", "DNN a", y, preds["CNN"],
                                          preds["DNN a"])
    cnn, dnn = [0.90, 0.86, 0.88], [0.70, 0.62, 0.75]
    assert gap == pytest.approx(np.mean(cnn) - np.mean(dnn))
    # the seeds' part: scipy's Welch interval, an independent computation
    ci = stats.ttest_ind(cnn, dnn, equal_var=False).confidence_interval(0.95)
    welch = (ci.high - ci.low) / 2
    _, img_se = evaluate.paired_gain(y, preds["DNN a"], preds["CNN"])
    assert margin == pytest.approx(np.hypot(welch, 2 * img_se))
    assert line.startswith(f"CNN is above DNN a by {gap:.3f} public (3 and 3 training seeds")
    assert line.endswith(": resolved" if gap > margin else ": not resolved")
    # a network fitted once adds no spread of its own: the other's alone (df = n - 1)
    gap, margin, line = evaluate.seed_gap(per_seed, "public", "DNN a", "linear", y,
                                          preds["DNN a"], preds["linear"])
    half = stats.t.ppf(0.975, 2) * np.std(dnn, ddof=1) / np.sqrt(3)
    _, img_se = evaluate.paired_gain(y, preds["linear"], preds["DNN a"])
    assert margin == pytest.approx(np.hypot(half, 2 * img_se))
    assert "3 and 1 training seeds" in line and line.endswith("not resolved")


def test_compare_models_over_seeds_ranks_by_the_mean_and_names_the_spread():
    table, preds, y = _comparison_table()
    table.loc["DNN b", "public"] = 0.8  # seed 0 alone would pick DNN b; the means pick DNN a
    per_seed = _seed_table()
    r = evaluate.compare_models(table, preds, y, "public", epochs=3, cnn="CNN", linear="linear",
                                per_seed=per_seed)
    assert r.best_dnn == "DNN a"
    lines = r.text.splitlines()
    assert lines[0] == "By mean public accuracy over training seeds (10 images):"
    assert lines[1] == f"  {'CNN':26s} 0.880 (SD 0.020 over 3 seeds, 0.860-0.900)"
    assert lines[3] == f"  {'linear':26s} 0.600 (one fit)"
    assert r.cnn_vs_dnn == evaluate.seed_gap(per_seed, "public", "CNN", "DNN a", y, preds["CNN"],
                                             preds["DNN a"])[2]
    assert not any(l.startswith("One training seed per network") for l in lines)


def _stub_run(history_acc, kept, right):
    """A run: a model that gets the first ``right`` labels of the public split right."""
    from types import SimpleNamespace

    class Model:
        input_shape = (None, 48, 48, 1)

        def predict(self, x, **kw):
            p = np.zeros((len(x), 7), np.float32)
            p[:, 1] = 1
            p[:right, 0] = 2  # class 0 (the labels are all 0)
            return p
    h = pd.DataFrame({"val_accuracy": history_acc, "val_loss": -np.asarray(history_acc)})
    return SimpleNamespace(model=Model(), history=h, config={"model_epoch": kept},
                           seconds=10.0 * right)


def test_seed_rows_take_runs_then_stored_rows_then_train_and_say_if_this_machine_reproduces(
        tmp_path, monkeypatch, capsys):
    from fer_kit import config, resources
    x = np.zeros((10, 48, 48, 1), np.uint8)
    data = Dataset("tiny", Split(x, np.zeros(10, int), np.arange(10)),
                   public=Split(x, np.zeros(10, int), np.arange(10)))
    prof = config.get_profile("smoke")
    monkeypatch.setattr(resources, "results_dir", lambda: tmp_path)
    assert evaluate.stored_seeds(data, prof, "vgg_selu").empty  # no file: nothing stored
    rows = [{"seed": 0, "epochs_run": 3, "best_epoch": 2, "val_acc": 0.5, "public": 0.7},
            {"seed": 1, "epochs_run": 3, "best_epoch": 3, "val_acc": 0.6, "public": 0.8}]
    evaluate.write_seed_rows(rows, tmp_path / "seeds_smoke_vgg_selu.csv", data, prof, "vgg_selu")
    evaluate.write_seed_rows(rows, tmp_path / "seeds_smoke_other.csv", data,
                             config.get_profile("smoke", width=0.5), "vgg_selu")
    stored = evaluate.stored_seeds(data, prof, "vgg_selu")
    assert stored["seed"].tolist() == [0, 1]  # the other width's rows are not this training
    assert evaluate.stored_seeds(data, prof, "cnn3").empty
    other = Dataset("tiny", Split(x + 1, np.zeros(10, int), np.arange(10)),
                    public=Split(x, np.zeros(10, int), np.arange(10)))
    assert evaluate.stored_seeds(other, prof, "vgg_selu").empty  # other images, other hash
    trained = []

    def train(s):
        trained.append(s)
        return _stub_run([0.3, 0.4], 1, 6)
    out = evaluate.seed_rows(data, range(3), train, have={0: _stub_run([0.2, 0.5, 0.4], 1, 7)},
                             stored=stored, name="CNN")
    assert trained == [2]  # seed 0 was given, seed 1 stored, seed 2 trained
    assert [r["source"] for r in out] == ["this run", "stored", "this run"]
    assert [r["public"] for r in out] == [pytest.approx(0.7), 0.8, pytest.approx(0.6)]
    assert out[0]["best_epoch"] == 2 and out[0]["val_acc"] == 0.5 and out[0]["epochs_run"] == 3
    # training time from the run; a stored row written without one shows it empty
    table = evaluate.seed_table({"CNN": out})
    assert table["seconds"].tolist()[::2] == [70.0, 60.0] and np.isnan(table["seconds"].iloc[1])
    assert list(table.columns) == [c for c in (*evaluate.seeds.FIGURES, "source") if c != "private"]
    said = capsys.readouterr().out
    assert "CNN, seed 0: this run's figures equal the stored run's" in said
    # a machine that trains seed 0 differently is told so
    evaluate.seed_rows(data, [0], train, have={0: _stub_run([0.2, 0.5], 1, 9)}, stored=stored)
    assert "differs from the stored run by up to 0.200" in capsys.readouterr().out


def test_label_noise_splits_the_errors_into_misread_faces_and_wrong_labels():
    from fer_kit.config import EMOTIONS
    drawn = np.array([0, 0, 3, 3, 3, 4, 4, 6, 6, 6])
    y = np.array([0, 2, 3, 3, 4, 4, 2, 6, 6, 4])  # 4 wrong labels: 0->2, 3->4, 4->2, 6->4
    pred = np.array([0, 0, 3, 5, 4, 4, 4, 6, 2, 6])
    r = evaluate.label_noise(y, drawn, pred)
    # counted by hand: right labels misread at 3 (3 -> 5) and 8 (6 -> 2); wrong labels at
    # 1 (read as drawn 0), 6 (4: drawn, but labelled 2), 9 (read as drawn 6); 4 agrees (4)
    assert (r.images, r.wrong_labels, r.misread, r.read_as_drawn, r.agrees_with_wrong) == \
        (10, 4, 2, 3, 1)
    assert r.ceiling == pytest.approx(0.6) and r.accuracy == pytest.approx(0.5)
    assert r.drawn_accuracy == pytest.approx(np.mean(pred == drawn))
    assert r.text.startswith("4 of these 10 labels (40%) name another class than the one the "
                             "face was drawn from (most often ")
    assert "Of its 5 errors against the labels, 2 (40%) are faces with a right label" in r.text
    assert "It also gave the wrong label itself on 1 of the 4 wrongly labelled faces" in r.text
    assert r.text.endswith("So 0.100 of accuracy lies between the model and that ceiling, and "
                           "0.400 belongs to the labels.")
    fear = evaluate.label_noise([4, 4, 4, 5, 2, 2], [2] * 6, [2] * 6)
    assert f"(most often {EMOTIONS[2]} labelled {EMOTIONS[4]} (3), " in fear.text
    clean = evaluate.label_noise(drawn, drawn, pred)
    assert clean.wrong_labels == 0 and "(most often" not in clean.text
