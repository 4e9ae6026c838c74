"""SynthFER: a procedural FER2013-like dataset with ground-truth expression masks.

Each 48x48 face is drawn from facial action parameters (PARAM_NAMES: brow raise, tilt
and knit, eye openness, mouth curvature, opening, width, upper-lip raise and horizontal
stretch, cheek raise, nose wrinkle). Every class draws them from its own ranges
(``_MEAN``, ``_SPREAD``), and the ranges overlap where people's expressions overlap, so
the confusions seen on FER2013 appear here too: Fear vs Surprise (wide eyes; a fifth of
version 4's Surprise faces are fearful), Fear vs Sad (worried brows), Sad vs Neutral (a
slight frown), Angry vs Disgust (lowered knit brows, wrinkled nose).

Version 5, the default, adds what makes FER2013 hard to learn from (``_EXPRESSION_V5``,
``_NEIGHBOURS``, ``_NUISANCE_V5``): expressions shown weakly or strongly, faces between
two neighbouring classes, wrong labels that mostly name a neighbouring class, and more
identity and pose variety (a turned head, glasses, a hand over the face, beards).
Version 4 is kept, bit for bit, as the clean version. In both, identity and nuisance vary
independently of the class (``_NUISANCE``): face shape, eye and mouth positions, skin,
background, hair, pose, light, exposure and contrast, blur and noise; and a few images
are blank or not faces at all, like the outliers report 003 found in FER2013.

This module decides what to draw; ``_render`` draws it. Each block of ``_BLOCK`` images
has its own seed, so the blocks render on threads and give the same images on any
number of them. How the ranges were calibrated against a real FER2013 model, and the
earlier versions: benchmarks/results/decisions_data.md.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import atomic
from ._csvwrite import write_fer2013, write_test_csv, write_train_csv
from ._render import render_faces, render_nonfaces

# FER2013 training-set class counts (Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral).
FER2013_TRAIN_COUNTS = (3995, 436, 4097, 7215, 4830, 3171, 4965)
FER2013_PRIORS = tuple(c / sum(FER2013_TRAIN_COUNTS) for c in FER2013_TRAIN_COUNTS)

# Action parameters (face units: the face is ~1.4 wide). brow_tilt + = inner ends lowered;
# mouth_curve + = corners up; the last four are strengths in [0, 1].
PARAM_NAMES = ("brow_raise", "brow_tilt", "eye_open", "mouth_curve", "mouth_open",
               "mouth_width", "wrinkle", "brow_knit", "cheek_raise", "lip_raise", "lip_stretch")

# Per class: the mean of each action parameter (columns PARAM_NAMES), versions 4 and 5.
_MEAN = np.array([
    # raise  tilt   eye   curve   open   width  wrinkle knit cheek  lip   stretch
    [-0.080, 0.090, 0.30, -0.030, 0.020, 0.190, 0.30, 1.00, 0.00, 0.00, 0.00],  # Angry
    [-0.070, 0.030, 0.22, -0.080, 0.060, 0.200, 0.80, 0.60, 0.50, 0.80, 0.00],  # Disgust
    [-0.030, -0.120, 0.60, -0.040, 0.020, 0.270, 0.00, 0.40, 0.00, 0.00, 0.50],  # Fear
    [0.010, 0.000, 0.32, 0.110, 0.070, 0.280, 0.05, 0.00, 1.00, 0.00, 0.00],    # Happy
    [0.030, -0.090, 0.28, -0.070, 0.000, 0.200, 0.00, 0.30, 0.00, 0.00, 0.00],  # Sad
    [0.120, -0.010, 0.90, 0.000, 0.160, 0.170, 0.00, 0.00, 0.00, 0.00, 0.00],   # Surprise
    [0.000, 0.000, 0.45, 0.000, 0.005, 0.215, 0.00, 0.00, 0.00, 0.00, 0.00],    # Neutral
], np.float32)
_SPREAD = np.array([0.030, 0.025, 0.10, 0.025, 0.030, 0.030, 0.25, 0.25, 0.25, 0.25, 0.25],
                   np.float32)
# Version 4's Surprise comes in two forms: its own row above and, in this share of its
# faces, a fearful one, 70% of the way from the Surprise row to the Fear row (brows less
# raised and drawn together, eyes less wide, lips stretched, the mouth barely open): a CNN
# trained on SynthFER then confuses the two as FER2013's models do, while the FER2013
# model still reads most of them as Surprise (the measurements: decisions_data.md).
_SURPRISE_FEAR = (0.7 * _MEAN[2] + 0.3 * _MEAN[5]).astype(np.float32)
_SURPRISE_FEAR_P = 0.2

# Bumped whenever the images change, so caches of older SynthFER files are not reused.
VERSION = 5
VERSIONS = (4, 5)  # version 3, the flat faces, is benchmarks/synthfer_v3.py
# In the name of the cache folder: changes with VERSION, and also when the pixels change by
# rounding only (its history: decisions_data.md).
CACHE_KEY = "5.0"

_BLOCK = 256  # images rendered per pass; also the unit of the per-block seeds

# Version 4's nuisance ranges (pose, identity, lighting, background), independent of the class.
_NUISANCE = dict(
    rot_sd=10.0,             # head rotation, degrees (normal sigma)
    scale=(1.0, 1.35),       # face size (uniform)
    shift_sd=(0.09, 0.065),  # horizontal, vertical shift (normal sigma; half-image units)
    skin=(0.5, 0.9), bg=(0.05, 0.9), hair=(0.03, 0.45),
    feat_sd=1.5,             # identity: spread of eye and mouth positions
    grad=0.35,               # strength of the lighting gradient across the image
    bg_tex=1.0,              # amplitude of the smooth background texture (cluttered backgrounds)
    gain=(0.6, 1.3),         # exposure: whole image times this (uniform)
    gamma_sd=0.4,            # contrast curve: image ** exp(normal(0, gamma_sd))
)
# These ranges were calibrated so that logistic regression on raw pixels stays well below
# what a CNN reaches (a linear model reads real FER2013 poorly) while the FER2013
# mini-Xception still reads the faces (benchmarks/bench_realism.py; README, SynthFER).

# Version 5: v4's class means and renderer, and what makes FER2013 hard to learn from:
# faces that show their expression weakly or strongly, faces between two neighbouring
# classes, labels that name a neighbouring class, and more identity and pose variety
# (a turned head, glasses, a hand over the face). Row c: the classes a class-c face is
# mistaken for, weighted as FER2013's CNNs mistake them (Disgust for Angry, Sad for
# Neutral, Fear for Sad or Surprise, Neutral for Sad).
_NEIGHBOURS = np.array([
    # Angry Disg  Fear  Happy Sad   Surpr Neutral
    [0.00, 0.15, 0.20, 0.00, 0.35, 0.00, 0.30],  # Angry
    [0.80, 0.00, 0.10, 0.00, 0.10, 0.00, 0.00],  # Disgust
    [0.10, 0.00, 0.00, 0.00, 0.40, 0.30, 0.20],  # Fear
    [0.00, 0.00, 0.00, 0.00, 0.20, 0.20, 0.60],  # Happy
    [0.20, 0.00, 0.25, 0.00, 0.00, 0.00, 0.55],  # Sad
    [0.00, 0.00, 0.60, 0.20, 0.00, 0.00, 0.20],  # Surprise
    [0.20, 0.00, 0.10, 0.10, 0.60, 0.00, 0.00],  # Neutral
], np.float32)
_EXPRESSION_V5 = dict(
    intensity=(20.0, 5.0),    # Beta(a, b) draw per face ...
    intensity_max=1.75,       # ... times this: how far the face moves from Neutral's mean
                              # toward its class's (1 = v4's distance)
    blend_p=0.15,             # share of faces drawn between their class and a neighbour
    blend_max=0.4,            # how far toward the neighbour's mean (uniform in [0, blend_max])
    spread=1.0,               # times _SPREAD: identity's variety of every action parameter
    label_noise=0.28,         # the default share of wrong labels, over all classes ...
    # ... shared out in these proportions (Angry ... Neutral): annotators agree on Happy and
    # Surprise more than on Fear, Sad or Disgust
    noise_by_class=(1.1, 1.3, 1.8, 0.4, 1.1, 0.6, 1.0),
    noise_to_neighbour=0.8,   # share of the wrong labels that name a neighbour (else any class)
)
_NUISANCE_V5 = dict(
    _NUISANCE,
    feat_sd=2.0,              # identity: spread of eye and mouth positions (v4: 1.5)
    grad=0.6,                 # lighting gradient (v4: 0.35)
    yaw_sd=0.10,              # a turned head: features shift sideways within the outline
    glasses_p=0.2,            # glasses: frames around the eyes (a fifth with dark lenses)
    hand_p=0.08,              # a hand or object over part of the lower face
    beard_p=0.1,              # a moustache and beard
    fringe_p=0.1,             # hair down over the forehead
)


@dataclass
class SynthFER:
    """A generated dataset.

    Attributes:
        x: uint8 images (N, 48, 48, 1).
        y: int64 labels as given (with label noise), shape (N,).
        y_clean: the class each face was drawn from (before label noise).
        masks: bool (N, 48, 48): brows, eyes and mouth (all False for outliers).
        kind: int8 (N,): 0 face, 1 blank, 2 non-face.
        params: float32 (N, 11) action parameters, columns PARAM_NAMES.
    """

    x: np.ndarray
    y: np.ndarray
    y_clean: np.ndarray
    masks: np.ndarray
    kind: np.ndarray
    params: np.ndarray


def _pick_neighbours(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """For each class in ``y``, one of its neighbours, drawn with _NEIGHBOURS' weights."""
    cum = np.cumsum(_NEIGHBOURS, axis=1)
    cum /= cum[:, -1:]
    return (rng.random(len(y))[:, None] >= cum[y]).sum(axis=1)



