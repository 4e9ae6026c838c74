"""Files the kit carries besides code: the numbered notebooks and stored benchmark results.

In a source checkout they are ``notebooks/`` and ``benchmarks/results/`` beside the
package, where a student edits them. An installed kit (a wheel: ``pip install``, with
``--user``, ``--target DIR`` or ``--prefix``) carries copies inside the package as
``fer_kit/_data/`` (setup.py puts them there), found with :mod:`importlib.resources`,
so the layout pip chose for scripts and data files does not matter.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

NOTEBOOK_PATTERN = "[0-9][0-9]_*.ipynb"
_CHECKOUT = Path(__file__).resolve().parent.parent


def _find(checkout: Path, packaged: str, pattern: str) -> Path:
    """The checkout's folder when it holds files matching ``pattern``, else the package's."""
    if any(checkout.glob(pattern)):
        return checkout
    inside = Path(str(resources.files("fer_kit").joinpath("_data", packaged)))
    if any(inside.glob(pattern)):
        return inside
    raise FileNotFoundError(f"no {pattern} in {checkout} (a source checkout) nor in {inside} "
                            "(an installed kit): reinstall fer_kit from a wheel or a full checkout")


def notebook_dir() -> Path:
    """The folder of the numbered notebooks (NN_name.ipynb)."""
    return _find(_CHECKOUT / "notebooks", "notebooks", NOTEBOOK_PATTERN)


def results_dir() -> Path:
    """The folder of benchmark results measured elsewhere (``benchmarks/results``)."""
    return _find(_CHECKOUT / "benchmarks" / "results", "results", "*")


def result_files(pattern: str) -> list[Path]:
    """The stored results matching ``pattern`` (e.g. ``"ablation_full_*.csv"``), sorted."""
    return sorted(results_dir().glob(pattern))
