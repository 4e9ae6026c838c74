"""The figures of SynthFER v5 at FER2013's size that the README and notebook 02's budget
note quote are those of the committed benchmark rows (``benchmarks/bench_learning.py``,
its ``learning_runs.csv`` kept in ``benchmarks/results``): a rerun that changes the rows
fails here until the text follows them."""
from __future__ import annotations

import inspect
import pathlib

import pandas as pd
import pytest

from fer_kit.evaluate import readings

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "learning_fer2013size_w0.25_seed0_cpu.csv"


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(RESULTS).set_index("part")


@pytest.fixture(scope="module")
def section() -> str:
    """The README's section on these runs, up to the next heading."""
    text = (ROOT / "README.md").read_text()
    start = text.index("### SynthFER v5 at FER2013's size")
    return " ".join(text[start:text.index("\n### ", start + 1)].split())


def test_the_readme_quotes_the_committed_rows(rows, section):
    cnn, noaug, dnn, logreg = (rows.loc[p] for p in ("cnn", "noaug", "dnn", "logreg"))
    for name, r in (("cnn", cnn), ("noaug", noaug)):
        assert (f"test {r.test:.3f} (public {r.public:.3f}, private {r.private:.3f})"
                in section), name
        assert f"best epoch {int(r.best_epoch)} of {int(r.epochs)}" in section, name
    assert f"{dnn.test:.3f}: **{(noaug.test - dnn.test) * 100:.1f} points below the CNN**" \
        in section
    assert f"{logreg.test:.3f}: {(dnn.test - logreg.test) * 100:.1f} points below the DNN" \
        in section
    assert (f"{noaug.train_fit:.3f} on its training images in inference mode "
            f"({noaug.train_acc:.3f} in the history, with dropout) vs {noaug.val_acc:.3f}"
            in section)
    assert (f"the CNN {noaug.drawn:.3f} ({cnn.drawn:.3f} with augmentation), the DNN "
            f"{dnn.drawn:.3f}, logistic regression {logreg.drawn:.3f}" in section)
    assert (f"**{(cnn.test - noaug.test) * 100:+.1f} points** test ({cnn.test:.3f} against "
            f"{noaug.test:.3f}" in section)  # augmentation's gain


def test_notebook_02s_budget_note_quotes_them(rows):
    source = inspect.getsource(readings.compare_models)
    assert f"({rows.loc['dnn', 'test']:.3f} against {rows.loc['logreg', 'test']:.3f}, one seed" \
        in source


SCREEN = ROOT / "benchmarks" / "results" / "synthfer_screen_n9000_w0.25_cpu.csv"


def screen_row(r) -> str:
    """One row of the README's table of the v6 screen, as written from ``screen.csv``."""
    return (f"| {r.setting}, seed {r.seed} | {r.ceiling:.3f} | {r.noaug_test:.3f} "
            f"({r.noaug_drawn:.3f}); best epoch {r.noaug_best_epoch} of {r.noaug_epochs}; "
            f"{r.noaug_train_fit:.3f} vs {r.noaug_val:.3f} | {r.aug_test:.3f} ({r.aug_drawn:.3f}); "
            f"best epoch {r.aug_best_epoch} of {r.aug_epochs} | **{r.gain * 100:+.1f}** | "
            f"{r.fer_reads_drawn:.3f} | {r.astronaut}, {r.kappa_real:.3f} |")


def test_the_readme_quotes_the_v6_screen():
    """benchmarks/synthfer_screen.py's rows (README, "Toward a SynthFER v6"), and the
    settings' overrides as the script defines them."""
    rows = pd.read_csv(SCREEN)
    text = (ROOT / "README.md").read_text()
    start = text.index("### Toward a SynthFER v6")
    section = text[start:text.index("\n### ", start + 1)]
    for r in rows.itertuples():
        assert screen_row(r) in section, r.setting
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "synthfer_screen", ROOT / "benchmarks" / "synthfer_screen.py")
    screen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screen)
    for r in rows.itertuples():
        assert r.overrides == repr(screen.SETTINGS[r.setting]), r.setting
    # the reading of v5's seeds: the mean gain and the ablation's verdict on it
    from fer_kit.ablation import verdict
    v5 = rows[rows["setting"] == "v5"]
    long = pd.concat([pd.DataFrame({"config": c, "seed": v5["seed"], "test": v5[col]})
                      for c, col in (("baseline", "noaug_test"), ("augmentation", "aug_test"))])
    line = verdict(long, metric="test").against_baseline["augmentation"]
    assert line.startswith("augmentation not distinguishable from the baseline"), line
    margin = float(line.split("95% margin (")[1].split(",")[0])
    flat = " ".join(section.split())
    assert (f"a mean of {v5['gain'].mean() * 100:+.1f}, not distinguishable from no gain (95% "
            f"margin {margin * 100:.1f} points") in flat
