"""Textbook agreement, numerically: hand-written NumPy versions of the lecture
notes' coordinate-ascent updates (written here from the formulas, never from
the engine) match vmpdsl's posterior after every sweep of a whole run.

vmpdsl sweeps from the data toward the priors (derive/schedule.py: latents
in a likelihood first, means before the precisions that scale them) and starts
each latent at its prior given its parents' starting moments (a point at its
prior's mode); the hand-written loops start from the same state and update in
the same order.  (Until the schedule existed they followed the declaration
order; reordering a loop of the same exact coordinate updates is the same
mathematics, only the path from the start differs.)  Every iteration k is checked by re-running
vmpdsl with max_iter=k (deterministic: no random initialization here).
"""
import numpy as np
import pytest
from scipy import stats
from scipy.special import digamma, gammaln

from lecture_cases import model, quiet_fit, regression_data

TOL = dict(rtol=1e-10, atol=1e-12)
SWEEPS = 25


def assert_close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, err_msg=what, **TOL)


def fits_per_sweep(m, data, states, **options):
    """(k, vmpdsl's fit after k sweeps, the hand-written state after k sweeps),
    until the fit stops because the ELBO no longer changes in floating point."""
    for k, s in enumerate(states, start=1):
        fit = quiet_fit(m, data, max_iter=k, tol=0.0, **options)
        if fit.iterations < k:
            assert fit.converged and k > 3
            return
        yield k, fit, s


# ------------------------------------------------------------------ linreg
def notes_linreg(X, y, a0, b0, e0, f0, sweeps):
    """The notes' updates q(w), q(alpha), q(lambda) in that order, per sweep."""
    N, D = X.shape
    XtX, Xty, yty = X.T @ X, X.T @ y, y @ y
    a, b, e, f = a0, b0, e0, f0
    states = []
    for _ in range(sweeps):
        P = (e / f) * np.eye(D) + (a / b) * XtX
        S = np.linalg.inv(P)
        m = S @ ((a / b) * Xty)
        Eww = S + np.outer(m, m)
        a, b = a0 + N / 2, b0 + 0.5 * (yty - 2 * Xty @ m + np.sum(XtX * Eww))
        e, f = e0 + D / 2, f0 + 0.5 * np.trace(Eww)
        states.append(dict(a=a, b=b, e=e, f=f, m=m, S=S))
    return states


def test_linreg_matches_notes_every_sweep():
    X, y = regression_data(seed=1, n=30, d=4)
    hyp = dict(a0=1e-2, b0=1e-4, e0=1e-2, f0=1e-4)
    m = model("linreg")
    states = notes_linreg(X, y, **hyp, sweeps=SWEEPS)
    for k, fit, s in fits_per_sweep(m, {"X": X, "y": y}, states):
        q = fit.posterior
        assert_close(q["alpha"]["shape"], s["a"], f"alpha shape, sweep {k}")
        assert_close(q["alpha"]["rate"], s["b"], f"alpha rate, sweep {k}")
        assert_close(q["lambda"]["shape"], s["e"], f"lambda shape, sweep {k}")
        assert_close(q["lambda"]["rate"], s["f"], f"lambda rate, sweep {k}")
        assert_close(q["w"]["mean"], s["m"], f"w mean, sweep {k}")
        assert_close(q["w"]["cov"], s["S"], f"w cov, sweep {k}")


def linreg_elbo(X, y, s, a0, b0, e0, f0):
    """The notes' ELBO of q(alpha) q(lambda) q(w), written out by hand."""
    N, D = X.shape
    a, b, e, f, m, S = s["a"], s["b"], s["e"], s["f"], s["m"], s["S"]
    Ea, Elog_a, El, Elog_l = a / b, digamma(a) - np.log(b), e / f, digamma(e) - np.log(f)
    Eww = S + np.outer(m, m)
    sq = y @ y - 2 * y @ X @ m + np.sum((X.T @ X) * Eww)
    lik = 0.5 * N * (Elog_a - np.log(2 * np.pi)) - 0.5 * Ea * sq
    prior_w = 0.5 * D * (Elog_l - np.log(2 * np.pi)) - 0.5 * El * np.trace(Eww)
    prior_a = a0 * np.log(b0) - gammaln(a0) + (a0 - 1) * Elog_a - b0 * Ea
    prior_l = e0 * np.log(f0) - gammaln(e0) + (e0 - 1) * Elog_l - f0 * El
    entropy = (stats.gamma(a, scale=1 / b).entropy() + stats.gamma(e, scale=1 / f).entropy()
               + stats.multivariate_normal(m, S).entropy())
    return lik + prior_w + prior_a + prior_l + entropy


