"""Stochastic variational inference (Hoffman, Blei, Wang & Paisley 2013):
``fit(data, method="svi", batch_size=B, learning_rate=(tau0, kappa))`` and
the online estimator ``OnlineVI`` (``partial_fit(minibatch)``).

The units are the rows, or the groups of rows the local latents are plated
over (LDA's documents; derive/locality.py, svi_units.py).  Each step takes a
minibatch B of |B| of the N units and

1. starts its local latents as the module's fit does (the first minibatch's
   from a mixture's k-means on its rows, by default; later minibatches' at
   random) and iterates the local block to convergence given the
   globals: up to ``local_iters`` times (default 100), as batch VB's local
   step does (one update when the block is one latent: it is then optimal);
   LDA-shaped blocks per document in exp space, each until the mean change
   of its γ is at most 1e-3, scikit-learn's rule (runtime/local_loop.py,
   ``block_to_convergence``), others until no local expectation moves by
   more than 1e-3 (runtime/local_loop.py);
2. steps every global latent's natural parameters (the coefficients its
   emitted update computes):  λ ← (1 − ρ_t) λ + ρ_t λ̂  with
   λ̂ = u(∅) + (N/|B|) (u(B) − u(∅)), where u(B) is the update on the
   minibatch and u(∅) on no units (its prior part), and ρ_t = (t + tau0)^(−kappa).
   The globals are stepped in the module's sweep order (UPDATES), starting
   after the local block.

Globals start as the fit's start (their prior, a drawn mean, or ``init``);
those the sweep updates before the local block (a mixture's components,
fitted to the starting responsibilities) and not given in ``init`` first
take a step of size ρ_1 toward their update from the first minibatch's local
start (a full replacement left them with the whole data's weight on a
symmetric state, which the small later steps were slow to leave: LDA's
held-out perplexity after one pass was 142 instead of 120, scikit-learn's
figure).  A mixture's first local start is the in-memory fit's k-means start
on the minibatch's rows (``start="kmeans"``, the default; from random
responsibilities every component starts at the data's mean, and SVI's small
steps rarely separate them again).  So with B = all units, tau0 = 0
(ρ_1 = 1) and ``local_iters=1``, the first step gives the globals of two
batch sweeps from the same start.

After every ``elbo_every`` passes (and the last) the full-data ELBO is
computed as chunked.py does, exactly: u(∅)'s ELBO plus Σ over blocks of
``batch_size`` units of (ELBO(block) − ELBO(∅)), each block's locals fitted
to the globals from the module's start (drawn from a generator seeded 0, so
the evaluation leaves the fit's random stream alone).  With ``heldout=``
data the same sum over its blocks, without the global part, is the held-out
bound, and perplexity = exp(−bound / held-out rows).

Each pass visits all units once, in minibatches of a permutation drawn from
``minibatch_order(n, batch_size, seed, pass)`` (each minibatch sorted, so a
memory map is read in order); the locals' starts come from
``np.random.default_rng(seed)``, as in the fit.  ``OnlineVI`` with the same
seed, fed the same minibatches, takes the same steps.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from .errors import VmpDataError
from .families.registry import FAMILIES
from .svi_units import Units, check_model, unit_plate, validated_hypers
from .svi_units import minibatch_order  # noqa: F401 (the schedule, for OnlineVI users)

LEARNING_RATE = (10.0, 0.7)  # scikit-learn's learning_offset and learning_decay
LOCAL_ITERS = 100  # scikit-learn's max_doc_update_iter


def check_learning_rate(learning_rate) -> tuple:
    """(tau0, kappa) with tau0 ≥ 0 and kappa in (0.5, 1] (Robbins–Monro)."""
    if learning_rate is None:
        return LEARNING_RATE
    try:
        tau0, kappa = learning_rate
        numbers = [v for v in (tau0, kappa) if not isinstance(v, (bool, str))]
        tau0, kappa = float(numbers[0]), float(numbers[1])
    except (TypeError, ValueError, IndexError):
        raise VmpDataError(f"learning_rate must be a pair (tau0, kappa) of numbers, got "
                           f"{learning_rate!r}") from None
    if not (np.isfinite(tau0) and tau0 >= 0):
        raise VmpDataError(f"learning_rate: tau0 must be a finite number ≥ 0, got {tau0!r}")
    if not 0.5 < kappa <= 1:
        raise VmpDataError(f"learning_rate: kappa must be in (0.5, 1] (so that Σρ_t = ∞ and "
                           f"Σρ_t² < ∞), got {kappa!r}")
    return tau0, kappa


def check_count(name: str, value, most: int | None = None, what: str = "units") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise VmpDataError(f"{name} must be a positive whole number, got {value!r}")
    if most is not None and value > most:
        raise VmpDataError(f"{name} is {value}, more than the {most} {what} of the data")
    return int(value)


class Stepper:
    """The globals' q and natural parameters, stepped one minibatch at a time."""

    def __init__(self, module, hyper, n_units, learning_rate, local_iters=None,
                 seed=None, init=None, start="kmeans"):
        self.module, self.hyper, self.n = module, hyper, n_units
        self.first = start  # the first minibatch's start of the locals (a mixture's k-means)
        self.tau0, self.kappa = learning_rate
        self.local_iters = LOCAL_ITERS if local_iters is None else \
            check_count("local_iters", local_iters)
        self.rng = np.random.default_rng(seed)
        self.init = dict(init or {})
        rows = list(module.UPDATES)
        self.block = [r for r in rows if r[0] in module.LOCAL_BLOCK]
        last = max((i for i, r in enumerate(rows) if r in self.block), default=-1)
        self.warm = [r for r in rows[:max(last, 0)] if r not in self.block]
        self.cycle = [r for r in rows[last + 1:] + rows[:max(last, 0)] if r not in self.block]
        self.globals = [r[0] for r in self.cycle]
        self.q, self.E, self.coeffs, self.t = None, None, {}, 0

    def start(self, bound, rng=None):
        """q and E on a minibatch: the globals as they are (before the first
        step: the module's start), its locals from the module's start."""
        q, E = {}, {}
        given = self.init if self.q is None else self.q
        start = self.first if self.q is None and rng is None else "random"
        try:
            self.module._initial_state(q, E, bound.K, bound.arrays, self.hyper, bound.dim,
                                       rng or self.rng, dict(given), start)
        except self.module.DataError as err:
            raise VmpDataError(str(err)) from None
        return q, E

    def step(self, bound, empty):
        """One SVI step on the minibatch ``bound`` (``empty``: no units)."""
        q, E = self.start(bound)
        scale = self.n / bound.units
        rho = (self.t + 1 + self.tau0) ** -self.kappa
        if self.q is None:  # λ of the start; a step toward the globals fitted to the locals' start
            self.coeffs = {r[0]: natural(r[1], q[r[0]]) for r in self.cycle}
            for row in (r for r in self.warm if r[0] not in self.init):
                self.global_step(row, q, E, bound, empty, scale, rho)
        self.local_step(q, E, bound)
        self.t += 1
        for row in self.cycle:
            self.global_step(row, q, E, bound, empty, scale, rho)
        self.q = {n: q[n] for n in self.globals}
        self.E = {n: E[n] for n in self.globals}
        self.module._MEMO.clear()  # products of this minibatch's arrays

    def local_step(self, q, E, bound):
        """The local block to convergence (one latent: one update is optimal)."""
        if not self.block:
            return
        iters = 1 if len(self.block) == 1 else self.local_iters
        try:
            self.module.block_to_convergence(q, E, bound.K, bound.arrays, self.hyper,
                                             bound.dim, self.block, iters,
                                             self.module.LOCAL_TOL)
        except self.module.FitError as err:
            raise VmpDataError(f"the fit failed: {err}") from None

    def global_step(self, row, q, E, bound, empty, scale, rho):
        """λ ← (1 − ρ) λ + ρ (u(∅) + scale (u(B) − u(∅)))."""
        name, family, point, update, _ = row
        E0 = dict(empty.E, **{n: E[n] for n in self.globals})
        base = update(E0, empty.K, empty.arrays, self.hyper, empty.dim)
        batch = update(E, bound.K, bound.arrays, self.hyper, bound.dim)
        new = {s: base[s] + scale * (batch[s] - base[s]) for s in batch}
        old = self.coeffs.get(name)
        if rho != 1.0:
            new = {s: (1.0 - rho) * old[s] + rho * new[s] for s in new}
        self.coeffs[name] = new
        try:
            self.module._set_state(q, E, name, family, point,
                                   self.module._posterior(name, family, new))
        except self.module.FitError as err:
            raise VmpDataError(f"the fit failed at step {self.t}: {err}") from None

    def value(self, bound, rng) -> float:
        """The ELBO of a block, its locals fitted to the globals."""
        q, E = self.start(bound, rng)
        self.local_step(q, E, bound)
        value = self.module.elbo_value(q, E, bound.K, bound.arrays, self.hyper, bound.dim)
        self.module._MEMO.clear()
        return value

    def bound(self, units, size, empty, collapse=True) -> tuple:
        """(ELBO(∅), Σ_blocks ELBO(block) − ELBO(∅), rows) over all units."""
        rng = np.random.default_rng(0)
        base = self.value(empty, rng)
        total, rows = 0.0, 0
        for ids in units.blocks(size):
            block = units.bind(ids, self.hyper, collapse)
            total += self.value(block, rng) - base
            rows += block.rows
        return base, total, rows


