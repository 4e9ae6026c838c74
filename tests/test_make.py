"""make.py's plan for ``make test``: which jobs run on which backend (every test file once on
the first backend, conftest's backend-dependent files on the others), jobs side by side in
lanes, and the first backend's nbval pass left out only when the plain-install test ran all
nine notebooks and passed (pytest's own JUnit report is the reference)."""
from __future__ import annotations

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
def test_nbval_is_left_out_only_after_the_notebook_test_passed(pytester, monkeypatch, body,
                                                              passed):
    # pytest itself writes the report; without the installed plugins (nbval, hypothesis,
    # ...), which take seconds to load and play no part in it
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_x=f"import pytest\n\n"
                        f"def test_cli_and_all_notebooks_run_from_the_plain_install():\n"
                        f"    {body}\n\ndef test_other():\n    pass\n")
    junit = pytester.path / "junit.xml"
    pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "--junitxml", str(junit))
    assert make._passed(junit, "test_cli_and_all_notebooks_run_from_the_plain_install") is passed
    assert make._passed(junit, "test_other")
    assert not make._passed(pytester.path / "missing.xml", "test_other")


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


def test_every_test_file_runs_on_every_backend_or_in_the_first_pass_only():
    """conftest's two sets name real files, and every test file is in exactly one of them:
    a renamed or new file fails here until someone chooses where it runs."""
    import conftest
    files = {p.stem for p in (ROOT / "tests").glob("test_*.py")}
    every, first = conftest._EVERY_BACKEND, conftest._FIRST_PASS_ONLY
    assert not every & first, every & first
    assert every | first == files, {"not a test file": (every | first) - files,
                                    "in neither set": files - (every | first)}
    # the backend module's own tests and the gradient tests are never left to one backend
    assert {"test_backend", "test_vis", "test_theory", "test_augment", "test_train"} <= every


def test_the_jobs_cover_every_test_file_once_per_pass():
    jobs = make.plan(["tensorflow", "jax", "torch"])
    assert [j.name for j in jobs] == ["tensorflow-tests", "tensorflow-environments", "jax-unit",
                                      "jax-nbval", "torch-unit", "torch-nbval"]
    tests, environments = jobs[0], jobs[1]
    ignored = [a.split("=", 1)[1] for a in tests.args if a.startswith("--ignore=")]
    assert tests.args[0] == "tests" and sorted(ignored) == sorted(environments.args)
    assert all((ROOT / t).is_file() for t in environments.args), environments.args
    assert "FER_KIT_TEST_PASS" not in tests.env and "-m" not in tests.args  # both tiers
    for backend in ("jax", "torch"):
        unit, nbval = (j for j in jobs if j.name.startswith(backend))
        assert unit.env["KERAS_BACKEND"] == nbval.env["KERAS_BACKEND"] == backend
        assert unit.env["FER_KIT_TEST_PASS"] == "repeat"
        assert unit.args == ["tests", "-m", "not integration"]
        assert nbval.args[-2:] == make.notebooks(repeat=True)
    # two pytest sessions at once never share a report or a temporary folder
    basetemps = {str(j.command()[j.command().index("--basetemp") + 1]) for j in jobs}
    assert len({j.junit() for j in jobs}) == len(basetemps) == len(jobs)


def test_jobs_run_side_by_side_and_a_failure_is_reported_after_all_ran(tmp_path, monkeypatch,
                                                                     capsys):
    """Two lanes: the jobs overlap in time (each waits for the other to start), every job
    runs although the first fails, and the first failure's exit status is returned."""
    monkeypatch.setattr(make, "ROOT", tmp_path)
    monkeypatch.setattr(make, "PY", sys.executable)
    wait = ("import pathlib, sys, time\n"
            "pathlib.Path(sys.argv[1]).touch()\n"
            "for _ in range(300):\n"
            "    if pathlib.Path(sys.argv[2]).exists(): break\n"
            "    time.sleep(0.1)\n"
            "else: sys.exit(9)\n")
    (tmp_path / "wait.py").write_text(wait)
    jobs = []
    for name, other, code in (("a", "b", 3), ("b", "a", 0)):
        job = make.Job(name, [], {})
        job.command = lambda n=name, o=other, c=code: [
            sys.executable, "-c", f"import runpy, sys; sys.argv[1:] = ['{tmp_path / n}', "
            f"'{tmp_path / o}']; runpy.run_path('{tmp_path / 'wait.py'}'); sys.exit({c})"]
        jobs.append(job)
    assert make.run_jobs(jobs, lanes=2) == 3
    out = capsys.readouterr().out
    assert "[a] FAILED (exit 3)" in out and "[b] passed" in out
    assert (tmp_path / "a").exists() and (tmp_path / "b").exists()
    monkeypatch.setenv("FER_KIT_TEST_LANES", "1")
    assert make.lanes(4) == 1


def test_a_job_runs_pytest_in_a_clean_checkout_with_its_own_report(tmp_path, monkeypatch):
    """A real job's command in a checkout without build/ (a clean clone): pytest gets its
    temporary folder and writes the JUnit report make.py reads."""
    monkeypatch.setattr(make, "ROOT", tmp_path)
    monkeypatch.setattr(make, "PY", sys.executable)
    (tmp_path / "test_one.py").write_text("def test_tmp(tmp_path):\n    assert tmp_path.is_dir()\n")
    job = make.Job("one", ["test_one.py"], {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert make.run_jobs([job], lanes=1) == 0, job.log().read_text()
    assert make._passed(job.junit(), "test_tmp")