def test_linreg_elbo_matches_notes_and_rises():
    X, y = regression_data(seed=2, n=25, d=3)
    hyp = dict(a0=1e-2, b0=1e-4, e0=1e-2, f0=1e-4)
    states = notes_linreg(X, y, **hyp, sweeps=SWEEPS)
    fit = quiet_fit(model("linreg"), {"X": X, "y": y}, max_iter=SWEEPS, tol=0.0)
    expected = [linreg_elbo(X, y, s, **hyp) for s in states[:fit.iterations]]
    np.testing.assert_allclose(fit.elbo, expected, rtol=1e-10)
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))


# --------------------------------------------------------------- linreg_em
def notes_linreg_em(X, y, a0, b0, lam, sweeps):
    """M-step w = (λ I + E[α] XᵀX)⁻¹ E[α] Xᵀy, then E-step
    q(alpha) = Gamma(a0 + N/2, b0 + ½||y − Xw||²); alpha starts at its prior."""
    N, D = X.shape
    a, b = a0, b0
    states = []
    for _ in range(sweeps):
        w = np.linalg.solve(lam * np.eye(D) + (a / b) * X.T @ X, (a / b) * X.T @ y)
        a, b = a0 + N / 2, b0 + 0.5 * np.sum((y - X @ w) ** 2)
        states.append(dict(a=a, b=b, w=w))
    return states


def test_linreg_em_matches_notes_every_sweep():
    X, y = regression_data(seed=3, n=30, d=3, noise=1.0)
    m = model("linreg_em")
    states = notes_linreg_em(X, y, a0=1.0, b0=1.0, lam=1.0, sweeps=SWEEPS)
    previous = -np.inf
    for k, fit, s in fits_per_sweep(m, {"X": X, "y": y}, states):
        q = fit.posterior
        assert_close(q["alpha"]["shape"], s["a"], f"alpha shape, sweep {k}")
        assert_close(q["alpha"]["rate"], s["b"], f"alpha rate, sweep {k}")
        assert_close(q["w"]["value"], s["w"], f"w, sweep {k}")
        assert fit.elbo[-1] >= previous - 1e-9 * abs(fit.elbo[-1])  # the EM bound rises
        previous = fit.elbo[-1]


# ------------------------------------------------------------ linreg_known
def test_linreg_known_is_exact_after_one_sweep():
    X, y = regression_data(seed=4, n=20, d=3)
    alpha, lam = 2.5, 0.7
    fit = quiet_fit(model("linreg_known"), {"X": X, "y": y},
                    hypers={"alpha": alpha, "lambda": lam}, max_iter=1, tol=0.0)
    D = X.shape[1]
    S = np.linalg.inv(lam * np.eye(D) + alpha * X.T @ X)
    mean = alpha * S @ X.T @ y
    assert_close(fit.posterior["w"]["mean"], mean, "w mean")
    assert_close(fit.posterior["w"]["cov"], S, "w cov")
    # ELBO == log evidence: y ~ N(0, X Xᵀ/λ + I/α)
    evidence = stats.multivariate_normal(np.zeros(len(y)),
                                         X @ X.T / lam + np.eye(len(y)) / alpha).logpdf(y)
    np.testing.assert_allclose(fit.elbo[0], evidence, rtol=1e-10)
    # and a second sweep changes nothing
    again = quiet_fit(model("linreg_known"), {"X": X, "y": y},
                      hypers={"alpha": alpha, "lambda": lam}, max_iter=2, tol=0.0)
    assert_close(again.posterior["w"]["mean"], mean, "w mean after 2 sweeps")
    np.testing.assert_allclose(again.elbo[1], evidence, rtol=1e-10)


