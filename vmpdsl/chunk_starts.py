"""The in-memory fit's k-means start and delete/merge moves, for fits in row
blocks (chunked.py, distributed.py).

In memory, a mixture indicator of KMEANS_STARTS starts from k-means on a
sample of its rows (runtime/kmeans.py): the rows in use (those with an
observation), all of them or SAMPLE drawn without replacement from the fit's
generator, then k-means++ seedings from the same generator.  Here the same
sample is drawn (the same generator calls, on the number of rows in use, so
the same row numbers), only those rows are read (one indexed read of each
data array: ``take_rows``), and k-means runs on them: the centres are the
in-memory fit's, bit for bit, since the columns are standardized by the
sample's own moments.  Each block then labels its rows from the centres when
a pass first reads it (``block_starts``), as the in-memory start labels every
row.  Finding the rows in use takes a pass over the blocks only where an
observation can be missing (``missing="skip"``); otherwise the start costs
the sampled read and the in-memory start's k-means.

The moves after the climb (kmeans.try_moves) need the responsibilities'
masses and co-memberships over all rows (a pass: a sum over blocks); a move
is applied row by row, so each block applies it to its own rows.
"""
from __future__ import annotations

import numpy as np

from .errors import VmpDataError


def kmeans_latents(module, locals_, init, start) -> list:
    """The row latents that start from k-means (the in-memory default), or
    a VmpDataError where the chunked start would not draw the same numbers."""
    if start != "kmeans":
        return []
    names = [n for n, _ in getattr(module, "KMEANS_STARTS", ())
             if n in locals_ and n not in (init or {})]
    families = {row[0]: row[1] for row in module.LATENTS}
    points = [row[0] for row in module.LATENTS if row[0] in names and row[4]]
    if points:  # the start of a point indicator is its labels' mode, not given q's
        raise VmpDataError(f"chunk_size: the k-means start of the point estimate "
                           f"{', '.join(points)} is not made in row blocks; pass "
                           f"init='random' or fit in memory")
    drawn = [n for n in module.INIT_ORDER if n in locals_ and n not in names
             and module.FAMILY_FUNCTIONS[families[n]]["start"] is not None]
    early = [n for n in drawn if names and module.INIT_ORDER.index(n)
             < max(module.INIT_ORDER.index(m) for m in names)]
    if early:
        raise VmpDataError(f"chunk_size: model '{module.MODEL_NAME}' draws the random start "
                           f"of {', '.join(early)} before the k-means start of "
                           f"{', '.join(names)}, which a fit in row blocks draws first; pass "
                           f"init='random' or fit in memory")
    return names


def kmeans_plan(module, name, probs, n_rows, rng, empty, read, rows_in_use):
    """The k-means centres of ``name`` (kmeans.kmeans_centers) from the sample
    the in-memory start draws, or None where it starts uniform.  ``probs``:
    its q on no rows (shape (0, ..., K)); ``empty``: the data on no rows,
    bound; ``read(rows)`` binds those data
    rows (dim, arrays, constants); ``rows_in_use()`` gives the numbers of the
    rows with an observation (a pass over the blocks)."""
    K = probs.shape[-1]
    per_row = int(np.prod(probs.shape[1:-1], dtype=np.int64))
    gated = dict(module.KMEANS_STARTS)[name]
    _, arrays, _ = empty
    columns = sum(int(np.prod(np.shape(arrays[a])[1:], dtype=np.int64)) for a, _ in gated)
    if columns == 0 or n_rows * per_row == 0:
        return None  # nothing to cluster: the uniform start
    in_use = rows_in_use() if any(mask is not None for _, mask in gated) else None
    count = n_rows * per_row if in_use is None else len(in_use)
    if count == 0:
        return None
    # kmeans._sample: rng.choice over the rows in use picks their positions
    chosen = np.arange(count) if count <= module.SAMPLE else \
        np.sort(rng.choice(count, module.SAMPLE, replace=False))
    sample = chosen if in_use is None else in_use[chosen]
    data_rows = np.unique(sample // per_row)
    _, arrays, _ = read(data_rows)
    values, present, weight = module.kmeans_rows(name, arrays, len(data_rows) * per_row)
    at = np.searchsorted(data_rows, sample // per_row) * per_row + sample % per_row
    return module.kmeans_centers(values[at], present[at], weight[at], K, rng)


def in_use(module, name, bound, offset):
    """The numbers of the block's rows (from ``offset``) with an observation."""
    dim, arrays, _ = bound
    rows = block_rows(module, name, dim)
    return offset + np.flatnonzero(module.kmeans_rows(name, arrays, rows)[2] > 0)


def block_rows(module, name, dim) -> int:
    shape = next(row[3] for row in module.LATENTS if row[0] == name)
    return int(np.prod([dim[d] if isinstance(d, str) else d for d in shape], dtype=np.int64))


def block_starts(module, plans, K_of, bound) -> dict:
    """{name: its starting q on the block's rows} from the k-means ``plans``
    (in ``init``'s form, so ``_initial_state`` takes it as given)."""
    dim, arrays, _ = bound
    out = {}
    for name, fitted in plans.items():
        rows, K = block_rows(module, name, dim), K_of[name]
        shape = tuple(dim[d] if isinstance(d, str) else d for d in
                      next(row[3] for row in module.LATENTS if row[0] == name)) + (K,)
        if fitted is None or rows == 0:
            probs = np.full(shape, 1.0 / K)
        else:
            probs = module.kmeans_labels(fitted, *module.kmeans_rows(name, arrays, rows))
        out[name] = {"probs": probs.reshape(shape)}
    return out


def take_rows(value, rows):
    """The rows numbered ``rows`` (sorted) of a data array: in memory, a
    memory map, an on-disk ``.npy`` (ondisk.NpyRows), zarr or dask."""
    if hasattr(value, "oindex"):  # zarr: an orthogonal selection
        return np.asarray(value.oindex[rows])
    taken = value[rows]
    return np.asarray(taken.compute() if hasattr(taken, "compute") else taken)


def add_sums(total, sums):
    """kmeans.move_sums of one block added into ``total`` (None at first)."""
    return sums if total is None else (total[0] + sums[0], total[1] + sums[1])
