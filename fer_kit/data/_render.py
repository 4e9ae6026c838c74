"""SynthFER's face renderer: action parameters and random draws in, 48x48 faces and masks out.

A face is its albedo (skin, creases, eyes, brows, lips, teeth; glasses and beards in
version 5) times the Lambertian shading of a height field (skull, nose, eye sockets,
brow ridge, cheeks, chin) lit from a random direction: the relief a model trained on
photographs looks for. Hair, neck and a textured background go round it, then a
lighting gradient, exposure and contrast, blur and noise. ``synth`` decides what to
draw (classes, action parameters, outliers, labels); this module only draws it.

Every random number a face needs is drawn first, for the whole block
(``draw_face_randoms``), so the images do not depend on how the block is cut into
chunks; each chunk is then drawn with NumPy broadcasting over (B, 48, 48) coordinate
grids, one part of the face per function. Its speed: benchmarks/bench_synth.py.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Share of each class's faces (Angry ... Neutral) that show their teeth.
_TEETH_P = np.array([0.3, 0.5, 0.1, 0.75, 0.0, 0.2, 0.0], np.float32)


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


def _paint(img: np.ndarray, cover: np.ndarray, value) -> np.ndarray:
    """Blend ``value`` over ``img`` where ``cover`` (0..1) says how much."""
    return img + cover * (value - img)


def _segdist(u, v, x0, y0, x1, y1):
    """Distance from points (u, v) to segments (x0, y0)-(x1, y1); all broadcast (B, 48, 48)."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((u - x0) * dx + (v - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return _hypot(u - (x0 + t * dx), v - (y0 + t * dy))


def _line(d: np.ndarray, w: float) -> np.ndarray:
    """A soft line of half-width ``w`` around the points at distance ``d`` 0."""
    return _sigmoid_edge(d - w, 0.008)


def _edge(d: np.ndarray) -> np.ndarray:
    """A soft edge 0.01 wide: 1 where ``d`` < 0 (the lips and teeth)."""
    return _sigmoid_edge(d, 0.01)


# Version 4 renders a block in chunks of this many images: the (chunk, 48, 48) temporaries
# then stay in the CPU cache (256 at once spill it, and run ~1.4x slower per image). Every
# operation is per pixel or per image, so the chunk size does not change a single bit.
_CHUNK = 32
_GRID = (np.arange(48, dtype=np.float32) + 0.5) / 24 - 1  # pixel centres in [-1, 1]
_GY, _GX = np.meshgrid(_GRID, _GRID, indexing="ij")  # (48, 48)


def draw_face_randoms(rng: np.random.Generator, y: np.ndarray, nui: dict) -> dict:
    """Every random number versions 4 and 5 draw for faces of labels ``y``, in their order.

    ``nui`` is the version's nuisance ranges (_NUISANCE or _NUISANCE_V5); version 5's own
    draws come after all of version 4's, so version 4's stream is unchanged.

    Drawn for the whole block first (so the stream, and the images, are the same as when the
    block was rendered in one pass); ``render_faces`` then renders chunks of these draws.
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


def render_faces(rng: np.random.Generator, y: np.ndarray, params: np.ndarray, nui: dict):
    """Render shaded faces for labels ``y`` and action ``params`` (B, 11).

    Args:
        rng: the block's generator; every draw is taken from it before any drawing.
        y: (B,) classes (they set only the share of faces with teeth).
        params: (B, 11) float32 action parameters, columns ``synth.PARAM_NAMES``.
        nui: the version's nuisance ranges (``synth._NUISANCE`` or ``_NUISANCE_V5``).

    Returns:
        (images (B, 48, 48) float32 in [0, 1], masks (B, 48, 48) bool of brows, eyes, mouth).
    """
    b = len(y)
    draws = draw_face_randoms(rng, y, nui)
    img, masks = np.empty((b, 48, 48), np.float32), np.empty((b, 48, 48), bool)
    for s in range(0, b, _CHUNK):
        part = slice(s, s + _CHUNK)
        img[part], masks[part] = _render_face_chunk({k: a[part] for k, a in draws.items()},
                                                    params[part], nui)
    return img, masks


class _Actions(NamedTuple):
    """A chunk's action parameters, (B, 1, 1) float32 each, in ``synth.PARAM_NAMES``' order."""

    raise_: np.ndarray
    tilt: np.ndarray
    eye_open: np.ndarray
    curve: np.ndarray
    mouth_open: np.ndarray
    mouth_w: np.ndarray
    wrinkle: np.ndarray
    knit: np.ndarray
    cheek: np.ndarray
    lip_up: np.ndarray
    stretch: np.ndarray


class _Face(NamedTuple):
    """Where a chunk's faces lie: face coordinates of every pixel, (B, 48, 48) each."""

    u: np.ndarray  # right, in face units (the face is ~1.4 wide)
    v: np.ndarray  # down
    uf: np.ndarray  # the features' horizontal coordinate (v5: moved by the head's turn)
    au: np.ndarray  # |uf|: the face is symmetric, so one pass draws both sides' features
    face_in: np.ndarray  # 1 inside the face's outline, 0 outside
    depth: np.ndarray  # the skull's height field, 0 at the outline
    dark: np.ndarray  # (B, 1, 1) the colour of brows, creases and lip lines


