"""The general oracles on robust_reg, sbm, coins and naive_bayes (LANGUAGE.md,
"Beyond conjugate pairs"): the ELBO never decreases over hypothesis-drawn
data, sizes and seeds; right after each exact update no small perturbation
of its coefficients raises the ELBO (finite differences; sbm's memberships
are updated one row at a time and are checked per row in test_sbm.py)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beyond_cases import SIMULATORS
from engine_cases import Run, example, quiet_fit
from test_engine_coordinate import EPS, REL, directions, perturbed_elbo
from test_engine_monotone import assert_monotone, positive

MODELS = ("robust_reg", "sbm", "coins", "naive_bayes")


def draw_data(name, draw, rng):
    if name == "robust_reg":
        return SIMULATORS[name](rng, N=draw(st.integers(1, 40)), D=draw(st.integers(1, 3)),
                                df=draw(positive(0.5, 30)), scale=draw(positive(0.01, 10)))
    if name == "sbm":
        return SIMULATORS[name](rng, V=draw(st.integers(1, 12)), K=draw(st.integers(1, 3)),
                                inside=draw(st.floats(0, 1)), outside=draw(st.floats(0, 1)))
    if name == "coins":
        p = [draw(st.floats(0, 1)) for _ in range(3)]
        return SIMULATORS[name](rng, N=draw(st.integers(0, 40)), c=draw(st.integers(0, 2)), p=p)
    return SIMULATORS[name](rng, N=draw(st.integers(1, 30)), C=draw(st.integers(1, 3)),
                            V=draw(st.integers(1, 4)), F=draw(st.integers(1, 3)))


@pytest.mark.parametrize("name", MODELS)
def test_elbo_never_decreases(name):
    model = example(name)

    @settings(max_examples=10, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.data(), st.integers(0, 2 ** 31 - 1), st.integers(0, 2 ** 31 - 1))
    def check(data, data_seed, fit_seed):
        observed, _ = draw_data(name, data.draw, np.random.default_rng(data_seed))
        fit = quiet_fit(model, observed, max_iter=30, tol=0.0, seed=fit_seed)
        assert_monotone(fit.elbo)

    check()


@pytest.mark.parametrize("name", MODELS)
def test_each_exact_update_is_a_coordinate_maximum(name):
    rng = np.random.default_rng(7)
    data, _ = SIMULATORS[name](rng)
    run = Run(example(name), data, seed=1)
    for _ in range(2):
        run.sweep()
    serial = getattr(example(name)._compiled.module, "SERIAL", ())
    for latent, family, _ in run.updates:
        if latent in serial:
            continue
        coeffs = run.coefficients(latent)
        optimum = run.params_from_coeffs(family, coeffs)
        run.set_params(latent, family, optimum)
        best, tried = run.elbo(), 0
        for direction in directions(coeffs, family, rng):
            for sign in (1.0, -1.0):
                step = {s: sign * EPS * d for s, d in direction.items()}
                value = perturbed_elbo(run, latent, family, coeffs, step)
                if value is not None:
                    tried += 1
                    assert value <= best + REL * abs(best), (name, latent, value - best)
        assert tried > 0
        run.set_params(latent, family, optimum)


@pytest.mark.parametrize("name", MODELS)
def test_emitted_module_stands_alone(name, tmp_path):
    """numpy, scipy and warnings only; the sbm's serial runtime included, it
    runs without vmpdsl and gives the in-process ELBO trace."""
    import json
    import subprocess
    import sys

    from test_engine_standalone import ALLOWED_IMPORTS, RUNNER, imported_modules
    model = example(name)
    assert imported_modules(model.code) <= ALLOWED_IMPORTS
    data, _ = SIMULATORS[name](np.random.default_rng(5))
    (tmp_path / "m.py").write_text(model.code, encoding="utf-8")
    np.savez(tmp_path / "d.npz", **{k: np.asarray(v) for k, v in data.items()})
    done = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path / "m.py"),
                           str(tmp_path / "d.npz"), "8", "2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1",
                               "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    fit = quiet_fit(model, data, max_iter=8, tol=0.0, seed=2)
    np.testing.assert_allclose(out["elbo"], fit.elbo, rtol=1e-12, atol=0)
