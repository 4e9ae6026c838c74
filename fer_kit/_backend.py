"""Backend selection, kept under its old name for one release: see ``fer_kit.backend.selection``.

``fer_kit/__init__.py`` imports ``select_backend`` from here before anything loads Keras;
importing ``fer_kit.backend`` does not load Keras either, so the order is kept.
"""
from __future__ import annotations

from .backend.selection import configured_backend, keras_config_path, select_backend

__all__ = ["configured_backend", "keras_config_path", "select_backend"]
