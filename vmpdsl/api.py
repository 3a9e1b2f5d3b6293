"""The user-facing objects: ``load`` → ``Model`` → ``Model.fit`` → ``Fit``."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .compiler import Compiled, compile_source
from .data_in import as_data_dict
from .errors import VmpDataError, VmpError
from .families.registry import FAMILIES
from .language import model_source


def load(path_or_text: str | os.PathLike, filename: str | None = None) -> "Model":
    """Compile a model given as a path to a .vmp file or as its source text."""
    source, filename = model_source(path_or_text, filename)
    return Model(compile_source(source, filename))


class Model:
    """A compiled model: its equations, emitted code, factor graph and ``fit``."""

    def __init__(self, compiled: Compiled):
        self._compiled = compiled

    @property
    def name(self) -> str:
        return self._compiled.model.name

    @property
    def checked(self):
        return self._compiled.model

    @property
    def code(self) -> str:
        """The emitted standalone NumPy module, as text."""
        return self._compiled.code

    @cached_property
    def graph(self):
        from .graph import build_graph
        return build_graph(self._compiled.model)

    def equations(self, style: str = "text", steps: bool = False):
        """The derived updates: prints as text (or LaTeX with style="latex");
        Jupyter renders it through ``_repr_latex_``."""
        from .printing import equations
        return equations(self._compiled.derivation, style, steps)

    def fit(self, data: dict, hypers: dict | None = None, max_iter: int = 500,
            tol: float = 1e-8, seed: int | None = None, init: dict | None = None,
            point=None, callback=None, missing: str = "error", collapse: bool = True,
            n_init: int = 1) -> "Fit":
        """Fit by variational message passing; see LANGUAGE.md for the fields.

        Each sweep updates every latent once, from the data toward the priors
        (the order of ``model.code``'s UPDATES).  ``tol``: the fit has
        converged when a sweep changes the ELBO by at most ``tol`` times its
        magnitude and moves no latent's expected statistics by more than
        sqrt(tol) of their scale; otherwise it stops after ``max_iter`` sweeps
        with a RuntimeWarning (``converged`` False).  ``n_init=k`` climbs from
        k starts (the random starts drawn anew from ``seed``'s generator; the
        latents in ``init`` as given in each) and keeps the highest final ELBO;
        ``Fit.start_elbos`` holds all k.

        ``collapse=False`` fits every row of a plate with only integer data,
        instead of its distinct rows weighted by their counts (the same fit;
        see the README).

        ``missing="skip"`` treats NaN observations (in arrays observed through
        ``~``) as missing: their factors are dropped, which is exact in VMP (the
        same posterior as without those observations).  By default NaN is an error.
        """
        if missing not in ("error", "skip", None):
            raise VmpDataError(f"missing must be 'error' or 'skip', got {missing!r}")
        skip = missing == "skip"
        point = point_names(point)
        check_flag("collapse", collapse)
        if point or (skip and not self._compiled.model.missing):
            compiled = self._compiled
            points = tuple(point or ()) + tuple(v.name for v in compiled.model.by_role("point"))
            source = compiled.model.source
            return Model(compile_source(source, compiled.model.filename, points, skip)).fit(
                data, hypers, max_iter, tol, seed, init, None, callback, missing, collapse, n_init)
        module = self._compiled.module
        check_options(max_iter, tol, n_init)
        data = as_data_dict(data, [v.name for v in self.checked.by_role("data")])
        if not isinstance(data, dict):
            raise VmpDataError(f"data must be a dict of arrays by name, got "
                               f"{type(data).__name__}")
        try:
            result = module.fit(dict(data), hypers=hypers, max_iter=max_iter, tol=tol,
                                seed=seed, init=init, callback=callback,
                                missing="skip" if skip else None, collapse=bool(collapse),
                                n_init=n_init)
        except module.DataError as err:
            raise VmpDataError(str(err)) from None
        except module.FitError as err:
            raise VmpDataError(f"the fit failed: {err}") from None
        return Fit(self, result)


def point_names(point) -> list:
    """``point``: None, a latent's name or a list of names."""
    if point is None or isinstance(point, str):
        return [point] if point else []
    try:
        names = list(point)
    except TypeError:
        names = None
    if names is None or not all(isinstance(n, str) for n in names):
        raise VmpDataError(f"point must be a latent's name or a list of names, got {point!r}")
    return names


def check_flag(name: str, value):
    """A yes/no option must be a bool: ``collapse="no"`` is truthy."""
    if not isinstance(value, (bool, np.bool_)):
        raise VmpDataError(f"{name} must be True or False, got {value!r}")


def check_options(max_iter, tol, n_init=1):
    if isinstance(n_init, bool) or not isinstance(n_init, (int, np.integer)) or n_init < 1:
        raise VmpDataError(f"n_init must be a positive whole number, got {n_init!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) \
            or max_iter < 1:
        raise VmpDataError(f"max_iter must be a positive whole number, got {max_iter!r}")
    if isinstance(tol, bool) or not (isinstance(tol, (int, float)) and tol >= 0):
        raise VmpDataError(f"tol must be a non-negative number, got {tol!r}")


@dataclass
class Fit:
    """The result of a fit: the posterior, the ELBO trace and convergence."""

    model: Model
    result: dict = field(repr=False)

    @property
    def elbo(self) -> np.ndarray:
        return self.result["elbo"]

    @property
    def posterior(self) -> dict:
        return self.result["posterior"]

    @property
    def converged(self) -> bool:
        return self.result["converged"]

    @property
    def start_elbos(self) -> np.ndarray:
        """The final ELBO of each of the ``n_init`` starts (the fit is the best)."""
        return self.result["start_elbos"]

    @property
    def iterations(self) -> int:
        return self.result["iterations"]

    @property
    def dims(self) -> dict:
        return self.result["dims"]

    def family(self, name: str) -> str:
        for step in self.model._compiled.program.steps:
            if step.name == name:
                return step.family
        raise VmpError(f"'{name}' is not a latent variable of the model; latents: "
                       f"{', '.join(self.posterior)}")

    def mean(self, name: str) -> np.ndarray:
        """The posterior mean E[name] (probabilities for a Categorical)."""
        family = self.family(name)
        q = self.posterior[name]
        if "value" in q:
            return q["value"]
        if family == "Dirichlet":
            return q["concentration"] / q["concentration"].sum(-1, keepdims=True)
        if family == "Beta":
            return q["a"] / (q["a"] + q["b"])
        stats = FAMILIES[family].expectations(q)
        return stats["onehot"] if family == "Categorical" else stats["x"]

    # ------------------------------------------------------ new data (predict.py)
    def local(self, new_data: dict) -> dict:
        """Posterior of the local latents (e.g. responsibilities) of new rows,
        with the fitted global posteriors held fixed: {name: parameters}."""
        from .predict import local
        return local(self, new_data)

    def predict(self, new_data: dict, samples: int | None = None, seed: int = 0) -> dict:
        """The posterior predictive for new rows (integrated over q); see vmpdsl.predict."""
        from .predict import MC_SAMPLES, predict
        return predict(self, new_data, MC_SAMPLES if samples is None else samples, seed)

    def score(self, new_data: dict, samples: int | None = None, seed: int = 0) -> np.ndarray:
        """log predictive density of each new row."""
        from .predict import MC_SAMPLES, score
        return score(self, new_data, MC_SAMPLES if samples is None else samples, seed)
