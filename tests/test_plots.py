"""Every plot returns a Figure with the panels it promises, and saves a readable PNG."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from fer_kit import evaluate, plots  # noqa: E402


def test_history_two_panels_with_train_and_val(tmp_path):
    h = pd.DataFrame({"epoch": [0, 1, 2], "accuracy": [.3, .5, .6], "loss": [1.8, 1.2, 1.0],
                      "val_accuracy": [.35, .45, .5], "val_loss": [1.7, 1.3, 1.2]})
    fig = plots.history(h, others={"dnn": h.assign(accuracy=h.accuracy - .1)})
    assert len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 4  # cnn train/val, dnn train/val
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), h["val_loss"])
    path = plots.save(fig, "hist", tmp_path)
    assert imread(path).shape[0] > 200


def test_confusion_heatmap_has_class_names_and_values():
    y = np.array([0, 1, 2, 3, 4, 5, 6, 6])
    p = np.array([0, 1, 2, 3, 4, 6, 6, 5])
    fig = plots.confusion(evaluate.confusion(y, p, normalize=True))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "Angry"
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 49 and "0.50" in texts
    assert fig.axes[1].get_ylabel() == "share of the true class"  # the colour bar says what
    counts = plots.confusion(evaluate.confusion(y, p), fmt="d")
    assert counts.axes[1].get_ylabel() == "images"


def test_prediction_grids_mark_mistakes():
    x = np.random.default_rng(0).integers(0, 255, (12, 48, 48, 1), dtype=np.uint8)
    y = np.arange(12) % 7
    p = y.copy()
    p[:3] = (p[:3] + 1) % 7
    fig = plots.misclassified(x, y, p, n=10)
    titled = [a for a in fig.axes if a.get_title()]
    assert len(titled) == 3 and all(a.title.get_color() == "crimson" for a in titled)


def test_saliency_filters_ablation_figures():
    imgs = np.random.default_rng(1).random((3, 48, 48, 1))
    maps = {"vanilla": np.random.default_rng(2).random((3, 48, 48)),
            "gradcam": np.random.default_rng(3).random((3, 48, 48))}
    fig = plots.saliency(imgs, maps, masks=np.ones((3, 48, 48), bool), overlay=True)
    assert len(fig.axes) == 9 + 1 and fig.axes[1].get_title() == "vanilla"  # 3 x 3 and a colour bar
    bar = fig.axes[-1]
    assert "scaled to [0, 1]" in bar.get_ylabel() and bar.get_ylim() == (0.0, 1.0)
    assert len(plots.filters(np.random.rand(5, 5, 16), ncols=8).axes) == 16
    # kernels get a frame each (their near-zero cells are white like the page); faces do not
    kernels = plots.filters(np.random.rand(3, 3, 4), ncols=4, symmetric=True, cmap="RdBu_r")
    assert all(ax.axison and ax.spines["left"].get_visible() for ax in kernels.axes[:4])
    assert not any(ax.axison for ax in plots.filters(imgs, ncols=3).axes)



def test_ablation_figure_shows_means_seeds_and_the_verdict():
    t = pd.DataFrame({"config": ["baseline"] * 3 + ["augmentation"] * 3, "seed": [0, 1, 2] * 2,
                      "val_acc": [.60, .61, .59, .70, .71, .69]})
    fig = plots.ablation(t, reference=t.assign(val_acc=t["val_acc"] - 0.01), chance=0.25)
    ax, ref = fig.axes[:2]
    assert "winner: augmentation" in ax.get_title() and "3 seeds" in ax.get_title()
    means = sorted(line.get_xdata()[0] for line in ax.lines if line.get_marker() == "D")
    assert means == pytest.approx([0.60, 0.70])  # diamonds are the seeds' means
    dots = [line for line in ax.lines if line.get_marker() == "."]
    assert sum(len(d.get_xdata()) for d in dots) == 6  # every seed shown
    assert any(line.get_xdata()[0] == 0.25 for line in ax.lines if line.get_linestyle() == "--")
    assert ref.get_ylim() == ax.get_ylim()  # the same row spacing in both panels
    assert not ax.patches  # no bars: a bar cut off by a zoomed axis would mislead
    # far from chance, rows a tenth of a point apart get an axis that separates them
    close = t.assign(val_acc=[.950, .951, .949, .953, .954, .952])
    z = plots.ablation(close, chance=0.25).axes[0]
    assert z.get_xlim()[1] - z.get_xlim()[0] < 0.02 and "off scale" in z.get_xlabel()
    noisy = t.assign(val_acc=[.60, .70, .50, .65, .55, .75])
    assert "no resolvable winner" in plots.ablation(noisy).axes[0].get_title()


def test_image_grid_colour_bars_show_the_values():
    maps = np.stack([np.full((48, 48), 10.0), np.linspace(0, 80, 48 * 48).reshape(48, 48)])
    plain = plots.image_grid(maps, ncols=2)
    fig = plots.image_grid(maps, ncols=2, colorbar=True)
    assert len(fig.axes) == len(plain.axes) + 2  # one bar per image
    bar = fig.axes[-1]
    assert bar.get_ylim() == pytest.approx((0, 80))  # the second map's value range


def test_one_panel_plots_draw_into_a_given_axes():
    import matplotlib.pyplot as plt
    y = np.array([0, 1, 2, 3, 4, 5, 6, 6])
    fig, (left, right) = plt.subplots(1, 2)
    ax = plots.confusion(evaluate.confusion(y, y, normalize=True), ax=right)
    assert ax is right and len(right.texts) == 49 and not left.texts
    table = pd.DataFrame({"method": ["vanilla"] * 3, "step": [0, 1, 2],
                          "layer": ["logits", "fc1", "conv"], "spearman": [1.0, .5, .1]})
    assert plots.sanity(table, ax=left) is left and len(left.lines) >= 1
    assert len(fig.axes) == 3  # two of ours plus the heatmap's colour bar, no new figure
    plt.close(fig)


# A cell's figures as a student sees them: a real kernel runs cells and we count the
# images in each cell's outputs.
_CELLS = {
    "value": "plots.confusion(cm)",                      # the figure is the cell's value
    "assigned": "fig = plots.confusion(cm)",
    "saved": "plots.save(plots.confusion(cm), 'c', folder=tmp)",
    "plain": "fig, ax = plt.subplots(); ax.plot([1, 2]); fig",  # matplotlib's own: the control
}


def _images_per_cell(backend_line: str) -> dict:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    setup = ("import tempfile, numpy as np, matplotlib.pyplot as plt\n"
             "from fer_kit import evaluate, plots\ntmp = tempfile.mkdtemp()\n"
             "y = np.arange(7); cm = evaluate.confusion(y, y, normalize=True)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(backend_line),
                                         nbformat.v4.new_code_cell(setup)]
                                  + [nbformat.v4.new_code_cell(c) for c in _CELLS.values()])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    return {name: sum("image/png" in o.get("data", {}) for o in cell.outputs)
            for name, cell in zip(_CELLS, nb.cells[2:])}


def test_a_figure_is_shown_once_under_jupyters_inline_backend(monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)
    shown = _images_per_cell("%matplotlib inline")
    assert shown["plain"] == 2  # the double display this guards against does happen
    assert shown == {"value": 1, "assigned": 1, "saved": 1, "plain": 2}


def test_a_figure_is_shown_once_under_agg_as_papermill_runs(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    shown = _images_per_cell("import matplotlib; assert matplotlib.get_backend().lower() == 'agg'")
    assert shown == {"value": 1, "assigned": 0, "saved": 1, "plain": 0}


def test_importing_plots_leaves_tensorflow_to_setup():
    """Every notebook's setup cell imports plots before fk.setup; if that loaded TensorFlow,
    setup could no longer fix its threads (a warning on every page, and numbers that change
    with the core count)."""
    import subprocess
    import sys
    code = ("import sys, fer_kit as fk\nfrom fer_kit import plots\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_seeds_figure_orders_networks_by_mean_and_marks_stored_seeds():
    import matplotlib.pyplot as plt
    per_seed = evaluate.seed_table({
        "CNN": [{"seed": s, "public": v, "source": src} for s, v, src in
                [(0, .58, "this run"), (1, .60, "stored"), (2, .59, "stored")]],
        "DNN": [{"seed": s, "public": v, "source": "this run"} for s, v in enumerate([.33, .37, .35])],
        "linear": [{"seed": 0, "public": .42, "source": "this run"}]})
    fig = plots.seeds(per_seed)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["DNN", "linear", "CNN"]  # best on top
    diamonds = [line for line in ax.lines if line.get_marker() == "D"]
    assert [d.get_xdata()[0] for d in diamonds] == pytest.approx([.35, .42, .59])
    hollow = [line for line in ax.lines if line.get_marker() == "o"]
    assert sum(len(h.get_xdata()) for h in hollow) == 2  # the CNN's two stored seeds
    assert sum(len(line.get_xdata()) for line in ax.lines if line.get_marker() == ".") == 5
    # each seed on its own level under its network's line (close values stay apart)
    cnn = sorted(np.r_[[d for line in ax.lines if line.get_marker() in ".o"
                        for x, d in zip(line.get_xdata(), line.get_ydata()) if x > .55]])
    assert len(set(cnn)) == 3 and all(1.5 < d < 2 for d in cnn)
    assert "hollow: stored seeds" in ax.get_xlabel()
    _, mine = plt.subplots()
    assert plots.seeds(per_seed, ax=mine) is mine
    plt.close("all")