def natural(family, params) -> dict:
    """A global's natural parameters (the coefficients its update computes)."""
    return FAMILIES[family].coeffs_from_params(params)


class Empty:
    """No units: the binding u(∅) is evaluated on, with its locals' (empty) E."""

    def __init__(self, stepper, units, collapse):
        bound = units.bind(np.arange(0), stepper.hyper, collapse)
        self.dim, self.arrays, self.K, self.rows, self.units = bound
        _, E = stepper.start(bound, np.random.default_rng(0))
        self.E = {n: e for n, e in E.items() if n not in stepper.globals}


def fit_method(model, method, data, batch_size, learning_rate, hypers, max_iter, tol, seed,
               init, callback, local_iters, elbo_every, heldout, collapse, rotate, n_init=1,
               skip=False, chunk_size=None, keep_local=False, start="kmeans") -> dict:
    """``Model.fit(method=...)``: the options stochastic VI does not take refused."""
    if method != "svi":
        raise VmpDataError(f"method must be 'vmp' (coordinate ascent) or 'svi' (stochastic "
                           f"VI), got {method!r}")
    refused = [text for text, bad in (("n_init > 1", n_init != 1), ("missing='skip'", skip),
                                      ("chunk_size (minibatches are read as needed)",
                                       chunk_size is not None),
                                      ("keep_local (use fit.local(data))", keep_local)) if bad]
    if refused:
        raise VmpDataError(f"method='svi' does not take {', '.join(refused)}")
    if batch_size is None:
        raise VmpDataError("method='svi' needs batch_size: the number of units per minibatch")
    if seed is not None and not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise VmpDataError(f"method='svi': seed must be a whole number or None, got {seed!r}")
    check_model(model, rotate, init)
    if heldout is not None:
        from .data_in import as_data_dict
        heldout = as_data_dict(heldout, [v.name for v in model.checked.by_role("data")])
        if not isinstance(heldout, dict):
            raise VmpDataError(f"heldout must be a dict of arrays by name, got "
                               f"{type(heldout).__name__}")
        own = unit_plate(model._compiled.module, model.checked)[:2]  # its own sizes
        heldout = dict({d: data[d] for d in model.checked.dims
                        if d in data and d not in own}, **heldout)
    return fit_svi(model, data, batch_size, learning_rate, hypers, max_iter, tol, seed, init,
                   callback, local_iters, elbo_every, heldout, collapse, start)


