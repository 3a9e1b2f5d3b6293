"""Row blocks cut on group boundaries, for the default local inner loop in
chunked and dask fits (chunked.py, distributed.py).

By default the in-memory fit iterates a gated local block per group — LDA's
θ[d] with its tokens' z[t], runtime/local_restart.py: a restart from the
priors kept per document where it raises the ELBO, then up to GATED_ITERS
passes in which each document stops on its own.  Given the globals, groups
do not interact, so a group's course through a sweep is the same
computation in a block of rows as in the whole data, provided the block
holds all of the group's rows in their order.  So the blocks are cut where
the group index changes: a block of ``chunk_size`` rows ends at the last
group boundary in it (a group longer than that gets a block of its own),
which needs each group's rows together and the groups in increasing order —
a corpus sorted by document (``group_cuts``; anything else is refused with
what to do).

Block b binds its rows with the group index counted from its first group
``lo_b`` and the group plate cut to ``lo_b .. lo_{b+1} − 1`` (the last block
to the end), so every group, even one without rows, is in exactly one block.
Duplicate rows are merged per block (COLLAPSIBLE) exactly when the
in-memory fit merges them (its decision counts the distinct rows of all
blocks); no group spans two blocks and the merged rows sort by group first,
so the blocks' merged rows, in order, are the in-memory fit's, and so are
the random starts drawn on them.  A sweep's restarts stop for the rest of
the fit when their gains, summed over the blocks, are small
(``restart_pays``).  The locals of a block depend on the previous sweep's
(the restart keeps the better of the two), so they are held: θ (groups × K)
and z (its merged rows × K).

The default start (local_iters and init not given) is the in-memory one,
local_restart.gated_start, step by step: the random start of every block's
rows drawn as in memory (only to move the generator to where the in-memory
fit's is), the groups' features of every block stacked (a pass; each row of
them is one group's, from its rows alone, merged or not) and clustered on the
driver from that generator, each block's rows one-hot at their groups'
labels, the globals updated once from the blocks' sums, every group's θ
drawn in one draw on the driver (each block takes its groups' rows of it),
then each block's z from it and its block iterated (``start_clustered``).
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from .errors import VmpDataError


def group_layout(module, data, plate, local_iters, missing=None) -> dict | None:
    """{'index': the group index array, 'G': the group plate, 'groups': its size,
    'iters': the inner loop's length} where the fit iterates a local block
    per group (local_iters None or > 1 and the block has a group index over
    the row plate), else None."""
    if local_iters == 1 or len(getattr(module, "LOCAL_BLOCK", ())) < 2:
        return None
    on_rows = {n for n, shape, *_ in module.DATA_SPEC if shape and shape[0] == plate}
    try:
        dim, arrays = module.bind_data({n: (v[0:0] if n in on_rows else v)
                                        for n, v in data.items()}, missing)
    except module.DataError as err:
        raise VmpDataError(str(err)) from None
    layout = module.local_layout(arrays, dim)
    if not (layout and layout["index"]) or layout["R"] != plate:
        return None
    return {"index": layout["index"], "G": layout["G"], "groups": int(dim[layout["G"]]),
            "R": plate, "iters": module.GATED_ITERS if local_iters is None else int(local_iters),
            "default": local_iters is None}


def clustered(grouping, start_from, init, max_iter) -> bool:
    """Whether the in-memory fit starts the block from its groups clustered
    (sweeps.fit_starts → local_restart.gated_start: the default local_iters
    and start, and at least one sweep)."""
    return bool(grouping) and grouping["default"] and start_from == "kmeans" and not init \
        and max_iter > 0


def check_grouped(module, init, missing):
    """What a fit in blocks of whole groups does not do: a given start (the
    in-memory fit then draws every group's θ after every row's z), masks."""
    if init:
        raise VmpDataError(f"chunk_size: from a given init the in-memory fit of model "
                           f"'{module.MODEL_NAME}' first fits every group's local block "
                           f"({', '.join(module.LOCAL_BLOCK)}) drawing its start group after "
                           f"group, which a fit in row blocks does not; pass local_iters=1 "
                           f"or fit in memory")
    if missing == "skip":
        raise VmpDataError(f"chunk_size: missing='skip' with the per-group local loop of "
                           f"model '{module.MODEL_NAME}' is not done in row blocks; pass "
                           f"local_iters=1 or fit in memory")


def group_cuts(pieces, rows, size, index, groups):
    """The row blocks of whole groups: (starts, first groups), each a list
    with one entry per block plus the end (rows, groups).  ``pieces``: the
    group index column in consecutive pieces (arrays); ``size``: the rows a
    block should not exceed (a group longer than that is a block alone)."""
    edges, values, last, seen = [0], [], None, 0
    for piece in pieces:
        piece = np.asarray(piece).reshape(-1)
        if not piece.size:
            continue
        step = np.diff(piece)
        if (step < 0).any() or (last is not None and piece[0] < last):
            at = seen + (int(np.argmax(step < 0)) + 1 if (step < 0).any() else 0)
            raise VmpDataError(f"chunk_size with the default local_iters cuts the rows "
                               f"between groups of '{index}', so they must be sorted by "
                               f"'{index}' (each group's rows together, the groups in "
                               f"increasing order); row {at} is not. Sort the rows first "
                               f"(order = np.argsort({index}, kind='stable'), every row "
                               f"array taken at order), or pass local_iters=1")
        if last is None:
            values.append(int(piece[0]))
        elif piece[0] != last:
            edges.append(seen)
            values.append(int(piece[0]))
        inside = np.flatnonzero(step) + 1
        edges.extend((inside + seen).tolist())
        values.extend(piece[inside].tolist())
        last, seen = piece[-1], seen + piece.size
    edges, values = np.asarray(edges), np.asarray(values)
    starts, firsts, at = [0], [0], 0
    while rows - at > size:
        i = np.searchsorted(edges, at + size, side="right") - 1  # the last edge in reach
        if edges[i] <= at:  # a group longer than size: to its end
            i += 1
            if i == edges.size:
                break
        at = int(edges[i])
        starts.append(at)
        firsts.append(int(values[i]))
    return starts + [rows], firsts + [groups]


def bind_group_rows(module, chunk, hyper, rows, groups, grouping, merge):
    """(dim, arrays, constants) of a block of whole groups: rows ``rows`` =
    (start, stop) of the data ``chunk``, groups ``groups`` = (lo, hi) with the
    index counted from lo, duplicate rows merged when ``merge``; and the
    merge's inverse index (None without)."""
    start, stop = rows
    try:
        dim, arrays = module.bind_data(chunk, None)
    except module.DataError as err:
        raise VmpDataError(f"rows {start}–{stop - 1}: {err}" if stop > start
                           else str(err)) from None
    index = grouping["index"]
    arrays = dict(arrays, **{index: arrays[index] - groups[0]})
    dim = dict(dim, **{grouping["G"]: groups[1] - groups[0]})
    inverse = merge_rows(module, dim, arrays, grouping["R"]) if merge and stop > start \
        else None
    return (dim, arrays, module._constants(dim, arrays, hyper)), inverse


def merge_rows(module, dim, arrays, plate):
    """collapse_rows of the row plate, whatever the block's share of
    duplicates (the decision is the whole data's: ``merges``); returns the
    inverse index."""
    _, weight, names, _ = collapsible(module, plate)
    found = module._distinct_rows([arrays[n] for n in names])
    return module.merge_duplicates(dim, arrays, plate, weight, names, found)[0]


def collapsible(module, plate):
    """The row plate's COLLAPSIBLE entry: (plate, weight, data, latents)."""
    return next(row for row in getattr(module, "COLLAPSIBLE", ()) if row[0] == plate)


def distinct_rows(module, chunk, plate) -> int:
    """The number of distinct rows of a block (``merges``)."""
    _, arrays = module.bind_data(chunk, None)
    names = collapsible(module, plate)[2]
    return int(module._distinct_rows([arrays[n] for n in names])[2].size) if \
        len(arrays[names[0]]) else 0


def merge_wanted(module, collapse, plate) -> bool:
    """Whether the in-memory fit would consider merging the rows."""
    return bool(collapse) and any(row[0] == plate for row in getattr(module, "COLLAPSIBLE", ()))


def merges(module, distinct, rows) -> bool:
    """The in-memory decision (collapse_rows' worth_merging) on the distinct
    rows of all blocks."""
    return bool(module.worth_merging(distinct, rows))


def check_gated(module, q, E, bound, hyper):
    """Refuse a block whose per-group loop is not the gated one: the plain
    per-group loop (iterate_groups) stops its groups together."""
    dim, arrays, K = bound
    layout = module.local_layout(arrays, dim)
    if not module.gated_dirichlet(q, E, K, arrays, hyper, dim, block_rows(module), layout):
        raise VmpDataError(f"chunk_size: the default local loop of model "
                           f"'{module.MODEL_NAME}' iterates its block "
                           f"({', '.join(module.LOCAL_BLOCK)}) over all groups together, "
                           f"which row blocks do not; pass local_iters=1 or fit in memory")


def local_step(module, q, E, bound, hyper, iters, restart):
    """The in-memory sweep's local step on a block of whole groups
    (local_loop.sweep: restarted_block); returns (the coefficients of the
    block's last update, the restart's gain on the block)."""
    dim, arrays, K = bound
    schedule = {"restart": restart}
    coeffs = module.restarted_block(q, E, K, arrays, hyper, dim, block_rows(module), iters,
                                    module.LOCAL_TOL, module.local_layout(arrays, dim),
                                    schedule)
    return coeffs, schedule.get("gain", 0.0)


def block_features(module, bound):
    """The features of a block's groups (local_restart._group_features), or None."""
    dim, arrays, _ = bound
    return module._group_features(arrays, dim, module.local_layout(arrays, dim))


def cluster_labels(module, features, q, rng):
    """Every group's cluster (local_restart.cluster_groups) from the blocks'
    features in block order, drawn from ``rng``; None without features.
    ``q``: the latents on no rows (θ's categories)."""
    if not features or any(part is None for part in features):
        return None
    return module.cluster_groups(sparse.vstack(features, format="csr"),
                                 module.start_clusters(q, block_rows(module)), rng)


def label_block(module, q, E, bound, labels):
    """The block's rows one-hot at their groups' ``labels`` (its groups' part)."""
    dim, arrays, _ = bound
    module.label_rows(q, E, arrays, module.local_layout(arrays, dim), block_rows(module), labels)


def start_draws(module, q, groups, rng):
    """Every group's θ concentration, drawn at once as in memory."""
    shape = np.shape(q[block_rows(module)[0][0]]["concentration"])[1:]
    return module.start_draws(rng, (groups,) + shape)


def start_groups(module, q, E, bound, hyper, concentration):
    """θ at its groups' ``concentration``, z from it, the block iterated
    (local_restart.start_locals)."""
    dim, arrays, K = bound
    module.start_locals(q, E, K, arrays, hyper, dim, block_rows(module),
                        module.local_layout(arrays, dim), concentration)


def block_rows(module) -> list:
    """The UPDATES rows of the local block."""
    return [row for row in module.UPDATES if row[0] in module.LOCAL_BLOCK]


def held_locals(module, plate, pair, inverse, keep_local):
    """A block's held ({name: q}, {name: E}) as a fit returns them: the groups'
    latents always (as in memory), the rows' (per row again where merged) only
    with ``keep_local``."""
    on_rows = {r[0] for r in module.LATENTS if r[2] and r[2][0] == plate}
    kept = tuple({n: v for n, v in part.items() if keep_local or n not in on_rows}
                 for part in pair)
    return expand(kept, inverse, on_rows)


def expand(pair, inverse, names):
    """A block's ({name: q}, {name: E}) with the latents ``names`` on merged
    rows per row again (driver.expand_rows)."""
    if inverse is None:
        return pair
    return tuple({n: ({k: np.take(v, inverse, axis=0) if np.ndim(v) else v
                       for k, v in table.items()} if n in names else table)
                  for n, table in part.items()} for part in pair)
