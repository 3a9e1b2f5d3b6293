"""General gathers and scatters of one-hot operands (copied verbatim into every
emitted module after prelude.py; numpy and scipy only).

``prelude._contract`` handles the common shapes itself: a one-hot whose
category axis is summed against another operand (a gather by one row axis) or
survives alone to the output while its rows are summed (LDA's counts).  These
functions cover every other shape a model can produce:

* ``_scatter``: one or more one-hots whose category axes reach the output,
  possibly keeping some of their row axes (naive Bayes' Σ_n [label_n = c]
  [x_nf = v] → counts[c, f, v]).  The one-hots are read as one joint index over
  the union of their rows; the rest of the product is contracted densely over
  those rows, then added into (kept rows, categories) by one sparse product.
* ``_gather_rows``: a gather whose operand shares several row axes with the
  index (``mu[n, g[n, f]]``), by advanced indexing.
* ``_diagonals``: a one-hot whose row labels repeat (y[n, n], the diagonal
  of a pair of gates, derive/pairs.py) becomes the one-hot of its diagonal.
"""
import numpy as np
from scipy import sparse as spsparse


def _scatter(hot, hot_labels, labels, operands, out, contract, one_hot):
    """Σ over the rows of ``hot`` (and of every other one-hot whose category
    axis is in ``out`` and in no other operand) of the remaining product, added
    into the category axes; ``contract`` contracts the remaining operands and
    ``one_hot`` is the one-hot class (prelude.OneHot)."""
    joint = [(hot, hot_labels)]
    rest_labels, rest = [], []
    for p, (lab, op) in enumerate(zip(labels, operands)):
        others = labels[:p] + labels[p + 1:] + [hot_labels]
        if isinstance(op, one_hot) and lab[-1] in out and all(lab[-1] not in l for l in others):
            joint.append((op, lab))
        else:
            rest_labels.append(lab)
            rest.append(op)
    rows = "".join(dict.fromkeys(l for _, lab in joint for l in lab[:-1]))
    sizes = _row_sizes(joint, rows)
    cats = "".join(lab[-1] for _, lab in joint)
    kept = "".join(r for r in rows if r in out)
    free = "".join(l for l in out if l not in cats and l not in rows)
    dense = np.asarray(contract(rest_labels, rest, rows + free))
    dense = np.broadcast_to(dense, tuple(sizes[r] for r in rows) + dense.shape[len(rows):])
    matrix = _scatter_matrix(joint, rows, sizes, kept)
    width = int(np.prod(dense.shape[len(rows):]))  # (not -1: there may be no rows)
    flat = np.asarray(matrix @ dense.reshape(matrix.shape[1], width))
    shape = tuple(sizes[r] for r in kept) + tuple(h.size for h, _ in joint) + dense.shape[len(rows):]
    result_labels = kept + cats + free
    return flat.reshape(shape).transpose([result_labels.index(l) for l in out])


def _row_sizes(joint, rows):
    sizes = {}
    for hot, lab in joint:
        for label, n in zip(lab[:-1], hot.values.shape):
            sizes[label] = n
    return {r: sizes[r] for r in rows}


def _scatter_matrix(joint, rows, sizes, kept):
    """The sparse (kept rows × categories, rows) matrix of the joint index,
    built once per combination of one-hots (they are data: fixed for a fit)."""
    key = (tuple(id(h) for h, _ in joint), tuple(lab for _, lab in joint), rows, kept)
    cache = joint[0][0].__dict__.setdefault("_scatters", {})
    if key in cache:
        return cache[key]
    shape = tuple(sizes[r] for r in rows)
    code = np.zeros(shape, dtype=np.intp)
    for hot, lab in joint:
        code = code * hot.size + _along(hot.values, lab[:-1], rows)
    if kept:
        grids = np.indices(shape)
        where = np.ravel_multi_index([grids[rows.index(r)] for r in kept],
                                     tuple(sizes[r] for r in kept))
        code = code + where * int(np.prod([h.size for h, _ in joint]))
    count = int(np.prod([sizes[r] for r in kept])) * int(np.prod([h.size for h, _ in joint]))
    n = int(np.prod(shape))
    matrix = spsparse.csr_matrix((np.ones(n), (code.ravel(), np.arange(n))), shape=(count, n))
    cache[key] = matrix
    return matrix


def _along(values, lab, rows):
    """``values`` (axes ``lab``) laid out along ``rows`` (a superset), broadcast."""
    order = sorted(range(len(lab)), key=lambda a: rows.index(lab[a]))
    moved = np.transpose(values, order)
    shape = [1] * len(rows)
    for a in order:
        shape[rows.index(lab[a])] = values.shape[a]
    return moved.reshape(shape)


def _gather_rows(lab, op, cat, rows, values):
    """Axis ``cat`` of ``op`` replaced by the rows of ``values``, where ``op``
    shares some of those row axes: result labels are ``op``'s others, then the
    rows it lacks."""
    result = [l for l in lab if l != cat] + [r for r in rows if r not in lab]
    at = {l: p for p, l in enumerate(result)}
    index = []
    for axis, label in enumerate(lab):
        if label == cat:
            order = sorted(range(len(rows)), key=lambda a: at[rows[a]])
            index.append(np.transpose(values, order).reshape(
                _spread(values.shape, rows, at, len(result))))
        else:
            n = op.shape[axis]
            grid = np.arange(n) if n > 1 else np.zeros(1, dtype=np.intp)
            shape = [1] * len(result)
            shape[at[label]] = grid.size
            index.append(grid.reshape(shape))
    return "".join(result), np.asarray(op)[tuple(index)]


def _spread(shape, rows, at, ndim):
    out = [1] * ndim
    for label, n in zip(rows, shape):
        out[at[label]] = n
    return out


def _diagonals(labels, operands, one_hot):
    """One-hots with a repeated row label replaced by the one-hot of their diagonal."""
    for p, (lab, op) in enumerate(zip(labels, operands)):
        rows = lab[:-1]
        if isinstance(op, one_hot) and len(set(rows)) < len(rows):
            kept = "".join(dict.fromkeys(rows))
            labels[p] = kept + lab[-1]
            operands[p] = one_hot(np.einsum(f"{rows}->{kept}", op.values), op.size)
    return labels, operands