def _sample_params(rng: np.random.Generator, y: np.ndarray, spread: float, version: int):
    """Action parameters (n, len(PARAM_NAMES)) for classes ``y``, drawn as ``version`` draws them.

    Version 5 moves each face's mean part of the way to a neighbour's (on a share
    ``blend_p`` of faces), then scales its distance from Neutral's mean by the face's
    intensity (a Beta draw times ``intensity_max``), then adds identity's spread.
    """
    n = len(y)
    if version == 5:
        e = _EXPRESSION_V5
        intensity = rng.beta(*e["intensity"], n).astype(np.float32) * e["intensity_max"]
        to = _pick_neighbours(rng, y)
        w = ((rng.random(n) < e["blend_p"]) * rng.uniform(0, e["blend_max"], n)).astype(np.float32)
        mean = _MEAN[y] + w[:, None] * (_MEAN[to] - _MEAN[y])
        mean = _MEAN[6] + intensity[:, None] * (mean - _MEAN[6])
        params = mean + rng.standard_normal((n, len(PARAM_NAMES)), np.float32) * (
            _SPREAD * e["spread"] * spread)
        params[:, 7:] = np.clip(params[:, 7:], 0.0, 1.0)
    else:
        mean = _MEAN[y]
        form = rng.random(n)  # drawn for every face, so the form leaves other faces' draws alone
        mean[(y == 5) & (form < _SURPRISE_FEAR_P)] = _SURPRISE_FEAR
        params = mean + rng.standard_normal((n, len(PARAM_NAMES)), np.float32) * _SPREAD * spread
        params[:, 7:] = np.clip(params[:, 7:], 0.0, 1.0)  # knit, cheek, lip raise, stretch
    return _clip_params(params)


