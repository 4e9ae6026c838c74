"""Featurewise and samplewise normalization (and a rescale) with scikit-learn's contract.

Seed 003 treats every pixel as a feature: *featurewise* standardises each pixel
position over the training set; *samplewise* standardises each image to mean 0
and std 1, and turns an all-zero image into zeros (never NaN).

Like ``sklearn.preprocessing.StandardScaler``: ``__init__`` only stores
arguments, ``fit`` learns from training data and returns self, learned state
ends in ``_``, and using an unfitted normalizer raises ``NotFittedError``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from . import atomic


def _checked(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (N, H, W, C), got shape {x.shape}")
    return x


def _as_float(x: np.ndarray) -> np.ndarray:
    return _checked(x).astype(np.float32)


class _Stored:
    """``save``/``load`` as an .npz of ``_state()`` (atomically, no pickle)."""

    def save(self, path: str | Path) -> Path:
        """Write the normalizer's settings and statistics to an .npz file."""
        return _save(self, path)

    @classmethod
    def load(cls, path: str | Path):
        """Read a file written by ``save`` (of this kind; ``load_normalizer`` takes any)."""
        return _load(path, cls)


class FeaturewiseNormalizer(_Stored, TransformerMixin, BaseEstimator):
    """Standardise every pixel position (or channel) with training-set statistics.

    Args:
        per: ``"pixel"`` (seed 003: mean and std per pixel position, shape (H, W, C))
            or ``"channel"`` (Keras ImageDataGenerator's featurewise_center /
            featurewise_std_normalization: one mean and std per channel).
        eps: added to the std before dividing (ImageDataGenerator uses 1e-6).

    Attributes:
        mean_, std_: learned statistics, shaped to broadcast against (N, H, W, C).
    """

    def __init__(self, per: str = "pixel", eps: float = 1e-6):
        self.per = per
        self.eps = eps

    def _axes(self) -> tuple[int, ...]:
        if self.per == "pixel":
            return (0,)
        if self.per == "channel":
            return (0, 1, 2)
        raise ValueError(f"per must be 'pixel' or 'channel', got {self.per!r}")

    def fit(self, x: np.ndarray, y=None) -> "FeaturewiseNormalizer":
        """Learn mean_ and std_ from training images (N, H, W, C). Returns self."""
        x = _as_float(x)
        if len(x) == 0:
            raise ValueError("cannot fit a FeaturewiseNormalizer on 0 images")
        axes = self._axes()
        self.mean_ = x.mean(axis=axes, keepdims=True)[0].astype(np.float32)
        self.std_ = x.std(axis=axes, keepdims=True)[0].astype(np.float32)
        self.n_samples_seen_ = len(x)
        return self

    def _check(self) -> None:
        if not hasattr(self, "mean_"):
            raise NotFittedError("This FeaturewiseNormalizer is not fitted yet: call "
                                 "fit(x_train) first (fit on training data only).")

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Return (x - mean_) / (std_ + eps) as float32."""
        self._check()
        x = _as_float(x)
        if x.shape[1:] != self.mean_.shape and self.per == "pixel":
            raise ValueError(f"fitted on images of shape {self.mean_.shape}, got {x.shape[1:]}")
        return (x - self.mean_) / (self.std_ + self.eps)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Undo ``transform``."""
        self._check()
        return np.asarray(x, np.float32) * (self.std_ + self.eps) + self.mean_

    kind = "featurewise"

    def _state(self) -> dict:
        self._check()
        return {"per": self.per, "eps": self.eps, "mean": self.mean_, "std": self.std_,
                "n": self.n_samples_seen_}

    @classmethod
    def _from_state(cls, state) -> "FeaturewiseNormalizer":
        norm = cls(per=str(state["per"]), eps=float(state["eps"]))
        norm.mean_, norm.std_ = state["mean"], state["std"]
        norm.n_samples_seen_ = int(state["n"])
        return norm

    def to_layer(self):
        """An equivalent ``keras.layers.Normalization`` layer (for a model that takes raw pixels)."""
        self._check()
        import keras  # slow (TensorFlow starts): only a model layer needs it
        axis = (1, 2, 3) if self.per == "pixel" else -1
        mean = self.mean_ if self.per == "pixel" else self.mean_.reshape(-1)
        std = self.std_ if self.per == "pixel" else self.std_.reshape(-1)
        return keras.layers.Normalization(axis=axis, mean=mean, variance=(std + self.eps) ** 2,
                                          name="featurewise", dtype="float32")


class SamplewiseNormalizer(_Stored, TransformerMixin, BaseEstimator):
    """Standardise each image to mean 0, std 1 (stateless; blank images become zeros).

    Args:
        eps: an image whose std is below ``eps`` is only centred (so all-zero -> zeros).
    """

    def __init__(self, eps: float = 1e-6):
        self.eps = eps

    def fit(self, x: np.ndarray, y=None) -> "SamplewiseNormalizer":
        """Nothing to learn; checks the input and returns self."""
        _checked(x)
        self.n_samples_seen_ = len(x)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Return (x - mean(x)) / max(std(x), eps), per image, as float32."""
        x = _as_float(x)
        mean = x.mean(axis=(1, 2, 3), keepdims=True)
        std = x.std(axis=(1, 2, 3), keepdims=True)
        return (x - mean) / np.maximum(std, self.eps)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Samplewise normalization discards each image's mean and std: it cannot be undone."""
        raise NotImplementedError("samplewise normalization forgets each image's mean and std")

    kind = "samplewise"

    def _state(self) -> dict:
        return {"eps": self.eps}

    @classmethod
    def _from_state(cls, state) -> "SamplewiseNormalizer":
        return cls(eps=float(state["eps"]))

    def to_layer(self):
        """An equivalent built-in Keras layer: ``LayerNormalization`` over (H, W, C) with no
        learned scale or offset, (x - mean) / sqrt(var + eps^2). It equals ``transform``
        wherever std >> eps, and maps a blank image to zeros. Built in, so a saved model
        loads without fer_kit."""
        import keras  # slow (TensorFlow starts): only a model layer needs it
        return keras.layers.LayerNormalization(axis=[-3, -2, -1], epsilon=self.eps ** 2,
                                               center=False, scale=False, name="samplewise",
                                               dtype="float32")


