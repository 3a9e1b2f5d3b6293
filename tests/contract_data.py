"""Data for the contract models of LANGUAGE.md, each simulated from the model itself.

``SIMULATE[name](rng)`` runs the model's generative process forward and returns
``(data, truth)``: ``data`` is what a user passes to ``fit`` (with the dims no
array fixes, such as K), ``truth`` the drawn latents.  A latent is drawn from its
prior where that prior is proper and informative; where the prior is deliberately
vague (``Gamma(1e-2, 1e-4)``, ``Normal(0, 1e-4)``) or would make the truth
unidentifiable from a small sample (a Wishart with df = D for well separated
clusters), the true value is fixed instead — the likelihood is always the model's.

``RECOVER[name](fit, data, truth)`` asserts that the fit found the truth as well as
such a sample allows (labels up to permutation); models without a cheap check
have none.  The closed-form oracles (exact posteriors and evidences) are in
test_language_contract.py.
"""
from itertools import permutations

import numpy as np
from scipy.special import expit, softmax

# ----------------------------------------------------------------- helpers


def gamma(rng, shape, rate, size=None):
    return rng.gamma(shape, 1.0 / rate, size)


def wishart_identity(rng, df, dim):
    """One draw of Wishart(df, I) (df ≥ dim), as the sum of df outer products."""
    g = rng.normal(size=(int(df), dim))
    return g.T @ g


def matched_accuracy(labels, probs):
    """The fraction of rows whose most probable component is the true one, under
    the best relabelling of the components (labels are exchangeable)."""
    guess = np.argmax(probs, axis=-1).ravel()
    k = probs.shape[-1]
    return max(np.mean(np.asarray(perm)[guess] == labels.ravel())
               for perm in permutations(range(k)))


def mixture_labels(rng, weights, n):
    return rng.choice(len(weights), size=n, p=weights)


# ------------------------------------------------------------- regressions


def linreg(rng, n=60, d=3):
    x = rng.normal(size=(n, d))
    w, alpha = rng.normal(size=d), 4.0  # lambda and alpha have vague priors: fixed
    y = x @ w + rng.normal(size=n) / np.sqrt(alpha)
    return {"X": x, "y": y}, {"w": w, "alpha": alpha}


def linreg_em(rng, n=60, d=3):
    x = rng.normal(size=(n, d))
    alpha = gamma(rng, 1.0, 1.0)
    w = rng.normal(size=d)  # lambda = 1
    y = x @ w + rng.normal(size=n) / np.sqrt(alpha)
    return {"X": x, "y": y}, {"w": w, "alpha": alpha}


def robust_reg(rng, n=80, d=2, nu=4.0):
    x = rng.normal(size=(n, d))
    w, alpha = np.array([1.0, -2.0]), 4.0  # vague priors: fixed
    lam = gamma(rng, nu / 2, nu / 2, n)
    y = x @ w + rng.normal(size=n) / np.sqrt(alpha * lam)
    return {"X": x, "y": y}, {"w": w, "alpha": alpha, "lam": lam}


def logreg(rng, n=200, d=3):
    x = rng.normal(size=(n, d))
    w = rng.normal(size=d)  # s0 = 1
    y = rng.binomial(1, expit(x @ w))
    return {"X": x, "y": y}, {"w": w}


def hier_logit(rng, n=120, d=2, groups=4):
    x = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    tau = gamma(rng, 1.0, 1.0)
    b = rng.normal(size=groups) / np.sqrt(tau)
    g = rng.integers(groups, size=n)
    trials = rng.integers(5, 20, size=n)
    hits = rng.binomial(trials, expit(x @ w + b[g]))
    return ({"X": x, "trials": trials, "hits": hits, "g": g, "G": groups},
            {"w": w, "b": b, "tau": tau})


def softmax_reg(rng, n=200, d=3, classes=3):
    x = 2.0 * rng.normal(size=(n, d))
    w = rng.normal(size=(classes, d))
    probs = softmax(x @ w.T, axis=1)
    y = np.array([rng.choice(classes, p=p) for p in probs])
    return {"X": x, "y": y, "C": classes}, {"W": w}


def poisson_reg(rng, n=100):
    x = np.column_stack([np.ones(n), 0.5 * rng.normal(size=n)])
    w = rng.normal(size=2)
    c = rng.poisson(np.exp(x @ w))
    return {"X": x, "c": c}, {"w": w}


# --------------------------------------------------------------- Gaussians


def normal_gamma(rng, n=40):
    tau = gamma(rng, 1.0, 1.0)
    mu = rng.normal(0.0, 1.0 / np.sqrt(1.0 * tau))
    x = rng.normal(mu, 1.0 / np.sqrt(tau), size=n)
    return {"x": x}, {"mu": mu, "tau": tau}


def gaussian_mixture(rng, n=150):
    """Three well separated clusters (the component parameters fixed: the
    model's Wishart(D, I) prior would put them on top of each other)."""
    means = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
    z = mixture_labels(rng, [0.3, 0.3, 0.4], n)
    x = means[z] + rng.normal(size=(n, 2)) / np.sqrt(2.0)
    return {"x": x, "K": 3}, {"z": z, "mu": means}


