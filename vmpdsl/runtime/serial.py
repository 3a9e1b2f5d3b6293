"""Serial updates of a latent whose elements interact (copied verbatim into
every emitted module; numpy only).

A stochastic block model's ``B[z[i], z[j]]`` makes the coefficient of
[z_i = k] depend on the other elements z_j (derive/pairs.py).  Updating all
z_i at once from the same old state is not a coordinate-ascent step and can
lower the ELBO; updating one element at a time, each from the current state
of the others, is.  ``_serial_update`` does that: per element (a row of the
latent's plates) it evaluates the row's coefficients (``row_fn``, the
contractions of the latent's update restricted to that row by ``_at``),
updates the row's q and expectations in ``E``, and returns every row's
coefficients, from which ``fit`` sets q as usual (the same values).  The cost
of a sweep is that of one simultaneous update; only the loop is in Python.
"""
import numpy as np


def _at(operand, axes, row):
    """``operand`` restricted to one row: axis ``p`` taken at ``row[r]`` for
    each (p, r) in ``axes``, kept as a length-1 axis (a length-1 axis, which
    broadcasts, is kept whole)."""
    if isinstance(operand, OneHot):  # its last axis is the category axis
        rows = tuple((p, r) for p, r in axes if p < operand.values.ndim)
        values = _at(operand.values, rows, row) if rows else operand.values
        category = [r for p, r in axes if p == operand.values.ndim]
        if not category:
            return OneHot(values, operand.size)
        # restricted to one category (z[doc[t]] at z's row d): the mask [doc[t] = d]
        return (values == row[category[0]]).astype(float)[..., None]
    operand = dense(operand)
    index = [slice(None)] * np.ndim(operand)
    for p, r in axes:
        if np.shape(operand)[p] != 1:
            index[p] = slice(row[r], row[r] + 1)
    return operand[tuple(index)]


def _row_contract(spec, *operands):
    """``contract`` for one row's operands: they change every row, so plain
    einsum (no compiled plan, no memo) unless an operand needs contract's
    rewrites (a OneHot, a SharedOuter)."""
    if any(type(o) in _REWRITES for o in operands):
        return contract(spec, *operands)
    inputs, out = spec.split("->")
    present = "".join(l for l in out if l in inputs)
    result = np.einsum(f"{inputs}->{present}", *operands)
    return result if present == out else np.expand_dims(
        result, tuple(p for p, l in enumerate(out) if l not in present))


def _serial_update(name, family, point, row_fn, plates, E, K, data, hyper, dim):
    """Update q(name) one row at a time (see the module docstring); returns the
    coefficients of every row, as computed at its turn."""
    functions = FAMILY_FUNCTIONS[family]
    shape = tuple(dim[p] if isinstance(p, str) else p for p in plates)
    full = {}
    for row in np.ndindex(*shape):
        coeffs = row_fn(E, K, data, hyper, dim, row)
        params = _posterior(name, family, coeffs)
        if point:
            stats = functions["point_expectations"](functions["mode"](params))
        else:
            stats = functions["expectations"](params)
        # replaced, never changed in place: products are memoized by identity
        E[name] = {s: _with_row(E[name][s], row, v) for s, v in stats.items()}
        for s, c in coeffs.items():
            own = np.shape(c)[len(row):]
            full.setdefault(s, np.zeros(shape + own))[row] = np.reshape(c, own)
    return full


def _with_row(array, row, value):
    array = np.array(dense(array), dtype=float)  # a copy
    array[row] = np.reshape(value, array.shape[len(row):])
    return array
