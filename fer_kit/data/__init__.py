"""Data: FER2013 CSV files, the SynthFER generator, splits and outliers.

Data flows one way: files -> arrays (here) -> normalizer -> pipeline -> model.
"""
from . import outliers, split
from ._csvparse import N_PIXELS, USAGES, FERDataError, ParsedCSV, parse_bytes
from .dataset import Dataset, Split
from .io import (file_digest, load, read, read_csv, read_fer2013, read_train_test, write_fer2013,
                 write_test_csv, write_train_csv)
from .synth import FER2013_PRIORS, FER2013_TRAIN_COUNTS, SynthFER, generate, write_synthfer

__all__ = [
    "outliers", "split",
    "N_PIXELS", "USAGES", "FERDataError", "ParsedCSV", "parse_bytes",
    "Dataset", "Split", "file_digest", "load", "read", "read_csv", "read_fer2013",
    "read_train_test", "write_fer2013", "write_test_csv", "write_train_csv",
    "FER2013_PRIORS", "FER2013_TRAIN_COUNTS", "SynthFER", "generate", "write_synthfer",
]
