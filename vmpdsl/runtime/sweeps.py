"""The coordinate-ascent loop of every emitted module: sweeps from one start
until convergence, and the best of several starts (copied verbatim; numpy
only).  It uses runtime.py's ``_initial_state``, ``_set_state``,
``_posterior``, ``elbo_value`` and the module's ``UPDATES`` (in sweep order,
derive/schedule.py).
"""
import warnings

import numpy as np


def fit_starts(K, data, hyper, dim, rng, init, n_init, max_iter, tol, callback, rotate=True,
               local_iters=1, start="kmeans"):
    """Climb from ``n_init`` starts (the latents in ``init`` as given, the
    others' random starts drawn anew each time from ``rng``) and keep the one
    with the highest final ELBO.  Returns (q, E, trace, converged, the final
    ELBO of every start)."""
    best, finals = None, []
    for _ in range(n_init):
        q, E = {}, {}
        _initial_state(q, E, K, data, hyper, dim, rng, init, start)
        schedule = {}  # the local restarts' state (local_restart.py)
        gated = len(LOCAL_BLOCK) > 1 and max_iter > 0 and FEATURES["LOCAL_BLOCK.start"](
            q, E, K, data, hyper, dim, rng, init,
            start == "kmeans" and local_iters is None)  # (local_restart.gated_start)
        if max_iter > 0 and not gated and locals_first(init):
            sweep(q, E, K, data, hyper, dim, local_iters, schedule=schedule, only_locals=True)
        trace, converged = climb(q, E, K, data, hyper, dim, max_iter, tol, callback, rotate,
                                 local_iters, schedule)
        if start == "kmeans" and converged and globals().get("KMEANS_STARTS"):
            _MEMO.clear()  # kmeans.py: delete and merge moves
            trace, converged = FEATURES["KMEANS_STARTS.moves"](
                q, E, data, init, trace, converged, lambda q2, E2:
                climb(q2, E2, K, data, hyper, dim, max_iter, tol, None, rotate, local_iters))
        _MEMO.clear()  # free the products the sweeps shared
        finals.append(trace[-1] if trace else -np.inf)  # (max_iter=0: the start itself)
        if best is None or finals[-1] > max(finals[:-1]):
            best = (q, E, trace, converged)
    q, E, trace, converged = best
    if not converged and max_iter > 0:
        warnings.warn(f"{MODEL_NAME}: not converged after {max_iter} iterations "
                      f"(last ELBO change {trace[-1] - trace[-2] if len(trace) > 1 else float('nan'):.3g})",
                      RuntimeWarning, stacklevel=3)
    return q, E, trace, converged, finals


def climb(q, E, K, data, hyper, dim, max_iter, tol, callback, rotate=True, local_iters=1,
          schedule=None):
    """Sweep (every update a coordinate-ascent step, so the ELBO never falls;
    the local block up to ``local_iters`` times, local_loop.py) until
    ``has_converged``; returns (the ELBO after each sweep, converged).
    With ``rotate``, each sweep ends with the rotation step of the model's
    bilinear pairs (ROTATIONS, runtime/rotate.py through features.FEATURES),
    which never lowers the ELBO."""
    trace = []
    schedule = {} if schedule is None else schedule  # the local restarts' state
    for iteration in range(max_iter):
        before = dict(E)  # each update replaces E[name]: the sweep's start stays
        coeffs = sweep(q, E, K, data, hyper, dim, local_iters, schedule=schedule)
        if rotate and globals().get("ROTATIONS") and FEATURES["ROTATIONS"](q, E, K, data, hyper, dim) > 0.0:
            coeffs = None  # the last update's coefficients are stale now
        try:
            trace.append(elbo_value(q, E, K, data, hyper, dim, coeffs))
        except (OverflowError, FloatingPointError, np.linalg.LinAlgError) as err:
            raise FitError(f"the ELBO cannot be computed at iteration {iteration + 1}: "
                           f"{err}") from None
        if not -np.inf < trace[-1] < np.inf:  # (np.isfinite on a float costs a µs)
            raise FitError(f"the ELBO became {trace[-1]} at iteration {iteration + 1}")
        schedule["elbo"] = trace[-1]
        if callback is not None:
            callback(iteration + 1, trace[-1])
        # locals iterated to their own tolerance in the sweep follow the
        # globals: the globals' moves are the test (has_converged)
        if len(trace) > 1 and has_converged(trace, before, E, tol,
                                            LOCAL_BLOCK if schedule.get("inner") else ()):
            return trace, True
    return trace, False


