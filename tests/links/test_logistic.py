"""Logistic links (Jaakkola–Jordan bound): a hand-written PRML §10.6 coordinate
ascent, a Monte Carlo check that the ELBO is a true lower bound, quadrature of
a one-dimensional posterior, and Binomial = Bernoulli on the expanded trials."""
import numpy as np
import pytest
from scipy import special as sps

import vmpdsl
from link_cases import fit, hier_logit_data, logreg_data


def jj_reference(X, y, s0, sweeps):
    """PRML §10.6: q(w) = N(m, S) given ξ, then ξ² = E[η²]; ξ starts at 0 and
    w is updated first, the schedule of the compiled model.  Returns the ELBO
    after every sweep and the final (m, S)."""
    N, D = X.shape
    xi, trace = np.zeros(N), []
    for _ in range(sweeps):
        lam = np.where(xi < 1e-8, 0.125, np.tanh(xi / 2) / (4 * np.where(xi < 1e-8, 1, xi)))
        S = np.linalg.inv(s0 * np.eye(D) + 2 * (X * lam[:, None]).T @ X)
        m = S @ (X.T @ (y - 0.5))
        second = np.einsum("ni,ij,nj->n", X, S + np.outer(m, m), X)
        xi = np.sqrt(second)
        lam = np.tanh(xi / 2) / (4 * xi)
        bound = -np.logaddexp(0, -xi) + (y - 0.5) * (X @ m) - xi / 2 - lam * (second - xi ** 2)
        log_prior = 0.5 * D * np.log(s0 / (2 * np.pi)) - 0.5 * s0 * (m @ m + np.trace(S))
        entropy = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * S)[1]
        trace.append(bound.sum() + log_prior + entropy)
    return np.array(trace), m, S


def test_logreg_matches_the_hand_written_jaakkola_jordan_updates():
    data = logreg_data(np.random.default_rng(0), N=80, D=3)
    result = fit("logreg", data, hypers={"s0": 2.0}, max_iter=60, tol=0)
    trace, m, S = jj_reference(data["X"], data["y"], 2.0, len(result.elbo))
    np.testing.assert_allclose(result.elbo, trace, rtol=1e-10)
    np.testing.assert_allclose(result.mean("w"), m, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result.posterior["w"]["cov"], S, rtol=1e-10, atol=1e-12)
    xi = result.posterior["ξ_y"]["value"]  # the local parameters: ξ² = E[η²]
    np.testing.assert_allclose(xi ** 2, np.einsum("ni,ij,nj->n", data["X"], S + np.outer(m, m),
                                                  data["X"]), rtol=1e-8)


def test_logreg_elbo_is_below_the_exact_mean_field_elbo():
    """E_q[log p(y|w)] by Monte Carlo with the exact likelihood, plus the
    Gaussian's exact E[log p(w)] + H[q]: the reported bound must lie below it."""
    data = logreg_data(np.random.default_rng(1), N=100, D=3)
    result = fit("logreg", data, max_iter=500, tol=1e-12)
    m, S = result.mean("w"), result.posterior["w"]["cov"]
    w = np.random.default_rng(2).multivariate_normal(m, S, size=20000)
    eta = w @ data["X"].T
    loglik = (data["y"] * -np.logaddexp(0, -eta) + (1 - data["y"]) * -np.logaddexp(0, eta)).sum(1)
    D = len(m)
    rest = -0.5 * D * np.log(2 * np.pi) - 0.5 * (m @ m + np.trace(S)) \
        + 0.5 * np.linalg.slogdet(2 * np.pi * np.e * S)[1]
    exact, error = loglik.mean() + rest, loglik.std() / np.sqrt(len(loglik))
    assert result.elbo[-1] <= exact + 4 * error
    assert exact - result.elbo[-1] < 0.05 * abs(exact)  # a bound, and a tight one


