"""How a run is carried out, apart from what it trains: ``RunOptions``.

What a run is are ``fit``'s arguments: the data, model, recipe (with overrides), profile
and seeds (together ``runs.run_key``, which decides the run ``get_run`` serves). How it is
carried out is one small object: output, checkpoints, callbacks, devices, precision. None
of it changes which run is served, and one ``RunOptions`` serves many runs (an
ablation's rows), as nanoGPT keeps its knobs in one visible block.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class RunOptions:
    """How a run is carried out: ``fit``'s and ``fit_model``'s settings besides what it trains.

    Each field can also be given to ``fit``/``fit_model`` as a keyword of its own name
    (``fit(pool, verbose=0)``), which replaces the field of ``options``.

    Attributes:
        verbose: Keras's progress output (0 silent, 1 bar, 2 a line an epoch).
        data_name: the dataset's name, recorded in config.json ("data").
        checkpoints: keep best.keras and the per-epoch backup that resumes a crashed run;
            the ablation's short runs skip them (a killed run is simply trained again).
        callbacks: more Keras callbacks (TensorBoard, say), after the kit's own.
        strategy: ``tf.distribute.MirroredStrategy()`` on TensorFlow or
            ``keras.distribution.DataParallel()`` on JAX, for several devices; default one.
        mixed_precision: 'auto' (bfloat16 on a GPU, float32 on a CPU), False, 'bfloat16'
            or 'float16'. ``fit`` builds the model under it; ``fit_model`` takes a model
            built already, and its ``policy`` says which one.
        jit_compile: XLA compilation, passed to ``model.compile``.
    """

    verbose: int = 1
    data_name: str = ""
    checkpoints: bool = True
    callbacks: tuple = ()
    strategy: object = None
    mixed_precision: "bool | str" = "auto"
    jit_compile: "bool | str" = "auto"


RUN_OPTIONS = tuple(f.name for f in fields(RunOptions))


def run_options(options: RunOptions | None, keywords: dict) -> RunOptions:
    """``options`` (default ``RunOptions()``) with the RunOptions fields found in ``keywords``
    replaced; those are taken out of ``keywords``, which keeps the rest (recipe fields)."""
    given = {k: keywords.pop(k) for k in RUN_OPTIONS if k in keywords}
    return replace(options if options is not None else RunOptions(), **given)
