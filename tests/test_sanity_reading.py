"""The sanity check's verdict and its reading of Adebayo et al., on hand-made cascades."""
from __future__ import annotations

import pandas as pd
import pytest

from fer_kit.vis.sanity import adebayo_reading, sanity_verdict


def _cascade(curves: dict[str, list[float]]) -> pd.DataFrame:
    """``cascading_randomization``'s table for made-up rank correlations: step 0 (the trained
    model, 1.0) then one value per randomized layer, top down."""
    layers = ["predictions", "fc", "conv1", "conv0"]
    rows = [{"step": 0, "layer": "(trained)", "method": m, "spearman": 1.0} for m in curves]
    for step in range(1, len(layers) + 1):
        rows += [{"step": step, "layer": layers[step - 1], "method": m, "spearman": c[step - 1]}
                 for m, c in curves.items()]
    return pd.DataFrame(rows)


CURVES = {"vanilla": [0.6, 0.4, 0.2, 0.0],     # sensitive: passes
          "guided": [0.95, 0.9, 0.85, 0.7],    # nearly invariant: fails both rules
          "gradcam": [0.8, 0.7, 0.6, 0.55]}    # moves at first, but keeps 0.55: fails pass_below


def test_verdict_reads_each_method_off_the_cascade():
    v = sanity_verdict(_cascade(CURVES), pass_below=0.5, invariant_above=0.9)
    assert list(v.index) == ["vanilla", "guided", "gradcam"]  # the table's order, not sorted
    assert v.loc["guided", "output_layer_only"] == 0.95 and v.loc["guided", "all_layers"] == 0.7
    assert v.loc["vanilla", "cascade_mean"] == pytest.approx(0.3)  # step 0 left out (not 0.44)
    assert v.loc["gradcam", "cascade_mean"] == pytest.approx(0.6625)
    assert v["passes"].tolist() == [True, False, False]
    assert v["reason"].tolist() == [
        "", "nearly unchanged with the output layer random and still like the trained model's "
        "with every layer random",  # guided fails both: 0.95 >= 0.9 and 0.7 >= 0.5
        "still like the trained model's with every layer random"]  # gradcam: 0.55 >= 0.5
    # the thresholds are the arguments: a looser pass_below lets gradcam through, and an
    # invariant_above of 0.5 fails vanilla (0.6 with the output layer random)
    assert sanity_verdict(_cascade(CURVES), 0.6, 0.9)["passes"].tolist() == [True, False, True]
    assert sanity_verdict(_cascade(CURVES), 0.6, 0.5)["passes"].tolist() == [False, False, False]


def test_reading_reproduced_partly_or_not():
    v = sanity_verdict(_cascade(CURVES), 0.5, 0.9)
    text = adebayo_reading(v, "toy")
    assert text == ("toy: mean rank correlation over the cascade guided 0.85, vanilla 0.30; with "
                    "every layer random guided 0.70, vanilla 0.00. Adebayo et al.'s finding "
                    "(guided nearly invariant, vanilla not) is reproduced.")
    # guided less sensitive (0.85 > 0.30 + 0.1) but not invariant at the output layer (0.95 < 0.99)
    assert adebayo_reading(sanity_verdict(_cascade(CURVES), 0.5, 0.99), "toy", 0.99).endswith(
        "is partly reproduced: guided is the less sensitive, but it does change.")
    # guided within 0.1 of vanilla over the cascade
    same = {"vanilla": [0.6, 0.4, 0.2, 0.0], "guided": [0.7, 0.5, 0.3, 0.1]}
    assert adebayo_reading(sanity_verdict(_cascade(same)), "toy").endswith(
        "is not reproduced: guided changes as much as vanilla.")
    with pytest.raises(KeyError, match=r"no row for \['guided'\].*'vanilla', 'gradcam'"):
        adebayo_reading(v.drop("guided"), "toy")


def test_mask_reading_calls_a_ratio_near_1_unresolved():
    import numpy as np

    from fer_kit.vis.sanity import mask_reading, mask_share
    rng = np.random.default_rng(0)
    masks = np.zeros((8, 4, 4), bool)
    masks[:, :2, :2] = True  # a quarter of each image
    inside = masks * rng.uniform(0.5, 1, (8, 4, 4))  # all saliency on the mask: ratio 4
    even = np.ones((8, 4, 4)) + rng.normal(0, 0.3, (8, 4, 4))  # spread evenly: ratio about 1
    maps = {"vanilla": inside, "guided": inside, "gradcam": np.abs(even)}
    verdict = sanity_verdict(_cascade(CURVES))  # vanilla passes, guided and gradcam fail
    table, text = mask_reading(maps, masks, verdict)
    assert list(table.index[:2]) == ["vanilla", "guided"] and table.index[-1] == "gradcam"
    ratio = mask_share(np.abs(even), masks)["ratio"]
    assert table.loc["gradcam", "ratio"] == pytest.approx(ratio.mean())
    assert table.loc["gradcam", "ratio_se"] == pytest.approx(ratio.std(ddof=1) / np.sqrt(8))
    lines = text.splitlines()
    assert lines[0] == ("On the expression (ratio above 1 by more than 2 standard errors over 8 "
                        "images) and dependent on the weights: vanilla 4.00")
    assert lines[1] == ("on the expression but failing the randomization test (the map follows "
                        "the image more than the weights): guided 4.00")
    assert lines[2] == ("not resolved above 1 (no more on the expression than a map spread "
                        f"evenly): gradcam {ratio.mean():.2f}")