def fit_svi(model, data, batch_size, learning_rate=None, hypers=None, max_iter=500, tol=1e-8,
            seed=None, init=None, callback=None, local_iters=None, elbo_every=1, heldout=None,
            collapse=True, start="kmeans") -> dict:
    """The result dict of a stochastic VI fit (see the module docstring);
    ``max_iter``: passes over the data; it stops early when the full-data
    ELBO changes by at most ``tol`` of its size between two evaluations;
    ``start``: the first minibatch's locals, "kmeans" (a mixture's) or "random"."""
    module = model._compiled.module
    learning_rate = check_learning_rate(learning_rate)
    elbo_every = check_count("elbo_every", elbo_every)
    units = Units(module, model.checked, data)
    batch_size = check_count("batch_size", batch_size, units.n, f"units ('{units.unit}')")
    hyper = validated_hypers(module, units, hypers, init)
    held = Units(module, model.checked, heldout) if heldout is not None else None
    if held is not None:
        held.check_sizes(units.sizes(), "heldout")
    stepper = Stepper(module, hyper, units.n, learning_rate, local_iters, seed, init, start)
    empty = Empty(stepper, units, collapse)
    trace, passes, held_trace, converged = [], [], [], False
    seconds = 0.0
    for done, batches in enumerate(minibatch_order(units.n, batch_size, seed, max_iter), 1):
        started = time.perf_counter()
        for ids in batches:
            stepper.step(units.bind(ids, hyper, collapse), empty)
        module._PLANS.clear()  # plans for this pass's minibatch shapes
        seconds += time.perf_counter() - started
        if done % elbo_every and done < max_iter:
            continue
        base, total, _ = stepper.bound(units, batch_size, empty, collapse)
        trace.append(base + total)
        passes.append(done)
        if held is not None:
            held_trace.append(stepper.bound(held, batch_size, Empty(stepper, held, collapse),
                                            collapse))
        if not np.isfinite(trace[-1]):
            raise VmpDataError(f"the fit failed: the ELBO became {trace[-1]} after pass {done}")
        if callback is not None:
            callback(done, trace[-1])
        if len(trace) > 1 and abs(trace[-1] - trace[-2]) <= tol * abs(trace[-1]):
            converged = True
            break
    if not converged:
        warnings.warn(f"{module.MODEL_NAME}: not converged after {max_iter} passes (stochastic "
                      f"VI)", RuntimeWarning, stacklevel=3)
    info = {"passes": np.asarray(passes), "steps": stepper.t, "batch_size": batch_size,
            "learning_rate": list(learning_rate), "step_seconds": seconds}
    if held is not None:
        info["heldout_elbo"] = np.array([total for _, total, _ in held_trace])
        info["heldout_perplexity"] = np.array([perplexity(total, rows)
                                               for _, total, rows in held_trace])
    dims = dict(empty.dim, **{units.unit: units.n, units.plate: units.rows})
    return result(stepper, trace, converged, passes[-1] if passes else 0, dims, info)


