"""How many threads a backend splits its sums among, so a seeded run repeats on any core count.

TensorFlow splits a sum or a convolution among its intra-op threads, one per core by
default, so the same seeded run adds its numbers in another order on 1 core than on 2,
and its history differs from the first epoch on (issue 20): a fixed thread count gives
the same split on any core count. TensorFlow takes it only before it starts (``fk.setup``
is every notebook's first call). JAX's XLA hands reductions to YNNPACK, which splits them
by core count; ``_XLA_REDUCE`` keeps YNNPACK for dots, convolutions and element-wise ops
only (read from XLA_FLAGS when JAX's backend starts). ``fer_kit.config.apply_threads``
applies a profile's count through ``set_threads``.
"""
from __future__ import annotations

import importlib.util
import mmap
import os
import sys
from pathlib import Path

from .selection import name

# YNNPACK fusions without "reduce" (the default adds it): measured on jaxlib 0.10.2, a sum
# or mean then gives the same bits on 1 and 2 cores, and so does a smoke training.
_XLA_REDUCE = ("--xla_cpu_experimental_ynn_fusion_type="
               "dot,individual_dot,individual_convolution,eltwise")


def set_threads(n: int) -> bool:
    """Make TensorFlow use ``n`` threads and JAX's XLA split no reduction by core count.

    Sets TF_NUM_INTRAOP/INTEROP_THREADS (read by TensorFlow when it starts, here and in
    child processes), adds ``_XLA_REDUCE`` to XLA_FLAGS on JAX, and sets a running
    TensorFlow's thread counts (it is looked up, not imported: this must not start it).

    Returns:
        True if the settings are as asked, False if TensorFlow had started with another
        thread count.
    """
    for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ[var] = str(n)  # read by TensorFlow when it starts (here, and in children)
    if _jax_backend() and "ynn_fusion_type" not in os.environ.get("XLA_FLAGS", "") \
            and _xla_knows(_XLA_REDUCE):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_XLA_REDUCE}".strip()
    if "tensorflow" not in sys.modules:
        return True
    tf = sys.modules["tensorflow"]
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:  # started already: only an equal count is accepted
        return False
    return True


def _jax_backend() -> bool:
    """Whether Keras runs (or will run) on JAX, without importing Keras: KERAS_BACKEND,
    which ``select_backend`` sets where TensorFlow is missing (a keras.json naming JAX
    is not read here: name it in KERAS_BACKEND for JAX's setting to apply)."""
    if "keras" in sys.modules:
        return name() == "jax"
    return os.environ.get("KERAS_BACKEND") == "jax"


def _xla_knows(flag: str) -> bool:
    """Whether every XLA in this environment knows ``flag``: XLA ends the process on an
    unknown flag in XLA_FLAGS, and TensorFlow's XLA (in a child process) reads it too.
    The flag is experimental, so its name is looked for in the libraries themselves."""
    name_ = flag.split("=")[0].lstrip("-").encode()
    libs = {"jaxlib": "libjax_common.so", "tensorflow": "libtensorflow_framework.so.2"}
    found = False
    for package, lib in libs.items():
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        path = Path(list(spec.submodule_search_locations)[0]) / lib
        try:
            with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                if m.find(name_) < 0:
                    return False
        except (OSError, ValueError):
            return False  # (not where this version keeps it)
        found = True
    return found
