"""Data simulated from the "Beyond conjugate pairs" models of LANGUAGE.md that
are conjugate after a rewrite (robust_reg, sbm, coins, naive_bayes), and the
hand-written NumPy references of their updates and ELBOs (the same updates,
written out by hand from the model, not from the engine).

Each simulator returns (data, truth); each reference takes the data and a
posterior (vmpdsl's parameter names) and returns (one sweep of the updates
from that posterior, the ELBO at that posterior)."""
from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

LOG_2PI = np.log(2 * np.pi)


# ------------------------------------------------------------------ simulators
def sim_robust_reg(rng, N=60, D=3, df=3.0, scale=0.5):
    w = rng.normal(0.0, 1.0, D)
    X = rng.normal(size=(N, D))
    y = X @ w + scale * rng.standard_t(df, N)
    return {"X": X, "y": y}, {"w": w}


def sim_sbm(rng, V=40, K=2, inside=0.6, outside=0.05):
    z = rng.permutation(np.arange(V) % K)
    p = np.where(z[:, None] == z[None, :], inside, outside)
    return {"A": (rng.random((V, V)) < p).astype(int), "K": K}, {"z": z}


def sim_coins(rng, N=30, c=2, p=(0.05, 0.5, 0.95)):
    return {"x": (rng.random(N) < p[c]).astype(int)}, {"c": c}


def sim_naive_bayes(rng, N=50, C=3, V=4, F=5):
    label = rng.integers(0, C, N)
    theta = rng.dirichlet(np.ones(V), size=(C, F))
    x = np.array([[rng.choice(V, p=theta[label[n], f]) for f in range(F)] for n in range(N)])
    return {"label": label, "x": x, "C": C, "V": V}, {"theta": theta}


SIMULATORS = {"robust_reg": sim_robust_reg, "sbm": sim_sbm, "coins": sim_coins,
              "naive_bayes": sim_naive_bayes}


# ------------------------------------------------------------------ helpers
def gamma_moments(shape, rate):
    return shape / rate, digamma(shape) - np.log(rate)


def gamma_log_density(a, b, mean, log_mean):
    return a * np.log(b) - gammaln(a) + (a - 1) * log_mean - b * mean


def gamma_entropy(shape, rate):
    return shape - np.log(rate) + gammaln(shape) + (1 - shape) * digamma(shape)


def beta_moments(a, b):
    return digamma(a) - digamma(a + b), digamma(b) - digamma(a + b)


def beta_entropy(a, b):
    log_p, log_q = beta_moments(a, b)
    return -(gammaln(a + b) - gammaln(a) - gammaln(b) + (a - 1) * log_p + (b - 1) * log_q)


def dirichlet_log_norm(alpha):
    return gammaln(alpha.sum(-1)) - gammaln(alpha).sum(-1)


# ------------------------------------------------------------------ robust_reg
def robust_reg_reference(data, post, order=("alpha", "w", "lam"), nu=4.0, a0=1e-2, b0=1e-4,
                         s0=1e-2):
    """Student-t regression as a Gamma scale mixture; one sweep of the updates
    of alpha, w and lam in ``order``.  E[(y − x·w)²] = (y − x·m)² + x Σ xᵀ."""
    X, y = data["X"], data["y"]
    N, D = X.shape
    alpha, w, lam = dict(post["alpha"]), dict(post["w"]), dict(post["lam"])

    def residual2(w):
        return (y - X @ w["mean"]) ** 2 + np.einsum("ni,ij,nj->n", X, w["cov"], X)

    def elbo(alpha, w, lam):
        Ea, Ela = gamma_moments(alpha["shape"], alpha["rate"])
        El, Ell = gamma_moments(lam["shape"], lam["rate"])
        lik = np.sum(0.5 * (Ela + Ell) - 0.5 * LOG_2PI - 0.5 * Ea * El * residual2(w))
        prior_w = 0.5 * D * (np.log(s0) - LOG_2PI) - 0.5 * s0 * (
            w["mean"] @ w["mean"] + np.trace(w["cov"]))
        entropy_w = 0.5 * D * (1 + LOG_2PI) + 0.5 * np.linalg.slogdet(w["cov"])[1]
        return (lik + prior_w + entropy_w
                + gamma_log_density(a0, b0, Ea, Ela) + gamma_entropy(alpha["shape"], alpha["rate"])
                + np.sum(gamma_log_density(nu / 2, nu / 2, El, Ell)
                         + gamma_entropy(lam["shape"], lam["rate"])))

    state = {"alpha": alpha, "w": w, "lam": lam}
    before = elbo(alpha, w, lam)

    def update_alpha(alpha, w, lam):
        El = lam["shape"] / lam["rate"]
        return {"shape": a0 + N / 2, "rate": b0 + 0.5 * np.sum(El * residual2(w))}

    def update_w(alpha, w, lam):
        Ea, El = alpha["shape"] / alpha["rate"], lam["shape"] / lam["rate"]
        precision = s0 * np.eye(D) + Ea * (X.T * El) @ X
        cov = np.linalg.inv(precision)
        return {"mean": cov @ (Ea * (X.T * El) @ y), "cov": cov, "precision": precision}

    def update_lam(alpha, w, lam):
        Ea = alpha["shape"] / alpha["rate"]
        return {"shape": np.full(N, nu / 2 + 0.5), "rate": nu / 2 + 0.5 * Ea * residual2(w)}

    updates = {"alpha": update_alpha, "w": update_w, "lam": update_lam}
    for name in order:
        state[name] = updates[name](state["alpha"], state["w"], state["lam"])
    return state, before


