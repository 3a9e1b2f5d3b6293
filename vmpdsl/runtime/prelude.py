"""The runtime's base: the errors of a fit, and ``contract`` (copied verbatim;
numpy and scipy only).

``contract`` is einsum plus one extension: an operand may be a ``OneHot`` (an
integer array standing for its one-hot matrix).  Contracting with a one-hot
matrix is never done densely: a one-hot axis shared with another operand is a
*gather* (fancy indexing), and a one-hot axis that survives to the output is a
*scatter* (a sparse matrix product).  Labels of the output that no operand
carries come back as size-1 axes, so ``accumulator += contract(...)``
broadcasts.

A second extension: an operand may be a ``SharedOuter``, the second moment
E[x xᵀ] = m mᵀ + Σ of Gaussian rows that share one covariance Σ.  It is never
built; ``contract`` splits the contraction into its mean part (two copies of
m, so Σ_n E[x xᵀ] costs one GEMM) and its covariance part (Σ once, times the
number of rows it stands for).

Plain operands go to ``_einsum`` (einsum.py), which runs a plan compiled once
per spec and shapes and memoizes products of unchanged operands.

``remember`` / ``remembered``: what an update computed along with a
parameter array (the log-determinant of a precision it factored, a
Categorical's row normalizers), kept for the expectations, the entropy and the
ELBO share of the same q, so an MvNormal or Wishart update factors its matrix
once.
"""
import weakref

import numpy as np
from scipy import sparse as spsparse
from scipy import special as sps

from .einsum import _einsum, _einsum_plan  # the plan executor; emitted right after this file
from .scatter import _diagonals, _gather_rows, _scatter  # the general one-hot shapes; emitted after it


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


def compact(array, event_ndim):
    """The distinct part of a broadcast batch: every leading (batch) axis with
    stride 0 shrunk to length 1, so one factorization serves all its copies
    (N rows sharing one precision need one Cholesky, not N)."""
    array = np.asarray(array)
    index = tuple(slice(0, 1) if stride == 0 and size > 1 else slice(None)
                  for stride, size in zip(array.strides[:array.ndim - event_ndim],
                                          array.shape[:array.ndim - event_ndim]))
    return array[index]


# id(array) -> (weak reference to it, value): what an update computed along
# with a parameter array.  An entry goes with its array, and a lookup checks
# identity, so a reused id never answers for another array.
_REMEMBERED = {}


def remember(array, value):
    """Note ``value`` (log|array| of a precision, …) for ``remembered``; returns ``array``."""
    key = id(array)
    _REMEMBERED[key] = (weakref.ref(array, lambda _, key=key: _REMEMBERED.pop(key, None)), value)
    return array


def remembered(array):
    """The value ``remember`` noted for this very array, else None."""
    hit = _REMEMBERED.get(id(array))
    return hit[1] if hit is not None and hit[0]() is array else None


