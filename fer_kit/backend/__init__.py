"""Everything that depends on which Keras backend runs (TensorFlow, JAX or PyTorch), in one place.

The rest of the kit is written in ``keras.ops`` and asks this package a question where
the backends differ, as Keras keeps each backend under ``keras/src/backend/<name>/``:

================  ===========================================================================
``selection``     which backend runs: chosen before Keras loads (``select_backend``), ``name``
``autodiff``      the gradient, per backend (``fer_kit.vis`` and ``fer_kit.theory``)
``warp``          the augmentation's affine warp, by each backend's fastest kernel
``tf``            TensorFlow only: tf.data input for ``fit``, Keras 2's ImageDataGenerator
``threads``       how many threads a backend splits a sum among (the smoke profile's 2)
here              the device and what follows from it: accelerator, steps per call, XLA
================  ===========================================================================

Only this package imports tensorflow, jax or torch, or asks Keras which backend runs
(tests/test_layers.py checks it), and each of those imports sits inside the function that
needs it: only the running backend is importable for certain. Importing this package does
not load Keras (``fer_kit/__init__.py`` selects the backend through it before Keras loads);
``autodiff`` and ``warp`` load Keras and are imported by name.
"""
from __future__ import annotations

from .selection import configured_backend, keras_config_path, name, select_backend
from .threads import set_threads

__all__ = ["accelerator", "configured_backend", "feeds_tf_data", "jit_pays_off",
           "keras_config_path", "name", "seed_global_generator", "select_backend",
           "set_threads", "steps_per_execution"]


def accelerator() -> str | None:
    """'gpu' or 'tpu' when the Keras backend has one, else None (CPU only)."""
    backend = name()
    if backend == "jax":
        import jax  # optional: only the running backend is importable
        kinds = {d.platform for d in jax.devices()}
    elif backend == "tensorflow":
        import tensorflow as tf  # optional: only the running backend is importable
        kinds = {d.device_type.lower() for d in tf.config.list_logical_devices()}
    elif backend == "torch":
        import torch  # optional: only the running backend is importable
        kinds = {"gpu"} if torch.cuda.is_available() else set()
    else:
        kinds = set()
    return next((k for k in ("gpu", "tpu") if k in kinds), None)


def steps_per_execution() -> int:
    """How many batches ``fit`` runs per call from Python: 16 on an accelerator, 1 on a CPU.

    Sixteen keep a GPU from waiting for the host between steps. PyTorch's trainer runs one
    step per call whatever it is given, so it gets 1.
    """
    return 16 if accelerator() and name() != "torch" else 1


def feeds_tf_data() -> bool:
    """Whether ``fit`` should read the training batches as tf.data (``tf.epoch_dataset``)
    rather than as a Keras PyDataset: on TensorFlow, which reads a PyDataset one Python
    call a batch (2-3 ms a batch of 128, against 0.6-0.8 ms through tf.data)."""
    return name() == "tensorflow"


def jit_pays_off() -> bool:
    """Whether XLA-compiling a short training pays for its compile time here.

    Not on TensorFlow on a CPU: for a model trained briefly, XLA's compile time outweighs
    what it saves (3 rows of the ablation's demo: 46 s without, 61 s with, same figures).
    JAX always compiles; everywhere else Keras's 'auto' decides.
    """
    return not (name() == "tensorflow" and not accelerator())


def seed_global_generator(seed: int) -> None:
    """Seed the backend's global random generator where Keras draws from it: on PyTorch,
    Keras's dropout ignores a SeedGenerator made without a seed (the Dropout layer's) and
    draws from torch's global generator. TensorFlow and JAX draw only from SeedGenerators."""
    if name() == "torch":
        import torch  # optional: only the running backend is importable
        torch.manual_seed(int(seed))
