"""The runtime every emitted module carries (copied verbatim; numpy and scipy only).

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


def compact(array, event_ndim):
    """The distinct part of a broadcast batch: every leading (batch) axis with
    stride 0 shrunk to length 1, so one factorization serves all its copies
    (N rows sharing one precision need one Cholesky, not N)."""
    array = np.asarray(array)
    index = tuple(slice(0, 1) if stride == 0 and size > 1 else slice(None)
                  for stride, size in zip(array.strides[:array.ndim - event_ndim],
                                          array.shape[:array.ndim - event_ndim]))
    return array[index]


class SharedOuter:
    """E[x xᵀ] = m mᵀ + Σ for rows x (batch axes, then D) sharing a covariance:
    ``mean`` (…, D) and ``cov`` with length 1 along the batch axes it is shared
    over.  ``np.asarray`` builds the dense (…, D, D) array (for users)."""

    def __init__(self, mean, cov):
        self.mean = mean
        self.cov = cov

    @property
    def shape(self):
        return self.mean.shape + self.mean.shape[-1:]

    def __array__(self, dtype=None, copy=None):
        second = self.mean[..., :, None] * self.mean[..., None, :]
        second += self.cov
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
    """A statistic as a plain array (a ``SharedOuter`` is built)."""
    return np.asarray(value) if isinstance(value, SharedOuter) else value


def inner_product(coeff, stat):
    """Σ coeff · stat over every axis, ``stat`` possibly a ``SharedOuter``."""
    if isinstance(stat, SharedOuter):
        return stat.inner(coeff)
    return float(np.sum(coeff * stat))


_PLANS = {}  # (labels, out, *shapes) -> plan (see _plan)
# Step results whose inputs are operands as given (data, E[...] arrays), by
# step: (inputs, result).  E[v] is replaced, never changed, when v is updated,
# so the same input objects mean the same result: a product such as Yᵀ E[z]
# that several updates and the ELBO need is computed once per change of z.
# ``fit`` clears it; results are read-only so no caller can alter a shared one.
_MEMO = {}
_REWRITTEN = {OneHot, SharedOuter}  # operand types contract rewrites away


def contract(spec, *operands):
    """``np.einsum(spec, *operands)`` where operands may be ``OneHot`` or ``SharedOuter``."""
    inputs, out = spec.split("->")
    if inputs == out and len(operands) == 1 and not isinstance(operands[0], OneHot):
        return dense(operands[0])  # 'ab->ab': nothing to contract
    labels = inputs.split(",") if operands else []  # '->' with one scalar is ['']
    return _contract(labels, list(operands), out)


def _contract(labels, operands, out):
    if _REWRITTEN.isdisjoint(map(type, operands)):  # the common case, checked cheaply
        return _einsum(labels, operands, out)
    outer_at = next((p for p, o in enumerate(operands) if isinstance(o, SharedOuter)), None)
    if outer_at is not None:
        return _split_outer(labels, operands, out, outer_at)
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


def _split_outer(labels, operands, out, at):
    """contract(…, m mᵀ + Σ, …) = contract(…, m, m, …) + contract(…, Σ, …), where
    Σ drops the batch axes it is shared over: a dropped label no other operand
    or the output carries is a plain sum of equal terms, i.e. a factor."""
    outer, lab = operands[at], labels[at]
    batch, i, j = lab[:-2], lab[-2], lab[-1]
    before, after = operands[:at], operands[at + 1:]
    means = _contract(labels[:at] + [batch + i, batch + j] + labels[at + 1:],
                      before + [outer.mean, outer.mean] + after, out)
    shared = [a for a in range(len(batch))
              if outer.cov.shape[a] == 1 and outer.mean.shape[a] != 1]
    cov = outer.cov.reshape([n for a, n in enumerate(outer.cov.shape) if a not in shared])
    cov_lab = "".join(l for a, l in enumerate(lab) if a not in shared)
    others = labels[:at] + labels[at + 1:]
    scale = 1.0
    for a in shared:
        if batch[a] not in out and all(batch[a] not in l for l in others):
            scale *= outer.mean.shape[a]
    covs = _contract(labels[:at] + [cov_lab] + labels[at + 1:], before + [cov] + after, out)
    return means + scale * covs


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
# cheapest as one call of einsum's C kernel; BLAS pays off only for large operands.
_SMALL_ELEMENTS = 1 << 16


def _einsum(labels, operands, out):
    """np.einsum by a plan compiled once per spec and operand shapes: with a
    path, np.einsum re-parses it on every call (~50 µs), which costs more than
    the small contractions of a model's iteration."""
    if not operands:
        return np.ones((1,) * len(out))
    shapes = [getattr(o, "shape", ()) for o in operands]  # () for Python numbers
    key = (",".join(labels), out, *shapes)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _plan(labels, shapes, out)
    return plan(operands)


