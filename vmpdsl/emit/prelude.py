"""The runtime every emitted module carries (copied verbatim; numpy and scipy only).

``contract`` is einsum plus one extension: an operand may be a ``OneHot`` (an
integer array standing for its one-hot matrix).  Contracting with a one-hot
matrix is never done densely: a one-hot axis shared with another operand is a
*gather* (fancy indexing), and a one-hot axis that survives to the output is a
*scatter* (a sparse matrix product).  Labels of the output that no operand
carries come back as size-1 axes, so ``accumulator += contract(...)``
broadcasts.
"""
import numpy as np
from scipy import sparse as spsparse
from scipy import special as sps


class DataError(ValueError):
    """Bad data, hyperparameters or initial values handed to ``fit``."""


class FitError(FloatingPointError):
    """The iteration produced an invalid posterior; names the variable."""


class OneHot:
    """Integer data ``values`` (any shape) as a one-hot array over ``size`` categories."""

    def __init__(self, values, size):
        self.values = np.asarray(values, dtype=np.intp)
        self.size = int(size)
        self._matrix = None

    @property
    def shape(self):
        return self.values.shape + (self.size,)

    def matrix(self):
        """The (rows, size) sparse one-hot matrix, built once (used for scatters)."""
        if self._matrix is None:
            rows = self.values.size
            self._matrix = spsparse.csr_matrix(
                (np.ones(rows), (np.arange(rows), self.values.ravel())),
                shape=(rows, self.size))
        return self._matrix


_EINSUM_PATHS = {}


def contract(spec, *operands):
    """``np.einsum(spec, *operands)`` where operands may be ``OneHot``."""
    inputs, out = spec.split("->")
    if inputs == out and len(operands) == 1 and not isinstance(operands[0], OneHot):
        return operands[0]  # 'ab->ab': nothing to contract
    labels = inputs.split(",") if operands else []  # '->' with one scalar is ['']
    return _contract(labels, list(operands), out)


def _contract(labels, operands, out):
    hot_at = next((p for p, o in enumerate(operands) if isinstance(o, OneHot)), None)
    if hot_at is None:
        return _einsum(labels, operands, out)
    hot = operands.pop(hot_at)
    hot_labels = labels.pop(hot_at)
    rows, cat = hot_labels[:-1], hot_labels[-1]
    for p, (lab, op) in enumerate(zip(labels, operands)):
        if cat in lab:
            labels[p], operands[p] = _gather(lab, op, cat, rows, hot.values)
    if cat not in out:
        gone = [r for r in rows if all(r not in l for l in labels) and r not in out]
        scale = float(np.prod([hot.values.shape[rows.index(r)] for r in gone]))
        return scale * _contract(labels, operands, out)
    if any(r in out for r in rows):
        raise NotImplementedError("a one-hot output keeping its rows")
    inner = out.replace(cat, rows)
    dense = _contract(labels, operands, inner)
    dense = np.broadcast_to(dense, _full_shape(dense, inner, rows, hot.values.shape))
    start = inner.index(rows)
    moved = np.moveaxis(dense, list(range(start, start + len(rows))), list(range(len(rows))))
    rest = moved.shape[len(rows):]
    flat = np.asarray(hot.matrix().T @ moved.reshape(hot.values.size, -1))
    return np.moveaxis(flat.reshape((hot.size,) + rest), 0, start)


def _full_shape(array, labels, rows, row_shape):
    shape = list(array.shape)
    for r, size in zip(rows, row_shape):
        shape[labels.index(r)] = size
    return tuple(shape)


def _gather(lab, op, cat, rows, values):
    """Replace axis ``cat`` of ``op`` by the rows of ``values`` (a gather)."""
    axis = lab.index(cat)
    shared = [r for r in rows if r in lab]
    if not shared:
        return lab.replace(cat, rows), np.take(op, values, axis=axis)
    if len(rows) != 1:
        raise NotImplementedError("gathering with multi-axis integer data")
    row_axis = lab.index(rows)
    moved = np.moveaxis(op, [row_axis, axis], [0, 1])
    picked = moved[np.arange(values.shape[0]), values]
    rest = "".join(l for l in lab if l not in (rows, cat))
    return rows + rest, picked


