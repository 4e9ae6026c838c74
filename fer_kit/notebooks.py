"""The main job: run the numbered notebooks in order with papermill.

    fer-kit notebooks [--profile demo] [--only 00,04]      (what ``make demo`` runs)

Executed notebooks go to ``build/notebooks/``, their HTML to ``build/html/``, every
figure to ``build/figures/``; a summary table (dataset, profile, accuracy, ablation
winner, time per notebook) ends the run and is saved as ``build/summary.csv``.

Notebooks report their headline figures with ``fk.notebooks.record(key, value)``.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from unittest.mock import patch

import pandas as pd

from . import atomic
from .config import ConfigError, get_profile

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
_SUMMARY_ENV = "FER_KIT_SUMMARY"


def notebook_paths(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks (NN_name.ipynb), in order."""
    folder = Path(folder) if folder else NOTEBOOK_DIR
    paths = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no numbered notebooks (NN_name.ipynb) in {folder}")
    return paths


def record(key: str, value) -> None:
    """Report a headline figure to the runner's summary (a no-op outside ``fer-kit notebooks``)."""
    path = os.environ.get(_SUMMARY_ENV)
    if not path:
        return
    path = Path(path)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[key] = value.item() if hasattr(value, "item") else value
    atomic.write_text(path, json.dumps(data, indent=2))


def run_all(profile: str | None = None, out: str | Path = "build", only: list[str] | None = None,
            html: bool = True, folder: str | Path | None = None) -> pd.DataFrame:
    """Execute the notebooks in order; stop at the first that fails (naming it and its cell).

    Returns:
        The summary table: one row per notebook (seconds) plus the recorded figures.
    """
    import papermill as pm
    from tqdm.auto import tqdm

    prof = get_profile(profile)
    out = Path(out).resolve()
    paths = notebook_paths(folder)
    if only:
        wanted = {o.strip()[:2] for o in only}
        paths = [p for p in paths if p.name[:2] in wanted]
        if not paths:
            raise ConfigError(f"--only {','.join(only)} matches no notebook")
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    summary_file = out / "summary.json"
    summary_file.unlink(missing_ok=True)
    env = {"FER_KIT_PROFILE": prof.name, _SUMMARY_ENV: str(summary_file),
           "FER_KIT_FIGURES": os.environ.get("FER_KIT_FIGURES", str(out / "figures")),
           "FER_KIT_RUNS": os.environ.get("FER_KIT_RUNS", str(out / "runs")),
           "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"}
    rows = []
    with patch.dict(os.environ, env):  # the kernels inherit it; restored afterwards
        bar = tqdm(paths, desc="notebooks", unit="nb")
        for path in bar:
            bar.set_postfix_str(path.stem)
            target = out / "notebooks" / path.name
            t0 = time.perf_counter()
            try:
                pm.execute_notebook(str(path), str(target), parameters={"profile": prof.name},
                                    cwd=str(path.parent), progress_bar=False, log_output=False,
                                    kernel_name="python3")
            except pm.PapermillExecutionError as e:
                raise RuntimeError(f"{path.name}: cell {e.exec_count} failed: {e.ename}: "
                                   f"{e.evalue} (executed copy: {target})") from None
            rows.append({"notebook": path.stem, "seconds": round(time.perf_counter() - t0, 1)})
            if html:
                _to_html(target, out / "html" / f"{path.stem}.html")
    table = pd.DataFrame(rows)
    figures = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    atomic.write_text(out / "summary.csv", table.to_csv(index=False))
    table.attrs["figures"] = {"profile": prof.name, **figures,
                              "total_seconds": round(float(table["seconds"].sum()), 1)}
    return table


def _to_html(notebook: Path, target: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    atomic.write_text(target, body)


def format_summary(table: pd.DataFrame) -> str:
    """The closing table of ``make demo``."""
    figs = table.attrs.get("figures", {})
    lines = ["", "== fer_kit main job", *(f"{k:>22}: {v}" for k, v in figs.items()), "",
             table.to_string(index=False)]
    return "\n".join(lines)
