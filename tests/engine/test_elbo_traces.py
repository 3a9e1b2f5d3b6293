"""The emitted code may change its form, never its numbers: every model of
models/ (the contract models of LANGUAGE.md are the same texts) and a few fit
options that take other paths through the emitted module (mean field, missing
rows, chunked sweeps, points, a local inner loop, uncollapsed rows) give the
ELBO trace recorded by record_elbo_traces.py (its commit is in the fixture)
to 1e-12 relative."""
import json
import warnings

import numpy as np
import pytest

import vmpdsl

from record_elbo_traces import ARRAYS, TRACES

FIXTURE = json.loads(TRACES.read_text(encoding="utf-8"))
DATA = np.load(ARRAYS)


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=lambda c: c["case"])
def test_elbo_trace_is_unchanged(case):
    data = dict(case["scalars"])
    data.update({k: DATA[f"{case['case']}/{k}"] for k in case["arrays"]})
    options = {k: v for k, v in case["options"].items() if k != "nan_rows"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = vmpdsl.load(case["source"]).fit(data, max_iter=FIXTURE["sweeps"], tol=0.0,
                                              seed=0, **options)
    want = np.asarray(case["elbo"])
    got = np.asarray(fit.elbo)
    assert got.shape == want.shape, (len(got), len(want))
    gap = np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))
    assert gap <= 1e-12, f"trace differs by {gap:.3g} (relative) at sweep {int(np.argmax(np.abs(got - want)))}"