def _clip_params(params: np.ndarray) -> np.ndarray:
    """Clip, in place, the parameters that leave a face drawable past their limits."""
    params[:, 2] = np.clip(params[:, 2], 0.12, 1.1)    # eye openness
    params[:, 4] = np.clip(params[:, 4], 0.0, 0.25)    # mouth opening
    params[:, 5] = np.clip(params[:, 5], 0.11, 0.34)   # mouth half-width
    params[:, 6] = np.clip(params[:, 6], 0.0, 1.0)     # wrinkle
    return params


def _generate_block(seed_seq: np.random.SeedSequence, n: int, priors, label_noise, blank_rate,
                    nonface_rate, spread, version):
    """One block of ``n`` images from its own seed: classes, faces, outliers, then labels."""
    rng = np.random.default_rng(seed_seq)
    y_clean = rng.choice(len(priors), size=n, p=priors)
    params = _sample_params(rng, y_clean, spread, version)
    img, masks = render_faces(rng, y_clean, params, _NUISANCE_V5 if version == 5 else _NUISANCE)
    kind = _add_outliers(rng, img, masks, blank_rate, nonface_rate)
    y = _draw_labels(rng, y_clean, kind, priors, label_noise, version)
    x = np.round(img * 255).astype(np.uint8)[..., None]
    return x, y, y_clean.astype(np.int64), masks, kind, params


