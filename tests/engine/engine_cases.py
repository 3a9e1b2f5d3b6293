"""Shared fixtures of the engine tests: the example models, data simulated
from them, and a hand-driven run of an emitted module.

The engine tests use the public API (``vmpdsl.load``, ``Model.fit``, ``Fit``)
and, where an oracle needs to look inside a sweep, these internals of an
emitted module (``model._compiled.module``):

    bind_data(data) -> (dim, arrays)
    _hypers(dim) -> hyper
    _constants(dim, arrays, hyper) -> K
    _initial_state(q, E, K, arrays, hyper, dim, rng, init)
    UPDATES = ((name, family, [point,] update_fn, prior_fn), ...)
        update_fn(E, K, arrays, hyper, dim) -> {stat: coefficient C_stat},
        log q(name) = Σ_stat <C_stat, u_stat> + const
    FAMILY_FUNCTIONS[family]: params_from_coeffs, expectations, entropy
        (a tuple in that order, or a dict keyed by those names)
    elbo_value(q, E, K, arrays, hyper, dim)

If those names change, only ``Run`` below needs to follow.
"""
from __future__ import annotations

import functools
import pathlib
import warnings

import numpy as np

import vmpdsl

MODELS = pathlib.Path(__file__).resolve().parents[2] / "models"

# Every example model that needs no point estimate (linreg_em, gmm_em do).
SUPPORTED = ("normal_gamma", "linreg", "gmm", "lda", "pca", "hier", "poisson_mix", "coin")


@functools.lru_cache(maxsize=None)
def example(name: str):
    """The compiled example model ``models/<name>.vmp`` (compiled once per session)."""
    return vmpdsl.load(str(MODELS / f"{name}.vmp"))


@functools.lru_cache(maxsize=None)
def from_text(text: str):
    return vmpdsl.load(text)