def _render_face_chunk(rd: dict, params: np.ndarray, nui: dict):
    """Render the faces of a chunk of draws ``rd`` (from draw_face_randoms) and ``params``.

    The parts are drawn in this order, each over the ones before: creases, eyes, brows,
    glasses and beard, nostrils, mouth; then the albedo is shaded and set into hair, neck
    and background, and the whole image lit and degraded.
    """
    b = len(params)
    a = _Actions(*(params[:, k].reshape(b, 1, 1).astype(np.float32) for k in range(params.shape[1])))
    f = _place_face(rd)
    shade = _shade(rd, f, a)
    alb = np.broadcast_to(rd["skin"], (b, 48, 48)).astype(np.float32)
    masks = np.zeros((b, 48, 48), bool)
    alb = _draw_creases(alb, rd, f, a)
    alb = _draw_eyes(alb, masks, rd, f, a)
    alb = _draw_brows(alb, masks, rd, f, a)
    if "glasses" in rd:
        _draw_glasses(alb, rd, f.au, f.v)
        _draw_beard(alb, rd, f.au, f.v, f.dark)
    nostril = _sigmoid_edge(_hypot((f.au - 0.06) / 0.04, (f.v - 0.22) / 0.022) - 1, 0.2)
    alb = _paint(alb, 0.6 * nostril, f.dark * 0.6)
    alb = _draw_mouth(alb, masks, rd, f, a)
    img = _set_in_scene(alb * shade, rd, f, nui)
    return _light_and_degrade(img, rd, nui), masks


def _place_face(rd: dict) -> _Face:
    """Pose and outline: image coordinates -> face coordinates (u right, v down).

    Faces fill the frame, as FER2013's crops do (eyes near row 20, mouth near row 37);
    the outline is egg-shaped (narrower at the jaw).
    """
    ang, scale, dx, dy = rd["ang"], rd["scale"], rd["dx"], rd["dy"]
    cos, sin = np.cos(ang), np.sin(ang)
    u = ((_GX - dx) * cos + (_GY - dy) * sin) / scale  # (B, 48, 48)
    v = (-(_GX - dx) * sin + (_GY - dy) * cos) / scale
    fa, fb = rd["fa"], rd["fb"]
    vc = v - 0.08
    rf = _hypot(u / (fa * (1 - 0.18 * np.clip(vc / fb, 0, 1))), vc / fb)
    face_in = _sigmoid_edge(rf - 1, 0.04)
    depth = np.sqrt(np.clip(1 - rf * rf, 0, 1))
    uf = u
    if "yaw" in rd:  # a head turned by yaw: on a sphere a point moves by yaw * depth,
        # most in the middle of the face, not at its outline
        uf = u - rd["yaw"] * depth
    return _Face(u, v, uf, np.abs(uf), face_in, depth, rd["skin"] * rd["ink"])


