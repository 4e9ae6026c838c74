"""Which Keras backend runs: chosen before Keras loads (``select_backend``), asked after.

The kit installs TensorFlow where stable TensorFlow wheels exist (CPython 3.10-3.13) and
JAX instead of it elsewhere (Python 3.14 today; see the environment markers in
pyproject.toml). Keras 3 itself defaults to TensorFlow, so without TensorFlow ``import
keras`` would fail. :func:`select_backend` runs at the top of ``fer_kit/__init__.py``,
before anything imports Keras, and sets ``os.environ["KERAS_BACKEND"] = "jax"`` only when
all of these hold:

* ``KERAS_BACKEND`` is unset or empty (Keras treats an empty value as unset): a backend
  the user names is always kept, even one that cannot load;
* ``keras`` is not imported yet: Keras fixes its backend at import, so a process that
  imported Keras before the kit keeps the backend it has (the kit does not fight it);
* TensorFlow is not importable and JAX is (``importlib.util.find_spec``: neither package
  is imported here, so the check costs milliseconds);
* the Keras config file does not name another backend that can load (see below).

Where TensorFlow is installed nothing changes: Keras picks its backend as usual.

How Keras picks its backend (Keras 3, ``keras/src/backend/config.py``), first match wins:

1. the environment variable ``KERAS_BACKEND`` when set and non-empty;
2. ``"backend"`` in the config file ``$KERAS_HOME/keras.json`` (``KERAS_HOME`` defaults to
   ``~/.keras``, or ``/tmp/.keras`` when the home folder is not writable);
3. ``"tensorflow"``.

Keras writes that config file on its first import when it is missing, with
``"backend": "tensorflow"`` (the value it read, before ``KERAS_BACKEND`` is applied), so a
file naming TensorFlow says nothing about what the user wants: on a machine without
TensorFlow the kit sets ``KERAS_BACKEND=jax``, which takes precedence over it. A file
naming another backend that can load here (``"jax"``, ``"torch"``, ...) is the user's
choice and is kept. To choose a backend yourself, set ``KERAS_BACKEND`` before importing
the kit (``KERAS_BACKEND=torch fer-kit ...``) or edit ``keras.json``.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys

#: Keras backends that the config file may name, other than TensorFlow; each is also
#: the name of the module it needs.
_OTHER_BACKENDS = ("jax", "torch", "numpy", "openvino")


def _importable(module: str) -> bool:
    """Whether ``module`` could be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def keras_config_path() -> str:
    """The ``keras.json`` that Keras reads, found as Keras finds it."""
    if "KERAS_HOME" in os.environ:
        keras_dir = os.environ["KERAS_HOME"]
    else:
        base = os.path.expanduser("~")
        if not os.access(base, os.W_OK):
            base = "/tmp"
        keras_dir = os.path.join(base, ".keras")
    return os.path.expanduser(os.path.join(keras_dir, "keras.json"))


def configured_backend() -> str | None:
    """The ``"backend"`` of the Keras config file, or None (no file, unreadable, no key)."""
    try:
        with open(keras_config_path(), encoding="utf-8") as f:
            backend = json.load(f).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return backend if isinstance(backend, str) and backend else None


def select_backend() -> str | None:
    """Set ``KERAS_BACKEND=jax`` when TensorFlow is missing and nothing else is chosen.

    Returns the backend it set ("jax"), or None when it left the environment as it was.
    """
    if os.environ.get("KERAS_BACKEND"):  # the user's choice
        return None
    if "keras" in sys.modules:  # the backend is fixed already
        return None
    if _importable("tensorflow") or not _importable("jax"):
        return None
    configured = configured_backend()
    if configured in _OTHER_BACKENDS and _importable(configured):
        return None  # keras.json names a backend that loads here
    os.environ["KERAS_BACKEND"] = "jax"
    return "jax"


def name() -> str:
    """The Keras backend that runs: 'tensorflow', 'jax', 'torch', ... (loads Keras).

    The one place the kit asks; every other module asks a question of
    ``fer_kit.backend`` instead (which warp, which gradient, how many steps per call).
    """
    import keras  # here, not at the top: select_backend must run before Keras loads
    return keras.backend.backend()