def _add_outliers(rng: np.random.Generator, img: np.ndarray, masks: np.ndarray,
                  blank_rate: float, nonface_rate: float) -> np.ndarray:
    """Blank some images and replace others by non-faces, in place; returns their kind (n,)
    int8: 0 face, 1 blank, 2 non-face. Outliers have empty masks."""
    n = len(img)
    kind = np.zeros(n, np.int8)
    r = rng.random(n)
    kind[r < blank_rate] = 1
    kind[(r >= blank_rate) & (r < blank_rate + nonface_rate)] = 2
    img[kind == 1] = 0.0
    if (kind == 2).any():
        img[kind == 2] = render_nonfaces(rng, int((kind == 2).sum()))
    masks[kind > 0] = False
    return kind


def _draw_labels(rng: np.random.Generator, y_clean: np.ndarray, kind: np.ndarray, priors,
                 label_noise: float, version: int) -> np.ndarray:
    """The labels as given (n,) int64: ``y_clean`` with a share ``label_noise`` replaced by
    another class, and arbitrary labels on the outliers.

    Version 5 shares the rate out by class (``noise_by_class``, the same rate overall under
    ``priors``) and mostly names a neighbouring class, as annotators do.
    """
    n = len(y_clean)
    y = y_clean.copy()
    rate = label_noise
    if version == 5:  # the same overall rate, shared out by class
        m = np.asarray(_EXPRESSION_V5["noise_by_class"], np.float64)
        rate = np.minimum(label_noise * m / np.dot(priors, m), 1.0)[y_clean]
    flip = rng.random(n) < rate
    outlier = kind > 0
    y[outlier] = rng.integers(0, len(priors), int(outlier.sum()))  # outliers: arbitrary labels
    wrong = flip & ~outlier
    other = (y[wrong] + rng.integers(1, len(priors), int(wrong.sum()))) % len(priors)
    if version == 5:  # annotators mostly name a neighbouring class
        near = rng.random(int(wrong.sum())) < _EXPRESSION_V5["noise_to_neighbour"]
        other = np.where(near, _pick_neighbours(rng, y[wrong]), other)
    y[wrong] = other
    return y.astype(np.int64)


