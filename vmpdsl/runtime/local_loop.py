"""One sweep of every emitted module, with the local inner loop (copied
verbatim; numpy only).

``LOCAL_BLOCK`` (derive/locality.py) names the local latents: those plated
over the data's rows or over groups of rows (z[t]; θ[d] with its tokens).
With ``local_iters`` > 1 the block is updated up to that many times in a row,
in UPDATES order, before the sweep goes on to the globals, and stops early
when no local expectation moves by more than ``local_tol`` — batch VB's
inner loop for LDA.  Every update is still a coordinate-ascent step, so the
ELBO never falls; the block takes the place of its last member in the sweep,
so the sweep's last update (whose coefficients the ELBO reuses) is unchanged.

It is off by default (one update per latent per sweep): on LDA drawn from
the model, locals iterated to convergence from their previous state lock
each document into the topics of the early, random φ and end at a lower
optimum than one update per sweep (README, benchmarks/lda_batch.py).
"""
import numpy as np

LOCAL_TOL = 1e-3


def default_local_iters(local_iters):
    """None means one update per sweep (see the module docstring)."""
    if local_iters is None:
        return 1
    if isinstance(local_iters, bool) or not isinstance(local_iters, (int, np.integer)) \
            or local_iters < 1:
        raise DataError(f"local_iters must be a positive whole number, got {local_iters!r}")
    return int(local_iters)


def sweep(q, E, K, data, hyper, dim, local_iters=1, local_tol=LOCAL_TOL):
    """Update every latent once (the local block up to ``local_iters`` times);
    returns the coefficients of UPDATES[-1]'s update."""
    block = [row for row in UPDATES if row[0] in LOCAL_BLOCK]
    last_local = block[-1][0] if block and local_iters > 1 else None
    coeffs = None
    for row in UPDATES:
        if last_local is not None and row[0] in LOCAL_BLOCK:
            if row[0] == last_local:
                coeffs = local_block(q, E, K, data, hyper, dim, block, local_iters, local_tol)
            continue
        coeffs = _update_latent(q, E, K, data, hyper, dim, row)
    return coeffs


def _update_latent(q, E, K, data, hyper, dim, row):
    name, family, point, update, prior = row
    try:
        coeffs = update(E, K, data, hyper, dim)
    except (OverflowError, ZeroDivisionError, FloatingPointError,
            np.linalg.LinAlgError) as err:  # arithmetic past the float range
        raise FitError(f"the update of '{name}' failed: {err}") from None
    _set_state(q, E, name, family, point, _posterior(name, family, coeffs))
    return coeffs


def local_block(q, E, K, data, hyper, dim, block, iters, tol):
    """The block's updates repeated until its expectations stop moving."""
    for _ in range(iters):
        before = {row[0]: E[row[0]] for row in block}
        for row in block:
            coeffs = _update_latent(q, E, K, data, hyper, dim, row)
        if _largest_change(before, E) <= tol:
            break
    return coeffs


def _largest_change(before, E):
    change = 0.0
    for name, stats in before.items():
        for stat, old in stats.items():
            new = E[name][stat]
            if isinstance(new, np.ndarray) and isinstance(old, np.ndarray) and new.size:
                change = max(change, float(np.max(np.abs(new - old))))
    return change
