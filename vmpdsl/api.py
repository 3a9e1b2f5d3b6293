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

    def __repr__(self) -> str:
        model = self._compiled.model
        latents = [v.name for v in model.variables.values() if v.role in ("latent", "point")]
        data = [v.name for v in model.by_role("data")]
        return (f"Model({model.name!r}, dims={list(model.dims)}, data={data}, "
                f"latents={latents})")

    def __reduce__(self):
        # the module of a compiled model cannot be pickled: keep the source,
        # recompile on load (a cache hit when the process compiled it before)
        from .persist import model_from_spec, model_spec
        return model_from_spec, tuple(model_spec(self).values())

    @property
    def name(self) -> str:
        """The model's name (its ``model NAME`` line)."""
        return self._compiled.model.name

    @property
    def checked(self):
        """The checked model: variables with roles and shapes, factors, dims."""
        return self._compiled.model

    @property
    def code(self) -> str:
        """The emitted standalone NumPy module, as text."""
        return self._compiled.code

    def code_files(self, runtime_file: str) -> tuple[str, str]:
        """The module as two files (``vmpdsl compile``): the model's, which runs
        the generic runtime from ``runtime_file`` beside it, and that runtime."""
        return self._compiled.parts.pair(runtime_file)

    @cached_property
    def graph(self):
        """The factor graph (a networkx graph; vmpdsl.graph)."""
        from .graph import build_graph
        return build_graph(self._compiled.model)

    def equations(self, style: str = "text", steps: bool = False):
        """The derived updates: prints as text (or LaTeX with style="latex");
        Jupyter renders it through ``_repr_latex_``."""
        from .printing import equations
        return equations(self._compiled.derivation, style, steps)

    def fit(self, data: dict, hypers: dict | None = None, max_iter: int = 500,
            tol: float = 1e-8, seed: int | None = None, init: dict | str | None = None,
            point=None, callback=None, missing: str = "error", collapse: bool = True,
            n_init: int = 1, verbose=0, rotate: bool = True, mean_field: bool = False,
            local_iters: int | None = None, chunk_size: int | None = None,
            keep_local: bool = False, client=None, method: str = "vmp",
            batch_size: int | None = None, learning_rate=None, elbo_every: int = 1,
            heldout: dict | None = None) -> "Fit":
        """Fit by variational message passing; see LANGUAGE.md for the fields.

        Each sweep updates every latent once, from the data toward the priors
        (the order of ``model.code``'s UPDATES).  ``tol``: the fit has
        converged when a sweep changes the ELBO by at most ``tol`` times its
        magnitude and moves no latent's expected statistics by more than
        sqrt(tol) of their scale; otherwise it stops after ``max_iter`` sweeps
        with a RuntimeWarning (``converged`` False).  ``n_init=k`` climbs from
        k starts (the random starts drawn anew from ``seed``'s generator; the
        latents in ``init`` as given in each) and keeps the highest final ELBO;
        ``Fit.start_elbos`` holds all k.  The indicators of mixtures of
        real-valued data (``z[n]`` gating ``x[n] ~ MvNormal(mu[z[n]], ...)``)
        start from k-means++ on those rows; after the climb, a delete move
        (a component on a few rows) and a merge move (two overlapping
        components) are kept where they raise the ELBO (README);
        ``init="random"`` starts them at random as other Categoricals.  ``rotate=False`` turns off the
        rotation step of bilinear pairs such as PCA's ``dot(W[d], z[n])``
        (see the README).

        ``local_iters=n``: each sweep updates the local latents (those on
        the data's rows or groups of rows, e.g. LDA's θ and z) up to n times
        before the globals, stopping when they stop moving; over groups of
        rows (LDA) per group, with restarts kept where they raise the ELBO.
        Default (None): 15 for a block of several latents over groups of
        rows, 100 (each group stopping on its own) where that block is LDA's
        Dirichlet θ read by a Categorical z, else 1 (the plain sweep; README).
        With that default and no ``init``, LDA's topics start from the
        documents clustered by their words (k-means++ on the square roots
        of their word frequencies), the locals fitted to them first;
        ``init="random"`` keeps the random start.

        ``chunk_size=n`` sweeps the data n rows at a time (vmpdsl.chunked):
        the same fit (as with ``collapse=False``), for data in memory, as
        memory maps or ``.npy``/``.zarr`` paths read block by block; the row
        latents are computed again when needed rather than held, and their
        posterior is returned only with ``keep_local=True``.  The start and
        the delete/merge moves are the in-memory fit's (vmpdsl.chunk_starts).
        LDA's default local loop runs in blocks of whole documents
        (vmpdsl.chunk_groups: the tokens sorted by document; duplicate
        tokens merged as in memory, so the same fit as the default one; θ
        and z held between sweeps, θ always returned, z with keep_local).
        Dask arrays (chunked along their rows), or ``client=`` a
        dask.distributed Client, run the same sweep on the cluster
        (vmpdsl.distributed; default the current Client).

        ``method="svi"`` fits by stochastic VI (vmpdsl.svi): minibatches of
        ``batch_size`` units (rows, or groups such as documents), the globals
        stepped by ρ_t = (t + tau0)^(−kappa) with ``learning_rate=(tau0,
        kappa)`` (default (10, 0.7)); ``max_iter`` counts passes over the data,
        ``elbo`` holds the exact full-data ELBO after every ``elbo_every``
        passes, ``result["svi"]`` the held-out bound and perplexity of
        ``heldout`` data; a mixture's first minibatch starts from k-means on
        its rows (``init="random"``: at random).

        ``verbose=1`` prints progress lines (ELBO, change, elapsed time) to
        stderr, ``verbose=2`` one per sweep; every fit also logs to the logger
        ``vmpdsl.fit`` (vmpdsl.progress).  ``callback(iteration, elbo)`` is
        called after every sweep.

        ``collapse=False`` fits every row of a plate with only integer data,
        instead of its distinct rows weighted by their counts (the same fit;
        see the README).

        ``mean_field=True`` factorizes the joint blocks (a mean and its scaled
        precision, q(mu, Lambda) Normal–Wishart; see derive/blocks.py) into
        q(mu) q(Lambda).

        ``missing="skip"`` treats NaN observations (in arrays observed through
        ``~``) as missing: their factors are dropped, which is exact in VMP (the
        same posterior as without those observations).  By default NaN is an error.
        """
        if missing not in ("error", "skip", None):
            raise VmpDataError(f"missing must be 'error' or 'skip', got {missing!r}")
        skip = missing == "skip"
        point = point_names(point)
        check_flag("collapse", collapse)
        if point or (skip and not self._compiled.model.missing) \
                or bool(mean_field) != self._compiled.model.mean_field:
            compiled = self._compiled
            points = tuple(point or ()) + tuple(v.name for v in compiled.model.by_role("point"))
            source = compiled.model.source
            return Model(compile_source(source, compiled.model.filename, points, skip,
                                        bool(mean_field))).fit(
                data, hypers, max_iter, tol, seed, init, None, callback, missing, collapse, n_init,
                verbose=verbose, rotate=rotate, mean_field=mean_field, local_iters=local_iters,
                chunk_size=chunk_size, keep_local=keep_local, client=client, method=method,
                batch_size=batch_size, learning_rate=learning_rate, elbo_every=elbo_every,
                heldout=heldout)
        module = self._compiled.module
        check_options(max_iter, tol, n_init)
        data = as_data_dict(data, [v.name for v in self.checked.by_role("data")])
        if not isinstance(data, dict):
            raise VmpDataError(f"data must be a dict of arrays by name, got "
                               f"{type(data).__name__}")
        from .progress import fit_reporter
        report, done = fit_reporter(self.name, verbose, callback)
        from .distributed import wants_cluster
        cluster = wants_cluster(data, client)
        start_from = init if isinstance(init, str) else "kmeans"
        if start_from not in ("kmeans", "random"):
            raise VmpDataError(f"init must be 'kmeans', 'random' or a dict of starting values "
                               f"by latent name, got {init!r}")
        if method != "vmp":
            from .svi import fit_method
            if cluster:
                raise VmpDataError("dask arrays and client= work with method='vmp' only")
            # (a mixture's k-means start: on the first minibatch, vmpdsl.svi)
            result = fit_method(self, method, data, batch_size, learning_rate, hypers, max_iter,
                                tol, seed, None if isinstance(init, str) else init, report,
                                local_iters, elbo_every, heldout, collapse, rotate,
                                n_init=n_init, skip=skip, chunk_size=chunk_size,
                                keep_local=keep_local, start=start_from)
        elif chunk_size is not None or cluster:
            from .chunked import fit_chunked
            from .distributed import fit_distributed
            if n_init != 1:
                raise VmpDataError("chunk_size works with n_init=1")
            if skip and cluster:
                raise VmpDataError("a fit on a dask cluster works without missing='skip'")
            if rotate and getattr(module, "ROTATIONS", ()):
                raise VmpDataError("chunk_size: the rotation step of this model's bilinear "
                                   "pairs needs all rows at once; pass rotate=False or fit "
                                   "in memory")
            newton = {r.var for r in getattr(self._compiled.derivation, "nonconjugate", [])}
            given = None if isinstance(init, str) else init  # the start is start_from
            result = fit_distributed(module, self._compiled.code, data, client, chunk_size,
                                     hypers, max_iter, tol, seed, given, report, local_iters,
                                     keep_local, newton, start_from, collapse) if cluster else \
                fit_chunked(module, data, chunk_size, hypers, max_iter, tol, seed,
                            given, report, local_iters, keep_local, newton,
                            "skip" if skip else None, start_from, collapse)
            # every row is fitted, unless in blocks of whole groups (chunk_groups.py)
            collapse = result.pop("collapse")
        else:
            result = self._fit_module(module, data, hypers, max_iter, tol, seed, init, report,
                                      skip, collapse, n_init, local_iters, rotate)
        kept_seed = seed if seed is None or isinstance(seed, (int, np.integer)) else repr(seed)
        options = {"max_iter": int(max_iter), "tol": float(tol), "seed": kept_seed,
                   "n_init": int(n_init),
                   "missing": "skip" if skip else "error", "collapse": bool(collapse),
                   "init": sorted(init) if isinstance(init, dict) else init}
        if method != "vmp":
            options.update(method=method, batch_size=int(batch_size), elbo_every=int(elbo_every))
        fit = Fit(self, result, options, dict(data))
        done(fit)
        return fit

    @staticmethod
    def _fit_module(module, data, hypers, max_iter, tol, seed, init, report, skip, collapse,
                    n_init, local_iters, rotate):
        """The emitted module's fit, its errors as VmpDataError."""
        try:
            return module.fit(dict(data), hypers=hypers, max_iter=max_iter, tol=tol,
                              seed=seed, init=init, callback=report,
                              missing="skip" if skip else None, collapse=bool(collapse),
                              n_init=n_init, local_iters=local_iters, rotate=rotate)
        except module.DataError as err:
            raise VmpDataError(str(err)) from None
        except module.FitError as err:
            raise VmpDataError(f"the fit failed: {err}") from None


