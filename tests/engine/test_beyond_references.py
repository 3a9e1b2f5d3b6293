"""robust_reg, coins and naive_bayes (LANGUAGE.md, "Beyond conjugate pairs"),
exactly as written in models/, against hand-written NumPy references of the
same updates (beyond_cases.py): from an early state one sweep of vmpdsl and
one of the reference (in vmpdsl's order) agree to 1e-10 and so do their
ELBOs; vmpdsl's converged state is the reference's fixed point (1e-8);
naive_bayes is exact (closed-form Dirichlet posteriors, ELBO = log evidence)."""
import numpy as np
import pytest

from beyond_cases import (SIMULATORS, coins_reference, naive_bayes_exact,
                          robust_reg_reference)
from engine_cases import example, quiet_fit

TOL = 1e-8
SAME = 1e-10


def assert_same(a, b, what, tol=TOL):
    """Equal to ``tol`` relative to the array's scale (a precision matrix's
    small off-diagonal entries are judged against its diagonal)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.max(np.abs(b))),
                               err_msg=what)


def converged_fit(name, data, seed=0):
    return quiet_fit(example(name), data, max_iter=3000, tol=0.0, seed=seed)  # to an unchanged ELBO


def assert_fixed_point_of(reference, name, data, seed=0):
    """One sweep of the reference and of vmpdsl (in vmpdsl's order) from an
    early state agree; at vmpdsl's converged state the reference moves nothing."""
    order = [row[0] for row in example(name)._compiled.module.UPDATES]
    early = quiet_fit(example(name), data, max_iter=2, tol=0.0, seed=seed)
    swept, elbo = reference(data, early.posterior, order)
    assert elbo == pytest.approx(early.elbo[-1], rel=1e-10)
    again = quiet_fit(example(name), data, init=early.posterior, max_iter=1).posterior
    fit = converged_fit(name, data, seed)
    fixed, _ = reference(data, fit.posterior, order)
    for latent, params in swept.items():
        for param, value in params.items():
            assert_same(value, again[latent][param], f"one sweep: {latent}.{param}", SAME)
            assert_same(fixed[latent][param], fit.posterior[latent][param],
                        f"fixed point: {latent}.{param}")
    return fit


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_robust_reg_is_a_fixed_point_of_the_hand_written_updates(seed):
    data, truth = SIMULATORS["robust_reg"](np.random.default_rng(seed))
    fit = assert_fixed_point_of(robust_reg_reference, "robust_reg", data, seed)
    # and the t likelihood recovers the weights despite heavy tails
    assert np.max(np.abs(fit.mean("w") - truth["w"])) < 0.5


@pytest.mark.parametrize("c", [0, 1, 2])
def test_coins_is_a_fixed_point_of_the_hand_written_updates(c):
    data, _ = SIMULATORS["coins"](np.random.default_rng(c), c=c)
    fit = assert_fixed_point_of(coins_reference, "coins", data)
    assert np.argmax(fit.posterior["c"]["probs"]) == c


@pytest.mark.parametrize("seed", [0, 1])
def test_naive_bayes_is_exact(seed):
    data, _ = SIMULATORS["naive_bayes"](np.random.default_rng(seed))
    exact, evidence = naive_bayes_exact(data)
    fit = example("naive_bayes").fit(data, max_iter=50, seed=seed)
    assert_same(fit.posterior["pi"]["concentration"], exact["pi"], "pi")
    assert_same(fit.posterior["theta"]["concentration"], exact["theta"], "theta")
    assert fit.elbo[0] == pytest.approx(evidence, rel=1e-10)  # exact after one sweep
    assert fit.elbo[-1] == pytest.approx(evidence, rel=1e-10)