def test_one_dimensional_posterior_mean_against_quadrature():
    """The JJ mean approximates the exact posterior mean (computed on a grid):
    the bound shrinks it towards the prior mean a little (here by 0.12 posterior
    sd); the stated tolerance is 0.2 sd."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 1))
    y = (rng.random(30) < sps.expit(1.5 * x[:, 0])).astype(int)
    result = fit("logreg", {"X": x, "y": y}, max_iter=1000, tol=1e-13)
    grid = np.linspace(-12, 12, 40001)
    eta = np.outer(grid, x[:, 0])
    log_post = -0.5 * grid ** 2 + (y * -np.logaddexp(0, -eta) + (1 - y) * -np.logaddexp(0, eta)).sum(1)
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    mean = post @ grid
    sd = np.sqrt(post @ (grid - mean) ** 2)
    assert abs(result.mean("w")[0] - mean) < 0.2 * sd


BINREG = """
model binreg
dim N, D
data X[N, D]
data n[N]: int
data k[N]: int
w ~ MvNormal(zeros(D), eye(D))
for i in N:
    k[i] ~ Binomial(n[i], sigmoid(dot(X[i], w)))
"""


def expand(X, n, k):
    """Each Binomial row as n Bernoulli rows, k of them ones."""
    rows = np.repeat(np.arange(len(n)), n)
    y = np.concatenate([np.r_[np.ones(ki), np.zeros(ni - ki)] for ni, ki in zip(n, k)])
    return X[rows], y.astype(int)


def test_binomial_bounds_each_trial_like_a_bernoulli():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(25, 2))
    n = rng.integers(1, 7, 25)
    k = rng.binomial(n, sps.expit(X @ np.array([1.0, -1.0])))
    binomial = vmpdsl.load(BINREG).fit({"X": X, "n": n, "k": k}, max_iter=40, tol=0)
    Xb, yb = expand(X, n, k)
    bernoulli = fit("logreg", {"X": Xb, "y": yb}, max_iter=40, tol=0)
    choose = np.sum(sps.gammaln(n + 1) - sps.gammaln(k + 1) - sps.gammaln(n - k + 1))
    sweeps = min(len(binomial.elbo), len(bernoulli.elbo))
    np.testing.assert_allclose(binomial.elbo[:sweeps], bernoulli.elbo[:sweeps] + choose, rtol=1e-10)
    np.testing.assert_allclose(binomial.mean("w"), bernoulli.mean("w"), rtol=1e-9)


HIER_BERNOULLI = """
model hier_bern
dim N, D, G
data X[N, D]
data y[N]: int
data g[N]: int
w ~ MvNormal(zeros(D), eye(D))
tau ~ Gamma(1.0, 1.0)
for j in G:
    b[j] ~ Normal(0.0, tau)
for n in N:
    y[n] ~ Bernoulli(logistic(dot(X[n], w) + b[g[n]]))
"""


def test_hier_logit_random_effects_equal_the_expanded_bernoulli_model():
    data = hier_logit_data(np.random.default_rng(5), N=40, D=2, G=3)
    result = fit("hier_logit", data, max_iter=12, tol=0, seed=0)
    Xb, yb = expand(data["X"], data["trials"], data["hits"])
    g = np.repeat(data["g"], data["trials"])
    reference = vmpdsl.load(HIER_BERNOULLI).fit({"X": Xb, "y": yb, "g": g, "G": 3},
                                                max_iter=12, tol=0, seed=0)
    choose = np.sum(sps.gammaln(data["trials"] + 1) - sps.gammaln(data["hits"] + 1)
                    - sps.gammaln(data["trials"] - data["hits"] + 1))
    sweeps = min(len(result.elbo), len(reference.elbo))
    np.testing.assert_allclose(result.elbo[:sweeps], reference.elbo[:sweeps] + choose, rtol=1e-9)
    np.testing.assert_allclose(result.mean("b"), reference.mean("b"), rtol=1e-8, atol=1e-10)
    assert np.all(np.diff(result.elbo) >= -1e-9 * np.abs(result.elbo[1:]))


def test_a_link_on_a_latent_is_refused_at_check():
    source = "dim N\nfor n in N:\n    z[n] ~ Bernoulli(logistic(1.0))\n"
    with pytest.raises(vmpdsl.VmpError, match="likelihood of observed data"):
        vmpdsl.load(source)
