"""Shared fits of the ecosystem tests (summary, draws, save/load, prediction,
scikit-learn, ArviZ): small data simulated with fixed seeds, compiled once."""
from __future__ import annotations

import functools
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "engine"))
from engine_cases import MODELS, example, from_text, quiet_fit  # noqa: E402,F401

BLR = """model blr
dim N, D
data X[N, D]
data y[N]
alpha ~ Gamma(1.0, 1.0)
w ~ MvNormal(zeros(D), 1.0 * eye(D))
b ~ Normal(0.0, 0.01)
for n in N:
    y[n] ~ Normal(dot(X[n], w) + b, alpha)
"""


def faithful():
    x = np.loadtxt(MODELS / "data" / "faithful.csv", delimiter=",", skiprows=1)
    return (x - x.mean(0)) / x.std(0)


@functools.lru_cache(maxsize=None)
def gmm_fit():
    return quiet_fit(example("gmm"), {"x": faithful(), "K": 3}, seed=0)


def regression(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, X @ np.array([1.0, -2.0]) + 3.0 + 0.5 * rng.normal(size=n)


@functools.lru_cache(maxsize=None)
def blr_fit():
    X, y = regression()
    return quiet_fit(from_text(BLR), {"X": X, "y": y}, seed=0)


def hier_data(seed=0, n=80, groups=4):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, size=n)
    theta = 2.0 * rng.normal(size=groups)
    return {"y": theta[g] + rng.normal(size=n), "g": g, "G": groups}


@functools.lru_cache(maxsize=None)
def hier_fit():
    return quiet_fit(example("hier"), hier_data(), seed=0)
