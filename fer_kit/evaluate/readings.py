"""Readings: what a confusion matrix or two models' predictions say, in sentences
generated from their numbers (the conclusions notebooks 02 and 04 print; flip TTA's,
notebook 08's, are in ``tta``).

Each reading carries its uncertainty: Wilson intervals for a rate, paired standard
errors for the gap between two models on the same images, and a gap is called resolved
only beyond two of them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from ..config import EMOTIONS
from ..data.io import Dataset, Split
from .metrics import accuracy, confusion, paired_gain, predict, scores, share_interval
from .seeds import seed_gap, seed_summary


def most_confused(y_true: np.ndarray, y_pred: np.ndarray, top: int = 5, labels=EMOTIONS,
                  by: str = "rate", min_support: int = 0) -> pd.DataFrame:
    """The largest off-diagonal cells: (true, predicted, count, share of the true class,
    its 95% Wilson interval ``low``-``high``, and ``support``, the true class's images).

    Args:
        by: 'rate' ranks by the share of the true class taken for the other (a rare class
            mostly mistaken shows up: Disgust -> Angry), 'count' by the number of images.
        min_support: leave out true classes with fewer test images than this.
    """
    if by not in ("rate", "count"):
        raise ValueError(f"by must be 'rate' or 'count', got {by!r}")
    counts = confusion(y_true, y_pred, labels=labels).to_numpy().copy()  # pandas 3: read-only view
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    key = (share if by == "rate" else counts).astype(float)
    np.fill_diagonal(key, -1)
    key[rows[:, 0] < max(min_support, 1)] = -1
    # ties (and empty rows) broken by count
    order = np.lexsort((-counts.ravel(), -key.ravel()))[:top]
    order = order[key.ravel()[order] >= 0]
    t, p = np.unravel_index(order, counts.shape)
    low, high = share_interval(counts[t, p], rows[t, 0])
    return pd.DataFrame({"true": [labels[i] for i in t], "predicted": [labels[j] for j in p],
                         "count": counts[t, p], "share_of_true": share[t, p], "low": low,
                         "high": high, "support": rows[t, 0]})


def _pair(r) -> str:
    return (f"{r.true} -> {r.predicted} {r.share_of_true:.0%} ({r.count} of {r.support}; "
            f"95% interval {r.low:.0%}-{r.high:.0%})")


def reading(y_true: np.ndarray, y_pred: np.ndarray, labels=EMOTIONS, top: int = 3,
            min_support: int = 30) -> str:
    """A short plain-text reading of a confusion matrix, generated from its numbers:
    accuracy with its standard error, the top confusions by row-normalized rate with
    their 95% intervals (classes with fewer than ``min_support`` test images set apart:
    their rates rest on a few faces), the most over-predicted class, the classes never
    predicted and the weakest recall."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    acc = accuracy(y_true, y_pred)
    se = np.sqrt(acc * (1 - acc) / len(y_true))
    macro = f1_score(y_true, y_pred, average="macro", zero_division=0)  # classes seen in either
    lines = [f"Accuracy {acc:.3f} (standard error {se:.3f}) on {len(y_true)} images; "
             f"macro-averaged F1 {macro:.3f} (every class counts the same, however rare)."]
    support = np.bincount(y_true, minlength=len(labels))
    predicted = np.bincount(y_pred, minlength=len(labels))
    ranked = most_confused(y_true, y_pred, top=len(labels) ** 2, labels=labels)
    ranked = ranked[ranked["count"] > 0]  # every confusion, by rate
    pairs = ranked[ranked["support"] >= min_support].head(top)
    if len(pairs):
        lines.append(f"Most confused, as a share of the true class (classes with at least "
                     f"{min_support} test images): " + "; ".join(map(_pair, pairs.itertuples()))
                     + ".")
    few = [c for c in range(len(labels)) if 0 < support[c] < min_support]
    if few:
        small = ranked[ranked["support"] < min_support]
        lines.append(f"Fewer than {min_support} test images, so their rates rest on a few faces: "
                     + ", ".join(f"{labels[c]} ({support[c]})" for c in few)
                     + ("; largest: " + _pair(next(small.itertuples())) if len(small) else "")
                     + ".")
    ratio = np.divide(predicted, support, out=np.zeros(len(labels)), where=support > 0)
    over = int(np.argmax(ratio))
    if ratio[over] > 1:
        tp = int(np.sum((y_true == over) & (y_pred == over)))
        lines.append(f"Most over-predicted: {labels[over]}, answered for {predicted[over]} images "
                     f"where {support[over]} are {labels[over]} ({ratio[over]:.2f}x; precision "
                     f"{tp / predicted[over]:.2f}, recall {tp / support[over]:.2f}): a share of "
                     "its answers belong to other classes.")
    never = [f"{labels[c]} ({support[c]} images)" for c in range(len(labels))
             if predicted[c] == 0 and support[c] > 0]
    if never:
        lines.append("Never predicted: " + ", ".join(never) + (
            ": the model never answers this class, so its recall is 0." if len(never) == 1 else
            ": the model never answers these classes, so their recall is 0."))
    recall = np.divide(np.diag(confusion(y_true, y_pred, labels=labels).to_numpy()), support,
                       out=np.full(len(labels), np.nan), where=support > 0)
    if (support >= min_support).any():  # ranked among the classes with enough images
        recall = np.where(support >= min_support, recall, np.nan)
    worst, best = int(np.nanargmin(recall)), int(np.nanargmax(recall))
    lines.append(f"Weakest recall: {labels[worst]} {recall[worst]:.2f} "
                 f"({support[worst]} images); best: {labels[best]} {recall[best]:.2f} "
                 f"({support[best]} images).")
    return "\n".join(lines)


@dataclass
class LabelNoise:
    """``label_noise``'s figures (counts of test images) and ``text`` to print."""

    images: int
    wrong_labels: int      #: labels that name another class than the face was drawn from
    ceiling: float         #: the accuracy a model reading every face as drawn would score
    accuracy: float        #: against the labels
    drawn_accuracy: float  #: against the drawn classes
    misread: int           #: errors on faces whose label is right (the model misread them)
    read_as_drawn: int     #: errors on wrong labels where the model answered the drawn class
    agrees_with_wrong: int  #: wrong labels the model answered (ambiguous faces, or chance)
    text: str


def label_noise(y_true: np.ndarray, drawn: np.ndarray, y_pred: np.ndarray,
                labels=EMOTIONS) -> LabelNoise:
    """How much of a model's error on labeled images is the labels': with the class each
    face was drawn from (``drawn``: SynthFER's ground truth, ``Split.drawn``), its errors
    against the labels split into faces it misread (label right) and faces whose label is
    wrong, where it may well have read the face right. The ceiling is what reading every
    face as drawn would score against these labels."""
    y_true, drawn, y_pred = (np.asarray(a) for a in (y_true, drawn, y_pred))
    n = len(y_true)
    ok = y_true == drawn
    misread = int(np.sum(ok & (y_pred != y_true)))
    read_as_drawn = int(np.sum(~ok & (y_pred == drawn)))
    agrees = int(np.sum(~ok & (y_pred == y_true)))
    errors = int(np.sum(y_pred != y_true))
    acc, ceiling = float(np.mean(y_pred == y_true)), float(np.mean(ok))
    drawn_acc = float(np.mean(y_pred == drawn))
    wrong = n - int(ok.sum())
    flips = pd.crosstab(pd.Categorical(np.asarray(labels)[drawn[~ok]], labels),
                        pd.Categorical(np.asarray(labels)[y_true[~ok]], labels), dropna=False)
    common = [f"{a} labelled {b} ({c})" for (a, b), c in
              flips.stack().sort_values(ascending=False).head(2).items() if c > 0]
    text = "\n".join([
        f"{wrong} of these {n} labels ({wrong / n:.0%}) name another class than the one the "
        "face was drawn from" + (f" (most often {', '.join(common)})" if common else "")
        + f": reading every face right scores {ceiling:.3f} against them, the most a model "
        "can expect.",
        f"The model agrees with the labels on {acc:.3f} and with the drawn classes on "
        f"{drawn_acc:.3f}. Of its {errors} errors against the labels, {misread} "
        f"({misread / max(errors, 1):.0%}) are faces with a right label that it misread, and "
        f"{errors - misread} are faces whose label is wrong: on {read_as_drawn} of those it "
        f"answered the class the face was drawn from. It also gave the wrong label itself "
        f"on {agrees} of the {wrong} wrongly labelled faces, which count as right against "
        "the labels.",
        f"So {ceiling - acc:.3f} of accuracy lies between the model and that ceiling, and "
        f"{1 - ceiling:.3f} belongs to the labels."])
    return LabelNoise(n, wrong, ceiling, acc, drawn_acc, misread, read_as_drawn, agrees, text)


def paired_reading(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray,
                   name_a: str, name_b: str) -> tuple[float, str]:
    """How far model ``a`` is above or below model ``b`` on the same images, in one line.

    Paired (``paired_gain``): each image counts for both models, so the standard error is
    that of the per-image differences. The gap is called resolved when it exceeds two
    standard errors.

    Returns:
        (accuracy of a minus that of b, the line).
    """
    gain, se = paired_gain(y_true, pred_b, pred_a)
    word = "above" if gain > 0 else "below"
    return gain, (f"{name_a} is {word} {name_b} by {abs(gain):.3f} +/- {2 * se:.3f} "
                  "(2 paired standard errors): "
                  + ("resolved" if abs(gain) > 2 * se else "not resolved on these images"))


def fit_diagnosis(train_acc: float, val_acc: float, floor_train_acc: float) -> str:
    """Whether a model over- or underfits, from accuracies measured in inference mode on
    clean images: overfits when training accuracy leads validation by more than 0.1,
    underfits when it fits its training images worse than the floor model (logistic
    regression, ``floor_train_acc``), else fits."""
    if train_acc > val_acc + 0.1:
        return "overfits: training accuracy far above validation"
    if train_acc < floor_train_acc:
        return (f"underfits: it fits its training data worse than logistic regression "
                f"({floor_train_acc:.3f})")
    return "fits: training and validation close, above the linear model"


def accuracy_row(model, data: Dataset, train: Split, val: Split) -> dict:
    """A model's parameter count and accuracy on its training and validation images and on
    the labeled test splits (``scores``), all in inference mode (no dropout) on
    unaugmented images, so that training and validation compare directly."""
    pred = lambda x: predict(model, x)
    return {"params": model.count_params(), "train_acc": accuracy(train.y, pred(train.x)),
            "val_acc": accuracy(val.y, pred(val.x)), **scores(model, data).to_dict()}


@dataclass
class ModelComparison:
    """``compare_models``'s reading: ``text`` to print, the best dense network, the two
    paired lines and the budget note (None when the dense network beat the linear model)."""

    text: str
    best_dnn: str
    cnn_vs_dnn: str
    dnn_vs_linear: str
    budget: str | None


def compare_models(table: pd.DataFrame, preds: dict, y_true: np.ndarray, key: str,
                   epochs: int, cnn: str = "CNN (vgg_selu)",
                   linear: str = "logistic regression",
                   per_seed: pd.DataFrame | None = None) -> ModelComparison:
    """Notebook 02's reading of its table: the ranking by ``key``, the CNN against the best
    dense network and that network against the linear model (paired on the same images),
    whether each dense network under- or overfits, and a note on the budget when the
    dense network did not beat the linear model.

    Args:
        table: one row per model with ``train_acc``, ``val_acc`` and ``key`` columns; the
            rows other than ``cnn`` and ``linear`` are the dense networks.
        preds: each row's predicted labels for ``y_true`` (one seed's, for the pairing).
        y_true: the labels of the images ranked by ``key``.
        key: the column to rank by (``public``, else ``val_acc``).
        epochs: the training budget, named in the budget note.
        per_seed: ``fk.evaluate.seed_table`` of the same networks over training seeds:
            then the ranking is by the mean over seeds and each gap's margin counts the
            spread between seeds as well as the test images (``seed_gap``); without it,
            only the images' noise, and the reading says so.
    """
    if per_seed is not None:
        summary = seed_summary(per_seed, key)
        order = summary["mean"].sort_values(ascending=False)

        def spread(name):
            n = int(summary.loc[name, "seeds"])
            return (f"(SD {summary.loc[name, 'sd']:.3f} over {n} seeds, "
                    f"{summary.loc[name, 'min']:.3f}-{summary.loc[name, 'max']:.3f})"
                    if n > 1 else "(one fit)")
        lines = [f"By mean {key} accuracy over training seeds ({len(y_true)} images):",
                 *(f"  {name:26s} {acc:.3f} {spread(name)}" for name, acc in order.items())]
    else:
        order = table[key].sort_values(ascending=False)
        lines = [f"By {key} accuracy ({len(y_true)} images):",
                 *(f"  {name:26s} {acc:.3f}" for name, acc in order.items())]
    dnns = [n for n in table.index if n not in (cnn, linear)]
    best_dnn = next(n for n in order.index if n in dnns)
    if per_seed is not None:
        _, _, cnn_line = seed_gap(per_seed, key, cnn, best_dnn, y_true, preds[cnn],
                                  preds[best_dnn])
        lin_gap, _, lin_line = seed_gap(per_seed, key, best_dnn, linear, y_true, preds[best_dnn],
                                     preds[linear])
    else:
        _, cnn_line = paired_reading(y_true, preds[cnn], preds[best_dnn], cnn, best_dnn)
        lin_gap, lin_line = paired_reading(y_true, preds[best_dnn], preds[linear], best_dnn,
                                           linear)
    lines += [cnn_line, lin_line]
    # the fit lines read ``table``: one run per network (with per_seed, the table's seed)
    seed_note = "; the table's run" if per_seed is not None else ""
    if per_seed is not None:
        lines.append("How each dense network fits (the table's run, inference mode):")
    for name in dnns:
        tr, va = table.loc[name, "train_acc"], table.loc[name, "val_acc"]
        kind = fit_diagnosis(tr, va, table.loc[linear, "train_acc"])
        lines.append(f"  {name}: train {tr:.3f}, validation {va:.3f}: {kind}")
    budget = None
    if lin_gap < 0:
        tr, lin_tr = table.loc[best_dnn, "train_acc"], table.loc[linear, "train_acc"]
        fit = (f"and it fits its own training images worse than the linear model does "
               f"(training accuracy {tr:.3f} against {lin_tr:.3f}{seed_note}). A DNN of this "
               "size can represent any linear model, so it has not yet learned what it can: "
               "the gap says more about the budget than about DNNs" if tr < lin_tr else
               f"though it fits its own training images better than the linear model does "
               f"({tr:.3f} against {lin_tr:.3f}{seed_note}): it overfits at this budget")
        budget = (f"at this budget ({epochs} epochs) the DNN did not beat the linear model, "
                  f"{fit}. At FER2013's size, trained to early stopping, a DNN of the CNN's size "
                  "scored above logistic regression on SynthFER (0.414 against 0.397, one seed: "
                  "README, \"SynthFER v5 at FER2013's size\"), and students' DNNs on FER2013 "
                  "reach 0.25-0.55 (most near 0.39)")
        lines.append("Note: " + budget + ".")
    if per_seed is None:
        lines.append("One training seed per network here: the standard errors above count the "
                     "test images' noise, not the spread between training seeds.")
    return ModelComparison("\n".join(lines), best_dnn, cnn_line, lin_line, budget)