# ------------------------------------------------------------ normal_gamma
def conjugate_normal_gamma(x, mu0, kappa0, a0, b0):
    """The exact posterior NormalGamma(m, beta, a, b) and log evidence
    (Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution" §3)."""
    N, xbar = len(x), x.mean()
    beta, a = kappa0 + N, a0 + N / 2
    m = (kappa0 * mu0 + N * xbar) / beta
    b = b0 + 0.5 * np.sum((x - xbar) ** 2) + kappa0 * N * (xbar - mu0) ** 2 / (2 * beta)
    evidence = (gammaln(a) - gammaln(a0) + a0 * np.log(b0) - a * np.log(b)
                + 0.5 * np.log(kappa0 / beta) - N / 2 * np.log(2 * np.pi))
    return dict(m=m, beta=beta, a=a, b=b), evidence


@pytest.mark.parametrize("n", [1, 15, 200])
def test_joint_normal_gamma_is_exact_in_one_sweep(n):
    """q(mu, tau) is one Normal–Gamma block: after one sweep it is the exact
    posterior and the ELBO is the log evidence; a second sweep changes nothing."""
    rng = np.random.default_rng(n)
    x = 2.0 + 0.7 * rng.standard_normal(n)
    hyp = dict(mu0=0.5, kappa0=2.0, a0=1.5, b0=0.8)
    exact, evidence = conjugate_normal_gamma(x, **hyp)
    fit = quiet_fit(model("normal_gamma"), {"x": x}, hypers=hyp, max_iter=2, tol=0.0)
    q = fit.posterior
    for got, want in ((q["mu"]["mean"], exact["m"]), (q["mu"]["beta"], exact["beta"]),
                      (q["tau"]["shape"], exact["a"]), (q["tau"]["rate"], exact["b"])):
        assert_close(got, want, "normal-gamma posterior")
    np.testing.assert_allclose(fit.elbo, evidence, rtol=1e-12, atol=1e-10)
    # the marginal moments: E[tau] = a/b, Var[mu] = b / (beta (a − 1)) (Student-t)
    assert_close(fit.mean("tau"), exact["a"] / exact["b"], "E[tau]")
    var = exact["b"] / (exact["beta"] * (exact["a"] - 1))
    assert_close(fit.result["expectations"]["mu"]["xx"], exact["m"] ** 2 + var, "E[mu²]")


def bishop_normal_gamma(x, mu0, kappa0, a0, b0, sweeps):
    """PRML §10.1.3 with the prior mu ~ N(mu0, (kappa0 tau)⁻¹): q(mu) first
    (the mean before the precision that scales it), tau starting at its prior
    Gamma(a0, b0)."""
    N, xbar = len(x), x.mean()
    aN, bN = a0, b0
    states = []
    for _ in range(sweeps):
        muN = (kappa0 * mu0 + N * xbar) / (kappa0 + N)
        lamN = (kappa0 + N) * aN / bN
        Em, Em2 = muN, muN ** 2 + 1 / lamN
        aN = a0 + (N + 1) / 2
        bN = b0 + 0.5 * (np.sum(x ** 2) - 2 * Em * x.sum() + N * Em2
                         + kappa0 * (Em2 - 2 * mu0 * Em + mu0 ** 2))
        states.append(dict(a=aN, b=bN, m=muN, p=lamN))
    return states


def test_normal_gamma_matches_bishop_every_sweep():
    rng = np.random.default_rng(5)
    x = 2.0 + 0.7 * rng.standard_normal(15)
    hyp = dict(mu0=0.5, kappa0=2.0, a0=1.5, b0=0.8)
    m = model("normal_gamma")
    states = bishop_normal_gamma(x, **hyp, sweeps=SWEEPS)
    for k, fit, s in fits_per_sweep(m, {"x": x}, states, hypers=hyp, mean_field=True):
        q = fit.posterior
        assert_close(q["tau"]["shape"], s["a"], f"tau shape, sweep {k}")
        assert_close(q["tau"]["rate"], s["b"], f"tau rate, sweep {k}")
        assert_close(q["mu"]["mean"], s["m"], f"mu mean, sweep {k}")
        assert_close(q["mu"]["precision"], s["p"], f"mu precision, sweep {k}")