def _shade(rd: dict, f: _Face, a: _Actions) -> np.ndarray:
    """Lambertian shading (B, 48, 48) of the face's relief, lit from ``rd["la"]``.

    Relief: skull, nose ridge and tip, eye sockets, cheeks (raised by a smile), brow
    ridge, chin.
    """
    uf, au, v, ex, ey, cheek = f.uf, f.au, f.v, rd["ex"], rd["ey"], a.cheek
    blob = lambda du, dv, s: np.exp(-(du * du + dv * dv) / (2 * s * s))  # noqa: E731
    h = 0.55 * f.depth
    h += 0.10 * np.exp(-(uf / 0.05) ** 2) * _sigmoid_edge(np.abs(v - 0.06) - 0.14, 0.03)
    h += 0.08 * blob(uf, v - 0.2, 0.06)
    h -= 0.09 * np.exp(-((au - ex) / 0.14) ** 2 - ((v - ey + 0.02) / 0.10) ** 2)
    h += (0.04 + 0.05 * cheek) * blob(au - 0.30, v - 0.20 + 0.06 * cheek, 0.10)
    h += 0.04 * np.exp(-((v - (ey - 0.17)) / 0.05) ** 2 - (uf / 0.45) ** 2)
    h += 0.05 * blob(uf, v - 0.82, 0.10)
    hy, hx = np.gradient(h, axis=(1, 2))
    scale = rd["scale"]
    hx, hy = hx * 24 * scale, hy * 24 * scale  # slope per face unit
    la, lr = rd["la"], rd["lr"]
    lx, ly = lr * np.cos(la), lr * np.sin(la) - 0.25  # light from above, on average
    lz = np.sqrt(np.clip(1 - lx * lx - ly * ly, 0.1, 1))
    return 0.45 + 0.6 * np.clip((lz - hx * lx - hy * ly) / np.sqrt(1 + hx * hx + hy * hy), 0, 1)


def _draw_creases(alb: np.ndarray, rd: dict, f: _Face, a: _Actions) -> np.ndarray:
    """Nasolabial folds (smile, disgust), forehead lines (raised brows), vertical furrows
    between knit lowered brows (anger), nose wrinkles (disgust), painted over ``alb``."""
    uf, au, v, dark, ey, my = f.uf, f.au, f.v, f.dark, rd["ey"], rd["my"]
    raise_, tilt = a.raise_, a.tilt
    fold = np.clip(0.15 + 0.5 * a.cheek + 0.4 * a.lip_up, 0, 1)
    d = _segdist(au, v, 0.12, 0.17 - 0.03 * a.cheek, a.mouth_w + 0.05, my + 0.02 - a.curve)
    alb = _paint(alb, 0.5 * fold * _line(d, 0.012), dark)
    # These three kinds of crease have a per-face strength that is 0 on most faces, and
    # painting with cover 0 leaves the albedo exactly as it was: they are drawn on the
    # faces (rows ``i``) with a nonzero strength only.
    def forehead(i):  # three arcs, curving with the sign of the tilt
        arc = 0.05 * (uf[i] / 0.3) ** 2 * np.where(tilt[i] < 0, -1, 1).astype(np.float32)
        sides = _sigmoid_edge(au[i] - 0.30, 0.05)
        return [(_line(np.abs(v[i] - (ey[i] - 0.32 - raise_[i] - 0.07 * k) - arc), 0.008), sides)
                for k in range(3)]
    alb = _paint_some(alb, 0.5 * np.clip(raise_ * 8 - 0.2, 0, 1), forehead, dark)

    def furrows(i):
        return [(_line(_segdist(au[i], v[i], 0.04, ey[i] - 0.26, 0.05, ey[i] - 0.12), 0.008),)]
    alb = _paint_some(alb, 0.6 * np.clip(a.knit, 0, 1) * (tilt > -0.03), furrows, dark)

    def nose_wrinkles(i):  # three lines across the bridge and two "bunny lines" down each side
        aui, vi = au[i], v[i]
        off_centre = np.maximum(aui - 0.09, 0)
        d = _hypot(off_centre, vi + 0.02)  # a running minimum of the five distances
        for off in (0.03, 0.08):
            np.minimum(d, _hypot(off_centre, vi - off), out=d)
        for k in range(2):
            np.minimum(d, _segdist(aui, vi, 0.06, np.full((len(i), 1, 1), -0.02 + 0.05 * k, np.float32),
                                   0.14, np.full((len(i), 1, 1), 0.06 + 0.05 * k, np.float32)), out=d)
        return [(_line(d, 0.010),)]
    return _paint_some(alb, 0.6 * np.clip(a.wrinkle, 0, 1), nose_wrinkles, dark)


