"""The main job: run the numbered notebooks in order with papermill.

    fer-kit notebooks [--profile demo] [--only 00,04]      (what ``make demo`` runs)

Executed notebooks go to ``build/notebooks/``, their HTML to ``build/html/``, every
figure to ``build/figures/`` (and inline in the notebooks); training runs go to the
kit's runs folder (``FER_KIT_RUNS``), so a notebook opened later in Jupyter finds
them. A summary (profile, dataset, accuracies, ablation verdict, seconds per
notebook) ends the run and is saved as ``build/summary.json`` and ``build/summary.csv``.

Notebooks report their headline figures with ``fk.notebooks.record(key, value)``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from unittest.mock import patch

import pandas as pd
from tqdm.auto import tqdm
from jupyter_client.manager import AsyncKernelManager

from . import atomic
from .config import ConfigError, data_source, get_profile
from .resources import NOTEBOOK_PATTERN, notebook_dir

_SUMMARY_ENV = "FER_KIT_SUMMARY"


def notebook_paths(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks (NN_name.ipynb), in order."""
    folder = Path(folder) if folder else notebook_dir()
    paths = sorted(folder.glob(NOTEBOOK_PATTERN))
    if not paths:
        raise FileNotFoundError(f"no numbered notebooks (NN_name.ipynb) in {folder}")
    return paths


def copy_notebooks(target: str | Path) -> list[Path]:
    """Editable copies of the notebooks in ``target`` (created); existing files are kept,
    so a student's edited notebook is never overwritten.

    Returns:
        The notebooks copied now (not those already there).
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for src in notebook_paths():
        dst = target / src.name
        if not dst.exists():
            shutil.copyfile(src, dst)
            copied.append(dst)
    return copied


def record(key: str, value) -> None:
    """Report a headline figure to the runner's summary (a no-op outside ``fer-kit notebooks``)."""
    path = os.environ.get(_SUMMARY_ENV)
    if not path:
        return
    path = Path(path)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[key] = value.item() if hasattr(value, "item") else value
    atomic.write_text(path, json.dumps(data, indent=2))


def kernel_transport(platform: str | None = None) -> str:
    """How the runner talks to its kernels: ``"ipc"`` (local sockets) where libzmq has it,
    else ``"tcp"`` on the loopback address.

    IPC keeps everything off the network (nothing listens on a port) and ipykernel's
    "running over TCP without encryption" warning out of the output. pyzmq's Windows wheels
    ship libzmq without IPC, so Windows gets TCP.
    """
    import zmq  # slow: only the kernel runner needs it
    platform = sys.platform if platform is None else platform
    return "ipc" if platform != "win32" and zmq.has("ipc") else "tcp"