ROUNDING = 1e-12  # a relative ELBO change this small is rounding, not a trend


def is_steady(trace, tol):
    """The last sweep changed the ELBO by rounding only, or the last three
    sweeps each changed it by at most ``tol`` of its size and their changes
    shrink at a rate below 1 that is not rising.  Near a saddle the changes
    also get tiny, but the fast directions die out and then the unstable one
    grows: the changes shrink ever more slowly, then grow, and the fit leaves
    the plateau for a higher ELBO.  A rising rate is that turn, seen sweeps
    before the changes grow."""
    # (plain floats: numpy on three numbers costs more than a small model's sweep)
    last = [float(v) for v in trace[-4:]]
    size = abs(last[-1])
    steps = [abs(b - a) for a, b in zip(last, last[1:])]
    if steps[-1] <= min(tol, ROUNDING) * size:
        return True
    if len(steps) < 3 or any(step > tol * size for step in steps):
        return False
    tiny = np.finfo(float).tiny
    rates = [b / max(a, tiny) for a, b in zip(steps, steps[1:])]
    return rates[-1] < 1.0 and rates[-1] <= 1.1 * rates[0]


def has_converged(trace, before, after, tol, settled=()):
    """The sweep changed the ELBO by at most ``tol`` of its size and moved no
    latent's expected statistics by more than sqrt(tol) of their largest
    magnitude (a mean by more than sqrt(tol) of the root of its largest second
    moment: a mean shrinking to 0 is measured against its spread).  Near an
    optimum the ELBO changes by the square of a step, so a slow climb whose
    ELBO barely changes while the posteriors still move is not taken for
    convergence.  The ELBO's trend must be steady too (``is_steady``).
    The latents in ``settled`` are not measured: a local block iterated to its
    own tolerance within each sweep (local_loop.py) is a function of the
    globals up to that tolerance, so it moves only as far as they do, and
    its rows' tolerance-sized wobble (LDA's per-document stop at a mean
    change of 1e-3 in γ) would hold a fit at rest for hundreds of sweeps."""
    last = float(trace[-1])
    change = abs(last - float(trace[-2]))
    if change > tol * abs(last):  # the common case: not steady
        return False
    # (is_steady's first test, without its lists: a fit at rest passes it every sweep)
    if change > min(tol, ROUNDING) * abs(last) and not is_steady(trace, tol):
        return False
    step = float(np.sqrt(tol))
    numbers = (np.ndarray, np.generic, float)  # not the factored statistics
    for name, stats in after.items():
        old_stats = before[name]
        if stats is old_stats or name in settled:  # not updated in the sweep, or settled
            continue
        for stat, new in stats.items():
            old = old_stats[stat]
            if new is old:
                continue
            if type(new) is np.float64 and type(old) is np.float64:
                # a scalar latent's (in plain floats: numpy's calls cost more than the test)
                change = abs(float(new) - float(old))
            elif isinstance(new, numbers) and isinstance(old, numbers) and getattr(new, "size", 1):
                change = _largest(new - old)
            else:
                continue
            if change == 0.0:  # most statistics of a fit at rest: no scale needed
                continue
            scale = (np.sqrt(_largest_second_moment(stats["xx"]))
                     if stat == "x" and "xx" in stats else _largest(new))
            if change > step * scale:
                return False
    return True


def _largest(value):
    """max |value|; of a scalar as a plain float (numpy's reductions cost µs)."""
    if getattr(value, "ndim", 0) == 0:
        return abs(float(value))
    return np.maximum.reduce(np.abs(value), axis=None)  # (np.max's wrapper costs µs too)


def _largest_second_moment(xx):
    """max |E[x xᵀ]|; of a factored one (SharedOuter), the largest entry of
    its diagonals m_i² + Σ_ii, without building the rows' matrices: E[x xᵀ]
    is positive semidefinite, so no entry exceeds the largest diagonal one."""
    if type(xx) not in _REWRITES:  # not a SharedOuter (named only where the model has one)
        return _largest(xx)
    cov = np.diagonal(xx.cov, axis1=-2, axis2=-1)
    return np.max(xx.mean * xx.mean + cov)