def _plan(labels, shapes, out, block=True):
    """A function of the operands: pairwise steps in numpy's greedy order, by
    matmul when they contract a label and by einsum's C kernel otherwise (as
    np.einsum's own path does, so results round as they did with it), blocked
    when an intermediate is too big."""
    sizes = {}
    for lab, shape in zip(labels, shapes):
        for l, n in zip(lab, shape):
            if sizes.get(l, 1) == 1:  # a size-1 axis broadcasts against any other
                sizes[l] = n
    present = "".join(l for l in out if l in sizes)
    shape = None if present == out else tuple(sizes.get(l, 1) for l in out)
    if len(labels) <= 2 and max(np.prod(s) for s in shapes) <= _SMALL_ELEMENTS:
        spec = ",".join(labels) + "->" + present
        if shape is None:
            return lambda operands: np.einsum(spec, *operands)
        return lambda operands: np.einsum(spec, *operands).reshape(shape)
    prep, terms = _prepare(labels, shapes, sizes, present)
    steps, result, largest = _steps(terms, present, sizes)
    if block and largest > _BLOCK_ELEMENTS:
        return _blocked(labels, shapes, present, sizes, largest, shape)
    order = None if result == present else tuple(result.index(l) for l in present)

    def run(operands):
        operands = list(operands)
        given = list(operands)  # None marks an intermediate (not memoized)
        for p, spec in prep:
            if block:  # a row sum Σ_n E[z] is shared like a product
                operands[p] = given[p] = _memoized((np.einsum, _canonical(spec)), [given[p]],
                                                   np.einsum, spec, [operands[p]])
            else:
                operands[p] = given[p] = np.einsum(spec, operands[p])
                given[p] = None
        for (at, step, arg), memo in zip(steps, memo_keys):
            taken = [operands[i] for i in at]
            inputs = [given[i] for i in at]
            for i in sorted(at, reverse=True):
                del operands[i], given[i]
            operands.append(_memoized(memo, inputs, step, arg, taken)
                            if memo is not None and all(x is not None for x in inputs)
                            else step(arg, *taken))
            given.append(None)  # as in np.einsum: the result goes last
        return _finish(operands[0], order, shape)
    # blocks see fresh slices every call: memoizing them would only hold memory
    memo_keys = [(step, _canonical(arg)) if block else None for at, step, arg in steps]
    return run


def _memoized(memo, inputs, step, arg, taken):
    key = memo + tuple(np.shape(t) for t in taken)
    hit = _MEMO.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], inputs)):
        return hit[1]
    result = step(arg, *taken)
    # kept up to the size a contraction may build anyway (GMM's N×D×K product
    # x_nd r_nk is shared by the updates of mu and Lambda: −25% per sweep)
    if isinstance(result, np.ndarray) and result.size <= _BLOCK_ELEMENTS:
        result.flags.writeable = False
        _MEMO[key] = (inputs, result)
    return result


def _canonical(arg):
    """A step's spec with labels renamed by first appearance (a matmul recipe
    has no labels): the same product reached from different specs is one entry."""
    if not isinstance(arg, str):
        return tuple(tuple(x) if isinstance(x, list) else x for x in arg[:-1])
    names = {}
    return "".join(names.setdefault(c, chr(97 + len(names))) if c.isalpha() else c for c in arg)


def _prepare(labels, shapes, sizes, present):
    """Single-operand einsums, (position, spec), dropping from each operand what
    neither another operand nor the output needs: size-1 axes broadcast against
    a longer axis (the operand is constant along them), repeated labels
    (diagonals) and labels only it carries (summed out first); and the labels
    each operand is left with."""
    carried = ["".join(dict.fromkeys(l for l, n in zip(lab, s) if n == sizes[l]))
               for lab, s in zip(labels, shapes)]
    prep, terms = [], []
    for p, lab in enumerate(labels):
        others = present + "".join(carried[:p] + carried[p + 1:])
        terms.append("".join(l for l in carried[p] if l in others))
        if terms[-1] != lab:
            prep.append((p, lab + "->" + terms[-1]))
    return prep, terms