class Rescale(_Stored, TransformerMixin, BaseEstimator):
    """Multiply pixels by a constant: ImageDataGenerator's ``rescale`` (1/255 -> [0, 1]).

    Stateless. Applied before any standardization, as ImageDataGenerator does; the
    seeds' "no normalization" baseline is raw pixels, rescaled or not.

    Args:
        scale: the factor (default 1/255).
    """

    def __init__(self, scale: float = 1 / 255):
        self.scale = scale

    def fit(self, x: np.ndarray, y=None) -> "Rescale":
        """Nothing to learn; checks the input and returns self."""
        _checked(x)
        self.n_samples_seen_ = len(x)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Return x * scale as float32."""
        return _as_float(x) * np.float32(self.scale)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Undo ``transform``."""
        return np.asarray(x, np.float32) / np.float32(self.scale)

    kind = "rescale"

    def _state(self) -> dict:
        return {"scale": self.scale}

    @classmethod
    def _from_state(cls, state) -> "Rescale":
        return cls(scale=float(state["scale"]))

    def to_layer(self):
        """The equivalent ``keras.layers.Rescaling``."""
        import keras  # slow (TensorFlow starts): only a model layer needs it
        return keras.layers.Rescaling(self.scale, name="rescale", dtype="float32")


class Chain(_Stored, TransformerMixin, BaseEstimator):
    """Several normalizers in order, e.g. samplewise then featurewise (ImageDataGenerator's order).

    Args:
        steps: the normalizers, applied first to last.
    """

    def __init__(self, steps: list):
        self.steps = steps

    def fit(self, x: np.ndarray, y=None) -> "Chain":
        for step in self.steps:
            x = step.fit(x).transform(x)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = _as_float(x)
        for step in self.steps:
            x = step.transform(x)
        return x

    kind = "chain"

    def _state(self) -> dict:
        state = {"n": len(self.steps)}
        for i, step in enumerate(self.steps):  # each step's state, prefixed "s<i>_"
            state[f"s{i}_kind"] = step.kind
            state.update({f"s{i}_{k}": v for k, v in step._state().items()})
        return state

    @classmethod
    def _from_state(cls, state) -> "Chain":
        steps = []
        for i in range(int(state["n"])):
            step_cls = _KINDS[str(state[f"s{i}_kind"])]
            prefix = f"s{i}_"
            steps.append(step_cls._from_state({k[len(prefix):]: state[k] for k in state
                                               if k.startswith(prefix)}))
        return cls(steps)

    def to_layer(self):
        import keras  # slow (TensorFlow starts): only a model layer needs it
        return keras.Sequential([s.to_layer() for s in self.steps], name="normalize")


def make_normalizer(name: str | None, rescale: float | None = None):
    """Normalizer by name: None/'none', 'featurewise', 'samplewise', 'samplewise+featurewise',
    after an optional ``rescale`` factor (ImageDataGenerator's order). None: nothing to do."""
    parts = {"featurewise": FeaturewiseNormalizer, "samplewise": SamplewiseNormalizer}
    names = [] if name in (None, "none", "") else name.split("+")
    bad = [n for n in names if n not in parts]
    if bad:
        raise ValueError(f"unknown normalization {bad[0]!r}; expected none, featurewise, "
                         "samplewise or samplewise+featurewise")
    steps = ([Rescale(rescale)] if rescale not in (None, 1) else []) + [parts[n]() for n in names]
    if not steps:
        return None
    return steps[0] if len(steps) == 1 else Chain(steps)


def preprocessing_layers(normalizer) -> list:
    """A fitted normalizer (or None) as the Keras layers a model puts in front: rescale,
    then any standardization, each a built-in layer computing in float32."""
    if normalizer is None:
        return []
    steps = normalizer.steps if isinstance(normalizer, Chain) else [normalizer]
    return [step.to_layer() for step in steps]


def value_range(normalizer, raw: tuple[float, float] = (0.0, 255.0)):
    """The (lo, hi) range of model inputs after ``normalizer`` (None or a Rescale: the raw
    pixel range, scaled); None after a standardization, whose outputs have no fixed range.
    ``fk.vis.maximize(value_range=...)`` takes it."""
    if normalizer is None:
        return raw
    if isinstance(normalizer, Rescale):
        return (raw[0] * normalizer.scale, raw[1] * normalizer.scale)
    return None



_KINDS = {c.kind: c for c in (FeaturewiseNormalizer, SamplewiseNormalizer, Rescale, Chain)}


def _save(norm, path: str | Path) -> Path:
    with atomic.atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, kind=norm.kind, **norm._state())
    return Path(path)


def _load(path: str | Path, expected=None):
    with np.load(path, allow_pickle=False) as z:
        state = {k: z[k] for k in z.files}
    kind = str(state.pop("kind"))
    if expected is not None and kind != expected.kind:
        raise ValueError(f"{path}: not a {expected.__name__} file (kind={kind})")
    if kind not in _KINDS:
        raise ValueError(f"{path}: unknown normalizer kind {kind!r}")
    return _KINDS[kind]._from_state(state)


def load_normalizer(path: str | Path):
    """Load any normalizer written by ``save`` (rescale, featurewise, samplewise or a chain)."""
    return _load(path)
