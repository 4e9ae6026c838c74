"""make.py's decision to leave out the first backend's nbval pass: only when the plain-install
test ran all nine notebooks and passed (pytest's own JUnit report is the reference)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import make  # noqa: E402


@pytest.mark.parametrize("body, passed", [
    ("pass", True),
    ("pytest.skip('offline')", False),
    ("assert False", False),
])
def test_nbval_is_left_out_only_after_the_notebook_test_passed(tmp_path, body, passed):
    test = tmp_path / "test_x.py"
    test.write_text(f"import pytest\n\ndef test_cli_and_all_notebooks_run_from_the_plain_install():\n"
                    f"    {body}\n\ndef test_other():\n    pass\n")
    junit = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test),
                    "--junitxml", str(junit)], cwd=tmp_path, capture_output=True)
    assert make._passed(junit, "test_cli_and_all_notebooks_run_from_the_plain_install") is passed
    assert make._passed(junit, "test_other")
    assert not make._passed(tmp_path / "missing.xml", "test_other")


def test_further_backends_run_the_notebooks_with_backend_code_of_their_own(monkeypatch):
    monkeypatch.delenv("FER_KIT_TEST_NOTEBOOKS", raising=False)
    assert make.notebooks(repeat=False) == ["notebooks"]
    chosen = make.notebooks(repeat=True)
    assert chosen and all((ROOT / p).is_file() for p in chosen), chosen  # a renamed notebook fails here
    for path in chosen:  # each takes gradients itself: its cells call fk.vis or fk.theory
        text = (ROOT / path).read_text(encoding="utf-8")
        assert "fk.vis." in text or "fk.theory." in text, path
    monkeypatch.setenv("FER_KIT_TEST_NOTEBOOKS", "all")
    assert make.notebooks(repeat=True) == ["notebooks"]
