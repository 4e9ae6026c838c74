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
import threading
import time
import venv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
#: an install is redone when one of these is newer than its stamp
INSTALL_INPUTS = [ROOT / "pyproject.toml", ROOT / "setup.py"]
SMOKE = {"FER_KIT_PROFILE": "smoke", "MPLBACKEND": "Agg"}
NBVAL = ROOT / "build" / "nbval"
PRINT = threading.Lock()


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
#: test files that build a fresh environment or resolve dependencies: mostly pip and
#: subprocesses, so they run in a lane of their own beside the rest of the first pass
ENVIRONMENT_TESTS = ("tests/test_install.py", "tests/test_resolve.py")
PLAIN_INSTALL_TEST = "test_cli_and_all_notebooks_run_from_the_plain_install"


def notebooks(repeat: bool) -> list[str]:
    """What nbval runs: all notebooks on the first backend, REPEAT_NOTEBOOKS on the others."""
    if not repeat or os.environ.get("FER_KIT_TEST_NOTEBOOKS") == "all":
        return ["notebooks"]
    return [f"notebooks/{name}" for name in REPEAT_NOTEBOOKS]


@dataclass
class Job:
    """One pytest command of ``make test``, with its environment and its log file."""
    name: str
    args: list
    env: dict

    def log(self) -> Path:
        return ROOT / "build" / "test-logs" / f"{self.name}.log"

    def junit(self) -> Path:
        return ROOT / "build" / "test-logs" / f"{self.name}.xml"

    def command(self) -> list:
        # each job its own temporary folder: two pytest sessions at once must not share one
        return [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", self.junit(),
                "--basetemp", ROOT / "build" / "pytest" / self.name, *self.args]


def _env(backend: str, repeat: bool) -> dict:
    jax_cache = {"JAX_COMPILATION_CACHE_DIR": str(ROOT / "build" / "jax-cache"),
                 "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    return {**SMOKE, "KERAS_BACKEND": backend, **(jax_cache if backend == "jax" else {}),
            **({"FER_KIT_TEST_PASS": "repeat"} if repeat else {})}


def nbval_job(backend: str, repeat: bool) -> Job:
    out = NBVAL / backend
    return Job(f"{backend}-nbval", ["--nbval-lax", "--sanitize-with", ".nbval-sanitize.cfg",
                                    *notebooks(repeat)],
               {**_env(backend, repeat), "FER_KIT_RUNS": str(out / "runs"),
                "FER_KIT_FIGURES": str(out / "figures")})


def plan(names: list[str]) -> list[Job]:
    """``make test``'s jobs, longest first (each lane takes the next job when it is free).

    The first backend runs both tiers, split in two jobs: the environment tests and the
    rest. Each further backend runs the unit tier with FER_KIT_TEST_PASS=repeat
    (tests/conftest.py keeps the files whose code path differs by backend) and nbval on
    REPEAT_NOTEBOOKS."""
    first, later = names[0], names[1:]
    jobs = [Job(f"{first}-tests", ["tests", *(f"--ignore={t}" for t in ENVIRONMENT_TESTS)],
                _env(first, False)),
            Job(f"{first}-environments", list(ENVIRONMENT_TESTS), _env(first, False))]
    for backend in later:
        jobs.append(Job(f"{backend}-unit", ["tests", "-m", "not integration"],
                        _env(backend, True)))
        jobs.append(nbval_job(backend, True))
    return jobs


def _run_logged(job: Job) -> int:
    """Run one job with its output in its log file; print a line (and the log's end, or all
    of it on failure) when it finishes. Returns its exit status."""
    job.log().parent.mkdir(parents=True, exist_ok=True)
    (ROOT / "build" / "pytest").mkdir(exist_ok=True)  # pytest makes --basetemp, not its parent
    print(f"+ [{job.name}] started:", " ".join(f"{k}={v}" for k, v in job.env.items()),
          " ".join(map(str, job.command())), flush=True)
    start = time.monotonic()
    with open(job.log(), "w") as log:
        code = subprocess.call([str(c) for c in job.command()], cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT, env={**os.environ, **job.env})
    lines = job.log().read_text(errors="replace").splitlines()
    with PRINT:  # one job's report at a time
        print(f"+ [{job.name}] {'passed' if code == 0 else f'FAILED (exit {code})'} in "
              f"{time.monotonic() - start:.0f} s; log {job.log().relative_to(ROOT)}", flush=True)
        print("\n".join(lines if code else lines[-12:]), flush=True)
    return code


def run_jobs(jobs: list[Job], lanes: int) -> int:
    """Run ``jobs`` in ``lanes`` at once, in order; every job runs even when one fails.
    Returns the first failing job's exit status, or 0."""
    with ThreadPoolExecutor(max_workers=max(1, lanes)) as pool:
        codes = list(pool.map(_run_logged, jobs))
    return next((c for c in codes if c), 0)


def lanes(n_jobs: int) -> int:
    """How many jobs run at once: FER_KIT_TEST_LANES, else one per core (most tests keep one
    core busy: Python and tiny models; pip and notebook kernels wait on disk and processes)."""
    return int(os.environ.get("FER_KIT_TEST_LANES") or min(os.cpu_count() or 1, n_jobs))


def test(args) -> None:
    """Both test tiers on the first backend (TensorFlow); on each further backend (JAX,
    PyTorch where installed) the unit tier's backend-dependent files (tests/conftest.py)
    and nbval on the notebooks whose cells run backend code of their own (REPEAT_NOTEBOOKS:
    the gradients of 05 and 07). The jobs run side by side, one per core (``lanes``), each
    with its log in build/test-logs/. tests/test_install.py runs all nine notebooks from a
    plain install in a fresh environment on the first backend, so nbval runs them there
    only when that test could not (offline). FER_KIT_TEST_NOTEBOOKS=all runs all nine on
    every backend. JAX keeps its compiled programs in build/jax-cache."""
    install("dev")
    jobs = plan(backends())
    shutil.rmtree(NBVAL, ignore_errors=True)
    code = run_jobs(jobs, lanes(len(jobs)))
    if code:
        sys.exit(code)
    environments = next(j for j in jobs if j.name.endswith("-environments"))
    backend = environments.env["KERAS_BACKEND"]
    if _passed(environments.junit(), PLAIN_INSTALL_TEST):
        print(f"+ nbval on {backend} skipped: the plain-install test ran all nine notebooks "
              "on it", flush=True)
    elif run_jobs([nbval_job(backend, False)], 1):
        sys.exit(1)


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
