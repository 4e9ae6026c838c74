"""SynthFER version 3, the flat cartoon faces, kept beside the benchmarks that compare it.

Version 3 was SynthFER's default before the shaded faces of version 4: flat shapes (an
ellipse of skin, brow segments, eye ellipses, a lip line) with seven action parameters,
the first seven of ``fer_kit.data.synth.PARAM_NAMES``. A real FER2013 model reads it at
about 0.42 accuracy where it reads version 4 at 0.56-0.58 (bench_realism.py), which is why
it was replaced; it stays here as the baseline of that comparison and of bench_synth.py's
speed figure. ``generate`` gives the same images, bit for bit, as
``fer_kit.data.synth.generate(n, version=3)`` did before version 3 left the package; it
reuses the package's outliers and label noise (version 4's rules) and its block seeds.

Use:  ``from synthfer_v3 import generate`` with benchmarks/ on ``sys.path`` (the
benchmarks run from their own folder; tests/test_synth.py loads it by path).
"""
from __future__ import annotations

import numpy as np

from fer_kit.data import synth
from fer_kit.data._render import _blur3, _sigmoid_edge

# Per class (Angry ... Neutral): the mean of the first seven action parameters.
MEAN_V3 = np.array([
    [-0.050, 0.060, 0.34, -0.020, 0.010, 0.190, 0.40],  # Angry
    [-0.040, 0.040, 0.30, -0.045, 0.035, 0.210, 0.75],  # Disgust
    [0.075, -0.030, 0.74, -0.020, 0.085, 0.240, 0.00],  # Fear
    [0.015, 0.000, 0.36, 0.090, 0.050, 0.270, 0.05],    # Happy
    [0.020, -0.050, 0.36, -0.045, 0.005, 0.200, 0.00],  # Sad
    [0.095, -0.010, 0.80, 0.000, 0.115, 0.180, 0.00],   # Surprise
    [0.000, 0.000, 0.45, 0.000, 0.005, 0.215, 0.00],    # Neutral
], np.float32)
SPREAD_V3 = np.array([0.030, 0.025, 0.10, 0.025, 0.030, 0.030, 0.25], np.float32)
TEETH_P_V3 = np.array([0.1, 0.3, 0.2, 0.6, 0.0, 0.1, 0.0], np.float32)


def generate(n: int, seed: int = 0, priors=synth.FER2013_PRIORS, label_noise: float = 0.03,
             blank_rate: float = 0.003, nonface_rate: float = 0.005,
             spread: float = 1.0) -> synth.SynthFER:
    """Generate ``n`` version-3 images; the arguments are ``fer_kit.data.synth.generate``'s.

    Returns:
        SynthFER, its ``params`` (N, 11) with the last four columns 0.
    """
    priors = np.asarray(priors, np.float64) / np.sum(priors)
    seqs = np.random.SeedSequence(seed).spawn((n + synth._BLOCK - 1) // synth._BLOCK)
    parts = [_generate_block(s, min(synth._BLOCK, n - i * synth._BLOCK), priors, label_noise,
                             blank_rate, nonface_rate, spread) for i, s in enumerate(seqs)]
    if not parts:
        return synth.generate(0)
    return synth.SynthFER(*(np.concatenate(a) for a in zip(*parts)))


def _generate_block(seed_seq, n, priors, label_noise, blank_rate, nonface_rate, spread):
    """One block, drawn in version 3's order: classes, parameters, faces, outliers, labels."""
    rng = np.random.default_rng(seed_seq)
    y_clean = rng.choice(len(priors), size=n, p=priors)
    params = np.zeros((n, len(synth.PARAM_NAMES)), np.float32)
    params[:, :7] = MEAN_V3[y_clean] + rng.standard_normal((n, 7), np.float32) * SPREAD_V3 * spread
    params = synth._clip_params(params)
    img, masks = render_faces_v3(rng, y_clean, params[:, :7])
    kind = synth._add_outliers(rng, img, masks, blank_rate, nonface_rate)
    y = synth._draw_labels(rng, y_clean, kind, priors, label_noise, version=4)
    x = np.round(img * 255).astype(np.uint8)[..., None]
    return x, y, y_clean.astype(np.int64), masks, kind, params


def _segment_distance(u, v, x0, y0, x1, y1):
    """Distance from points (u, v) to segments (x0, y0)-(x1, y1); all broadcast (B, 48, 48)."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((u - x0) * dx + (v - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(u - (x0 + t * dx), v - (y0 + t * dy))


def render_faces_v3(rng: np.random.Generator, y: np.ndarray, params: np.ndarray):
    """Render flat cartoon faces for labels ``y`` and action ``params`` (B, 7).

    Returns:
        (images (B, 48, 48) float32 in [0, 1], masks (B, 48, 48) bool).
    """
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
        * col(rng.random(b) < TEETH_P_V3[y])
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
