"""Training: the source reports' recipes, the four fit steps, run folders, resumable runs.

``fit`` is four steps, each a function: prepare the data (split, flip doubling,
normalizer fit), build the model with the rescale and normalizer as its first layers,
compile, fit into a run folder. Training reads NumPy arrays on every Keras backend; the
augmentation is a layer in front of the model, active in training only.

=================  ===========================================================================
``recipes``        ``Recipe``, ``RECIPES`` ('keras_vgg': report 003, 'torch_cnn': report 000)
``steps``          steps 1-3: ``prepare_data``, ``build_model``, ``compile_model``; precision
``options``        ``RunOptions``: how a run is carried out (output, checkpoints, devices)
``loop``           step 4: ``fit_model``, training into a run folder
``fit``            ``fit`` (the four steps in one call), ``get_run`` (a finished run, or a new one)
``runs``           the run folder: claimed, found, loaded only when sound (``load_run``)
``epochs``         each epoch's random draws from (seed, epoch): batch order, seed generators
``callbacks``      ``HistoryCSV``, ``Guard`` (NaN, divergence), ``Patience``
``checkpoints``    ``BestKeeper`` (best.keras), ``Backup`` (resumes a killed run)
=================  ===========================================================================

A run directory holds everything a run made::

    runs/<time>-<model>-<recipe>-seed<seed>/
        config.json      what was run (recipe values, profile, width, seed, split, pool hash,
                         data, backend), which epoch model.keras holds, and why it stopped
        split.npz        the validation images' positions and ids, with their provenance
        history.csv      one row per finished epoch, rewritten atomically each epoch
        best.keras       best finite epoch so far (lowest val_loss); best.json names it
        model.keras      the final model: pixels in, probabilities out; never NaN weights
        backup/          weights and optimizer after the last epoch, while unfinished

Run the same call again with the same ``run_dir`` after a crash and training resumes
from the last finished epoch, drawing what the uninterrupted run would have drawn
(``epochs``); each epoch appears once in history.csv. A run whose loss turns NaN or whose
validation loss diverges stops, and model.keras is its best finite epoch.
"""
from __future__ import annotations

from ..backend import accelerator
from .callbacks import HistoryCSV
from .fit import fit, get_run
from .loop import TrainingDiverged, fit_model, new_run_dir
from .options import RunOptions
from .recipes import ALIASES, RECIPES, Recipe, get_recipe
from .runs import RUN_FORMAT, RunError, TrainResult, find_runs, latest_run, load_run
from .steps import (Prepared, build_model, capped_pool, compile_model, policy_scope,
                    precision_policy, prepare_data, training_model)

__all__ = ["ALIASES", "RECIPES", "RUN_FORMAT", "HistoryCSV", "Prepared", "Recipe", "RunError",
           "RunOptions", "TrainResult", "TrainingDiverged", "accelerator", "build_model",
           "capped_pool", "compile_model", "find_runs", "fit", "fit_model", "get_recipe",
           "get_run", "latest_run", "load_run", "new_run_dir", "policy_scope",
           "precision_policy", "prepare_data", "training_model"]