# ------------------------------------------------------------------ coins
def coins_reference(data, post, order=("c", "p"), a=(1.0, 5.0, 20.0), b=(20.0, 5.0, 1.0)):
    """A coin chosen once among K = 3 (c ~ Categorical(1/K)), each with a Beta
    prior; x[n] ~ Bernoulli(p[c]).  One sweep of the updates of c and p in ``order``."""
    x = data["x"]
    a, b = np.asarray(a), np.asarray(b)
    K, heads, tails = len(a), x.sum(), len(x) - x.sum()
    r, pa, pb = post["c"]["probs"], post["p"]["a"], post["p"]["b"]

    def elbo(r, pa, pb):
        log_p, log_q = beta_moments(pa, pb)
        return (np.sum(r * (np.log(1.0 / K) + heads * log_p + tails * log_q))
                - np.sum(r * np.log(np.maximum(r, 1e-300)))
                + np.sum(gammaln(a + b) - gammaln(a) - gammaln(b)
                         + (a - 1) * log_p + (b - 1) * log_q + beta_entropy(pa, pb)))

    before = elbo(r, pa, pb)
    for name in order:
        if name == "c":
            log_p, log_q = beta_moments(pa, pb)
            logits = np.log(1.0 / K) + heads * log_p + tails * log_q
            r = np.exp(logits - logits.max())
            r /= r.sum()
        else:
            pa, pb = a + r * heads, b + r * tails
    return {"c": {"probs": r}, "p": {"a": pa, "b": pb}}, before


# ------------------------------------------------------------------ naive_bayes
def naive_bayes_exact(data):
    """The exact posterior (Dirichlet counts) and log evidence p(label, x)."""
    label, x, C, V = data["label"], data["x"], data["C"], data["V"]
    N, F = x.shape
    label_counts = np.bincount(label, minlength=C)
    counts = np.zeros((C, F, V))
    np.add.at(counts, (label[:, None], np.arange(F)[None, :], x), 1.0)
    pi, theta = 1.0 + label_counts, 1.0 + counts
    evidence = (dirichlet_log_norm(np.ones(C)) - dirichlet_log_norm(pi)
                + np.sum(dirichlet_log_norm(np.ones(V)) - dirichlet_log_norm(theta)))
    return {"pi": pi, "theta": theta}, evidence


# ------------------------------------------------------------------ sbm
def sbm_elbo(data, post):
    """The ELBO of the stochastic block model under mean field, by hand: for
    i ≠ j the two memberships are independent (r_ik r_jl); for i = j they are
    one variable (r_ik on the diagonal k = l)."""
    A, r = data["A"], post["z"]["probs"]
    alpha, a, b = post["pi"]["concentration"], post["B"]["a"], post["B"]["b"]
    K = r.shape[1]
    log_pi = digamma(alpha) - digamma(alpha.sum())
    log_b, log_1mb = beta_moments(a, b)
    g = np.einsum("ij,ik,jl,kl->ij", A, r, r, log_b) + np.einsum("ij,ik,jl,kl->ij", 1 - A, r, r,
                                                                    log_1mb)
    off = np.sum(g) - np.trace(g)
    d = np.diagonal(A)
    diag = np.sum(r * (d[:, None] * np.diag(log_b) + (1 - d[:, None]) * np.diag(log_1mb)))
    entropy_z = -np.sum(r * np.log(np.maximum(r, 1e-300)))
    entropy_pi = -(dirichlet_log_norm(alpha) + np.sum((alpha - 1) * log_pi))
    prior_pi = dirichlet_log_norm(np.ones(K))  # Dirichlet(1): (α − 1) E[log π] = 0
    return (off + diag + np.sum(r @ log_pi) + entropy_z + entropy_pi + prior_pi
            + np.sum(beta_entropy(a, b)))  # Beta(1, 1) priors: log density 0