class SharedOuter:
    """E[x xᵀ] = m mᵀ + Σ for rows x (batch axes, then D) sharing a covariance:
    ``mean`` (…, D) and ``cov`` with length 1 along the batch axes it is shared
    over.  ``np.asarray`` builds the dense (…, D, D) array (for users)."""

    def __init__(self, mean, cov):
        self.mean = mean
        self.cov = cov
        self._summed = None

    def summed(self):
        """Σ E[x xᵀ] over every batch axis, MᵀM + Σ_rows Σ: one GEMM, kept on
        the object (a statistic is replaced with its latent's update, never
        changed), so every contraction that sums the rows whole reads it."""
        if self._summed is None:
            dim, batch, cov = self.mean.shape[-1], self.mean.shape[:-1], self.cov
            rows = self.mean.reshape(-1, dim)
            if cov.ndim != len(batch) + 2 or any(c not in (1, b) for c, b in
                                                  zip(cov.shape, batch)):
                cov = compact(np.broadcast_to(cov, self.shape), 2)  # each axis 1 or full
            covs = cov.reshape(-1, dim, dim)
            total = rows.T @ rows + (rows.shape[0] // covs.shape[0]) * covs.sum(0)
            total.flags.writeable = False
            self._summed = total
        return self._summed

    @property
    def shape(self):
        return self.mean.shape + self.mean.shape[-1:]

    def __array__(self, dtype=None, copy=None):
        second = self.mean[..., :, None] * self.mean[..., None, :]  # one (…, D, D) array
        if second.shape == np.broadcast_shapes(second.shape, np.shape(self.cov)):
            second += self.cov  # in place
        else:  # a covariance with more batch axes than the mean (a user's init)
            second = second + self.cov
        return second if dtype is None else second.astype(dtype)

    def inner(self, coeff):
        """Σ coeff · E[x xᵀ] over every axis (coeff broadcasts to ``shape``)."""
        coeff = compact(np.asarray(coeff), 2)
        mean = self.mean
        if coeff.size == coeff.shape[-1] ** 2:  # one coefficient matrix for all rows: a GEMM
            rows = mean.reshape(-1, mean.shape[-1])
            quadratic = np.vdot(rows @ coeff.reshape(coeff.shape[-2:]), rows)
        else:
            quadratic = np.sum((mean[..., None, :] @ coeff)[..., 0, :] * mean)
        shared = coeff * self.cov
        rows = np.prod(self.shape[:-2]) / np.prod(shared.shape[:-2])
        return float(quadratic) + rows * float(np.sum(shared))


def dense(value):
    """A statistic as a plain array (a factored one, a ``SharedOuter``, is built)."""
    return np.asarray(value) if type(value) in _REWRITES else value


def inner_product(coeff, stat, weight=None):
    """Σ coeff · stat over every axis, ``stat`` possibly a ``SharedOuter``; a
    row ``weight`` multiplies along the leading (plate) axes, without a
    weighted copy of ``coeff`` unless ``stat`` is factored."""
    factored = type(stat) in _REWRITES  # a SharedOuter (statistics are never one-hot)
    if weight is not None and not factored:
        axes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[:np.ndim(stat)]
        return float(np.einsum(f"{axes},{axes},{axes[:np.ndim(weight)]}->", coeff, stat, weight))
    if weight is not None:  # shaped to broadcast along the rows
        along = np.shape(weight) + (1,) * (np.ndim(coeff) - np.ndim(weight))
        coeff = coeff * np.reshape(weight, along)
    if factored:
        return stat.inner(coeff)
    return float(np.sum(coeff * stat))


def contract(spec, *operands):
    """``np.einsum(spec, *operands)`` where operands may be ``OneHot`` or ``SharedOuter``."""
    inputs, out = spec.split("->")
    if inputs == out and len(operands) == 1 and not isinstance(operands[0], OneHot):
        return dense(operands[0])  # 'ab->ab': nothing to contract
    labels = inputs.split(",") if operands else []  # '->' with one scalar is ['']
    return _contract(labels, list(operands), out)


def _contract(labels, operands, out):
    if _REWRITES.keys().isdisjoint(map(type, operands)):  # the common case, checked cheaply
        return _einsum(labels, operands, out)
    for kind, rewrite in _REWRITES.items():  # a SharedOuter first, then the one-hots
        if any(isinstance(o, kind) for o in operands):
            return rewrite(labels, operands, out)


def _contract_onehot(labels, operands, out):
    """A contraction with a one-hot operand: a gather where its category axis
    meets another operand, a scatter where it reaches the output."""
    labels, operands = _diagonals(labels, operands, OneHot)
    hot_at = next(p for p, o in enumerate(operands) if isinstance(o, OneHot))
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
    if any(r in out for r in rows) or any(isinstance(o, OneHot) and l[-1] in out
                                          for l, o in zip(labels, operands)):
        return _scatter(hot, hot_labels, labels, operands, out, _contract, OneHot)
    inner = out.replace(cat, rows)
    dense = _contract(labels, operands, inner)
    dense = np.broadcast_to(dense, _full_shape(dense, inner, rows, hot.values.shape))
    start = inner.index(rows)
    moved = np.moveaxis(dense, list(range(start, start + len(rows))), list(range(len(rows))))
    rest = moved.shape[len(rows):]
    if len(rows) == 1 and int(np.prod(rest)) == 1:
        # one weight per row: a weighted count, without the rows × categories
        # matrix (hier's 10⁶ rows: 15 MB kept, 38 MB at the peak); equal
        # weights (a broadcast one, Σ_n onehot) are the counts times it
        weights = moved.reshape(hot.values.size)
        flat = (np.bincount(hot.values, minlength=hot.size) * weights[0]
                if weights.strides == (0,) and weights.size else
                np.bincount(hot.values, weights=weights, minlength=hot.size))
        return np.moveaxis(flat.reshape((hot.size,) + rest), 0, start)
    # (the width spelled out: with no rows, -1 would be ambiguous)
    flat = np.asarray(hot.matrix().T @ moved.reshape(hot.values.size, int(np.prod(rest))))
    return np.moveaxis(flat.reshape((hot.size,) + rest), 0, start)


def _split_outer(labels, operands, out):
    """contract(…, m mᵀ + Σ, …) = contract(…, m, m, …) + contract(…, Σ, …), where
    Σ drops the batch axes it is shared over: a dropped label no other operand
    or the output carries is a plain sum of equal terms, i.e. a factor.  How
    (``_outer_route``) is decided once per spec and operand shapes: the
    decision costs more than the small contractions of a sweep."""
    key = (tuple(labels), out, *map(_operand_kind, operands))
    route = _OUTER_ROUTES.get(key)
    if route is None:
        route = _OUTER_ROUTES[key] = _outer_route(labels, operands, out)
    return route(operands)


# (labels, out, each operand's kind and shapes) -> _outer_route's function
_OUTER_ROUTES = {}


def _operand_kind(operand):
    if type(operand) is SharedOuter:  # its route depends on the covariance's shape too
        return SharedOuter, operand.mean.shape, operand.cov.shape
    return type(operand), getattr(operand, "shape", ())


def _outer_route(labels, operands, out):
    """A function of operands of these kinds and shapes that contracts them
    as ``_split_outer`` says, its parts' routes or plans found once."""
    at = next(p for p, o in enumerate(operands) if isinstance(o, SharedOuter))
    outer, lab = operands[at], labels[at]
    batch, i, j = lab[:-2], lab[-2], lab[-1]
    if batch and all(l not in out and l not in i + j and all(l not in o for o in labels[:at])
                     and all(l not in o for o in labels[at + 1:]) for l in batch):
        # the rows are summed whole and nothing else reads them: Σ_n E[x xᵀ]
        # (SharedOuter.summed) in their place, as one would write it by hand
        summed = _route(labels[:at] + [i + j] + labels[at + 1:],
                        operands[:at] + [outer.summed()] + operands[at + 1:], out)
        return lambda ops: summed(ops[:at] + [ops[at].summed()] + ops[at + 1:])
    shared = [a for a in range(len(batch))
              if outer.cov.shape[a] == 1 and outer.mean.shape[a] != 1]
    cov_shape = [n for a, n in enumerate(outer.cov.shape) if a not in shared]
    cov_lab = "".join(l for a, l in enumerate(lab) if a not in shared)
    others = labels[:at] + labels[at + 1:]
    scale = 1.0
    for a in shared:
        if batch[a] not in out and all(batch[a] not in l for l in others):
            scale *= outer.mean.shape[a]
    before, after = operands[:at], operands[at + 1:]
    means = _route(labels[:at] + [batch + i, batch + j] + labels[at + 1:],
                   before + [outer.mean, outer.mean] + after, out)
    covs = _route(labels[:at] + [cov_lab] + labels[at + 1:],
                  before + [outer.cov.reshape(cov_shape)] + after, out)

    def run(ops):
        outer, before, after = ops[at], ops[:at], ops[at + 1:]
        return (means(before + [outer.mean, outer.mean] + after)
                + scale * covs(before + [outer.cov.reshape(cov_shape)] + after))
    return run


def _route(labels, operands, out):
    """What ``_contract`` runs for operands of these kinds and shapes: the
    einsum plan of plain ones, the route of another SharedOuter."""
    kinds = set(map(type, operands))
    if operands and _REWRITES.keys().isdisjoint(kinds):
        return _einsum_plan(labels, [getattr(o, "shape", ()) for o in operands], out)
    if SharedOuter in kinds:
        return lambda ops: _split_outer(labels, ops, out)
    return lambda ops: _contract(labels, ops, out)


def _full_shape(array, labels, rows, row_shape):
    shape = list(array.shape)
    for r, size in zip(rows, row_shape):
        shape[labels.index(r)] = size
    return tuple(shape)


def _gather(lab, op, cat, rows, values):
    """Replace axis ``cat`` of ``op`` by the rows of ``values`` (a gather)."""
    if isinstance(op, OneHot) and lab[-1] == cat:  # two one-hots over one category:
        op = np.eye(op.size)[op.values]  # dense (the diagonal of a pair over z[doc[t]])
    elif isinstance(op, OneHot):  # integer data read through integer data: g[doc[t]]
        row_labels, gathered = _gather(lab[:-1], op.values, cat, rows, values)
        return row_labels + lab[-1], OneHot(gathered, op.size)
    axis = lab.index(cat)
    shared = [r for r in rows if r in lab]
    if not shared:
        return lab.replace(cat, rows), np.take(op, values, axis=axis)
    if len(rows) != 1:
        return _gather_rows(lab, op, cat, rows, values)
    row_axis = lab.index(rows)
    moved = np.moveaxis(op, [row_axis, axis], [0, 1])
    picked = moved[np.arange(values.shape[0]), values]
    rest = "".join(l for l in lab if l not in (rows, cat))
    return rows + rest, picked


def apply_constant_function(func, value, arg=None):
    """The nonlinear functions a model applies to constants (once per fit)."""
    value = np.asarray(value, dtype=float)
    if func == "log":
        return np.log(value)
    if func == "recip":
        return 1.0 / value
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


# The operand types contract rewrites away, each with its rewrite (dense and
# inner_product test membership too).  An emitted module lists only the types
# it builds (emit/assemble.py), so a model without one-hot data carries no
# gather or scatter, and one without shared-covariance Gaussians no SharedOuter.
_REWRITES = {SharedOuter: _split_outer, OneHot: _contract_onehot}
