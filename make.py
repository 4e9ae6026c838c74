"""The README's two commands without ``make`` (Windows, or any machine without it).

    python make.py demo     creates .venv, installs fer_kit, runs the main job on SynthFER
    python make.py test     creates .venv, installs fer_kit[dev], runs the whole test suite
    python make.py lab      adds JupyterLab to .venv and opens the notebooks in it

The Makefile calls this script, so both ways do the same thing. ``.venv`` keeps the
interpreter it was made with: delete it to switch Python versions. Only the standard
library is used here; everything else is installed into ``.venv``.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
#: an install is redone when one of these is newer than its stamp
INSTALL_INPUTS = [ROOT / "pyproject.toml", ROOT / "setup.py"]
SMOKE = {"FER_KIT_PROFILE": "smoke", "MPLBACKEND": "Agg"}
NBVAL = ROOT / "build" / "nbval"


def run(cmd: list, **env: str) -> None:
    """Run a command with extra environment variables; stop (with its exit status) on failure."""
    print("+", " ".join(f"{k}={v}" for k, v in env.items()), " ".join(map(str, cmd)), flush=True)
    done = subprocess.run([str(c) for c in cmd], cwd=ROOT, env={**os.environ, **env})
    if done.returncode:
        sys.exit(done.returncode)


def install(extra: str = "") -> None:
    """``.venv`` with fer_kit installed editable (``extra``: "dev" for the test tools)."""
    if not PY.exists():
        print(f"+ creating {VENV.name} with {sys.executable}", flush=True)
        venv.create(VENV, with_pip=True)
        run([PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    stamp = VENV / (f".installed-{extra}" if extra else ".installed")
    newest = max(p.stat().st_mtime for p in INSTALL_INPUTS if p.exists())
    if stamp.exists() and stamp.stat().st_mtime >= newest:
        return
    run([PY, "-m", "pip", "install", "--quiet", "-e", f".[{extra}]" if extra else "."])
    stamp.touch()
    (VENV / ".installed").touch()  # any install holds the plain one


def backends() -> list[str]:
    """Keras backends the test suite runs on: TensorFlow and JAX, and PyTorch where torch
    is installed in .venv (``make test`` never installs it: pip would fetch a CUDA build)."""
    probe = ("import importlib.util as u; "
             "print(' '.join(m for m in ('tensorflow', 'jax', 'torch') if u.find_spec(m)))")
    have = subprocess.run([str(PY), "-c", probe], capture_output=True, text=True).stdout.split()
    return [b for b in ("tensorflow", "jax", "torch") if b in have]


def demo(args) -> None:
    install()
    run([PY, "-m", "fer_kit", "demo", "--out", "build"])


def _passed(junit: Path, name: str) -> bool:
    """Whether the test ``name`` ran and passed in a pytest JUnit XML report."""
    import xml.etree.ElementTree as ET
    try:
        cases = ET.parse(junit).getroot().iter("testcase")
    except (OSError, ET.ParseError):
        return False
    return any(c.get("name") == name and not len(c) for c in cases)  # no failure/skip child


#: notebooks whose cells call backend code of their own (per-backend gradients: saliency and
#: Grad-CAM in 05, autodiff against the derivations in 07); the others reach the backend only
#: through fit/predict, which the unit tier covers on every backend
REPEAT_NOTEBOOKS = ("05_saliency.ipynb", "07_theory.ipynb")


def notebooks(repeat: bool) -> list[str]:
    """What nbval runs: all notebooks on the first backend, REPEAT_NOTEBOOKS on the others."""
    if not repeat or os.environ.get("FER_KIT_TEST_NOTEBOOKS") == "all":
        return ["notebooks"]
    return [f"notebooks/{name}" for name in REPEAT_NOTEBOOKS]


def test(args) -> None:
    """Both test tiers and every notebook under nbval (smoke profile) on the first backend
    (TensorFlow); on each further backend (JAX, PyTorch where installed) the unit tier and
    the notebooks whose cells run backend code of their own (REPEAT_NOTEBOOKS: gradients of
    05 and 07). tests/conftest.py says which tests run once. On the first backend
    tests/test_install.py already ran all nine notebooks, from a plain install in a fresh
    environment, so nbval runs them there only when that test could not (offline).
    FER_KIT_TEST_NOTEBOOKS=all runs all nine on every backend (about 20 more minutes per
    backend on a loaded 2-core machine). JAX keeps its compiled programs in build/jax-cache."""
    install("dev")
    jax_cache = {"JAX_COMPILATION_CACHE_DIR": str(ROOT / "build" / "jax-cache"),
                 "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    junit = ROOT / "build" / "junit-first-pass.xml"
    for i, backend in enumerate(backends()):
        env = {**SMOKE, "KERAS_BACKEND": backend, **(jax_cache if backend == "jax" else {}),
               **({"FER_KIT_TEST_PASS": "repeat"} if i else {})}
        run([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
             *(["-m", "not integration"] if i else ["--junitxml", junit])], **env)
        if i == 0 and _passed(junit, "test_cli_and_all_notebooks_run_from_the_plain_install"):
            print(f"+ nbval on {backend} skipped: the plain-install test ran all nine notebooks "
                  "on it", flush=True)
            continue
        shutil.rmtree(NBVAL, ignore_errors=True)
        run([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
             "--sanitize-with", ".nbval-sanitize.cfg", *notebooks(repeat=bool(i))],
            FER_KIT_RUNS=str(NBVAL / "runs"), FER_KIT_FIGURES=str(NBVAL / "figures"), **env)


def lab(args) -> None:
    install("lab")
    run([PY, "-m", "jupyter", "lab", "notebooks"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["demo", "test", "lab", "install", "install-dev"])
    args = p.parse_args()
    {"demo": demo, "test": test, "lab": lab, "install": lambda a: install(),
     "install-dev": lambda a: install("dev")}[args.command](args)


if __name__ == "__main__":
    main()
