"""The notebooks are committed clean and well-formed; the runner executes, records and fails clearly."""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import nbformat
import pytest

from fer_kit import notebooks
from fer_kit.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent

PATHS = notebooks.notebook_paths()


def test_the_nine_numbered_notebooks_exist():
    assert [p.name[:2] for p in PATHS] == [f"{i:02d}" for i in range(9)]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.outputs or c.execution_count is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} have outputs; clear them before committing "
                       "(jupyter nbconvert --clear-output --inplace notebooks/*.ipynb)")


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_cells_have_unique_ids(path):
    """nbformat 4.5 wants an id on every cell (without one, every run warns, and later
    nbformat versions refuse the file); a cell added by editing the JSON has none."""
    import json
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    ids = [c.get("id") for c in cells]
    assert None not in ids, f"{path.name}: cells {[i for i, x in enumerate(ids) if x is None]} have no id"
    assert len(set(ids)) == len(ids), f"{path.name}: repeated cell ids"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_layout_header_parameters_setup(path):
    nb = nbformat.read(path, as_version=4)
    header, params, setup = nb.cells[:3]
    assert header.cell_type == "markdown" and header.source.startswith("# ")
    assert "Runtime" in header.source
    assert "parameters" in params.metadata.get("tags", []) and "profile = None" in params.source
    assert "import fer_kit as fk" in setup.source and "fk.setup(" in setup.source
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    assert any("assert " in c.source for c in nb.cells if c.cell_type == "code")


def _write(folder, name, sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    p = nbformat.v4.new_code_cell("profile = None")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, folder / name)


