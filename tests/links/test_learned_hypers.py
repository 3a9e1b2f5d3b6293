"""Learned hyperparameters (empirical Bayes): a Gamma shape with a prior
(pumps: `point alpha ~ Exponential(1.0)`) and Dirichlet concentrations
(lda_eb: `param alpha`, `param eta`), against hand-written references."""
import numpy as np
from scipy import optimize
from scipy.special import digamma, gammaln

from link_cases import PUMPS, fit, lda_data


def gamma_entropy(a, b):
    return a - np.log(b) + gammaln(a) + (1 - a) * digamma(a)


def pumps_reference(t, x, sweeps):
    """Coordinate ascent in vmpdsl's sweep order (derive/schedule.py: theta,
    which is in the likelihood, then alpha (the maximizer of its expected log
    joint, by root-finding) and beta; the same updates as in the model's
    order, taken in another order).  alpha starts at its prior mean 1, beta at
    its prior."""
    N = len(x)
    alpha, a_b, b_b = 1.0, 0.1, 1.0
    trace = []
    for _ in range(sweeps):
        a_t, b_t = alpha + x, a_b / b_b + t
        elog_t, elog_b = digamma(a_t) - np.log(b_t), digamma(a_b) - np.log(b_b)
        slope = elog_t.sum() + N * elog_b - 1.0  # d/dα: slope − N ψ(α) = 0
        alpha = optimize.brentq(lambda v: slope - N * digamma(v), 1e-12, 1e6, xtol=1e-15, rtol=1e-15)
        a_b, b_b = 0.1 + N * alpha, 1.0 + np.sum(a_t / b_t)
        e_t, elog_t = a_t / b_t, digamma(a_t) - np.log(b_t)
        e_b, elog_b = a_b / b_b, digamma(a_b) - np.log(b_b)
        elbo = (-alpha + (0.1 - 1) * elog_b - e_b - gammaln(0.1)
                + np.sum((alpha - 1) * elog_t - e_b * e_t + alpha * elog_b - gammaln(alpha))
                + np.sum(x * (elog_t + np.log(t)) - t * e_t - gammaln(x + 1))
                + gamma_entropy(a_b, b_b) + np.sum(gamma_entropy(a_t, b_t)))
        trace.append(elbo)
    return np.array(trace), alpha, (a_b, b_b)


def test_pumps_matches_the_hand_written_empirical_bayes_updates():
    result = fit("pumps", PUMPS, max_iter=200, tol=0)
    trace, alpha, (a_b, b_b) = pumps_reference(PUMPS["t"], PUMPS["x"], len(result.elbo))
    np.testing.assert_allclose(result.elbo, trace, rtol=1e-10)
    np.testing.assert_allclose(result.posterior["alpha"]["value"], alpha, rtol=1e-10)
    np.testing.assert_allclose(result.posterior["beta"]["shape"], a_b, rtol=1e-10)
    np.testing.assert_allclose(result.posterior["beta"]["rate"], b_b, rtol=1e-10)
    assert np.all(np.diff(result.elbo) >= -1e-9 * np.abs(result.elbo[1:]))


def concentration_optimum(sum_elog, copies, size):
    """argmax_v v·Σ E[log p] + copies·(lgamma(size·v) − size·lgamma(v)), by root-finding."""
    def slope(log_v):
        v = np.exp(log_v)
        return sum_elog + copies * size * (digamma(size * v) - digamma(v))
    return np.exp(optimize.brentq(slope, -30, 30, xtol=1e-15, rtol=1e-15))


def elog(c):
    return digamma(c) - digamma(c.sum(-1, keepdims=True))


def dirichlet_elbo_terms(conc, prior, copies):
    """E[log Dir(x; prior)] + H[Dir(conc)] summed over rows."""
    size = conc.shape[-1]
    e = elog(conc)
    log_prior = copies * (gammaln(size * prior) - size * gammaln(prior)) + (prior - 1) * e.sum()
    entropy = np.sum(gammaln(conc).sum(-1) - gammaln(conc.sum(-1)) - ((conc - 1) * e).sum(-1))
    return log_prior + entropy


def lda_eb_reference(doc, word, Dc, K, V, r, sweeps):
    """Blei et al. 2003 mean-field updates with alpha and eta set to the
    maximizers of the expected log joint, in vmpdsl's sweep order
    (derive/schedule.py: phi, eta, theta, alpha, then z; the same updates as
    in the model's order alpha, eta, phi, theta, z, taken in another order);
    alpha = eta = 1 at the start."""
    alpha = eta = 1.0
    trace = []
    for _ in range(sweeps):
        phi = eta + np.stack([np.bincount(word, r[:, k], V) for k in range(K)])
        eta = concentration_optimum(elog(phi).sum(), K, V)
        theta = alpha + np.stack([np.bincount(doc, r[:, k], Dc) for k in range(K)], 1)
        alpha = concentration_optimum(elog(theta).sum(), Dc, K)
        log_r = elog(theta)[doc] + elog(phi)[:, word].T
        r = np.exp(log_r - log_r.max(1, keepdims=True))
        r /= r.sum(1, keepdims=True)
        trace.append(dirichlet_elbo_terms(phi, eta, K) + dirichlet_elbo_terms(theta, alpha, Dc)
                     + np.sum(r * log_r) - np.sum(r * np.log(np.where(r > 0, r, 1))))
    return np.array(trace), alpha, eta


def test_lda_eb_matches_the_hand_written_updates():
    rng = np.random.default_rng(0)
    data = lda_data(rng, Dc=10, K=2, V=12, tokens=40)
    start = rng.dirichlet(np.ones(2), size=len(data["doc"])) * 0.2 + 0.8 * np.eye(2)[
        (data["word"] >= 6).astype(int)]  # a start that separates the topics
    result = fit("lda_eb", data, init={"z": start}, max_iter=60, tol=0, collapse=False,
                 local_iters=1)  # the plain sweep, as the hand-written updates
    trace, alpha, eta = lda_eb_reference(data["doc"], data["word"], 10, 2, 12, start,
                                         len(result.elbo))
    np.testing.assert_allclose(result.elbo, trace, rtol=1e-10)
    np.testing.assert_allclose(result.posterior["alpha"]["value"], alpha, rtol=1e-9)
    np.testing.assert_allclose(result.posterior["eta"]["value"], eta, rtol=1e-9)
    assert np.all(np.diff(result.elbo) >= -1e-9 * np.abs(result.elbo[1:]))


def test_lda_eb_on_distinct_tokens_gives_the_same_trace():
    """Duplicate (doc, word) tokens are fitted once with their count: the
    learned concentrations see the same expected log joint."""
    rng = np.random.default_rng(1)
    data = lda_data(rng, Dc=6, K=2, V=5, tokens=30)
    start = rng.dirichlet(np.ones(2), size=len(data["doc"]))
    merged = fit("lda_eb", data, init={"z": start}, max_iter=25, tol=0)
    plain = fit("lda_eb", data, init={"z": start}, max_iter=25, tol=0, collapse=False)
    np.testing.assert_allclose(merged.elbo, plain.elbo, rtol=1e-10)
    np.testing.assert_allclose(merged.posterior["alpha"]["value"], plain.posterior["alpha"]["value"],
                               rtol=1e-9)
