"""Installable without TensorFlow (issue 13).

The resolve tests ask pip which distributions ``pip install '.[dev]'`` would pick for
Python 3.14 (no stable TensorFlow wheels: the JAX path) and for Python 3.11 (TensorFlow),
without a 3.14 interpreter: ``pip install --dry-run --ignore-installed --python-version
3.14 --only-binary=:all: --target TMP --report JSON``. They need the package index and
skip when it cannot be reached.

``--python-version`` alone is not enough: it selects wheels and checks Requires-Python
for 3.14, but pip evaluates environment markers (``python_version < '3.14'``) against the
interpreter that runs it (pypa/pip#10050; the report's "environment" says so). So pip runs
here with its marker environment set to the target version as well; the report's
"environment" shows that it took.

The backend tests check fer_kit.backend.selection.select_backend: in-process with
importlib.util.find_spec patched, and in a subprocess against Keras itself.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import types
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fer_kit.backend import selection as _backend

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INDEX = "https://pypi.org/simple"
RESOLVE_TIMEOUT_S = 300
#: distributions that install the top-level ``keras`` module
KERAS_MODULE_DISTS = {"keras", "keras-nightly"}
NETWORK_ERRORS = ("NewConnectionError", "Failed to establish a new connection",
                  "Temporary failure in name resolution", "Name or service not known",
                  "Network is unreachable", "ConnectTimeout", "Read timed out", "ProxyError",
                  "No route to host", "Max retries exceeded")

# pip, with the marker environment of Python TARGET (sys.argv[1]); the rest of argv is
# pip's command line. The report (pip._internal.models.installation_report) reads the
# same function, so its "environment" shows the versions the markers saw.
_PIP_AS = textwrap.dedent("""
    import sys
    target = sys.argv[1]
    import pip._vendor.packaging.markers as markers
    _default = markers.default_environment
    def default_environment():
        env = dict(_default())
        env.update(python_version=target, python_full_version=target + ".0",
                   implementation_version=target + ".0")
        return env
    markers.default_environment = default_environment
    from pip._internal.cli.main import main
    sys.exit(main(sys.argv[2:]))
""")


# ------------------------------------------------------------------ the package index

def _index_url() -> str:
    """The index pip uses: PIP_INDEX_URL, else pip's configuration, else PyPI."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"].split()[0]
    try:
        from pip._internal.configuration import Configuration
        conf = Configuration(isolated=False)
        conf.load()
        for key, value in conf.items():
            if key.endswith(".index-url") and value:
                return str(value).split()[0]
    except Exception:  # noqa: BLE001 - pip internals; PyPI is the fallback
        pass
    return DEFAULT_INDEX