# Largest intermediate array (elements) a contraction may build; beyond it the
# contraction runs in blocks along its largest axis (~32 MB per block).
_BLOCK_ELEMENTS = 1 << 22
# Up to this many elements per operand, a one- or two-operand contraction is
# cheaper in einsum's C kernel than through numpy's path machinery (which
# re-derives the path on every call); BLAS pays off only for large operands.
_SMALL_ELEMENTS = 1 << 16


def _einsum(labels, operands, out):
    present = "".join(l for l in out if any(l in lab for lab in labels))
    if not operands:
        return np.ones((1,) * len(out))
    spec = ",".join(labels) + "->" + present
    key = (spec,) + tuple(np.shape(o) for o in operands)
    plan = _EINSUM_PATHS.get(key)
    if plan is None:
        plan = _einsum_plan(labels, operands, present, spec)
        _EINSUM_PATHS[key] = plan
    path, axis, blocks = plan
    if path is None:  # small: the C kernel directly, no path machinery per call
        result = np.einsum(spec, *operands)
    elif blocks == 1:
        result = np.einsum(spec, *operands, optimize=path)
    else:
        result = _blocked_einsum(spec, labels, operands, present, path, axis, blocks)
    if present == out:
        return result
    shape = [result.shape[present.index(l)] if l in present else 1 for l in out]
    order = sorted(range(len(present)), key=lambda a: out.index(present[a]))
    return np.transpose(result, order).reshape(shape)


def _einsum_plan(labels, operands, present, spec):
    """A BLAS-friendly contraction order (no memory cap), and, when its largest
    intermediate is too big, the axis to split and the number of blocks."""
    sizes = {}
    for lab, op in zip(labels, operands):
        sizes.update(zip(lab, np.shape(op)))
    if len(operands) <= 2 and max(np.size(op) for op in operands) <= _SMALL_ELEMENTS:
        return None, None, 1
    path = np.einsum_path(spec, *operands, optimize=("greedy", 1 << 62))[0]
    largest = _largest_intermediate(labels, present, path[1:], sizes)
    if largest <= _BLOCK_ELEMENTS:
        return path, None, 1
    axis = max(sizes, key=sizes.get)
    blocks = min(sizes[axis], -(-largest // _BLOCK_ELEMENTS))
    return path, axis, blocks


def _largest_intermediate(labels, out, steps, sizes):
    remaining = list(labels)
    largest = 0
    for step in steps:
        taken = [remaining[i] for i in step]
        for i in sorted(step, reverse=True):
            remaining.pop(i)
        needed = set(out).union(*remaining) if remaining else set(out)
        result = "".join(sorted({l for lab in taken for l in lab if l in needed}))
        size = 1
        for l in set("".join(taken)):
            size *= sizes[l]
        largest = max(largest, size if len(taken) > 2 else
                      max(int(np.prod([sizes[l] for l in result])), 1))
        remaining.append(result)
    return largest


def _blocked_einsum(spec, labels, operands, out, path, axis, blocks):
    """The contraction in blocks along ``axis``: concatenated when the output
    keeps the axis, summed when it is contracted away."""
    size = next(np.shape(op)[lab.index(axis)] for lab, op in zip(labels, operands) if axis in lab)
    bounds = np.linspace(0, size, blocks + 1).astype(int)
    parts = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        chunk = [op[(slice(None),) * lab.index(axis) + (slice(start, stop),)] if axis in lab else op
                 for lab, op in zip(labels, operands)]
        parts.append(np.einsum(spec, *chunk, optimize=path))
    if axis in out:
        return np.concatenate(parts, axis=out.index(axis))
    return sum(parts[1:], parts[0])


def apply_constant_function(func, value, arg=None):
    """The nonlinear functions a model applies to constants (once per fit)."""
    value = np.asarray(value, dtype=float)
    if func == "log":
        return np.log(value)
    if func == "log1m":
        return np.log1p(-value)
    if func == "lgamma":
        return sps.gammaln(value)
    if func == "lgamma1p":
        return sps.gammaln(value + 1.0)
    if func == "lgamma_sum":
        return sps.gammaln(value.sum(axis=-1))
    if func == "logdet":
        return 2.0 * np.log(np.diagonal(np.linalg.cholesky(value), axis1=-2, axis2=-1)).sum(-1)
    if func == "inv":
        return np.linalg.inv(value)
    if func == "mvlgamma_half":
        d = int(arg)
        half = value / 2.0
        return (d * (d - 1) / 4.0 * np.log(np.pi)
                + sum(sps.gammaln(half - i / 2.0) for i in range(d)))
    raise ValueError(func)