def perplexity(bound: float, rows: int) -> float:
    """exp(−bound per row): a bound on the held-out per-row (per-token) perplexity."""
    return float(np.exp(-bound / rows)) if rows else float("nan")


def result(stepper, trace, converged, passes, dims, info) -> dict:
    """The fit's result dict (as chunked.py's: the globals' posterior)."""
    out = {"posterior": dict(stepper.q), "expectations": dict(stepper.E),
           "elbo": np.asarray(trace, dtype=float), "converged": converged, "iterations": passes,
           "dims": dims, "hypers": stepper.hyper, "start_elbos": np.asarray(trace[-1:]),
           "svi": info}
    return stepper.module.split_blocks(out)


class OnlineVI:
    """Stochastic VI fed one minibatch at a time (Hoffman et al. 2013).

    ``OnlineVI(model, n_units, learning_rate=(10, 0.7), hypers=None,
    seed=None, init=None, local_iters=None)`` (``init="random"``: a
    mixture's first minibatch starts at random, not from k-means on its
    rows): ``model`` a ``vmpdsl.Model``
    or a path / source text; ``n_units`` the number N of units (rows, or
    groups such as documents) of the whole data set, which rescales each
    minibatch's statistics by N/|B| (scikit-learn's ``total_samples``).
    ``partial_fit(minibatch)`` takes one step on a data dict holding |B| ≤ N
    units (a group's index array numbered 0..|B|−1 and its dim set to |B|);
    ``fit_`` is a ``vmpdsl.Fit`` of the globals so far; ``elbo(data)`` the
    exact ELBO on data (all N units), ``heldout(data)`` the held-out bound and
    perplexity.
    """

    def __init__(self, model, n_units, learning_rate=None, hypers=None, seed=None, init=None,
                 local_iters=None, collapse=True, rotate=True):
        from .api import Model, load
        self.model = model if isinstance(model, Model) else load(model)
        self.start, init = (init, None) if init in ("kmeans", "random") else ("kmeans", init)
        check_model(self.model, rotate, init)
        self.n_units = check_count("n_units", n_units)
        self.learning_rate = check_learning_rate(learning_rate)
        self.hypers, self.seed, self.init = hypers, seed, init
        self.local_iters, self.collapse = local_iters, collapse
        self._stepper = None

    def _units(self, data, what):
        units = Units(self.model._compiled.module, self.model.checked, data)
        if self._stepper is not None:
            units.check_sizes(self._sizes, what)
        return units

    def partial_fit(self, minibatch: dict) -> "OnlineVI":
        """One step on ``minibatch``; returns self."""
        units = self._units(minibatch, "minibatch")
        check_count("the minibatch's number of units", units.n, self.n_units,
                    f"units (n_units) ('{units.unit}')")
        if self._stepper is None:
            module = self.model._compiled.module
            hyper = validated_hypers(module, units, self.hypers, self.init)
            self._stepper = Stepper(module, hyper, self.n_units, self.learning_rate,
                                    self.local_iters, self.seed, self.init, self.start)
            self._sizes = units.sizes()
        step = self._stepper
        bound = units.bind(np.arange(units.n), step.hyper, self.collapse)
        step.step(bound, Empty(step, units, self.collapse))
        self._dims = {d: n for d, n in bound.dim.items() if d not in (units.unit, units.plate)}
        self._dims[units.unit] = self.n_units
        return self

    @property
    def steps(self) -> int:
        """The number of minibatches taken."""
        return 0 if self._stepper is None else self._stepper.t

    def _fitted(self):
        if self._stepper is None or self._stepper.q is None:
            raise VmpDataError("OnlineVI: no minibatch yet; call partial_fit(minibatch) first")
        return self._stepper

    def elbo(self, data: dict, block: int = 1000) -> float:
        """The ELBO on ``data`` (exact, ``block`` units at a time)."""
        step = self._fitted()
        units = self._units(data, "data")
        base, total, _ = step.bound(units, block, Empty(step, units, self.collapse), self.collapse)
        return base + total

    def heldout(self, data: dict, block: int = 1000) -> tuple:
        """(held-out bound, perplexity) of ``data`` given the globals."""
        step = self._fitted()
        units = self._units(data, "heldout")
        _, total, rows = step.bound(units, block, Empty(step, units, self.collapse), self.collapse)
        return total, perplexity(total, rows)

    @property
    def fit_(self):
        """The globals so far as a ``vmpdsl.Fit`` (ELBO nan: not computed; see ``elbo``)."""
        from .api import Fit
        step = self._fitted()
        info = {"steps": step.t, "learning_rate": list(self.learning_rate)}
        out = result(step, [float("nan")], False, 0, dict(self._dims), info)
        return Fit(self.model, out, {"method": "svi", "seed": self.seed})