def _draw_eyes(alb: np.ndarray, masks: np.ndarray, rd: dict, f: _Face, a: _Actions) -> np.ndarray:
    """Sclera (height = openness), iris and pupil, a dark upper lid, the lid crease; the
    eyes' mask is added to ``masks`` in place."""
    skin, ex, ey, erx = rd["skin"], rd["ex"], rd["ey"], rd["erx"]
    ery = erx * a.eye_open
    du, dv = f.au - ex, f.v - ey
    r, rc = _hypot(du / erx, dv / ery), _hypot(du, dv)
    eye = _sigmoid_edge(r - 1, 0.07)
    alb = _paint(alb, eye, 0.72 * skin + 0.28)
    alb = _paint(alb, _sigmoid_edge(rc - 0.05, 0.01) * eye, 0.3 * skin)
    alb = _paint(alb, _sigmoid_edge(rc - 0.022, 0.01) * eye, 0.05)
    alb = _paint(alb, 0.85 * _sigmoid_edge(np.abs(r - 1) - 0.3, 0.06) * (dv < 0), 0.08)
    crease = _hypot(du / (erx + 0.02), (dv + 0.01) / (ery + 0.05))
    alb = _paint(alb, 0.35 * _sigmoid_edge(np.abs(crease - 1) - 0.12, 0.05) * (dv < 0), f.dark)
    masks |= _hypot(du / (erx + 0.06), dv / (ery + 0.06)) < 1
    return alb


def _draw_brows(alb: np.ndarray, masks: np.ndarray, rd: dict, f: _Face, a: _Actions) -> np.ndarray:
    """Two segments a side (inner-mid, mid-outer); raised brows arch unless knit, knit
    brows move their inner ends together. The brows' mask is added to ``masks``."""
    raise_, tilt, knit, au, v = a.raise_, a.tilt, a.knit, f.au, f.v
    bc = rd["ey"] - 0.18 - raise_
    thick = rd["thick"]
    arch = 0.02 + 0.35 * np.clip(raise_, 0, None) * (1 - np.clip(knit, 0, 1))
    xi = 0.08 - 0.04 * np.clip(knit, 0, 1)
    yi, yo = bc + tilt, bc - 0.3 * tilt
    ym = 0.5 * (yi + yo) - arch
    d = np.minimum(_segdist(au, v, xi, yi, 0.24, ym),
                   _segdist(au, v, 0.24, ym, 0.40, yo + 0.02))
    alb = _paint(alb, _sigmoid_edge(d - thick, 0.015), f.dark * 0.8)
    masks |= d < thick + 0.06
    return alb