def test_runner_executes_in_order_records_and_exports(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    _write(src, "00_a.ipynb", ["import fer_kit as fk\nfk.notebooks.record('x', 3)\n"
                               "fk.notebooks.record('profile_seen', profile)"])
    _write(src, "01_b.ipynb", ["import fer_kit as fk\nfk.notebooks.record('y', 'ok')"])
    table = notebooks.run_all(profile="smoke", out=tmp_path / "build", folder=src)
    assert table["notebook"].tolist() == ["00_a", "01_b"]
    assert table.attrs["figures"]["x"] == 3 and table.attrs["figures"]["y"] == "ok"
    assert table.attrs["figures"]["profile_seen"] == "smoke"  # papermill injected it
    assert (tmp_path / "build" / "notebooks" / "01_b.ipynb").is_file()
    assert "<html" in (tmp_path / "build" / "html" / "00_a.html").read_text().lower()
    assert json.loads((tmp_path / "build" / "summary.json").read_text())["x"] == 3
    assert "x: 3" in notebooks.format_summary(table).replace("  ", "")


def test_runner_shows_figures_inline_and_in_the_html(tmp_path):
    """What the student reads: the figure itself, not a path to it; the PNG is still saved."""
    src = tmp_path / "nbs"
    src.mkdir()
    _write(src, "00_plot.ipynb", ["import numpy as np\nfrom fer_kit import plots\n"
                                  "fig = plots.image_grid(np.zeros((2, 48, 48, 1), np.uint8))\n"
                                  "plots.save(fig, '00_grid')",
                                  "from tqdm.auto import tqdm\nfor i in tqdm(range(3)): pass"])
    notebooks.run_all(profile="smoke", out=tmp_path / "build", folder=src)
    nb = nbformat.read(tmp_path / "build" / "notebooks" / "00_plot.ipynb", as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1  # once, not twice
    texts = " ".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "PosixPath" not in texts and "saved " in texts
    assert "0/3" not in texts  # no progress bar frozen at 0% in the saved notebook
    assert "<img" in (tmp_path / "build" / "html" / "00_plot.html").read_text()
    assert (Path(os.environ["FER_KIT_FIGURES"]) / "00_grid.png").is_file()  # for reports


def test_runner_names_the_failing_notebook_and_cell(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    _write(src, "00_bad.ipynb", ["a = 1", "assert a == 2, 'a is not 2'"])
    with pytest.raises(RuntimeError, match=r"00_bad.ipynb: cell \d+ failed: AssertionError: "
                                           "a is not 2"):
        notebooks.run_all(profile="smoke", out=tmp_path / "build", folder=src, html=False)
    with pytest.raises(ConfigError, match="matches no notebook"):
        notebooks.run_all(profile="smoke", out=tmp_path / "b2", folder=src, only=["42"])
    with pytest.raises(FileNotFoundError, match="no numbered notebooks"):
        notebooks.notebook_paths(tmp_path)


@pytest.mark.parametrize("platform, has_ipc, transport", [
    ("linux", True, "ipc"), ("darwin", True, "ipc"),
    ("win32", False, "tcp"), ("win32", True, "tcp"),  # pyzmq's Windows wheels lack IPC
    ("linux", False, "tcp"),                           # a libzmq built without it
])
def test_kernel_transport_is_what_the_platform_supports(monkeypatch, platform, has_ipc,
                                                        transport):
    import zmq
    real_has = zmq.has
    monkeypatch.setattr(zmq, "has", lambda cap: has_ipc if cap == "ipc" else real_has(cap))
    assert notebooks.kernel_transport(platform) == transport
    monkeypatch.setattr("sys.platform", platform)
    assert notebooks._KernelManager().transport == transport


def test_this_machine_runs_kernels_over_ipc():
    import zmq
    assert notebooks.kernel_transport() == ("ipc" if zmq.has("ipc") else "tcp")
    assert notebooks.kernel_transport() == "ipc" or os.name == "nt"


def test_a_tcp_kernel_runs_a_notebook(tmp_path, monkeypatch):
    """What Windows gets: the runner with TCP runs a notebook as well."""
    monkeypatch.setattr(notebooks, "kernel_transport", lambda platform=None: "tcp")
    src = tmp_path / "nbs"
    src.mkdir()
    _write(src, "00_a.ipynb", ["import fer_kit as fk\nfk.notebooks.record('x', 7)"])
    table = notebooks.run_all(profile="smoke", out=tmp_path / "build", folder=src, html=False)
    assert table.attrs["figures"]["x"] == 7


def test_summary_merges_a_partial_run_records_failures_and_copies_the_submission(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    sub = tmp_path / "run" / "submission.csv"
    sub.parent.mkdir()
    sub.write_text("id,label\n0,3\n")
    _write(src, "00_a.ipynb", ["import fer_kit as fk\nfk.notebooks.record('a', 1)"])
    _write(src, "01_b.ipynb", ["import fer_kit as fk\nfk.notebooks.record('b', 2)\n"
                               f"fk.notebooks.record('submission', {str(sub)!r})"])
    build = tmp_path / "build"
    notebooks.run_all(profile="smoke", out=build, folder=src, html=False)
    assert (build / "submission.csv").read_text() == "id,label\n0,3\n"
    # a second run of one notebook replaces its entry and keeps the other's
    _write(src, "01_b.ipynb", ["import fer_kit as fk\nfk.notebooks.record('b', 20)"])
    table = notebooks.run_all(profile="smoke", out=build, folder=src, only=["01"], html=False)
    summary = json.loads((build / "summary.json").read_text())
    assert table["notebook"].tolist() == ["01_b"]
    assert summary["a"] == 1 and summary["b"] == 20 and "submission" not in summary
    assert set(summary["notebooks"]) == {"00_a", "01_b"} and summary["failed"] == []
    assert summary["total_seconds"] == pytest.approx(
        summary["seconds 00_a"] + summary["seconds 01_b"], abs=0.11)
    # a failure is recorded before it is raised, and the earlier entries stay
    _write(src, "01_b.ipynb", ["import fer_kit as fk\nfk.notebooks.record('b', 3)",
                               "raise ValueError('broken')"])
    with pytest.raises(RuntimeError, match="01_b.ipynb: cell .* ValueError: broken"):
        notebooks.run_all(profile="smoke", out=build, folder=src, only=["01"], html=False)
    summary = json.loads((build / "summary.json").read_text())
    assert summary["failed"] == ["01_b"] and summary["a"] == 1
    assert summary["notebooks"]["01_b"]["status"] == "failed"
    assert "ValueError: broken" in summary["notebooks"]["01_b"]["error"]
    assert "01_b" in (build / "summary.csv").read_text()
    # another profile starts a new summary
    notebooks.run_all(profile="demo", out=build, folder=src, only=["00"], html=False)
    summary = json.loads((build / "summary.json").read_text())
    assert set(summary["notebooks"]) == {"00_a"} and summary["profile"] == "demo"


def test_the_html_draws_notebook_07s_math_as_mathml_offline(tmp_path):
    """Every $...$ and $$...$$ of notebook 07 becomes well-formed MathML (parsed by the
    standard library's XML parser), so the derivations show without MathJax's CDN."""
    import re
    import xml.etree.ElementTree as ET
    src = ROOT / "notebooks" / "07_theory.ipynb"
    nb = nbformat.read(src, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    n_display = len(re.findall(r"\$\$.+?\$\$", text, re.S))
    converted = notebooks.mathml(text)
    assert "$" not in converted  # no formula left for MathJax
    maths = re.findall(r"<math .+?</math>", converted, re.S)
    assert len(maths) >= 30 and sum('display="block"' in m for m in maths) == n_display
    for m in maths:
        ET.fromstring(m)  # well-formed
    frac = notebooks.mathml(r"$\frac{a}{b}$")
    root = ET.fromstring(frac)
    assert [el.tag.split("}")[1] for el in root.iter()][:3] == ["math", "mrow", "mfrac"]
    notebooks._to_html(src, tmp_path / "07.html")
    body = (tmp_path / "07.html").read_text()
    assert body.count("<math") == len(maths)
    assert "Seed 000 kept" in body  # the text around the formulas is kept


def _calls(path: Path, dotted: str) -> list:
    """The calls to ``dotted`` (e.g. "fk.train.fit") in a notebook's code cells."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            tree = ast.parse("\n".join(line for line in cell.source.splitlines()
                                       if not line.lstrip().startswith(("%", "!"))))
            found += [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                      and ast.unparse(n.func) == dotted]
    return found


def test_notebook_01_trains_the_run_the_later_notebooks_load():
    """02-08 take their CNN from ``fk.train.get_run``, which serves a run only when it
    knows the model's width: 01 must train the model by name (a model object built
    elsewhere is recorded with width unknown, and 02 then trained a second CNN: 4.5 of
    make demo's minutes, and 04-08 analysed that model, not 01's)."""
    fit, = _calls(PATHS[1], "fk.train.fit")
    model = fit.args[1]
    gets = [c for p in PATHS[2:] for c in _calls(p, "fk.train.get_run")]
    assert gets, "no notebook after 01 calls fk.train.get_run"
    asked = {c.args[1].value for c in gets if len(c.args) > 1}
    assert getattr(model, "value", None) in asked, (
        f"{PATHS[1].name} trains fk.train.fit(..., {ast.unparse(model)}, ...); the later notebooks "
        f"ask get_run for {sorted(asked)}: pass the model by name so they find the run")


def test_a_run_trained_by_name_with_a_scaled_recipe_is_served_by_get_run(tmp_path, monkeypatch):
    """What notebook 01 does (fit by name, the recipe scaled by the profile) and what 02
    asks for (get_run): the same run, loaded, not trained again."""
    import numpy as np
    from fer_kit import train
    from fer_kit.config import get_profile
    from fer_kit.data import synth
    from fer_kit.data.dataset import Dataset, Split
    monkeypatch.setenv("FER_KIT_RUNS", str(tmp_path))
    d = synth.generate(160, seed=3)
    data = Dataset("SynthFER", Split(d.x, d.y, np.arange(160)))
    prof = get_profile("smoke", epochs=1)
    recipe = train.RECIPES["keras_vgg"].scaled(prof)
    first = train.fit(data.train, "cnn3", recipe, profile=prof, seed=0, data_name=data.name,
                      verbose=0)
    served = train.get_run(data, "cnn3", profile=prof, seed=0, verbose=0)
    assert served.run_dir == first.run_dir
    assert len(list(tmp_path.glob("*cnn3*"))) == 1  # nothing trained twice


def test_notebook_02s_stored_cnn_seeds_are_for_todays_demo_synthfer():
    """In the demo profile notebook 02 takes the CNN's seeds after the first from
    benchmarks/results (5 minutes each on a CPU), only for exactly the data they were
    trained on. A change to SynthFER or the demo profile without rerunning
    benchmarks/seed_spread.py would make make demo train them again (10 minutes more):
    this fails first."""
    import fer_kit as fk
    prof = fk.get_profile("demo")
    found = fk.evaluate.stored_seeds(fk.data.load("demo"), prof, "vgg_selu")
    assert set(range(prof.compare_seeds)) <= set(found.index), (
        "benchmarks/results/seeds_demo_vgg_selu.csv is not for today's demo SynthFER (or lacks "
        "seeds): rerun python benchmarks/seed_spread.py --profile demo")
