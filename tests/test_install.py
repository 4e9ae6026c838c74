"""A plain (non-editable) install works as a student gets it: the notebooks travel with
the wheel, ``fer-kit notebooks --copy`` gives editable copies, and the smoke notebooks
run from the installed kit with every figure inline in the notebook and its HTML."""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd, **kw):
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{res.stdout}\n{res.stderr}"
    return res


def _source_copy(dst: Path) -> Path:
    """The checkout's files (tracked and new, not ignored): no .venv, build/ or caches."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                 cwd=ROOT).stdout.splitlines()
    for name in names:
        if (ROOT / name).is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dst / name)
    return dst


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtual environment with the kit's wheel (its dependencies are borrowed
    from this environment through a .pth file, so nothing is downloaded)."""
    tmp = tmp_path_factory.mktemp("install")
    src = _source_copy(tmp / "src")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", tmp / "wheel", src])
    wheel = next((tmp / "wheel").glob("fer_kit-*.whl"))
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    py = bin_dir / "python"
    purelib = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                   .stdout.strip())
    # site-packages of this environment, as a plain path: its .pth files (the editable
    # install of fer_kit among them) are not processed there, so fer_kit comes from the wheel
    (purelib / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    # the new environment's own interpreter installs it, so scripts point at that interpreter
    _run([py, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel])
    return py, bin_dir, tmp


def test_the_wheel_carries_the_notebooks_and_copies_them(installed):
    py, bin_dir, tmp = installed
    where = _run([py, "-c", "import fer_kit; print(fer_kit.__file__)"], cwd=tmp).stdout
    assert str(tmp / "venv") in where  # the installed kit, not the checkout
    out = _run([bin_dir / "fer-kit", "notebooks", "--copy", tmp / "mine"], cwd=tmp).stdout
    names = sorted(p.name for p in (tmp / "mine").glob("*.ipynb"))
    assert names == sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert f"copied {len(names)} notebooks" in out
    (tmp / "mine" / names[0]).write_text("edited")  # a student's work is never overwritten
    out = _run([bin_dir / "fer-kit", "notebooks", "--copy", tmp / "mine"], cwd=tmp).stdout
    assert "copied 0 notebooks" in out and (tmp / "mine" / names[0]).read_text() == "edited"


def test_smoke_notebooks_run_from_the_installed_kit_with_figures_inline(installed):
    py, bin_dir, tmp = installed
    env = {**os.environ, "FER_KIT_CACHE": str(tmp / "cache"), "FER_KIT_RUNS": str(tmp / "runs"),
           "FER_KIT_FIGURES": str(tmp / "figures"), "FER_KIT_PROFILE": "smoke",
           # the borrowed packages' data files (nbconvert's HTML templates) live under this
           # environment's prefix, which a new environment does not search by itself
           "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
    env.pop("MPLBACKEND", None)
    res = _run([bin_dir / "fer-kit", "notebooks", "--profile", "smoke", "--out", tmp / "build"],
               cwd=tmp, env=env)
    assert "without encryption" not in res.stdout + res.stderr  # kernels talk over IPC
    executed = sorted((tmp / "build" / "notebooks").glob("*.ipynb"))
    assert len(executed) == 9
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        saves = sum(c.source.count("plots.save(") for c in nb.cells if c.cell_type == "code")
        images = [o for c in nb.cells for o in c.get("outputs", [])
                  if "image/png" in o.get("data", {})]
        shown = " ".join(o.get("data", {}).get("text/plain", "")
                         for c in nb.cells for o in c.get("outputs", []))
        assert "PosixPath(" not in shown, path.name
        if saves:
            assert images, f"{path.name}: plots but shows no figure inline"
            html = (tmp / "build" / "html" / f"{path.stem}.html").read_text()
            assert html.count("<img") >= len(images), path.name
    summary = json.loads((tmp / "build" / "summary.json").read_text())
    assert summary["profile"] == "smoke" and summary["dataset"] == "SynthFER"
    assert {"cnn_public", "seconds 01_train_cnn", "total_seconds"} <= set(summary)
    assert (tmp / "figures" / "01_history.png").is_file()
