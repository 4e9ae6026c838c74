"""What a layer sees and what it is made of: feature maps, how closely they draw the face
(the P5 reading), and convolution kernels."""
from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from scipy import ndimage

from .base import as_base


def feature_maps(model, layer, image) -> np.ndarray:
    """A layer's outputs for one model-ready image (H, W, C) -> (h, w, filters)."""
    x = np.asarray(image, np.float32)
    return as_base(model).predict(x[None], layer)[0]


def kernels(model, layer) -> np.ndarray:
    """A conv layer's kernel (kh, kw, in_channels, filters), as NumPy."""
    lay = as_base(model).layer(layer)
    kernel = getattr(lay, "kernel", None)
    if kernel is None or len(kernel.shape) != 4:
        raise ValueError(f"layer {lay.name!r} ({type(lay).__name__}) has no 2-D convolution "
                         "kernel")
    return np.asarray(keras.ops.convert_to_numpy(kernel))


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson's r between a[i] and b[i] for each i, over all their other axes."""
    a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(1, keepdims=True)
    b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(1, keepdims=True)
    den = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    return np.divide((a * b).sum(1), den, out=np.zeros(len(a)), where=den > 0)


def face_following(model, layer, images) -> pd.DataFrame:
    """How closely a layer's feature maps draw each face: its brightness, and its edges.

    A map's energy is the mean |response| over the layer's filters at each position
    (h, w). It is correlated with the face's pixels and with its edge strength (Sobel
    gradient magnitude), both resized to the map's size (bilinear), one face at a time,
    so the spread over faces gives the reading its noise.

    Args:
        model: a Keras model (or ``Explainer``) that takes ``images``.
        layer: the layer whose outputs are read (name or index).
        images: model-ready faces (N, H, W, 1).

    Returns:
        One row per face: ``r_image`` and ``r_edges``; ``attrs`` holds the map's size.
    """
    x = np.asarray(images, np.float32)
    fmap = as_base(model).predict(x, layer)  # (N, h, w, filters)
    energy = np.abs(fmap).mean(-1)  # (N, h, w)
    img = x[..., 0]
    # one face at a time: on a stack, sobel would also smooth across neighbouring faces
    edges = np.stack([np.hypot(ndimage.sobel(f, 0), ndimage.sobel(f, 1)) for f in img])
    scale = (energy.shape[1] / img.shape[1], energy.shape[2] / img.shape[2])
    small = lambda a: a if scale == (1, 1) else np.stack(  # noqa: E731
        [ndimage.zoom(f, scale, order=1) for f in a])
    table = pd.DataFrame({"r_image": _corr(energy, small(img)),
                          "r_edges": _corr(energy, small(edges))})
    table.attrs.update(layer=as_base(model).layer(layer).name, size=energy.shape[1:],
                       filters=fmap.shape[-1])
    return table


def face_following_reading(model, layers, images) -> tuple[pd.DataFrame, str]:
    """Notebook 06's P5 reading: do two layers' maps draw the face, and which more closely?

    Each layer's mean r (``face_following``) over the faces with two standard errors,
    and the change from the first layer to the second paired face by face, called
    resolved only beyond two standard errors. Report 003 (FER2013) saw layer 1's outputs
    show the face's shape and expression and layer 2's only a vague outline.

    Args:
        layers: two layers, the earlier first.
        images: model-ready faces (N, H, W, 1); N >= 2.

    Returns:
        (a table with one row per layer, the text).
    """
    if len(layers) != 2 or len(images) < 2:
        raise ValueError(f"face_following_reading: expected 2 layers and at least 2 faces, "
                         f"got {len(layers)} layers and {len(images)} faces")
    per = [face_following(model, layer, images) for layer in layers]
    se = lambda v: float(np.std(v, ddof=1) / np.sqrt(len(v)))  # noqa: E731
    rows = {}
    for t in per:
        rows[t.attrs["layer"]] = {"size": "x".join(map(str, t.attrs["size"])),
                                  "filters": t.attrs["filters"]}
        for key in ("r_image", "r_edges"):
            rows[t.attrs["layer"]].update({key: float(t[key].mean()), f"{key}_se": se(t[key])})
    table = pd.DataFrame(rows).T.astype({"filters": int, "r_image": float, "r_image_se": float,
                                         "r_edges": float, "r_edges_se": float})
    a, b = table.index
    lines = [f"Over {len(images)} faces (mean r +/- 2 standard errors):"]
    for name in (a, b):
        r = table.loc[name]
        lines.append(f"  {name} ({r['size']}): follows the face's brightness with r = "
                     f"{r['r_image']:.2f} +/- {2 * r['r_image_se']:.2f}, its edges with r = "
                     f"{r['r_edges']:.2f} +/- {2 * r['r_edges_se']:.2f}")
    moved = {}
    for key, what, it in (("r_image", "brightness", "it"), ("r_edges", "edges", "them")):
        d = per[1][key].to_numpy() - per[0][key].to_numpy()
        gap, err = float(d.mean()), 2 * se(d)
        moved[key] = np.sign(gap) if abs(gap) > err else 0
        verdict = (f"resolved: {b} follows {it} " + ("more" if gap > 0 else "less")
                   + " closely") if moved[key] else "within the noise"
        lines.append(f"From {a} to {b}, r with the face's {what} changes by {gap:+.2f} "
                     f"+/- {err:.2f}: {verdict}.")
    ra, rb = table.loc[a], table.loc[b]
    if (moved["r_image"] < 0 < moved["r_edges"] and ra["r_image"] > ra["r_edges"]
            and rb["r_edges"] > rb["r_image"]):  # the first draws light, the second edges
        lines.append(f"So {a}'s maps mostly copy the face's light and dark regions, and "
                     f"{b}'s follow its edges instead (outline, brows, eyes, mouth), drawn "
                     "coarser.")
    lines.append("Report 003 (FER2013, both its layers before any pooling) saw layer 1's "
                 "outputs show the face's shape and expression and layer 2's only a vague "
                 "outline.")
    return table, "\n".join(lines)
