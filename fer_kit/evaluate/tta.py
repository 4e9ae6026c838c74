"""Flip test-time augmentation's gain on each labeled test split and its reading in words
(notebook 08's conclusion).

Both predictions are made on the same images, so the gain is paired (``paired_gain``)
and called beyond the test set's noise only past two standard errors.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.io import Dataset
from .metrics import accuracy, paired_gain, predict


def tta_gains(model, data: Dataset) -> pd.DataFrame:
    """Flip test-time augmentation's gain on each labeled test split (PublicTest,
    PrivateTest), paired on the same images.

    Returns:
        One row per labeled split (empty when none has labels): images, plain, flip TTA,
        gain and gain SE (``paired_gain``).
    """
    rows = {}
    for name in ("public", "private"):
        split = getattr(data, name)
        if split is None or split.y is None or not len(split):
            continue  # no labels: nothing to score
        plain = predict(model, split.x)
        flip = predict(model, split.x, tta_flip=True)
        gain, se = paired_gain(split.y, plain, flip)
        rows[name] = {"images": len(split), "plain": accuracy(split.y, plain),
                      "flip TTA": accuracy(split.y, flip), "gain": gain, "gain SE": se}
    return pd.DataFrame(rows).T


def tta_reading(table: pd.DataFrame) -> str:
    """One line per split of ``tta_gains``'s table: the accuracy without and with flip TTA,
    the gain with two standard errors, and whether it is beyond this test set's noise
    (more than two standard errors); "" for an empty table. When the splits disagree on
    that, a last line pools them (the image-weighted gain; independent splits, so the
    standard errors add in quadrature) and says which to read."""
    lines, beyond = [], []
    for split, r in table.iterrows():
        resolved = abs(r["gain"]) > 2 * r["gain SE"]
        beyond.append(resolved)
        lines.append(f"{split}: {r['plain']:.4f} -> {r['flip TTA']:.4f}, gain {r['gain']:+.4f} "
                     f"+/- {2 * r['gain SE']:.4f} (2 SE): "
                     + ("beyond the noise of this test set, for this one trained model (another "
                        "training seed may gain more or less)" if resolved
                        else "within the noise of this test set"))
    if len(set(beyond)) > 1:
        n = table["images"].astype(float)
        gain = float((n * table["gain"]).sum() / n.sum())
        se = float(np.sqrt(((n * table["gain SE"]) ** 2).sum()) / n.sum())
        lines.append(f"The splits disagree; together ({int(n.sum())} images) the gain is "
                     f"{gain:+.4f} +/- {2 * se:.4f} (2 SE): " + ("beyond" if abs(gain) > 2 * se
                                                             else "within") + " their noise.")
    return "\n".join(lines)
