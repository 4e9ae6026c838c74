"""Whether a trained model was still improving when its training stopped, in one line.

Notebooks 02 and 04-08 analyse notebook 01's run. At the demo budget (12 epochs at width
0.25) its validation accuracy is often still rising at the last epoch: the confusions,
saliency maps and filters then describe a model partway through learning, not the
finished model of a report trained to early stopping (report 003: up to 200 epochs,
patience 30). This reading says which case a run is, from its history and recipe.
"""
from __future__ import annotations

import numpy as np


def progress_reading(run, name: str = "The model analysed here") -> str:
    """One line: was the run still improving when training stopped?

    Three cases, from ``run.history`` (one row per epoch, ``val_loss`` and
    ``val_accuracy``) and ``run.config`` (``recipe.epochs``, ``recipe.patience`` and
    ``model_epoch``, the 0-based epoch whose weights the run keeps; without it, the
    epoch of lowest validation loss, as the checkpoint keeps):

    - early stopping fired (fewer epochs than the budget, the kept epoch before the
      last): it had stopped improving;
    - the kept epoch is the last one (the budget ran out, or the run was cut short):
      still improving;
    - the kept epoch is earlier but early stopping had not fired: not settled.

    The rise of validation accuracy over the last third of the epochs is quoted in the
    last two cases, so a reader sees how steep the curve still was.

    Args:
        run: a ``TrainResult`` (``fk.train.fit`` or ``get_run``), or any object with
            ``history`` (a DataFrame), ``config`` (a dict) and ``run_dir``.
        name: how the line names the model.

    Returns:
        The line; it says the history is missing when the run folder has none.
    """
    h = run.history
    if h is None or len(h) == 0 or not {"val_loss", "val_accuracy"} <= set(h.columns):
        return (f"{name}: {getattr(run, 'run_dir', 'the run')} has no validation history "
                "(history.csv), so whether it was still improving is unknown.")
    loss = h["val_loss"].to_numpy(float)
    acc = h["val_accuracy"].to_numpy(float)
    n = len(h)
    recipe = run.config.get("recipe", {}) or {}
    budget = int(recipe.get("epochs", n))
    patience = recipe.get("patience")
    kept = run.config.get("model_epoch")
    kept = int(np.argmin(loss)) if kept is None else int(kept)
    if n < budget and kept < n - 1:  # early stopping ended the run before its budget
        return (f"{name} stopped at epoch {n} of {budget}: validation loss had not improved "
                f"for {n - 1 - kept} epochs after epoch {kept + 1}, whose weights it keeps "
                f"(validation accuracy {acc[kept]:.3f}), so it had stopped improving at this "
                "budget.")
    w = max(1, n // 3)  # the last third of the epochs
    rise = (f"validation accuracy went {acc[n - 1 - w]:.3f} -> {acc[-1]:.3f} over the "
            f"{_last(w)}")
    fired = f"early stopping (patience {patience}) never fired" if patience else "no early stopping"
    if kept == n - 1:
        end = ("its budget ran out" if n >= budget else
               f"its run was cut short at epoch {n} of {budget}")
        return (f"{name} was still improving when {end}: its validation loss, which early "
                f"stopping watches, is lowest at its last epoch ({n} of {n}; {fired}); {rise}. "
                "What this "
                "notebook reads describes a model partway through learning; more epochs "
                "would change it (report 003 trained up to 200 epochs, patience 30, on "
                "FER2013).")
    return (f"{name} keeps epoch {kept + 1} of {n}: validation loss did not improve in the "
            f"{_last(n - 1 - kept)}, but {fired}, so whether it had finished improving "
            f"is not settled ({rise}).")


def _last(k: int) -> str:
    return "last epoch" if k == 1 else f"last {k} epochs"
