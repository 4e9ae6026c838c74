"""Evaluation: predictions (optionally with flip test-time augmentation), accuracy,
public/private scores, confusion matrices, submissions (``metrics``), and their readings
in words: the most-confused pairs, a confusion matrix's reading, two models compared on
the same images, and how much of the error is the labels' on SynthFER (``readings``),
networks compared over training seeds (``seeds``), flip TTA's gain (``tta``), and
whether a trained run was still improving when it stopped (``progress``).

Every name is here, as ``fk.evaluate.<name>``.
"""
from __future__ import annotations

from .metrics import (accuracy, check_pixels, confusion, labeled_test, paired_gain, predict,
                      predict_proba, report, scores, share_interval, test_set, welch_margin,
                      write_submission)
from .progress import progress_reading
from .readings import (LabelNoise, ModelComparison, accuracy_row, compare_models,
                       fit_diagnosis, label_noise, most_confused, paired_reading, reading)
from .seeds import (reproduced, seed_gap, seed_row, seed_rows, seed_summary, seed_table,
                    stored_seeds, write_seed_rows)
from .tta import tta_gains, tta_reading

__all__ = ["LabelNoise", "ModelComparison", "accuracy", "accuracy_row", "check_pixels",
           "compare_models", "confusion", "fit_diagnosis", "label_noise", "labeled_test",
           "most_confused", "paired_gain", "paired_reading", "predict", "predict_proba",
           "progress_reading", "reading", "report",
           "reproduced", "scores", "seed_gap", "seed_row", "seed_rows", "seed_summary",
           "seed_table", "share_interval", "stored_seeds", "test_set", "tta_gains",
           "tta_reading", "welch_margin", "write_seed_rows", "write_submission"]