def _steps(terms, present, sizes):
    """The steps (argument positions, function, spec or matmul recipe) of numpy's
    greedy path over ``terms``; the labels of the result; the largest intermediate."""
    path = [tuple(range(len(terms)))] if len(terms) == 2 else []
    if len(terms) > 2:
        dummies = [np.broadcast_to(0.0, [sizes[l] for l in t]) for t in terms]
        path = np.einsum_path(",".join(terms) + "->" + present, *dummies,
                              optimize=("greedy", 1 << 62))[0][1:]
    terms, steps, largest = list(terms), [], 0
    for at in path:
        at = tuple(sorted(at))
        taken = [terms[i] for i in at]
        for i in reversed(at):
            del terms[i]
        needed = set(present).union(*terms)
        recipe = _matmul_recipe(*taken, needed, sizes) if len(taken) == 2 else None
        if recipe is not None and not terms and recipe[-1] != present:
            swapped = _matmul_recipe(*taken[::-1], needed, sizes)
            if swapped[-1] == present:  # the result straight in output order
                recipe, at = swapped, at[::-1]
        if recipe is not None:
            kept = recipe[-1]
            steps.append((at, _by_matmul, recipe))
        else:
            kept = "".join(dict.fromkeys(l for t in taken for l in t if l in needed))
            kept = kept if terms else present
            steps.append((at, np.einsum, ",".join(taken) + "->" + kept))
        # einsum's kernel on three or more operands loops over all their labels
        largest = max(largest, _count(kept if len(taken) <= 2 else set("".join(taken)), sizes))
        terms.append(kept)
    return steps, terms[0], largest


def _count(labels, sizes):
    return int(np.prod([sizes[l] for l in labels]))


def _matmul_recipe(a, b, needed, sizes):
    """How to compute the pair ``a``, ``b`` (no repeated labels) by one matmul:
    ``a`` transposed to (batch, its free, contracted) labels, ``b`` to (batch,
    contracted, its free), each reshaped to 3-D (2-D without batch labels);
    None when nothing is contracted.  The last entry is the result's labels."""
    batch = [l for l in a if l in b and l in needed]
    summed = [l for l in a if l in b and l not in needed]
    free_a = [l for l in a if l not in b]
    free_b = [l for l in b if l not in a]
    nb, nc, na, nf = (_count(g, sizes) for g in (batch, summed, free_a, free_b))
    if not summed:
        return None
    lead = (nb,) if batch else ()
    return ([a.index(l) for l in batch + free_a + summed], lead + (na, nc),
            [b.index(l) for l in batch + summed + free_b], lead + (nc, nf),
            tuple(sizes[l] for l in batch + free_a + free_b), "".join(batch + free_a + free_b))


def _by_matmul(recipe, a, b):
    perm_a, shape_a, perm_b, shape_b, shape, _ = recipe
    return np.matmul(a.transpose(perm_a).reshape(shape_a),
                     b.transpose(perm_b).reshape(shape_b)).reshape(shape)


def _finish(result, order, shape):
    """The result in output order, with size-1 axes for output labels no operand carries."""
    if order is not None:
        result = result.transpose(order)
    return result if shape is None else result.reshape(shape)


def _blocked(labels, shapes, present, sizes, largest, shape):
    """The contraction in blocks along its largest axis, each by its own plan:
    concatenated when the output keeps the axis, summed when it is contracted."""
    axis = max(sizes, key=sizes.get)
    count = min(sizes[axis], -(-largest // _BLOCK_ELEMENTS))
    bounds = np.linspace(0, sizes[axis], count + 1).astype(int)
    plans, blocks = {}, []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        # a size-1 axis of that label is broadcast, so it is not cut
        cuts = [tuple(slice(start, stop) if l == axis and n > 1 else slice(None)
                      for l, n in zip(lab, s)) for lab, s in zip(labels, shapes)]
        if stop - start not in plans:
            part = [tuple(stop - start if l == axis and n > 1 else n for l, n in zip(lab, s))
                    for lab, s in zip(labels, shapes)]
            plans[stop - start] = _plan(labels, part, present, block=False)
        blocks.append((cuts, plans[stop - start]))
    at = present.index(axis) if axis in present else None

    def run(operands):
        parts = [plan([op[cut] if cut else op for op, cut in zip(operands, cuts)])
                 for cuts, plan in blocks]
        result = sum(parts[1:], parts[0]) if at is None else np.concatenate(parts, axis=at)
        return _finish(result, None, shape)
    return run


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
