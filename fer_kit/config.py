"""Profiles (smoke / demo / full), environment variables and ``setup(seed)``.

A profile caps data and steps inside the library, so notebook code is the same
in CI (``smoke``), on a laptop CPU (``demo``) and on a course GPU (``full``);
the idea comes from tf-keras-vis's step cap read from the environment.

Environment variables:
    FER_KIT_PROFILE  smoke | demo | full (default: demo without real data, full with it)
    FER_KIT_DATA     a Kaggle fer2013.csv, or a folder holding train.csv and test.csv
    FER_KIT_CACHE    where parsed arrays and generated data are kept (default ~/.cache/fer_kit)
    FER_KIT_RUNS     where training runs are written (default: the ``runs`` folder in the
                     cache, so every notebook and shell finds the same runs)
"""
from __future__ import annotations

import contextlib
import os
import random
import sys
import tempfile
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from . import backend

EMOTIONS = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
IMAGE_SHAPE = (48, 48, 1)
NUM_CLASSES = len(EMOTIONS)


class ConfigError(ValueError):
    """A profile name, environment variable or option the kit cannot use."""


@dataclass(frozen=True)
class Profile:
    """How much data and compute every part of the kit uses.

    Attributes:
        name: smoke, demo or full.
        synth_train: SynthFER training images (the Kaggle "Training" rows).
        synth_test: SynthFER images in each of PublicTest and PrivateTest.
        width: channel multiplier for the model builders (1.0 = the seeds' models).
        epochs: maximum training epochs.
        patience: EarlyStopping patience in epochs.
        batch_size: training batch size (both seeds use 128).
        ablation_epochs: epochs per configuration in the ablation table.
        ablation_train: training images per ablation configuration (None = all).
        ablation_model: the registered model the ablation rows train.
        ablation_width: model width for the ablation rows (None = ``width``).
        ablation_bn_momentum: its batch-norm momentum; runs of a few hundred steps need
            0.9 (Keras's 0.99 lets the moving statistics lag the weights, and validation
            predictions collapse to one class while training accuracy rises).
        ablation_seeds: random seeds per configuration (their spread is the table's noise).
        overfit_train: training-pool images in the ablation's "overfit" regime (few images,
            many epochs: the baseline memorizes them, so augmentation can help).
        overfit_epochs: epochs per row in that regime.
        compare_seeds: training seeds per network in notebook 02's comparison (the CNN's
            seeds after the first may come stored: ``fk.evaluate.stored_seeds``).
        threads: compute threads per operation (TensorFlow's intra- and inter-op pools,
            XLA's on JAX), fixed so that a seeded run gives the same numbers on any number
            of cores; None: one per core (faster on a big machine, but sums are then
            split differently with the core count, and results move in the last bits).
        max_train: cap on training images used by a run (None = all).
        ascent_steps: gradient-ascent steps in activation maximization.
        vis_images: images used by the saliency notebook and sanity checks.
    """

    name: str
    synth_train: int
    synth_test: int
    width: float
    epochs: int
    patience: int
    batch_size: int
    ablation_epochs: int
    ablation_train: int | None
    max_train: int | None
    ascent_steps: int
    vis_images: int
    ablation_model: str = "vgg_selu"
    ablation_width: float | None = None
    ablation_bn_momentum: float = 0.99
    ablation_seeds: int = 3
    overfit_train: int | None = 1000
    overfit_epochs: int = 30
    compare_seeds: int = 3
    threads: int | None = None


# Threads of a profile that must give the same numbers on any core count: 2, not 1, so a
# 2-core machine (this one, most CI runners) loses no speed (README, "Robustness").
THREADS_FIXED = 2

PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", synth_train=1400, synth_test=210, width=0.125, epochs=2,
                     patience=2, batch_size=64, ablation_epochs=1, ablation_train=500, max_train=1400,
                     ascent_steps=8, vis_images=8, ablation_model="cnn3",
                     ablation_bn_momentum=0.9, ablation_seeds=2, overfit_train=300, overfit_epochs=2,
                     compare_seeds=2,
                     # CI and nbval compare the smoke profile's numbers across machines
                     threads=THREADS_FIXED),
    # batch 64: twice the steps of the seeds' 128 per epoch, which a small CPU budget needs;
    # patience 10: the small model's validation loss is noisy from epoch to epoch
    # 12 epochs: on SynthFER v4 validation accuracy passes 0.90 at epoch 12 and levels off
    # near 0.91 (20 epochs: 0.912; 30: 0.92), and make demo must fit 12 minutes on 2 cores
    "demo": Profile("demo", synth_train=9000, synth_test=1000, width=0.25, epochs=12,
                    patience=10, batch_size=64, ablation_epochs=8, ablation_train=2000,
                    max_train=None, ascent_steps=60, vis_images=32,
                    # the ablation's 18 runs (6 configurations x 3 seeds) must fit a CPU:
                    # seed 000's CNN at 1/8 width learns in 8 epochs, the VGG does not
                    ablation_model="cnn3", ablation_width=0.125, ablation_bn_momentum=0.9,
                    # the overfit regime: few images, many epochs (notebook 03). 100 epochs
                    # of 400 images are about 600 optimizer steps: at 30 (180 steps) the
                    # augmented model was still learning the task and trailed the baseline;
                    # at 100 it led in the trials, not always beyond the margin (README,
                    # "The ablation table")
                    overfit_train=400, overfit_epochs=100),
    # The seeds' own recipes: full width, up to 200 epochs with patience 30 (seed 003).
    # The ablation: 6 configurations x 2 seeds x 30 epochs at full width, about 10 minutes
    # on one H100 (README); seed 003 trained each configuration once, to early stopping.
    "full": Profile("full", synth_train=28709, synth_test=3589, width=1.0, epochs=200,
                    patience=30, batch_size=128, ablation_epochs=30, ablation_train=None,
                    max_train=None, ascent_steps=200, vis_images=64, ablation_seeds=2),
}


def data_source() -> Path | None:
    """Return the real-data path from ``FER_KIT_DATA``, or None for SynthFER.

    Raises:
        ConfigError: if the variable is set but names nothing usable.
    """
    raw = os.environ.get("FER_KIT_DATA", "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if path.is_dir():
        if not (path / "train.csv").is_file() and not (path / "fer2013.csv").is_file():
            raise ConfigError(
                f"FER_KIT_DATA={raw}: the folder holds neither fer2013.csv nor train.csv "
                f"(found: {', '.join(sorted(p.name for p in path.iterdir())[:8]) or 'nothing'})")
        return path
    if not path.is_file():
        raise ConfigError(f"FER_KIT_DATA={raw}: no such file or folder. Point it at the Kaggle "
                          "fer2013.csv or at a folder with train.csv and test.csv, or unset it "
                          "to use SynthFER.")
    return path


def get_profile(name: str | None = None, **overrides) -> Profile:
    """Return the profile ``name``, else ``FER_KIT_PROFILE``, else the default.

    The default is ``demo`` on SynthFER and ``full`` when ``FER_KIT_DATA`` is set.

    Raises:
        ConfigError: for an unknown profile name or override.
    """
    if name is None:
        name = os.environ.get("FER_KIT_PROFILE", "").strip().lower() or None
    if name is None:
        name = "full" if os.environ.get("FER_KIT_DATA", "").strip() else "demo"
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r} (from FER_KIT_PROFILE or the call); "
                          f"expected one of: {', '.join(PROFILES)}")
    known = {f.name for f in fields(Profile)}
    bad = sorted(set(overrides) - known)
    if bad:
        raise ConfigError(f"unknown profile field(s) {bad}; known: {sorted(known)}")
    return replace(PROFILES[name], **overrides)