def load_fit(path) -> "Fit":
    """Read a fit saved by ``Fit.save`` (or ``vmpdsl fit --out FILE.npz``);
    the model is recompiled from the source stored in the file."""
    from .persist import load_fit as read
    return read(path)


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
    """A VmpDataError unless max_iter and n_init are positive whole numbers and tol >= 0."""
    if isinstance(n_init, bool) or not isinstance(n_init, (int, np.integer)) or n_init < 1:
        raise VmpDataError(f"n_init must be a positive whole number, got {n_init!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) \
            or max_iter < 1:
        raise VmpDataError(f"max_iter must be a positive whole number, got {max_iter!r}")
    if isinstance(tol, bool) or not (isinstance(tol, (int, float)) and tol >= 0):
        raise VmpDataError(f"tol must be a non-negative number, got {tol!r}")


@dataclass(repr=False)
class Fit:
    """The result of a fit: the posterior, the ELBO trace and convergence.

    ``options`` holds the fit's settings (max_iter, tol, seed, n_init,
    missing, collapse, the names given an init); ``data`` the data it was
    given (kept by reference, for ``to_arviz`` and plots; pickled with the
    fit, saved only by ``save(path, data=True)``).
    """

    model: Model
    result: dict
    options: dict = field(default_factory=dict)
    data: dict | None = None

    def __repr__(self) -> str:
        status = "converged" if self.converged else "not converged"
        dims = ", ".join(f"{k}={v}" for k, v in self.dims.items())
        latents = [n for n in self.posterior if n in self.model.checked.variables]
        return (f"<Fit of model {self.model.name!r} ({dims}): {status} after "
                f"{self.iterations} iterations, ELBO {self.elbo[-1]:.6g}; "
                f"latents {', '.join(latents)}>")

    def __reduce__(self):
        from .persist import fit_from_state
        return fit_from_state, (self.model, self.result, self.options, self.data)

    @property
    def elbo(self) -> np.ndarray:
        """The ELBO after every sweep (non-decreasing); with ``method="svi"``
        the full-data ELBO after every ``elbo_every`` passes (it may fall)."""
        return self.result["elbo"]

    @property
    def posterior(self) -> dict:
        """{latent: its q's standard parameters} (LANGUAGE.md names; points: ``value``)."""
        return self.result["posterior"]

    @property
    def converged(self) -> bool:
        """Whether the relative ELBO change fell below ``tol`` before ``max_iter``."""
        return self.result["converged"]

    @property
    def start_elbos(self) -> np.ndarray:
        """The final ELBO of each of the ``n_init`` starts (the fit is the best)."""
        return self.result["start_elbos"]

    @property
    def iterations(self) -> int:
        """The number of sweeps run."""
        return self.result["iterations"]

    @property
    def dims(self) -> dict:
        """The size of every dim in this fit."""
        return self.result["dims"]

    def family(self, name: str) -> str:
        """The family of the q that covers a latent: for a member of a joint
        block (derive/blocks.py), the block's (NormalWishart)."""
        for update in self.model._compiled.derivation.updates:
            if name in update.variables:
                return update.family
        raise VmpError(f"'{name}' is not a latent variable of the model; latents: "
                       f"{', '.join(self.posterior)}")

    def mean(self, name: str) -> np.ndarray:
        """The posterior mean E[name] (probabilities for a Categorical)."""
        family = self.family(name)
        q = self.posterior[name]
        if FAMILIES[family].members:  # a joint block's member: its marginal mean
            return self.result["expectations"][name]["x"]
        if "value" in q:
            return q["value"]
        if family == "Dirichlet":
            return q["concentration"] / q["concentration"].sum(-1, keepdims=True)
        if family == "Beta":
            return q["a"] / (q["a"] + q["b"])
        stats = FAMILIES[family].expectations(q)
        return stats["onehot"] if "onehot" in stats else stats["x"]

    def viterbi(self, name: str) -> np.ndarray:
        """The most probable path of a Categorical chain under q (max-product on
        the potentials of its block); its smoothed marginals are ``mean(name)``."""
        if self.family(name) != "CategoricalChain":
            raise VmpError(f"'{name}' is not a Categorical chain; viterbi() finds the most "
                           f"probable path of a hidden Markov chain")
        from .families.categorical_chain import categoricalchain_viterbi
        return categoricalchain_viterbi(self.posterior[name])

    # ------------------------------------------- inspecting q (posterior.py)
    def sample(self, n: int = 1000, seed: int | None = 0) -> dict:
        """``n`` draws of every latent from q: {name: array (n,) + its shape}."""
        from .posterior import sample
        return sample(self, n, seed)

    def summary(self, names=None, prob: float = 0.95, draws: int = 4000, seed: int = 0):
        """Mean, sd and central ``prob`` interval of every element of the latents
        (exact from q where the family has closed-form marginals, else from
        ``draws`` seeded draws): a pandas DataFrame, or a text table without pandas."""
        from .posterior import summary
        return summary(self, names, prob, draws, seed)

    def to_arviz(self, draws: int = 1000, seed: int | None = 0):
        """Draws from q, the ELBO trace and the data as ArviZ data (needs the
        ``arviz`` extra); dims named after the plates.  See vmpdsl.arviz_export."""
        from .arviz_export import to_arviz
        return to_arviz(self, draws, seed)

    def plot(self, path, data: dict | None = None) -> str:
        """Draw the ELBO curve (and a Gaussian mixture's clusters) to ``path``
        (needs the ``plot`` extra); ``data`` defaults to the data of the fit."""
        from .fitplot import plot_fit
        return plot_fit(self, self.data if data is None else data, path)

    def plot_posterior(self, path, names=None, draws: int = 4000, seed: int = 0) -> str:
        """Draw the posterior densities of the global latents (or ``names``) to ``path``."""
        from .fitplot import plot_posterior
        return plot_posterior(self, path, names, draws, seed)

    # -------------------------------------------------- keeping (persist.py)
    def save(self, path, data: bool = False):
        """Write the fit to ``path`` (.npz, no pickles; ``vmpdsl.load_fit`` reads
        it back); ``data=True`` stores the data too.  Atomic: temp file + rename."""
        from .persist import save_fit
        return save_fit(self, path, data)

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