def generate(n: int, seed: int = 0, priors=FER2013_PRIORS, label_noise: float | None = None,
             blank_rate: float = 0.003, nonface_rate: float = 0.005,
             spread: float = 1.0, version: int = VERSION, progress: bool | None = None) -> SynthFER:
    """Generate ``n`` SynthFER images.

    Args:
        n: number of images.
        seed: the same ``(n, seed)`` gives the same images, on any number of threads.
        priors: class probabilities (default: FER2013's training set).
        label_noise: share of faces whose label is replaced by another class (default:
            the version's, 0.03 for version 4, ``_EXPRESSION_V5["label_noise"]`` for
            5; in version 5 the rate differs by class, ``noise_by_class``, averaging
            ``label_noise`` under ``priors``, and most wrong labels name a neighbouring class).
        blank_rate: share of all-zero images (report 003 found such in FER2013).
        nonface_rate: share of images that are not faces.
        spread: multiplies every class's parameter spread (higher = harder).
        version: 5 (the default) or 4 (the same faces without version 5's weak,
            blended and mislabelled expressions or its extra nuisance).
        progress: a progress bar (default: for 5,000 images or more, several seconds).

    Returns:
        SynthFER.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if version not in VERSIONS:
        raise ValueError(f"SynthFER version must be one of {VERSIONS}, got {version!r} (version 3, "
                         "the flat faces, is benchmarks/synthfer_v3.py)")
    if label_noise is None:
        label_noise = _EXPRESSION_V5["label_noise"] if version == 5 else 0.03
    priors = np.asarray(priors, np.float64) / np.sum(priors)
    seqs = np.random.SeedSequence(seed).spawn((n + _BLOCK - 1) // _BLOCK)
    # Blocks have their own seeds, so rendering them on threads (NumPy releases the GIL)
    # gives the same images as rendering them one after another.
    from tqdm.auto import tqdm  # imported here: the data layer loads without it otherwise
    bar = tqdm(total=n, desc=f"SynthFER v{version}", unit="img", unit_scale=True, leave=False,
               disable=not (n >= 5000 if progress is None else progress))
    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as ex, bar:
        parts = []
        for part in ex.map(lambda i: _generate_block(seqs[i], min(_BLOCK, n - i * _BLOCK), priors,
                                                     label_noise, blank_rate, nonface_rate, spread,
                                                     version),
                           range(len(seqs))):
            parts.append(part)
            bar.update(len(part[0]))
    if not parts:
        return SynthFER(np.zeros((0, 48, 48, 1), np.uint8), *(np.zeros(0, np.int64),) * 2,
                        np.zeros((0, 48, 48), bool), np.zeros(0, np.int8),
                        np.zeros((0, len(PARAM_NAMES)), np.float32))
    return SynthFER(*(np.concatenate(a) for a in zip(*parts)))



def write_synthfer(out: str | Path, n_train: int = 28709, n_test: int = 3589, seed: int = 0,
                   course_files: bool = False) -> Path:
    """Write SynthFER as a Kaggle ``fer2013.csv`` (+ ``fer2013.masks.npz``) in ``out``.

    Training, PublicTest and PrivateTest rows come in that order, as in Kaggle's file.
    With ``course_files``, also ``train.csv`` (label,feature) and ``test.csv`` (id,feature)
    plus ``test_labels.csv`` (id,label) for scoring.

    Returns:
        The path of fer2013.csv.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = generate(n_train + 2 * n_test, seed=seed)
    usage = np.repeat([0, 1, 2], [n_train, n_test, n_test])
    csv = write_fer2013(out / "fer2013.csv", data.x, data.y, usage)
    with atomic.atomic_path(out / "fer2013.masks.npz") as tmp:
        np.savez_compressed(tmp, masks=data.masks, y_clean=data.y_clean, kind=data.kind,
                            params=data.params)
    if course_files:
        write_train_csv(out / "train.csv", data.x[:n_train], data.y[:n_train])
        write_test_csv(out / "test.csv", data.x[n_train:])
        ids = np.arange(2 * n_test)
        atomic.write_text(out / "test_labels.csv", "id,label\n" + "".join(
            f"{i},{lab}\n" for i, lab in zip(ids, data.y[n_train:])))
    return csv