def cache_dir() -> Path:
    """Folder for parsed-CSV caches and generated SynthFER files (created if missing)."""
    path = Path(os.environ.get("FER_KIT_CACHE", "~/.cache/fer_kit")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Folder where training runs are written: ``FER_KIT_RUNS``, else ``runs`` beside the
    data cache. Not the working directory: a notebook opened from ``notebooks/`` after
    ``make demo`` must find the demo's runs, not silently train again."""
    raw = os.environ.get("FER_KIT_RUNS", "").strip()
    return Path(raw).expanduser() if raw else cache_dir() / "runs"


# Start-up notices that TensorFlow's C++ code writes straight to the process's stderr,
# past TF_CPP_MIN_LOG_LEVEL; they would fill every notebook's first output.
_NATIVE_NOISE = ("All log messages before absl::InitializeLog()", "oneDNN custom operations",
                 "Could not find cuda drivers", "cpu_feature_guard.cc",
                 "To enable the following instructions", "rebuild TensorFlow with the appropriate",
                 "failed call to cuInit")


@contextlib.contextmanager
def quiet_native_stderr(noise: tuple[str, ...] = _NATIVE_NOISE):
    """Hold back what native code writes to file descriptor 2 inside the block, then
    pass on every line except known start-up notices (warnings and errors still show)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = [line for line in tmp.read().decode(errors="replace").splitlines(True)
                    if not any(n in line for n in noise)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (if imported) Keras/TensorFlow."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras  # already loaded (checked above): costs nothing
        keras.utils.set_random_seed(seed)


def apply_threads(profile: Profile) -> bool:
    """Fix how the backends split their sums, so a seeded run gives the same numbers on
    any number of cores (``profile.threads``; None leaves the defaults).

    TensorFlow splits a sum or a convolution among its intra-op threads, one per core by
    default, so the same seeded run adds its numbers in another order on 1 core than on
    2, and its history differs from the first epoch on (issue 20): a fixed thread count
    gives the same split on any core count. TensorFlow takes it only before it starts
    (``fk.setup`` is every notebook's first call). JAX's XLA hands reductions to YNNPACK,
    which splits them by core count; ``fer_kit.backend.set_threads`` keeps YNNPACK for
    dots, convolutions and element-wise ops only (read from XLA_FLAGS when JAX starts).

    Returns:
        True if the settings are as the profile asks (or it asks nothing), False if
        TensorFlow had started with another thread count.
    """
    n = profile.threads
    if n is None:
        return True
    return backend.set_threads(n)


#: matplotlib settings for report figures (sizes, fonts, a gray colour map for faces);
#: ``setup`` applies them, so every notebook's figures look the same
FIGURE_STYLE = {"figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight",
                "axes.grid": False, "axes.titlesize": 11, "font.size": 10, "image.cmap": "gray"}


def setup(seed: int = 0, profile: str | None = None, quiet: bool = False) -> Profile:
    """Seed everything, set plot defaults and say which dataset and profile are in use.

    Args:
        seed: seed for Python, NumPy and Keras.
        profile: a profile name; default from ``FER_KIT_PROFILE``.
        quiet: do not print the summary line.

    Returns:
        The active Profile.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    prof = get_profile(profile)
    src = data_source()
    if not apply_threads(prof):
        warnings.warn(f"profile {prof.name}: TensorFlow started before fk.setup, so its "
                      f"threads could not be fixed to {prof.threads}; call fk.setup first "
                      "for the same numbers on any number of cores", stacklevel=2)
    seed_everything(seed)
    import matplotlib  # slow (0.3 s): loaded when a session starts, not by `fer-kit --help`
    matplotlib.rcParams.update(FIGURE_STYLE)
    if not quiet:
        dataset = str(src) if src else f"SynthFER (generated, {prof.synth_train} training images)"
        print(f"fer_kit: dataset={dataset} | profile={prof.name} | seed={seed}")
    return prof