class _KernelManager(AsyncKernelManager):
    """papermill's kernel manager with the transport this platform supports."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = kernel_transport()


#: the lessons every run of the main job reports under these keys (``build/summary.json``),
#: each a verdict line with the regime it holds in; notebooks record them
LESSON_KEYS = ("lesson_augmentation", "lesson_featurewise", "lesson_cnn_dnn_linear",
               "top_confusions", "sanity_passing_methods")


def run_all(profile: str | None = None, out: str | Path = "build", only: list[str] | None = None,
            html: bool = True, folder: str | Path | None = None) -> pd.DataFrame:
    """Execute the notebooks in order; stop at the first that fails (naming it and its cell).

    The summary (``out/summary.json`` and ``summary.csv``) is merged: a run of some
    notebooks (``only``) replaces their entries and keeps the others' from an earlier run
    of the same profile and dataset. A notebook that fails is recorded as failed (the
    summary is written before the error is raised). A submission a notebook recorded
    (``record("submission", path)``) is copied to ``out/submission.csv``.

    Returns:
        One row per notebook run now (seconds); ``attrs["figures"]`` is the whole summary.
    """
    import papermill as pm  # slow (1 s): only running notebooks needs it

    prof = get_profile(profile)
    out = Path(out).resolve()
    paths = notebook_paths(folder)
    if only:
        wanted = {o.strip()[:2] for o in only}
        paths = [p for p in paths if p.name[:2] in wanted]
        if not paths:
            raise ConfigError(f"--only {','.join(only)} matches no notebook")
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    src = data_source()
    dataset = str(src) if src else "SynthFER"
    entries = _earlier_entries(out / "summary.json", prof.name, dataset)
    part = out / "notebooks" / ".figures.json"  # what the running notebook records
    env = {"FER_KIT_PROFILE": prof.name, _SUMMARY_ENV: str(part),
           "FER_KIT_FIGURES": os.environ.get("FER_KIT_FIGURES", str(out / "figures")),
           "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"}  # plots.save shows figures inline
    rows = []
    with patch.dict(os.environ, env):  # the kernels inherit it; restored afterwards
        bar = tqdm(paths, desc="notebooks", unit="nb")
        for path in bar:
            bar.set_postfix_str(path.stem)
            target = out / "notebooks" / path.name
            part.unlink(missing_ok=True)
            t0 = time.perf_counter()
            failure = None
            try:
                pm.execute_notebook(str(path), str(target), parameters={"profile": prof.name},
                                    cwd=str(path.parent), progress_bar=False, log_output=False,
                                    kernel_name="python3", kernel_manager_class=_KernelManager)
            except pm.PapermillExecutionError as e:
                failure = (f"{path.name}: cell {e.exec_count} failed: {e.ename}: {e.evalue} "
                           f"(executed copy: {target})")
            seconds = round(time.perf_counter() - t0, 1)
            figures = json.loads(part.read_text()) if part.is_file() else {}
            part.unlink(missing_ok=True)
            entries[path.stem] = {"status": "failed" if failure else "ok", "seconds": seconds,
                                  "figures": figures, **({"error": failure} if failure else {})}
            rows.append({"notebook": path.stem, "seconds": seconds})
            if failure:
                _write_summary(out, prof.name, dataset, entries)
                raise RuntimeError(failure)
            _drop_widget_outputs(target)
            if html:
                _to_html(target, out / "html" / f"{path.stem}.html")
    summary = _write_summary(out, prof.name, dataset, entries)
    table = pd.DataFrame(rows)
    table.attrs["figures"] = summary
    return table


def _earlier_entries(summary_file: Path, profile: str, dataset: str) -> dict:
    """The per-notebook entries of an earlier summary of the same profile and dataset."""
    try:
        old = json.loads(summary_file.read_text())
    except (OSError, ValueError):
        return {}
    if old.get("profile") != profile or old.get("dataset") != dataset:
        return {}
    return dict(old.get("notebooks", {}))


def _write_summary(out: Path, profile: str, dataset: str, entries: dict) -> dict:
    """``summary.json`` (flat figures first, then each notebook's entry) and ``summary.csv``;
    the submission a notebook recorded is copied to ``out/submission.csv``."""
    entries = dict(sorted(entries.items()))
    figures = {k: v for e in entries.values() for k, v in e["figures"].items()}
    failed = [name for name, e in entries.items() if e["status"] != "ok"]
    summary = {"profile": profile, "dataset": dataset, **figures,
               **{f"seconds {name}": e["seconds"] for name, e in entries.items()},
               "total_seconds": round(sum(e["seconds"] for e in entries.values()), 1),
               "failed": failed, "notebooks": entries}
    submission = figures.get("submission")
    if submission and Path(submission).is_file():
        atomic.write_bytes(out / "submission.csv", Path(submission).read_bytes())
        summary["submission"] = str(out / "submission.csv")
    atomic.write_text(out / "summary.json", json.dumps(summary, indent=2))
    flat = {k: (", ".join(v) if isinstance(v, list) else v) for k, v in summary.items()
            if k != "notebooks"}
    atomic.write_text(out / "summary.csv",
                      pd.Series(flat, name="value").rename_axis("key").to_csv())
    return summary


def _drop_widget_outputs(path: Path) -> None:
    """Remove outputs that only a live kernel can draw (progress-bar widgets): saved, they
    show a bar frozen at 0% in the notebook and its HTML."""
    import nbformat  # slow: only writing notebooks needs it
    nb = nbformat.read(path, as_version=4)
    widget = "application/vnd.jupyter.widget-view+json"
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if widget not in o.get("data", {})]
    nb.metadata.pop("widgets", None)
    atomic.write_text(path, nbformat.writes(nb))


_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$([^$\n]+?)\$(?!\$)")


def mathml(markdown: str) -> str:
    """``markdown`` with its ``$...$`` and ``$$...$$`` LaTeX turned into MathML, which
    browsers draw themselves: the exported HTML shows the derivations offline, where the
    MathJax that nbconvert's page loads from a CDN is not there."""
    from latex2mathml.converter import convert  # slow: only the HTML export needs it
    out = _DISPLAY_MATH.sub(lambda m: convert(m.group(1).strip(), display="block"), markdown)
    return _INLINE_MATH.sub(lambda m: convert(m.group(1).strip()), out)


def _to_html(notebook: Path, target: Path) -> None:
    import nbformat  # slow: nbconvert loads its templates; only the HTML export needs it
    from nbconvert import HTMLExporter  # (see above)
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = mathml(cell.source)
    body, _ = HTMLExporter().from_notebook_node(nb)
    atomic.write_text(target, body)


def format_summary(table: pd.DataFrame) -> str:
    """The closing table of ``make demo``."""
    figs = table.attrs.get("figures", {})
    lines = ["", "== fer_kit main job",
             *(f"{k:>22}: {v}" for k, v in figs.items()
               if not k.startswith("seconds ") and k != "notebooks"), "",
             table.to_string(index=False)]
    return "\n".join(lines)