def pca(rng, n=100, d=5, k=2):
    w = rng.normal(size=(d, k))  # alpha = 1
    mu, tau = rng.normal(size=d), 25.0  # mu's and tau's priors are vague: fixed
    z = rng.normal(size=(n, k))
    y = z @ w.T + mu + rng.normal(size=(n, d)) / np.sqrt(tau)
    return {"Y": y, "K": k}, {"W": w, "mu": mu, "tau": tau}


def hier(rng, n=100, groups=5):
    mu, sigma = 1.0, 4.0  # vague prior on mu; sigma fixed so groups are resolvable
    tau = gamma(rng, 1.0, 1.0)
    theta = rng.normal(mu, 1.0 / np.sqrt(tau), size=groups)
    g = rng.integers(groups, size=n)
    y = rng.normal(theta[g], 1.0 / np.sqrt(sigma))
    return {"y": y, "g": g, "G": groups}, {"theta": theta}


def hmm(rng, t=200):
    trans = np.array([[0.9, 0.1], [0.1, 0.9]])
    means = np.array([[-2.0, 0.0], [2.0, 0.0]])  # fixed, as for the mixtures
    z = np.zeros(t, dtype=int)
    z[0] = rng.integers(2)
    for i in range(1, t):
        z[i] = rng.choice(2, p=trans[z[i - 1]])
    x = means[z] + rng.normal(size=(t, 2)) / 2.0
    return {"x": x, "K": 2}, {"z": z}


def lgssm(rng, t=60, d=2, m=3):
    angle = 0.2
    a = 0.95 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    c = rng.normal(size=(m, d))
    q, r = 10.0 * np.eye(d), 25.0 * np.eye(m)  # precisions (Wishart(D, I) is too wide)
    x = np.zeros((t, d))
    x[0] = rng.normal(size=d)
    for i in range(1, t):
        x[i] = rng.multivariate_normal(a @ x[i - 1], np.linalg.inv(q))
    y = x @ c.T + rng.multivariate_normal(np.zeros(m), np.linalg.inv(r), size=t)
    return {"y": y, "A": a, "C": c}, {"x": x}


# ------------------------------------------------------ discrete and counts


def poisson_mix(rng, n=200):
    rates = np.array([2.0, 15.0])  # Gamma(1, 0.1) draws may coincide: fixed
    z = mixture_labels(rng, [0.5, 0.5], n)
    return {"c": rng.poisson(rates[z]), "K": 2}, {"rate": rates, "z": z}


def coin(rng, n=30):
    p = rng.beta(1.0, 1.0)
    return {"x": rng.binomial(1, p, size=n)}, {"p": p}


def coins(rng, n=25):
    a, b = np.array([1.0, 5.0, 20.0]), np.array([20.0, 5.0, 1.0])
    c = rng.integers(3)
    p = rng.beta(a, b)
    return {"x": rng.binomial(1, p[c], size=n)}, {"c": c, "p": p}


def sbm(rng, v=24):
    pi = rng.dirichlet(np.ones(2))
    block = np.array([[0.85, 0.1], [0.1, 0.75]])  # Beta(1, 1) draws may coincide: fixed
    z = mixture_labels(rng, pi, v)
    return {"A": rng.binomial(1, block[z][:, z]), "K": 2}, {"z": z}


def naive_bayes(rng, n=100, classes=3, features=4, values=5):
    pi = rng.dirichlet(np.ones(classes))
    theta = rng.dirichlet(np.ones(values), size=(classes, features))
    label = mixture_labels(rng, pi, n)
    x = np.array([[rng.choice(values, p=theta[c, f]) for f in range(features)]
                  for c in label])
    return {"label": label, "x": x, "C": classes, "V": values}, {"theta": theta}


def lda(rng, docs=15, topics=3, words=10, length=40):
    phi = rng.dirichlet(np.full(words, 0.01), size=topics)
    theta = rng.dirichlet(np.full(topics, 0.1), size=docs)
    doc = np.repeat(np.arange(docs), length)
    z = np.array([rng.choice(topics, p=theta[d]) for d in doc])
    word = np.array([rng.choice(words, p=phi[k]) for k in z])
    return ({"doc": doc, "word": word, "Dc": docs, "K": topics, "V": words},
            {"phi": phi, "theta": theta})


def pumps(rng, n=10):
    alpha, beta = rng.exponential(1.0), 1.0  # beta's Gamma(0.1, 1) prior is vague: fixed
    theta = gamma(rng, alpha, beta, n)
    t = rng.uniform(5.0, 100.0, size=n)
    return {"t": t, "x": rng.poisson(theta * t)}, {"theta": theta}


