"""Shared helpers for the lecture-notes tests: models, simulated data, quiet fits."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

import vmpdsl

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
DATA = MODELS / "data"


def model(name: str):
    return vmpdsl.load(str(MODELS / f"{name}.vmp"))


def quiet_fit(m, data, **kwargs):
    """Fit without the not-converged warning (tests stop runs early on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return m.fit(data, **kwargs)


def regression_data(seed=0, n=40, d=3, noise=0.5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    y = X @ w + noise * rng.standard_normal(n)
    return X, y


def mixture_data(seed=0, n_per=60, spread=6.0):
    """Three well-separated 2-D Gaussian clusters and their labels."""
    rng = np.random.default_rng(seed)
    centres = spread * np.array([[0.0, 0.0], [1.0, 1.0], [1.0, -1.0]])
    x = np.concatenate([c + rng.standard_normal((n_per, 2)) @ np.diag([1.0, 0.6])
                        for c in centres])
    labels = np.repeat(np.arange(3), n_per)
    return x, labels, centres


def faithful() -> np.ndarray:
    """Old Faithful (eruptions, waiting), standardized per column."""
    table = np.loadtxt(DATA / "faithful.csv", delimiter=",", skiprows=1)
    return (table - table.mean(0)) / table.std(0)


def diabetes() -> tuple:
    """Diabetes: X = the 10 (already scaled) features, y = the target standardized."""
    table = np.loadtxt(DATA / "diabetes.csv", delimiter=",", skiprows=1)
    X, y = table[:, :10], table[:, 10]
    return X, (y - y.mean()) / y.std()
