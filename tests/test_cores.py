"""A seeded smoke-profile training gives the same history on one core and on two
(issue 20): the smoke profile fixes how the backend splits its sums (config.apply_threads).
Runs on the Keras backend of the test pass (TensorFlow, then JAX in ``make test``)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, os, sys
    import fer_kit as fk
    fk.setup(seed=0, profile="smoke", quiet=True)  # first, as every notebook does
    import numpy as np
    from fer_kit import train
    from fer_kit.data import Split, synth
    d = synth.generate(640, seed=1)
    res = train.fit(Split(d.x, d.y, np.arange(640)), "cnn3", "torch_cnn", profile="smoke",
                    seed=0, verbose=0, epochs=2, flip_double=False, run_dir=sys.argv[1])
    print(json.dumps({"cores": sorted(os.sched_getaffinity(0)),
                      "history": res.history.to_dict("list")}))
""")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two cores and sched_setaffinity (Linux)")
def test_a_seeded_smoke_run_is_the_same_on_one_core_and_on_two(tmp_path):
    cores = sorted(os.sched_getaffinity(0))[:2]
    out = {}
    for n in (1, 2):
        r = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / f"run{n}")],
                           capture_output=True, text=True, timeout=900,
                           env={**os.environ, "FER_KIT_PROFILE": "smoke"},
                           preexec_fn=lambda n=n: os.sched_setaffinity(0, cores[:n]))
        assert r.returncode == 0, r.stderr[-3000:]
        out[n] = json.loads(r.stdout.strip().splitlines()[-1])
        assert out[n]["cores"] == cores[:n]
    assert out[1]["history"] == out[2]["history"]  # every loss and accuracy, bit for bit
