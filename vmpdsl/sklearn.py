"""scikit-learn estimators around a .vmp model (needs scikit-learn).

``VMPRegressor``  a regression model: ``X`` → a data matrix, ``y`` → the
                  observed vector; ``predict`` is the posterior predictive mean
                  (``return_std=True`` adds its sd), ``score`` is R².
                  Default model: Bayesian linear regression with an intercept.
``VMPMixture``    a mixture model: ``X`` → the observed matrix, ``n_components``
                  → the component dim; ``predict_proba`` gives the
                  responsibilities of new rows, ``predict`` the most probable
                  component, ``score_samples`` the log predictive density,
                  ``score`` its mean (as GaussianMixture); ``samples`` Monte
                  Carlo draws where the density has no closed form.  Default model: the
                  Bayesian Gaussian mixture of LANGUAGE.md.

Parameters are constructor arguments (so ``get_params``/``set_params``,
``clone``, grid search, ``Pipeline`` and ``cross_val_score`` work): the model
(a path or source text), the data names X and y map to (X: one matrix, or
one name per column), ``dims`` (sizes no array fixes), ``hypers`` (a dict),
``max_iter``, ``tol``, ``random_state`` (the fit's seed) and ``point``.
Fitted attributes: ``fit_`` (the vmpdsl ``Fit``), ``n_iter_``,
``lower_bound_`` (the last ELBO), ``converged_``, ``n_features_in_``.
"""
from __future__ import annotations

import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, DensityMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as err:  # the optional extra, or a scikit-learn older than 1.6
    raise ImportError(f"vmpdsl.sklearn needs scikit-learn >= 1.6: pip install "
                      f"'vmpdsl[sklearn]' ({err})") from None

from .api import load

REGRESSION = """model blr
dim N, D
data X[N, D]
data y[N]
hyper a0 = 1e-2, b0 = 1e-4, e0 = 1e-2, f0 = 1e-4, s0 = 1e-6
alpha ~ Gamma(a0, b0)
lambda ~ Gamma(e0, f0)
w ~ MvNormal(zeros(D), lambda * eye(D))
b ~ Normal(0.0, s0)
for n in N:
    y[n] ~ Normal(dot(X[n], w) + b, alpha)
"""

MIXTURE = """model gmm
dim N, K, D
data x[N, D]
hyper alpha0 = 1.0, beta0 = 1.0, nu0 = D, W0 = eye(D), m0 = zeros(D)
pi ~ Dirichlet(alpha0 * ones(K))
for k in K:
    Lambda[k] ~ Wishart(nu0, W0)
    mu[k] ~ MvNormal(m0, beta0 * Lambda[k])
for n in N:
    z[n] ~ Categorical(pi)
    x[n] ~ MvNormal(mu[z[n]], Lambda[z[n]])
"""


class _VMPEstimator(BaseEstimator):
    """Fitting and the fitted attributes shared by both estimators."""

    def _inputs(self, X, model) -> dict:
        """X as data arrays: the whole matrix under one name (``X="X"``), or one
        column per name (``X=["g"]``, ``X=["X1", "X2"]``) for 1-D arrays."""
        names = [self.X] if isinstance(self.X, str) else list(self.X)
        declared = model.checked.variables
        if len(names) == 1 and names[0] in declared and len(declared[names[0]].event) == 2:
            return {names[0]: X}
        if X.shape[1] != len(names):
            raise ValueError(f"X has {X.shape[1]} columns but X names {len(names)} arrays "
                             f"({', '.join(names)})")
        return {name: X[:, i] for i, name in enumerate(names)}

    def _fit(self, data: dict):
        model = load(self.model or self._default_model)
        seed = self.random_state
        if seed is not None and not isinstance(seed, (int, np.integer)):
            seed = int(check_random_state(seed).randint(2 ** 31 - 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # converged_ says it
            self.fit_ = model.fit(data, hypers=dict(self.hypers or {}), max_iter=self.max_iter,
                                  tol=self.tol, seed=seed, point=self.point)
        self.n_iter_ = self.fit_.iterations
        self.lower_bound_ = float(self.fit_.elbo[-1])
        self.converged_ = bool(self.fit_.converged)
        return self


class VMPRegressor(RegressorMixin, _VMPEstimator):
    """A .vmp regression model as a scikit-learn regressor (see the module docs)."""

    _default_model = REGRESSION

    def __init__(self, model=None, X="X", y="y", dims=None, hypers=None, max_iter=500,
                 tol=1e-8, random_state=0, point=None):
        self.model, self.X, self.y, self.dims, self.hypers = model, X, y, dims, hypers
        self.max_iter, self.tol, self.random_state, self.point = max_iter, tol, random_state, point

    def fit(self, X, y):
        """Fit q to the rows of X and y (``dims``: sizes no array fixes, e.g. groups)."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        model = load(self.model or self._default_model)
        return self._fit({**self._inputs(X, model), self.y: y, **dict(self.dims or {})})

    def predict(self, X, return_std=False):
        """The posterior predictive mean of y (and its sd with ``return_std``)."""
        check_is_fitted(self, "fit_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        out = self.fit_.predict(self._inputs(X, self.fit_.model))
        mean = np.asarray(out["mean"], dtype=float)
        return (mean, np.sqrt(out["var"])) if return_std else mean


class VMPMixture(DensityMixin, _VMPEstimator):
    """A .vmp mixture model as a scikit-learn density estimator / clusterer."""

    _default_model = MIXTURE

    def __init__(self, model=None, n_components=2, X="x", components="K", hypers=None,
                 max_iter=500, tol=1e-8, random_state=0, point=None, samples=2000):
        self.model, self.n_components, self.X, self.components = model, n_components, X, components
        self.hypers, self.max_iter, self.tol = hypers, max_iter, tol
        self.random_state, self.point, self.samples = random_state, point, samples

    def fit(self, X, y=None):
        """Fit q to the rows of X (y is ignored)."""
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        model = load(self.model or self._default_model)
        self._fit({**self._inputs(X, model), self.components: self.n_components})
        self.labels_ = self.predict(X)
        return self

    def fit_predict(self, X, y=None):
        """Fit, then the most probable component of each row."""
        return self.fit(X).labels_

    def predict_proba(self, X):
        """Responsibilities q(z_n = k) of new rows, the globals held at q."""
        check_is_fitted(self, "fit_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        local = self.fit_.local(self._inputs(X, self.fit_.model))
        (params,) = [q for q in local.values() if "probs" in q]
        return params["probs"]

    def predict(self, X):
        """The most probable component of each row."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score_samples(self, X):
        """log p(x_n | training data) of each row, integrated over q."""
        check_is_fitted(self, "fit_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.fit_.score(self._inputs(X, self.fit_.model), samples=self.samples)

    def score(self, X, y=None):
        """The mean log predictive density of the rows."""
        return float(np.mean(self.score_samples(X)))
