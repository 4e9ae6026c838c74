"""Deprecated: the FER2013 CSV parser's old home, kept for one release.

The parser now lives in the private ``fer_kit.data._csvparse`` and the writer in
``fer_kit.data._csvwrite``; import their public names from ``fer_kit.data`` (or
``fer_kit.data.io``) instead, e.g. ``from fer_kit.data import FERDataError, parse_bytes``.
This module re-exports the names it used to define and will be removed in the next release.
"""
from __future__ import annotations

import warnings

from ._csvparse import (HEAD_BYTES, N_PIXELS, USAGES, FERDataError, ParsedCSV, check_head,
                        parse_bytes, parse_pixel_block)
from ._csvwrite import format_pixels

__all__ = ["HEAD_BYTES", "N_PIXELS", "USAGES", "FERDataError", "ParsedCSV", "check_head",
           "format_pixels", "parse_bytes", "parse_pixel_block"]

warnings.warn("fer_kit.data.csvparse is deprecated and will be removed in the next release: "
              "import FERDataError, parse_bytes and the rest from fer_kit.data",
              DeprecationWarning, stacklevel=2)
