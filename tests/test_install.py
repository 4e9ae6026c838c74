"""The kit as a student installs it: the wheel, in a new virtual environment that borrows
nothing from this one, without extras.

This is the only place a missing runtime dependency shows: the development environment
has the dev extras (scikit-image, nbval, pytest, ...), so an import of one of them in a
notebook or a library module passes every other test. Here pip installs the wheel and its
declared dependencies (from the package index or pip's cache, so it takes minutes, not a
download of everything once the cache is warm), and the CLI and all nine notebooks run
from that environment in the smoke profile.

The install modes: the notebooks and stored results are package data, so an installed
kit finds them in a virtual environment, with ``--target DIR``, ``--prefix DIR`` (the
layout of a system install under /usr/local) and ``--user``.

Needs the package index (or pip's cache) and skips offline, as tests/test_resolve.py does.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest

from test_resolve import NETWORK_ERRORS, _index_url, _offline_reason

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PIP_TIMEOUT_S = 1200


def _run(cmd, **kw):
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{res.stdout}\n{res.stderr}"
    return res


def _pip(py, *args, **kw):
    """pip in the interpreter ``py``; skips the test when the package index is unusable."""
    cmd = [py, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"]
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                         timeout=PIP_TIMEOUT_S, **kw)
    if res.returncode != 0 and any(m in res.stdout + res.stderr for m in NETWORK_ERRORS):
        pytest.skip(f"package index not usable: {(res.stdout + res.stderr).strip()[-300:]}")
    assert res.returncode == 0, f"pip {' '.join(map(str, args))} failed:\n{res.stdout}\n{res.stderr}"
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


def _site_packages(py) -> Path:
    return Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The kit's wheel, built from a copy of the checkout as pip builds it (isolated)."""
    reason = _offline_reason(_index_url())
    if reason:
        pytest.skip(f"the fresh-environment install needs the package index: {reason}")
    tmp = tmp_path_factory.mktemp("wheel")
    src = _source_copy(tmp / "src")
    _pip(sys.executable, "wheel", "--no-deps", "-q", "-w", tmp / "dist", src)
    return next((tmp / "dist").glob("fer_kit-*.whl"))


@pytest.fixture(scope="module")
def fresh(wheel, tmp_path_factory):
    """A new virtual environment (no system or borrowed site-packages) with the wheel and
    its declared dependencies only: what ``pip install fer_kit`` gives a student."""
    tmp = tmp_path_factory.mktemp("fresh")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    py = bin_dir / "python"
    # --no-compile: the same packages, without byte-compiling all their modules (about
    # 12,000 files) up front; Python compiles the ones the CLI and the kernels import
    _pip(py, "install", "-q", "--no-compile", wheel)
    return py, bin_dir, tmp


