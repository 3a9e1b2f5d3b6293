"""The models of LANGUAGE.md "Beyond conjugate pairs" that links and learned
hyperparameters serve, and data simulated for them."""
from __future__ import annotations

import pathlib
import warnings

import numpy as np

import vmpdsl

MODELS = pathlib.Path(__file__).resolve().parents[2] / "models"
LINK_MODELS = ("logreg", "hier_logit", "softmax_reg", "poisson_reg", "lda_eb", "pumps")

# The BUGS "pumps" data (George et al. 1993): failures x in t thousand hours.
PUMPS = {"t": np.array([94.3, 15.7, 62.9, 126, 5.24, 31.4, 1.05, 1.05, 2.1, 10.5]),
         "x": np.array([5, 1, 5, 14, 3, 19, 1, 1, 4, 22])}


def model(name: str):
    return vmpdsl.load(MODELS / f"{name}.vmp")


def fit(name: str, data: dict, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "not converged" in short runs
        return model(name).fit(data, **kwargs)


def logreg_data(rng, N=60, D=3):
    X = rng.normal(size=(N, D))
    w = rng.normal(size=D)
    y = (rng.random(N) < 1 / (1 + np.exp(-X @ w))).astype(int)
    return {"X": X, "y": y}


def hier_logit_data(rng, N=80, D=2, G=4):
    X = rng.normal(size=(N, D))
    g = rng.integers(0, G, N)
    b = rng.normal(0, 0.8, G)
    trials = rng.integers(0, 6, N)
    p = 1 / (1 + np.exp(-(X @ rng.normal(size=D) + b[g])))
    return {"X": X, "trials": trials, "hits": rng.binomial(trials, p), "g": g, "G": G}


def softmax_data(rng, N=60, D=3, C=3):
    X = rng.normal(size=(N, D))
    logits = X @ rng.normal(size=(D, C))
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y = np.array([rng.choice(C, p=row) for row in p])
    return {"X": X, "y": y, "C": C}


def poisson_data(rng, N=50, D=3):
    X = rng.normal(size=(N, D)) / np.sqrt(D)
    return {"X": X, "c": rng.poisson(np.exp(X @ rng.normal(size=D)))}


def lda_data(rng, Dc=8, K=2, V=12, tokens=30):
    phi = rng.dirichlet(np.full(V, 0.3), K)
    theta = rng.dirichlet(np.full(K, 0.5), Dc)
    doc = np.repeat(np.arange(Dc), tokens)
    z = np.array([rng.choice(K, p=theta[d]) for d in doc])
    word = np.array([rng.choice(V, p=phi[k]) for k in z])
    return {"doc": doc, "word": word, "K": K, "Dc": Dc, "V": V}


def pumps_data(rng, N=10):
    t = rng.uniform(1, 100, N)
    return {"t": t, "x": rng.poisson(rng.gamma(0.8, 1.0, N) * t)}


SIMULATORS = {"logreg": logreg_data, "hier_logit": hier_logit_data, "softmax_reg": softmax_data,
              "poisson_reg": poisson_data, "lda_eb": lda_data, "pumps": pumps_data}