def _draw_mouth(alb: np.ndarray, masks: np.ndarray, rd: dict, f: _Face, a: _Actions) -> np.ndarray:
    """Lip line v = my - curve * t^2; the opening is a lens, or a rectangle when the lips
    are stretched (fear); a raised upper lip (disgust) lifts it squarely. Teeth on the
    faces that show them. The mouth's mask is added to ``masks``."""
    v, mouth_w, stretch = f.v, a.mouth_w, a.stretch
    t = f.uf / mouth_w
    inside_w = _sigmoid_edge(np.abs(t) - 1, 0.06)
    lip_line = rd["my"] - a.curve * t ** 2
    t2 = t * t
    bulge, square = np.clip(1 - t2, 0, 1), np.clip(1 - t2 * t2, 0, 1)
    profile = (1 - stretch) * bulge + stretch * square
    upper = lip_line - 0.4 * a.mouth_open * profile - 0.14 * a.lip_up * square
    lower = lip_line + 0.6 * a.mouth_open * profile
    lipt = rd["lipt"]
    lips = np.maximum(_edge(upper - lipt - v) * _edge(v - upper),
                      _edge(lower - v) * _edge(v - lower - 1.3 * lipt))
    alb = _paint(alb, 0.8 * lips * inside_w, rd["skin"] * 0.65)
    alb = _paint(alb, 0.8 * _line(np.abs(v - lip_line), 0.012) * inside_w, 0.1)
    hole = _sigmoid_edge(upper - v, 0.008) * _sigmoid_edge(v - lower, 0.008) * inside_w
    alb = _paint(alb, hole, 0.06)
    has_teeth = rd["has_teeth"]
    i = np.flatnonzero(has_teeth.reshape(-1))  # teeth cover 0 on the other faces: nothing to paint
    if len(i):
        ti, vi, up, lo = t[i], v[i], upper[i], lower[i]
        teeth = hole[i] * has_teeth[i] * _sigmoid_edge(np.abs(ti) - 0.85, 0.05)
        part = _paint(alb[i], teeth * _edge(vi - (up + 0.45 * (lo - up) + 0.02)), 0.85)
        alb[i] = _paint(part, teeth * _edge(lo - 0.03 - vi) * (stretch[i] > 0.5), 0.8)  # lower teeth
    masks |= (np.abs(t) < 1 + 0.06 / mouth_w) & (v > upper - lipt - 0.05) & (v < lower + 1.3 * lipt + 0.05)
    return alb


def _set_in_scene(face: np.ndarray, rd: dict, f: _Face, nui: dict) -> np.ndarray:
    """The shaded face (B, 48, 48) set into its background, neck and hair (and a hand)."""
    u, v, fa, fb, bg = f.u, f.v, rd["fa"], rd["fb"], rd["bg"]
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
    img = _paint(_paint(bg, neck, 0.75 * rd["skin"]), f.face_in, face)
    img = _paint(img, hair_in, rd["hair"])
    if "hand" in rd:
        _draw_hand(img, rd, u, v)
    return img


def _light_and_degrade(img: np.ndarray, rd: dict, nui: dict) -> np.ndarray:
    """A lighting gradient, exposure and contrast, blur and noise; clipped to [0, 1]."""
    phi = rd["phi"]
    img = img * (1 + rd["grad"] * (_GX * np.cos(phi) + _GY * np.sin(phi)) * 0.5)
    if nui["gain"] != (1.0, 1.0) or nui["gamma_sd"] > 0:
        img = np.clip(img, 0, 1) ** np.exp(rd["gamma"]) * rd["gain"]
    a = rd["blur"]
    img = (1 - a) * img + a * _blur3(img)
    img = img + rd["noise_sd"] * rd["noise"]
    return np.clip(img, 0, 1)


def _draw_glasses(alb: np.ndarray, rd: dict, au, v) -> None:
    """Version 5: glasses on the faces whose ``rd["glasses"]`` is set, painted into the
    albedo ``alb`` (B, 48, 48) in place: a frame round each eye, a bridge, and on some
    faces dark lenses (cover ``rd["lens"]``). ``au``, ``v``: the face coordinates."""
    i = np.flatnonzero(rd["glasses"].reshape(-1))
    if not len(i):
        return
    aui, vi, ex, ey, erx = au[i], v[i], rd["ex"][i], rd["ey"][i], rd["erx"][i]
    rim = _hypot((aui - ex) / (erx + 0.08), (vi - ey - 0.01) / 0.11)  # 1 on the frame
    part = _paint(alb[i], rd["lens"][i] * _sigmoid_edge(rim - 1, 0.05), 0.05)
    frame = np.minimum(np.abs(rim - 1) * 0.15, _segdist(aui, vi, 0.0, ey - 0.03,
                                                        ex - erx - 0.08, ey - 0.02))
    alb[i] = _paint(part, _line(frame, 0.012), 0.08)


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


def _draw_hand(img: np.ndarray, rd: dict, u, v) -> None:
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
    img[i] = _paint(part, 0.5 * _line(fingers, 0.006) * (rh < 0.9), tone * 0.6)


def render_nonfaces(rng: np.random.Generator, n: int) -> np.ndarray:
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
