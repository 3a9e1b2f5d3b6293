"""Any exception escaping ``fit`` that is not a VmpError is a defect.  Over
generated model shapes (model_shapes.py: index kind × parent family × data or
latent child), compiling and fitting either works — a finite ELBO that never
decreases — or raises a VmpError; nothing else."""
import warnings

import numpy as np
import pytest

import vmpdsl
from vmpdsl.errors import VmpError

from model_shapes import REPORTED, cases, simulate

CASES = cases()
REL = 1e-9


@pytest.mark.parametrize("text", [t for _, t in CASES], ids=[i for i, _ in CASES])
def test_fit_works_or_says_why(text):
    try:
        model = vmpdsl.load(text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = model.fit(simulate(text, np.random.default_rng(0)), max_iter=10, tol=0.0,
                            seed=1)
    except VmpError:
        return
    elbo = fit.elbo
    assert np.all(np.isfinite(elbo))
    assert np.all(np.diff(elbo) >= -REL * np.maximum(np.abs(elbo[1:]), 1.0)), elbo


@pytest.mark.parametrize("name", REPORTED)
def test_the_reported_models_fit(name):
    text, simulate_data = REPORTED[name]
    fit = vmpdsl.load(text).fit(simulate_data(np.random.default_rng(0)), max_iter=300, seed=0)
    assert np.all(np.diff(fit.elbo) >= -REL * np.maximum(np.abs(fit.elbo[1:]), 1.0))