def _offline_reason(url: str, timeout: float = 4.0) -> str | None:
    """Why the index at ``url`` cannot be reached (a TCP connect, via the proxy if any),
    or None when it can."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return None if Path(parts.path).exists() else f"index folder {parts.path} missing"
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and urllib.request.proxy_bypass(parts.hostname or ""):
        proxy = None
    target = urlsplit(proxy) if proxy else parts
    host = target.hostname
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"package index {url} not reachable ({host}:{port}: {exc})"


#: what is resolved, side by side: {key: (Python version, requirement, more pip arguments)}
RESOLVES = {
    "3.14": ("3.14", ".[dev]", []),
    "3.11": ("3.11", ".[dev]", []),
    "plain": ("3.11", ".", []),
    # Colab's own packages pinned (tests/data/colab_constraints.txt, its pip freeze): the
    # kit must install beside them without changing one
    "colab": ("3.13", ".", ["-c", str(ROOT / "tests" / "data" / "colab_constraints.txt")]),
}


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    """{key of RESOLVES: pip's installation report}, resolved side by side (each takes
    some 30 s, mostly waiting on the index)."""
    reason = _offline_reason(_index_url())
    if reason:
        pytest.skip(f"resolve tests need the package index: {reason}")
    tmp = tmp_path_factory.mktemp("resolve")
    procs = {}
    for key, (version, requirement, more) in RESOLVES.items():
        report = tmp / f"report-{key}.json"
        cmd = [sys.executable, "-c", _PIP_AS, version, "install", "--dry-run",
               "--ignore-installed", "--python-version", version, "--only-binary=:all:",
               "--target", str(tmp / f"target-{key}"), "--report", str(report),
               "--disable-pip-version-check", "--no-input", "-q", *more, requirement]
        procs[key] = (subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True), report)
    deadline = time.monotonic() + RESOLVE_TIMEOUT_S
    reports, failures = {}, []
    for version, (proc, report) in procs.items():
        try:
            out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            failures.append(f"{version}: pip took over {RESOLVE_TIMEOUT_S} s\n{out[-3000:]}")
            continue
        if proc.returncode != 0:
            if any(marker in out for marker in NETWORK_ERRORS):
                pytest.skip(f"package index not usable while resolving for {version}: "
                            f"{out.strip().splitlines()[-1]}")
            failures.append(f"{version}: pip failed ({proc.returncode})\n{out[-3000:]}")
            continue
        reports[version] = json.loads(report.read_text())
    assert not failures, "\n\n".join(failures)
    return reports


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _picked(report) -> dict[str, str]:
    return {_canonical(item["metadata"]["name"]): item["metadata"]["version"]
            for item in report["install"]}


def _prereleases(picked: dict[str, str]) -> dict[str, str]:
    try:
        from packaging.version import Version
    except ImportError:  # pragma: no cover
        from pip._vendor.packaging.version import Version
    return {name: v for name, v in picked.items() if Version(v).is_prerelease}


def _tensorflow(picked: dict[str, str]) -> dict[str, str]:
    return {name: v for name, v in picked.items()
            if name.startswith(("tensorflow", "tf-nightly", "tf-keras"))}


def test_python_3_14_takes_the_jax_path(resolved):
    report = resolved["3.14"]
    assert report["environment"]["python_version"] == "3.14", report["environment"]
    picked = _picked(report)
    assert "fer-kit" in picked
    assert not _tensorflow(picked), f"TensorFlow picked for 3.14: {_tensorflow(picked)}"
    assert "jax" in picked and "jaxlib" in picked, sorted(picked)
    keras = {name: v for name, v in picked.items() if name in KERAS_MODULE_DISTS}
    assert list(keras) == ["keras"], f"distributions installing `keras`: {keras}"
    assert not _prereleases(picked), f"pre-releases picked: {_prereleases(picked)}"


#: distributions for staff, development or a Jupyter user interface: never in a plain install
NOT_PLAIN = {"nbval", "pytest", "coverage", "hypothesis", "scikit-image", "tf-keras-vis",
             "jupyter", "jupyterlab", "notebook", "jupyter-server", "qtconsole"}


def test_the_plain_install_is_the_library_and_the_notebook_runner(resolved):
    picked = _picked(resolved["plain"])
    assert {"fer-kit", "tensorflow", "keras", "papermill", "nbconvert", "ipykernel"} <= set(picked)
    assert not NOT_PLAIN & set(picked), f"in a plain install: {sorted(NOT_PLAIN & set(picked))}"


def test_colab_keeps_its_own_packages(resolved):
    """Resolved with Colab's pip freeze as constraints, for its Python: pip finds a set,
    so nothing Colab pinned changes (TensorFlow, Keras, ipykernel, notebook, tornado, ...),
    and nothing new for a Jupyter user interface comes along."""
    report = resolved["colab"]
    assert report["environment"]["python_version"] == "3.13", report["environment"]
    picked = _picked(report)
    pins = {}
    for line in (ROOT / "tests" / "data" / "colab_constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[_canonical(name)] = version.strip()
    for name in ("tensorflow", "keras", "ipykernel", "tornado", "jupyter-client", "numpy"):
        assert picked.get(name) == pins[name], f"{name}: Colab has {pins[name]}, pip picked {picked.get(name)}"
    changed = {n: (pins[n], v) for n, v in picked.items() if n in pins and pins[n] != v}
    assert not changed, f"Colab's packages changed: {changed}"
    new = set(picked) - set(pins) - {"fer-kit"}
    assert not new & NOT_PLAIN, f"new on Colab: {sorted(new & NOT_PLAIN)}"


def test_python_3_11_keeps_tensorflow(resolved):
    report = resolved["3.11"]
    assert report["environment"]["python_version"] == "3.11", report["environment"]
    picked = _picked(report)
    assert "tensorflow" in picked, sorted(picked)
    assert "tf-keras-vis" in picked  # the dev extra's TensorFlow reference
    keras = {name: v for name, v in picked.items() if name in KERAS_MODULE_DISTS}
    assert list(keras) == ["keras"], f"distributions installing `keras`: {keras}"
    assert not _prereleases(picked), f"pre-releases picked: {_prereleases(picked)}"


# ------------------------------------------------------------------ backend selection

@pytest.fixture
def clean(monkeypatch, tmp_path):
    """No KERAS_BACKEND (restored afterwards, also when select_backend sets it), Keras not
    imported, and a KERAS_HOME without keras.json."""
    monkeypatch.setenv("KERAS_BACKEND", "placeholder")  # records the value to restore
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    return tmp_path


def _installed(monkeypatch, *modules: str) -> None:
    """Make importlib.util.find_spec see exactly ``modules`` (top-level names)."""
    def find_spec(name, package=None):
        top = name.split(".")[0]
        return importlib.machinery.ModuleSpec(name, None) if top in modules else None
    monkeypatch.setattr(_backend.importlib.util, "find_spec", find_spec)


def _keras_json(home: Path, backend: str) -> None:
    (home / "keras.json").write_text(json.dumps({"backend": backend}))


def test_jax_selected_without_tensorflow(clean, monkeypatch):
    _installed(monkeypatch, "jax")
    assert _backend.select_backend() == "jax"
    assert os.environ["KERAS_BACKEND"] == "jax"


def test_nothing_changes_with_tensorflow(clean, monkeypatch):
    _installed(monkeypatch, "tensorflow", "jax")
    assert _backend.select_backend() is None
    assert "KERAS_BACKEND" not in os.environ


def test_nothing_changes_without_jax(clean, monkeypatch):
    _installed(monkeypatch, "torch")
    assert _backend.select_backend() is None
    assert "KERAS_BACKEND" not in os.environ


def test_the_users_keras_backend_wins(clean, monkeypatch):
    _installed(monkeypatch, "jax")
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert _backend.select_backend() is None
    assert os.environ["KERAS_BACKEND"] == "torch"


def test_empty_keras_backend_counts_as_unset(clean, monkeypatch):
    _installed(monkeypatch, "jax")
    monkeypatch.setenv("KERAS_BACKEND", "")  # Keras ignores an empty value
    assert _backend.select_backend() == "jax"


def test_keras_imported_already_is_left_alone(clean, monkeypatch):
    _installed(monkeypatch, "jax")
    monkeypatch.setitem(sys.modules, "keras", types.ModuleType("keras"))
    assert _backend.select_backend() is None
    assert "KERAS_BACKEND" not in os.environ


def test_keras_json(clean, monkeypatch):
    assert _backend.keras_config_path() == str(clean / "keras.json")
    _installed(monkeypatch, "jax", "torch")
    _keras_json(clean, "tensorflow")  # what Keras writes on its first import
    assert _backend.select_backend() == "jax"
    monkeypatch.delenv("KERAS_BACKEND")
    _keras_json(clean, "torch")  # a choice that loads here is kept
    assert _backend.select_backend() is None
    _installed(monkeypatch, "jax")
    assert _backend.select_backend() == "jax"  # one that cannot load is not
    monkeypatch.delenv("KERAS_BACKEND")
    (clean / "keras.json").write_text("{not json")
    assert _backend.select_backend() == "jax"


_KERAS_BACKEND_OF = """
import importlib.util
find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, package=None: (
    None if name.split(".")[0] == "tensorflow" else find_spec(name, package))
import fer_kit, keras
print(keras.config.backend())
"""


def test_keras_takes_jax_over_its_config_file(tmp_path):
    """TensorFlow hidden, keras.json naming it as Keras writes it: fer_kit's KERAS_BACKEND
    wins over the file and Keras loads on JAX (the user's own KERAS_BACKEND wins over
    both: test_the_users_keras_backend_wins)."""
    _keras_json(tmp_path, "tensorflow")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    res = subprocess.run([sys.executable, "-c", _KERAS_BACKEND_OF],
                         env={**env, "KERAS_HOME": str(tmp_path)},
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().splitlines()[-1] == "jax"