def quiet_fit(model, data, **options):
    """``model.fit`` with the not-converged RuntimeWarning silenced (the tests
    that stop after a fixed number of sweeps expect it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return model.fit(data, **options)


# --------------------------------------------------------------------------
# Data simulated from each example model (the generative process as written).
# Each returns (data, truth).

def sim_normal_gamma(rng, N=50, mu=1.5, tau=0.8):
    x = rng.normal(mu, 1.0 / np.sqrt(tau), N)
    return {"x": x}, {"mu": mu, "tau": tau}


def sim_linreg(rng, N=40, D=3, alpha=4.0, w=None):
    w = rng.normal(0.0, 1.0, D) if w is None else np.asarray(w, dtype=float)
    X = rng.normal(size=(N, D))
    y = X @ w + rng.normal(0.0, 1.0 / np.sqrt(alpha), N)
    return {"X": X, "y": y}, {"w": w, "alpha": alpha}


def sim_gmm(rng, N=60, K=3, D=2, spread=6.0, K_fit=None, mu=None):
    mu = spread * rng.normal(size=(K, D)) if mu is None else np.asarray(mu, dtype=float)
    A = rng.normal(size=(K, D, D)) * 0.3 + np.eye(D)
    cov = A @ np.swapaxes(A, -1, -2)
    pi = rng.dirichlet(5.0 * np.ones(K))
    z = rng.choice(K, size=N, p=pi)
    chol = np.linalg.cholesky(cov)
    x = mu[z] + np.einsum("nij,nj->ni", chol[z], rng.normal(size=(N, D)))
    return ({"x": x, "K": K if K_fit is None else K_fit},
            {"mu": mu, "cov": cov, "Lambda": np.linalg.inv(cov), "pi": pi, "z": z})


def sim_lda(rng, Dc=4, K=2, V=8, T=80):
    phi = rng.dirichlet(0.3 * np.ones(V), size=K)
    theta = rng.dirichlet(0.5 * np.ones(K), size=Dc)
    doc = rng.integers(0, Dc, T)
    z = np.array([rng.choice(K, p=theta[d]) for d in doc], dtype=int)
    word = np.array([rng.choice(V, p=phi[k]) for k in z], dtype=int)
    return ({"doc": doc, "word": word, "Dc": Dc, "K": K, "V": V},
            {"phi": phi, "theta": theta, "z": z})


def sim_pca(rng, N=40, D=4, K=2, noise=0.3, K_fit=None):
    W = rng.normal(0.0, 2.0, (D, K))
    z = rng.normal(size=(N, K))
    mu = rng.normal(0.0, 1.0, D)
    Y = z @ W.T + mu + rng.normal(0.0, noise, (N, D))
    return ({"Y": Y, "K": K if K_fit is None else K_fit},
            {"W": W, "z": z, "mu": mu, "tau": 1.0 / noise ** 2})


def sim_hier(rng, N=50, G=4, mu=2.0, tau=0.5, sigma=3.0):
    theta = rng.normal(mu, 1.0 / np.sqrt(tau), G)
    g = rng.integers(0, G, N)
    y = theta[g] + rng.normal(0.0, 1.0 / np.sqrt(sigma), N)
    return {"y": y, "g": g, "G": G}, {"theta": theta, "sigma": sigma, "mu": mu, "tau": tau}


def sim_poisson_mix(rng, N=50, rates=(2.0, 15.0), weights=None):
    rates = np.asarray(rates, dtype=float)
    K = len(rates)
    weights = np.ones(K) / K if weights is None else np.asarray(weights, dtype=float)
    z = rng.choice(K, size=N, p=weights)
    c = rng.poisson(rates[z])
    return {"c": c, "K": K}, {"rate": rates, "pi": weights, "z": z}


def sim_coin(rng, N=30, p=0.3):
    x = (rng.random(N) < p).astype(int)
    return {"x": x}, {"p": p}


SIMULATORS = {
    "normal_gamma": sim_normal_gamma, "linreg": sim_linreg, "gmm": sim_gmm,
    "lda": sim_lda, "pca": sim_pca, "hier": sim_hier,
    "poisson_mix": sim_poisson_mix, "coin": sim_coin,
}


# --------------------------------------------------------------------------
# A hand-driven run of an emitted module (the same steps as its fit loop).

class Run:
    """Bind data, initialize, and sweep an emitted module step by step."""

    def __init__(self, model, data, hypers=None, seed=0, init=None):
        self.module = mod = model._compiled.module
        self.dim, self.data = mod.bind_data(dict(data))
        self.hyper = mod._hypers(self.dim)
        for name, value in (hypers or {}).items():
            self.hyper[name] = np.asarray(value, dtype=float)
        self.K = mod._constants(self.dim, self.data, self.hyper)
        self.q, self.E = {}, {}
        mod._initial_state(self.q, self.E, self.K, self.data, self.hyper, self.dim,
                           np.random.default_rng(seed), init or {})

    @property
    def updates(self):
        """(name, family, update_fn) per latent, in sweep order."""
        return [(row[0], row[1], row[-2]) for row in self.module.UPDATES]

    def family_function(self, family, what):
        """``what`` in params_from_coeffs, expectations, entropy."""
        functions = self.module.FAMILY_FUNCTIONS[family]
        if isinstance(functions, dict):
            return functions[what]
        return functions[("params_from_coeffs", "expectations", "entropy").index(what)]

    def coefficients(self, name):
        """C for q(name) given the current expectations of everything else."""
        for latent, family, update in self.updates:
            if latent == name:
                return update(self.E, self.K, self.data, self.hyper, self.dim)
        raise KeyError(name)

    def params_from_coeffs(self, family, coeffs):
        return self.family_function(family, "params_from_coeffs")(coeffs)

    def set_params(self, name, family, params):
        self.q[name] = params
        self.E[name] = self.family_function(family, "expectations")(params)

    def update(self, name, family):
        params = self.params_from_coeffs(family, self.coefficients(name))
        self.set_params(name, family, params)
        return params

    def sweep(self):
        for name, family, update in self.updates:
            self.update(name, family)

    def elbo(self):
        return self.module.elbo_value(self.q, self.E, self.K, self.data, self.hyper, self.dim)
