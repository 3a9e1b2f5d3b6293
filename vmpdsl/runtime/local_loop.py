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
the restarts are what reach batch VB's optimum, benchmarks/lda_batch.py),
GATED_ITERS where that block is a Dirichlet read by a Categorical at the
group index (LDA's exactly: it then runs in exp space, local_restart.py's
``iterate_gated``), and one update per sweep otherwise (one latent converges
in one update).
"""
import numpy as np

LOCAL_TOL = 1e-3
AUTO_ITERS = 15
# The default inner loop of a gated block (local_restart.py): scikit-learn's
# max_doc_update_iter (a pass costs a few products over the rows, and converged
# groups drop out).
GATED_ITERS = 100


def default_local_iters(local_iters):
    """None (automatic, see the module docstring) or a positive whole number."""
    if local_iters is None:
        return None
    if isinstance(local_iters, bool) or not isinstance(local_iters, (int, np.integer)) \
            or local_iters < 1:
        raise DataError(f"local_iters must be a positive whole number, got {local_iters!r}")
    return int(local_iters)


def sweep(q, E, K, data, hyper, dim, local_iters=1, local_tol=LOCAL_TOL, schedule=None,
          only_locals=False):
    """Update every latent once (the local block up to ``local_iters`` times;
    ``schedule`` carries the restarts' state from sweep to sweep); returns
    the coefficients of UPDATES[-1]'s update.  ``only_locals``: the local
    block alone (``locals_first``)."""
    if local_iters == 1:  # each latent once, in order (the block's bookkeeping costs µs)
        coeffs = None
        for row in UPDATES:
            if not only_locals or row[0] in LOCAL_BLOCK:
                coeffs = _update_latent(q, E, K, data, hyper, dim, row)
        return coeffs
    block = [row for row in UPDATES if row[0] in LOCAL_BLOCK]
    # per-group restarts (local_restart.py) where the block has two latents or more
    layout = FEATURES["LOCAL_BLOCK.layout"](data, dim) if len(block) > 1 else None
    if local_iters is None:
        local_iters = ((GATED_ITERS if FEATURES["LOCAL_BLOCK.gated"](q, E, K, data, hyper, dim,
                                                                     block, layout)
                        else AUTO_ITERS) if layout and layout["index"] else 1)
    last_local = block[-1][0] if block and local_iters > 1 else None
    if last_local is not None and schedule is not None:
        schedule["inner"] = True  # (climb: the locals follow the globals)
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
        if not only_locals or row[0] in LOCAL_BLOCK:
            coeffs = _update_latent(q, E, K, data, hyper, dim, row)
    return coeffs


def locals_first(init):
    """Whether a fit from ``init`` updates the local block before its first
    sweep: when ``init`` gives a global's q (not a point: a param such as an
    estimated hyper is the M-step of the other globals) and none of the
    locals.  The sweep updates the globals first (from the data toward the
    priors), so a given q would otherwise be replaced at once by the update
    from the locals' random start; fitting the locals to it first is what
    makes it a start (batch VB for LDA from given topics runs the document
    loop first)."""
    points = {row[0] for row in LATENTS if row[4]}
    return bool(LOCAL_BLOCK) and not any(name in LOCAL_BLOCK for name in init) \
        and any(name not in LOCAL_BLOCK and name not in points for name in init)


def _update_latent(q, E, K, data, hyper, dim, row):
    name, family, point, update, prior = row
    try:
        coeffs = update(E, K, data, hyper, dim)
    except (OverflowError, ZeroDivisionError, FloatingPointError,
            np.linalg.LinAlgError) as err:  # arithmetic past the float range
        raise FitError(f"the update of '{name}' failed: {err}") from None
    params = _posterior(name, family, coeffs)
    if point:
        _set_state(q, E, name, family, point, params)
    else:  # _set_state's q, without its call (a small model's sweep is mostly calls)
        q[name] = params
        E[name] = FAMILY_FUNCTIONS[family]["expectations"](params)
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


def block_to_convergence(q, E, K, data, hyper, dim, block, iters, tol):
    """The local block of one block of rows (an SVI minibatch, a chunk)
    iterated up to ``iters`` times given the globals: per group in exp space
    where the block is gated (local_restart.py's ``iterate_gated``: a group
    stops when its γ stops moving), else ``local_block`` (all stop together).
    One pass is the plain loop's own.  Returns the block's last coefficients."""
    if iters > 1 and len(block) > 1:  # (the LOCAL_BLOCK feature)
        coeffs = FEATURES["LOCAL_BLOCK.gated_loop"](q, E, K, data, hyper, dim, block, iters, tol)
        if coeffs is not None:
            return coeffs
    return local_block(q, E, K, data, hyper, dim, block, iters, tol)
