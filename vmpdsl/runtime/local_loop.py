"""One sweep of every emitted module, with the local inner loop (copied
verbatim; numpy only).

``LOCAL_BLOCK`` (derive/locality.py) names the local latents: those plated
over the data's rows or over groups of rows (z[t]; θ[d] with its tokens).
With ``local_iters`` > 1 the block is updated up to that many times in a row
before the sweep goes on to the globals — batch VB's inner loop for LDA —
and stops early when no local expectation moves by more than ``local_tol``.
Where the block's groups can be iterated apart (local_restart.py) that loop
runs per group, on the groups still moving, and starts with a restart of the
locals that each group keeps only where it raises the ELBO.  Every step is
still coordinate ascent, so the ELBO never falls; the block takes the place
of its last member in the sweep, so the sweep's last update (whose
coefficients the ELBO reuses) is unchanged.

``local_iters=None`` (the default) is AUTO_ITERS for a block of several
latents over groups of rows (LDA's θ and z: iterated from their previous
state alone they lock each document into the topics of the early, random φ;
the restarts are what reach batch VB's optimum, benchmarks/lda_batch.py), and
one update per sweep otherwise (one latent converges in one update).
"""
import numpy as np

LOCAL_TOL = 1e-3
AUTO_ITERS = 15


def default_local_iters(local_iters):
    """None (automatic, see the module docstring) or a positive whole number."""
    if local_iters is None:
        return None
    if isinstance(local_iters, bool) or not isinstance(local_iters, (int, np.integer)) \
            or local_iters < 1:
        raise DataError(f"local_iters must be a positive whole number, got {local_iters!r}")
    return int(local_iters)


def sweep(q, E, K, data, hyper, dim, local_iters=1, local_tol=LOCAL_TOL, schedule=None):
    """Update every latent once (the local block up to ``local_iters`` times;
    ``schedule`` carries the restarts' state from sweep to sweep); returns
    the coefficients of UPDATES[-1]'s update."""
    if local_iters == 1:  # each latent once, in order (the block's bookkeeping costs µs)
        coeffs = None
        for row in UPDATES:
            coeffs = _update_latent(q, E, K, data, hyper, dim, row)
        return coeffs
    block = [row for row in UPDATES if row[0] in LOCAL_BLOCK]
    # per-group restarts (local_restart.py) where the block has two latents or more
    layout = FEATURES["LOCAL_BLOCK.layout"](data, dim) if len(block) > 1 else None
    if local_iters is None:
        local_iters = AUTO_ITERS if layout and layout["index"] else 1
    last_local = block[-1][0] if block and local_iters > 1 else None
    coeffs = None
    for row in UPDATES:
        if last_local is not None and row[0] in LOCAL_BLOCK:
            if row[0] == last_local:
                coeffs = (local_block(q, E, K, data, hyper, dim, block, local_iters, local_tol)
                          if layout is None else
                          FEATURES["LOCAL_BLOCK.restarts"](
                              q, E, K, data, hyper, dim, block, local_iters, local_tol, layout,
                              {} if schedule is None else schedule))
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