SIMULATE = {
    "linreg": linreg, "normal_gamma": normal_gamma, "linreg_em": linreg_em,
    "gmm_em": gaussian_mixture, "gmm": gaussian_mixture, "lda": lda, "pca": pca,
    "hier": hier, "poisson_mix": poisson_mix, "coin": coin, "logreg": logreg,
    "hier_logit": hier_logit, "softmax_reg": softmax_reg, "poisson_reg": poisson_reg,
    "robust_reg": robust_reg, "sbm": sbm, "coins": coins, "naive_bayes": naive_bayes,
    "lda_eb": lda, "pumps": pumps, "hmm": hmm, "lgssm": lgssm,
}

# ----------------------------------------------------------------- recovery


def close_to_truth(name, tolerance):
    def check(fit, data, truth):
        error = np.max(np.abs(fit.mean(name) - truth[name]))
        assert error < tolerance, f"E[{name}] is {error:.3g} from the truth"
    return check


def labels_found(name, threshold):
    def check(fit, data, truth):
        accuracy = matched_accuracy(truth[name], fit.mean(name))
        assert accuracy > threshold, f"{name}: {accuracy:.2f} of the labels recovered"
    return check


def farthest_point_start(x, k):
    """Responsibilities from k centres picked farthest-first (a start a user can
    compute without the truth), softened so that the fit can move them."""
    centres = [x[np.argmax(np.sum((x - x.mean(0)) ** 2, axis=1))]]
    while len(centres) < k:
        gaps = np.min([np.sum((x - c) ** 2, axis=1) for c in centres], axis=0)
        centres.append(x[np.argmax(gaps)])
    nearest = np.argmin([np.sum((x - c) ** 2, axis=1) for c in centres], axis=0)
    return 0.8 * np.eye(k)[nearest] + 0.2 / k


def clusters_found_from_a_start(fit, data, truth):
    """The Bayesian mixture from a data-driven ``init`` (LANGUAGE.md's
    ``init={"z": responsibilities}``): from one random start it merges two
    clusters on most seeds (test_gmm_one_start_finds_the_clusters)."""
    start = farthest_point_start(data["x"], data["K"])
    refit = fit.model.fit(dict(data), seed=0, init={"z": start})
    labels_found("z", 0.95)(refit, data, truth)


def beats_chance(fit, data, truth):
    """Classification by the posterior mean beats always guessing the majority."""
    x, y = data["X"], data["y"]
    if "W" in fit.posterior:
        guess = np.argmax(x @ fit.mean("W").T, axis=1)
    else:
        guess = (x @ fit.mean("w") > 0).astype(int)
    chance = np.bincount(y).max() / len(y)
    assert np.mean(guess == y) > chance + 0.1, (np.mean(guess == y), chance)


def linear_predictor_found(fit, data, truth):
    eta = data["X"] @ truth["w"] + truth["b"][data["g"]]
    fitted = data["X"] @ fit.mean("w") + fit.mean("b")[data["g"]]
    assert np.corrcoef(eta, fitted)[0, 1] > 0.9


def rates_found(fit, data, truth):
    rates = np.sort(fit.mean("rate"))
    assert np.allclose(rates, truth["rate"], rtol=0.2), rates


def coin_found(fit, data, truth):
    assert np.argmax(fit.mean("c")) == truth["c"], fit.mean("c")


def topics_found(fit, data, truth):
    """Each document's word distribution E[θ_d] E[φ] is the truth's θ_d φ.
    (Not the topics one by one: two drawn topics can peak on the same word —
    seed 7 draws two on word 8 — and then how that word's tokens split
    between them is not identifiable; a fit of higher ELBO splits it
    otherwise.)"""
    found = fit.mean("theta") @ fit.mean("phi")
    error = np.abs(found - truth["theta"] @ truth["phi"]).max()
    assert error < 0.15, f"documents' word distributions are {error:.2f} from the truth"


def noise_found(fit, data, truth):
    tau = fit.mean("tau")
    assert truth["tau"] / 2 < tau < truth["tau"] * 2, tau


def states_smoothed(fit, data, truth):
    error = np.sqrt(np.mean((fit.mean("x") - truth["x"]) ** 2))
    assert error < 0.4 * np.sqrt(np.mean(truth["x"] ** 2)), f"RMS error {error:.3g}"


def shrunk_rates_follow_data(fit, data, truth):
    raw = data["x"] / data["t"]
    assert np.corrcoef(np.log(fit.mean("theta")), np.log(raw + 0.5 / data["t"]))[0, 1] > 0.9


RECOVER = {
    "linreg": close_to_truth("w", 0.3), "linreg_em": close_to_truth("w", 0.5),
    "robust_reg": close_to_truth("w", 0.3), "poisson_reg": close_to_truth("w", 0.5),
    "hier": close_to_truth("theta", 0.3), "lgssm": states_smoothed,
    "gmm_em": labels_found("z", 0.95), "gmm": clusters_found_from_a_start,
    "hmm": labels_found("z", 0.9), "sbm": labels_found("z", 0.9),
    "logreg": beats_chance, "softmax_reg": beats_chance,
    "hier_logit": linear_predictor_found, "poisson_mix": rates_found, "coins": coin_found,
    "lda": topics_found, "pca": noise_found, "pumps": shrunk_rates_follow_data,
}
