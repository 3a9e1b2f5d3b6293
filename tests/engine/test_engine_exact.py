"""Oracle 3 (exactness): where mean field is exact — one latent block with a
conjugate prior — one sweep gives the closed-form posterior, and the ELBO of
that q equals the log marginal likelihood (the evidence), since
ELBO = log p(X) − KL(q ‖ p(·|X)) and the KL is zero.

Every expected value is computed here from the textbook formula (never from
the engine's own functions).
"""
import numpy as np
import pytest
from scipy import special as sps
from scipy import stats

from engine_cases import example, from_text, quiet_fit

PARAM_TOL = dict(rtol=1e-10, atol=1e-12)
EVIDENCE_RTOL = 1e-10

NORMAL_MEAN = """
model normal_mean
dim N
data x[N]
hyper tau0 = 1.0, m0 = 0.0, k0 = 1.0
mu ~ Normal(m0, k0)
for n in N:
    x[n] ~ Normal(mu, tau0)
"""

GAMMA_POISSON = """
model gamma_poisson
dim N
data c[N]: int
hyper a = 1.0, b = 1.0
rate ~ Gamma(a, b)
for n in N:
    c[n] ~ Poisson(rate)
"""

DIRICHLET_CATEGORICAL = """
model dirichlet_categorical
dim N, K
data x[N]: int
hyper alpha = 1.0
pi ~ Dirichlet(alpha * ones(K))
for n in N:
    x[n] ~ Categorical(pi)
"""

LINREG_KNOWN = """
model linreg_known
dim N, D
data X[N, D]
data y[N]
hyper lambda = 1.0, alpha = 1.0
w ~ MvNormal(zeros(D), lambda * eye(D))
for n in N:
    y[n] ~ Normal(dot(X[n], w), alpha)
"""

GAMMA_PRECISION = """
model gamma_precision
dim N
data x[N]
hyper m = 0.0, a0 = 1.0, b0 = 1.0
tau ~ Gamma(a0, b0)
for n in N:
    x[n] ~ Normal(m, tau)
"""

WISHART_PRECISION = """
model wishart_precision
dim N, D
data x[N, D]
hyper nu = D, V = eye(D), m = zeros(D)
Lam ~ Wishart(nu, V)
for n in N:
    x[n] ~ MvNormal(m, Lam)
"""


def one_sweep(model, data, hypers):
    """The posterior after exactly one sweep, and that sweep's ELBO."""
    fit = quiet_fit(model, data, hypers=hypers, max_iter=1, seed=0)
    assert fit.iterations == 1 and len(fit.elbo) == 1
    return fit.posterior, fit.elbo[0]


def check_exact(model, data, hypers, expected, evidence):
    posterior, elbo = one_sweep(model, data, hypers)
    for latent, params in expected.items():
        for key, value in params.items():
            np.testing.assert_allclose(posterior[latent][key], value, **PARAM_TOL,
                                       err_msg=f"{latent}.{key} after one sweep")
    assert elbo == pytest.approx(evidence, rel=EVIDENCE_RTOL, abs=1e-9), \
        "the ELBO of the exact posterior must equal the log evidence"
    # The default fit converges at once and lands on the same answer.
    fit = model.fit(data, hypers=hypers, seed=1)
    assert fit.converged and fit.iterations <= 3
    for latent, params in expected.items():
        for key, value in params.items():
            np.testing.assert_allclose(fit.posterior[latent][key], value, **PARAM_TOL,
                                       err_msg=f"{latent}.{key} after convergence")
    assert fit.elbo[-1] == pytest.approx(evidence, rel=EVIDENCE_RTOL, abs=1e-9)


@pytest.mark.parametrize("N,tau0,m0,k0,seed", [
    (1, 1.0, 0.0, 1.0, 0), (25, 2.5, -1.0, 0.3, 1), (400, 0.2, 3.0, 10.0, 2)],
    ids=["N1", "N25", "N400"])
def test_normal_mean_known_precision(N, tau0, m0, k0, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 1.0 / np.sqrt(tau0), N)
    kN = k0 + N * tau0
    mN = (k0 * m0 + tau0 * x.sum()) / kN
    cov = np.eye(N) / tau0 + np.ones((N, N)) / k0
    evidence = stats.multivariate_normal(np.full(N, m0), cov).logpdf(x)
    check_exact(from_text(NORMAL_MEAN), {"x": x}, {"tau0": tau0, "m0": m0, "k0": k0},
                {"mu": {"mean": mN, "precision": kN}}, evidence)


@pytest.mark.parametrize("N,p,seed", [(1, 0.5, 0), (40, 0.2, 1), (500, 0.7, 2)],
                         ids=["N1", "N40", "N500"])
def test_beta_bernoulli_coin(N, p, seed):
    rng = np.random.default_rng(seed)
    x = (rng.random(N) < p).astype(int)
    heads = int(x.sum())
    a, b = 1.0 + heads, 1.0 + N - heads
    evidence = sps.betaln(a, b) - sps.betaln(1.0, 1.0)
    check_exact(example("coin"), {"x": x}, None, {"p": {"a": a, "b": b}}, evidence)