def _plain_env(tmp: Path, **extra) -> dict:
    """This process's environment without what would leak the development one in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND", "PYTHONUSERBASE")}
    return {**env, "FER_KIT_CACHE": str(tmp / "cache"), "FER_KIT_RUNS": str(tmp / "runs"),
            "FER_KIT_FIGURES": str(tmp / "figures"), "FER_KIT_PROFILE": "smoke", **extra}


def test_the_plain_install_has_no_development_packages(fresh):
    py, _, tmp = fresh
    probe = ("import importlib.util as u; print([m for m in ('skimage', 'nbval', 'pytest', "
             "'hypothesis', 'tf_keras_vis', 'jupyterlab') if u.find_spec(m)])")
    assert _run([py, "-c", probe], env=_plain_env(tmp)).stdout.strip() == "[]"


def test_cli_and_all_notebooks_run_from_the_plain_install(fresh):
    py, bin_dir, tmp = fresh
    env = _plain_env(tmp)
    where = _run([py, "-c", "import fer_kit; print(fer_kit.__file__)"], cwd=tmp, env=env).stdout
    assert str(tmp / "venv") in where  # the installed kit, not the checkout
    assert _run([bin_dir / "fer-kit", "--version"], env=env).stdout.startswith("fer_kit ")
    assert "public" in _run([py, "-m", "fer_kit", "info"], cwd=tmp, env=env).stdout
    res = _run([bin_dir / "fer-kit", "notebooks", "--profile", "smoke", "--out", tmp / "build"],
               cwd=tmp, env=env)
    assert "without encryption" not in res.stdout + res.stderr  # kernels talk over IPC
    executed = sorted((tmp / "build" / "notebooks").glob("*.ipynb"))
    assert [p.name for p in executed] == NOTEBOOKS
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        saves = sum(c.source.count("plots.save(") for c in nb.cells if c.cell_type == "code")
        outputs = [o for c in nb.cells for o in c.get("outputs", [])]
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        shown = " ".join(o.get("data", {}).get("text/plain", "") + o.get("text", "")
                         for o in outputs)
        assert "PosixPath(" not in shown and "IProgress not found" not in shown, path.name
        if saves:
            assert images, f"{path.name}: plots but shows no figure inline"
            html = (tmp / "build" / "html" / f"{path.stem}.html").read_text()
            assert html.count("<img") >= len(images), path.name
    summary = json.loads((tmp / "build" / "summary.json").read_text())
    assert summary["profile"] == "smoke" and summary["dataset"] == "SynthFER"
    assert {"cnn_public", "seconds 01_train_cnn", "total_seconds"} <= set(summary)
    assert (tmp / "figures" / "01_history.png").is_file()
    # the optional real-photograph section says what it needs and skips
    nb05 = nbformat.read(tmp / "build" / "notebooks" / "05_saliency.ipynb", as_version=4)
    text = " ".join(o.get("text", "") for c in nb05.cells for o in c.get("outputs", []))
    assert "skipped (optional section)" in text and "fer_kit[photos]" in text


def _copies_notebooks(py, env, where: Path, cwd: Path, again: bool = False) -> None:
    """fer_kit comes from ``where``; ``fer-kit notebooks --copy`` finds and copies all nine;
    with ``again``, a second copy keeps a student's edited notebook (that logic is the same
    whatever the layout, so one mode checks it: each CLI call takes seconds under load)."""
    found = _run([py, "-c", "import fer_kit; print(fer_kit.__file__)"], env=env, cwd=cwd).stdout
    assert str(where) in found, found
    mine = cwd / "mine"
    out = _run([py, "-m", "fer_kit", "notebooks", "--copy", mine], env=env, cwd=cwd).stdout
    assert sorted(p.name for p in mine.glob("*.ipynb")) == NOTEBOOKS
    assert f"copied {len(NOTEBOOKS)} notebooks" in out
    if again:
        (mine / NOTEBOOKS[0]).write_text("edited")  # a student's work is never overwritten
        out = _run([py, "-m", "fer_kit", "notebooks", "--copy", mine], env=env, cwd=cwd).stdout
        assert "copied 0 notebooks" in out and (mine / NOTEBOOKS[0]).read_text() == "edited"
    results = _run([py, "-c", "import fer_kit.resources as r; "
                    "print(len(r.result_files('ablation_full_*.csv')))"], env=env, cwd=cwd)
    assert int(results.stdout) >= 1  # notebook 03's full-budget table travels too


def test_the_virtual_environment_install_carries_the_notebooks(fresh):
    py, _, tmp = fresh
    (tmp / "venv-mode").mkdir()
    _copies_notebooks(py, _plain_env(tmp), tmp / "venv", tmp / "venv-mode", again=True)


@pytest.mark.parametrize("mode", ["target", "prefix", "user"])
def test_other_install_modes_carry_the_notebooks(mode, wheel, fresh):
    """Each mode's layout, as pip made it, read by the fresh environment's interpreter
    (its packages give the dependencies) with that layout's package folder first on the
    path. --user is made by the interpreter behind the fresh environment (pip refuses
    --user inside a virtual environment)."""
    py, _, tmp = fresh
    base = tmp / mode
    base.mkdir()
    env = _plain_env(tmp)
    if mode == "target":
        _pip(py, "install", "-q", "--no-deps", "--target", base / "lib", wheel)
        packages = base / "lib"
    elif mode == "prefix":  # the layout of a system install (prefix /usr/local)
        _pip(py, "install", "-q", "--no-deps", "--ignore-installed", "--prefix", base / "prefix",
             wheel)  # without --ignore-installed pip sees the venv's copy and does nothing
        site = _site_packages(py)
        packages = base / "prefix" / site.relative_to(site.parents[2])  # lib/pythonX.Y/site-packages
    else:
        maker = Path(getattr(sys, "_base_executable", sys.executable))
        user_env = {**env, "PYTHONUSERBASE": str(base / "userbase")}
        _pip(maker, "install", "-q", "--user", "--no-deps", wheel, env=user_env)
        packages = Path(_run([maker, "-c", "import site; print(site.getusersitepackages())"],
                             env=user_env).stdout.strip())
    assert (packages / "fer_kit").is_dir(), f"{mode}: no fer_kit in {packages}"
    _copies_notebooks(py, {**env, "PYTHONPATH": str(packages)}, packages, base)