@pytest.mark.parametrize("N,a,b,seed", [(1, 1.0, 1.0, 0), (30, 2.5, 0.4, 1),
                                        (300, 0.5, 3.0, 2)], ids=["N1", "N30", "N300"])
def test_gamma_poisson(N, a, b, seed):
    rng = np.random.default_rng(seed)
    c = rng.poisson(4.0, N)
    aN, bN = a + c.sum(), b + N
    evidence = (a * np.log(b) - sps.gammaln(a) + sps.gammaln(aN) - aN * np.log(bN)
                - sps.gammaln(c + 1.0).sum())
    check_exact(from_text(GAMMA_POISSON), {"c": c}, {"a": a, "b": b},
                {"rate": {"shape": aN, "rate": bN}}, evidence)


@pytest.mark.parametrize("N,K,alpha,seed", [(1, 2, 1.0, 0), (50, 4, 0.3, 1),
                                            (200, 6, 2.5, 2)], ids=["N1K2", "N50K4", "N200K6"])
def test_dirichlet_categorical(N, K, alpha, seed):
    rng = np.random.default_rng(seed)
    x = rng.choice(K, size=N, p=rng.dirichlet(np.ones(K)))
    counts = np.bincount(x, minlength=K)
    evidence = (sps.gammaln(K * alpha) - sps.gammaln(K * alpha + N)
                + np.sum(sps.gammaln(alpha + counts) - sps.gammaln(alpha)))
    check_exact(from_text(DIRICHLET_CATEGORICAL), {"x": x, "K": K}, {"alpha": alpha},
                {"pi": {"concentration": alpha + counts}}, evidence)


@pytest.mark.parametrize("N,D,lam,alpha,seed", [
    (1, 1, 1.0, 1.0, 0), (20, 3, 2.0, 5.0, 1), (150, 5, 0.1, 0.7, 2)],
    ids=["N1D1", "N20D3", "N150D5"])
def test_bayesian_linear_regression_known_precisions(N, D, lam, alpha, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    y = X @ rng.normal(size=D) + rng.normal(0.0, 1.0 / np.sqrt(alpha), N)
    # Bishop PRML (3.53)-(3.54) and (3.86): S_N⁻¹ = λI + α XᵀX, m_N = α S_N Xᵀy,
    # y ~ N(0, I/α + X Xᵀ/λ).
    precision = lam * np.eye(D) + alpha * X.T @ X
    cov = np.linalg.inv(precision)
    mean = alpha * cov @ X.T @ y
    evidence = stats.multivariate_normal(np.zeros(N), np.eye(N) / alpha + X @ X.T / lam).logpdf(y)
    check_exact(from_text(LINREG_KNOWN), {"X": X, "y": y}, {"lambda": lam, "alpha": alpha},
                {"w": {"mean": mean, "cov": cov, "precision": precision}}, evidence)


@pytest.mark.parametrize("N,m,a0,b0,seed", [(1, 0.0, 1.0, 1.0, 0), (35, 2.0, 3.0, 0.5, 1),
                                            (400, -1.0, 0.1, 4.0, 2)], ids=["N1", "N35", "N400"])
def test_gamma_precision_known_mean(N, m, a0, b0, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(m + 0.3, 1.7, N)
    aN = a0 + N / 2.0
    bN = b0 + 0.5 * np.sum((x - m) ** 2)
    evidence = (a0 * np.log(b0) - sps.gammaln(a0) + sps.gammaln(aN) - aN * np.log(bN)
                - 0.5 * N * np.log(2.0 * np.pi))
    check_exact(from_text(GAMMA_PRECISION), {"x": x}, {"m": m, "a0": a0, "b0": b0},
                {"tau": {"shape": aN, "rate": bN}}, evidence)


@pytest.mark.parametrize("N,D,nu_extra,seed", [(1, 1, 0.5, 0), (10, 2, 1.0, 1),
                                               (200, 3, 4.0, 2)], ids=["N1D1", "N10D2", "N200D3"])
def test_wishart_precision_known_mean(N, D, nu_extra, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(D, D))
    V = A @ A.T / D + 0.5 * np.eye(D)
    nu = D - 1.0 + nu_extra
    m = rng.normal(size=D)
    B = rng.normal(size=(D, D))
    x = m + rng.normal(size=(N, D)) @ (B + 2.0 * np.eye(D)).T
    r = x - m
    scale = np.linalg.inv(np.linalg.inv(V) + r.T @ r)
    df = nu + N
    logdet = lambda M: np.linalg.slogdet(M)[1]
    evidence = (-0.5 * N * D * np.log(np.pi) + sps.multigammaln(df / 2.0, D)
                - sps.multigammaln(nu / 2.0, D) + 0.5 * df * logdet(scale)
                - 0.5 * nu * logdet(V))
    check_exact(from_text(WISHART_PRECISION), {"x": x}, {"nu": nu, "V": V, "m": m},
                {"Lam": {"df": df, "scale": scale}}, evidence)
