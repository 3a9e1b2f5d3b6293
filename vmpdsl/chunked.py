"""Chunked sweeps: ``fit(data, chunk_size=n)`` runs the same coordinate
ascent as the in-memory fit, one block of rows at a time.

The rows are the leading axis of the data arrays (derive/locality.py's row
plate).  Every message to a latent that is not plated over the rows is a sum
over rows plus its prior's part, so, with ``u(B)`` the emitted update of that
latent on row block B and ``u(∅)`` on no rows (its prior part alone),

    C = u(∅) + Σ_B (u(B) − u(∅)),

and likewise for the ELBO (``elbo_value``).  The latents plated over the rows
are updated block by block.  The sweep visits the updates in the emitted
module's UPDATES order, so the result is the in-memory fit's (to rounding):
the same ELBO trace, the same posterior.  The random start is drawn block by
block from the same generator, which gives the same numbers when the row
latents come last in the module's INIT_ORDER (gmm, lda, linreg, logreg); for
other models chunked fitting is refused.

Data arrays may be numpy memory maps or paths of ``.npy`` files (opened as
memory maps): a block is read when it is needed, so an on-disk array is
never loaded whole.  In-memory arrays are bound once per block.  The row
latents' posteriors (z: rows × K) are held per block during the fit; the
result has the global latents' posterior, and the row latents' too only with
``keep_local=True``.  Row merging (``collapse``) is not done in chunks.

The driver is here; it calls the functions every emitted module has
(``bind_data``, ``_constants``, ``_initial_state``, ``UPDATES``,
``_posterior``, ``_set_state``, ``elbo_value``), so the module itself stays
numpy + scipy only.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from .errors import VmpDataError


def open_arrays(data: dict) -> dict:
    """``.npy`` paths opened as read-only memory maps; other values as given."""
    opened = {}
    for name, value in data.items():
        if isinstance(value, (str, os.PathLike)) and str(value).endswith(".npy"):
            try:
                value = np.load(value, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as err:
                raise VmpDataError(f"cannot open '{name}' from {value}: {err}") from None
        opened[name] = value
    return opened


class Blocks:
    """The row blocks of the data: bound (and their constants computed) on
    demand, and kept when the data are in memory."""

    def __init__(self, module, data, hyper, chunk_size):
        self.module, self.hyper = module, hyper
        plate, rows = row_plate(module, data)
        self.plate = plate
        on_rows = [name for name, shape, *_ in module.DATA_SPEC if shape and shape[0] == plate]
        self.on_rows = on_rows
        self.data = data
        self.starts = list(range(0, rows, chunk_size)) or [0]
        self.size = chunk_size
        self.keep = not any(isinstance(data[n], np.memmap) for n in on_rows)
        self.cache = {}
        self.empty = self.bind(0, 0)

    def __len__(self):
        return len(self.starts)

    def bind(self, start, stop):
        chunk = {name: (value[start:stop] if name in self.on_rows else value)
                 for name, value in self.data.items()}
        return bind_rows(self.module, chunk, self.hyper, start, stop)

    def __getitem__(self, index):
        if index in self.cache:
            return self.cache[index]
        start = self.starts[index]
        bound = self.bind(start, start + self.size)
        if self.keep:
            self.cache[index] = bound
        return bound


def bind_rows(module, chunk, hyper, start, stop):
    """(dim, arrays, constants) of the data ``chunk``, rows start to stop."""
    try:
        dim, arrays = module.bind_data(chunk)
    except module.DataError as err:
        raise VmpDataError(f"rows {start}–{stop - 1}: {err}" if stop > start
                           else str(err)) from None
    return dim, arrays, module._constants(dim, arrays, hyper)


def row_plate(module, data):
    """The one plate that leads the data arrays, and its size."""
    plates = {shape[0] for _, shape, *_ in module.DATA_SPEC if shape and isinstance(shape[0], str)}
    if len(plates) != 1:
        raise VmpDataError(f"chunk_size needs the data arrays to share one leading row axis; "
                           f"model '{module.MODEL_NAME}' has {', '.join(sorted(plates)) or 'none'}")
    plate = plates.pop()
    name = next(n for n, shape, *_ in module.DATA_SPEC if shape and shape[0] == plate)
    if name not in data:
        raise VmpDataError(f"the data has no array '{name}'")
    return plate, int(np.shape(data[name])[0])


def check_start_order(module, locals_):
    order = list(module.INIT_ORDER)
    if locals_ and min(order.index(n) for n in locals_) < len(order) - len(locals_):
        raise VmpDataError(f"chunk_size: model '{module.MODEL_NAME}' starts a global latent after "
                           f"the row latents ({', '.join(locals_)}), so a chunked fit could not "
                           f"draw the in-memory fit's random start; fit it in memory")


def fit_chunked(module, data, chunk_size, hypers=None, max_iter=500, tol=1e-8, seed=None,
                init=None, callback=None, local_iters=None, keep_local=False,
                newton=()) -> dict:
    """The in-memory ``fit``'s result, computed one row block at a time.
    ``newton``: the latents updated by Newton steps (not a sum over rows)."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) \
            or chunk_size < 1:
        raise VmpDataError(f"chunk_size must be a positive whole number, got {chunk_size!r}")
    data = open_arrays(dict(data))
    _, locals_, hyper = prepare(module, data, hypers, init, local_iters, newton)
    blocks = Blocks(module, data, hyper, int(chunk_size))
    state = start(module, blocks, locals_, hyper, np.random.default_rng(seed), init)
    trace, converged = [], False
    for iteration in range(max_iter):
        before = state.snapshot()
        for row in module.UPDATES:
            (state.update_local if row[0] in locals_ else state.update_global)(row)
        trace.append(state.elbo())
        if not np.isfinite(trace[-1]):
            raise VmpDataError(f"the fit failed: the ELBO became {trace[-1]} at iteration "
                               f"{iteration + 1}")
        if callback is not None:
            callback(iteration + 1, trace[-1])
        if len(trace) > 1 and state.converged(trace, before, tol):
            converged = True
            break
    module._MEMO.clear()
    if not converged and max_iter > 0:
        warnings.warn(f"{module.MODEL_NAME}: not converged after {max_iter} iterations",
                      RuntimeWarning, stacklevel=3)
    return state.result(trace, converged, hyper, keep_local)


def prepare(module, data, hypers, init, local_iters, newton):
    """(row plate, row latents, checked hypers) of a fit in row blocks, or a
    VmpDataError where a block sum would not be the in-memory fit."""
    if local_iters not in (None, 1):
        raise VmpDataError("chunk_size works with one local update per sweep (local_iters=1)")
    plate, _ = row_plate(module, data)
    locals_ = [row[0] for row in module.LATENTS if row[2] and row[2][0] == plate]
    check_start_order(module, locals_)
    summed = sorted(set(newton) - set(locals_))
    if summed:
        raise VmpDataError(f"chunk_size: the update of {', '.join(summed)} is a Newton "
                           f"optimization over all rows, not a sum of row blocks; fit in memory")
    if set(init or {}) & set(locals_):
        raise VmpDataError(f"chunk_size: init may give global latents only, not "
                           f"{', '.join(sorted(set(init) & set(locals_)))}")
    on_rows = {n for n, shape, *_ in module.DATA_SPEC if shape and shape[0] == plate}
    empty = {n: (v[0:0] if n in on_rows else v) for n, v in data.items()}
    try:  # the in-memory fit's checks of hypers, init and factor arguments
        hyper = module.fit(empty, hypers=hypers, max_iter=0, init=init, collapse=False)["hypers"]
    except module.DataError as err:
        raise VmpDataError(str(err)) from None
    return plate, locals_, hyper


def start(module, blocks, locals_, hyper, rng, init):
    """The in-memory start: the globals on no rows, then each block's row
    latents drawn from the same generator, in row order."""
    q, E = {}, {}
    dim, arrays, K = blocks.empty
    module._initial_state(q, E, K, arrays, hyper, dim, rng, dict(init or {}))
    state = State(module, blocks, locals_, hyper, q, E)
    given = {n: q[n] for n in q if n not in locals_}
    for i in range(len(blocks)):
        dim, arrays, K = blocks[i]
        qb, Eb = {}, {}
        module._initial_state(qb, Eb, K, arrays, hyper, dim, rng, dict(given))
        state.rows.append(({n: qb[n] for n in locals_}, {n: Eb[n] for n in locals_}))
    return state


class State:
    """q and E of the globals, and of the row latents per block."""

    def __init__(self, module, blocks, locals_, hyper, q, E):
        self.module, self.blocks, self.locals, self.hyper = module, blocks, locals_, hyper
        self.q, self.E = q, E  # the globals (and the row latents on no rows)
        self.rows = []  # per block: ({name: q}, {name: E}) of the row latents

    def block(self, i):
        """(q, E, dim, arrays, K) of block i, -1 for no rows."""
        dim, arrays, K = self.blocks.empty if i < 0 else self.blocks[i]
        q, E = (dict(self.q), dict(self.E)) if i < 0 else (
            dict(self.q, **self.rows[i][0]), dict(self.E, **self.rows[i][1]))
        return q, E, dim, arrays, K

    def update_local(self, row):
        name, family, point, update, _ = row
        for i, (q, E) in enumerate(self.rows):
            _, merged, dim, arrays, K = self.block(i)
            coeffs = update(merged, K, arrays, self.hyper, dim)
            params = self.module._posterior(name, family, coeffs)
            self.module._set_state(q, E, name, family, point, params)

    def update_global(self, row):
        """C = u(∅) + Σ_B (u(B) − u(∅))."""
        name, family, point, update, _ = row
        _, E, dim, arrays, K = self.block(-1)
        base = update(E, K, arrays, self.hyper, dim)
        total = {s: np.array(c, dtype=float) for s, c in base.items()}
        for i in range(len(self.rows)):
            _, E, dim, arrays, K = self.block(i)
            for s, c in update(E, K, arrays, self.hyper, dim).items():
                total[s] += c - base[s]
        self.module._set_state(self.q, self.E, name, family, point,
                               self.module._posterior(name, family, total))

    def elbo(self):
        def value(i):
            q, E, dim, arrays, K = self.block(i)
            return self.module.elbo_value(q, E, K, arrays, self.hyper, dim)
        base = value(-1)
        return base + sum(value(i) - base for i in range(len(self.rows)))

    def snapshot(self):
        return dict(self.E), [dict(E) for _, E in self.rows]

    def converged(self, trace, before, tol):
        """sweeps.has_converged over all blocks: the ELBO's steady trend
        (sweeps.is_steady), then every statistic's largest move against its
        largest magnitude."""
        if not self.module.is_steady(trace, tol):
            return False
        pairs = [(before[0], self.E)] + list(zip(before[1], [E for _, E in self.rows]))
        moves = {}
        for old_E, new_E in pairs:
            stat_moves(old_E, new_E, moves)
        return all(move <= np.sqrt(tol) * scale for move, scale in moves.values())

    def result(self, trace, converged, hyper, keep_local):
        dims = dict(self.blocks.empty[0])
        dims[self.blocks.plate] = sum(np.shape(self.blocks.data[n])[0]
                                      for n in self.blocks.on_rows[:1])
        return fit_result(self.module, (self.q, self.E), self.locals,
                          self.rows if keep_local else None, trace, converged, hyper, dims)


def stat_moves(old_E, new_E, moves):
    """Into ``moves[(name, stat)] = (largest move, scale)``: how far each
    expected statistic moved from old_E to new_E, against its magnitude (for a
    mean ``x``, the root of its ``xx``), the largest over the calls."""
    numbers = (np.ndarray, np.generic, float)
    for name, stats in new_E.items():
        for stat, new in stats.items():
            old = old_E[name][stat]
            if not (isinstance(new, numbers) and isinstance(old, numbers) and np.size(new)):
                continue
            scale = np.max(np.abs(new))
            if stat == "x" and "xx" in stats:
                scale = np.sqrt(np.max(np.abs(np.asarray(stats["xx"]))))
            move, largest = moves.get((name, stat), (0.0, 0.0))
            moves[name, stat] = (max(move, np.max(np.abs(new - old))), max(largest, scale))
    return moves


def fit_result(module, state, locals_, rows, trace, converged, hyper, dims) -> dict:
    """The fit's result dict from the globals' (q, E) in ``state``, and the row
    latents' from ``rows`` (per block: ({name: q}, {name: E})) when given."""
    q, E = state
    posterior = {n: p for n, p in q.items() if n not in locals_}
    expectations = {n: e for n, e in E.items() if n not in locals_}
    for name in locals_ if rows else ():
        posterior[name] = {k: np.concatenate([bq[name][k] for bq, _ in rows])
                           for k in rows[0][0][name]}
        expectations[name] = {k: np.concatenate([bE[name][k] for _, bE in rows])
                              for k in rows[0][1][name]}
    result = {"posterior": posterior, "expectations": expectations,
              "elbo": np.asarray(trace), "converged": converged, "iterations": len(trace),
              "dims": dims, "hypers": hyper, "start_elbos": np.asarray(trace[-1:])}
    split = getattr(module, "split_blocks", None)  # a joint block's members
    return split(result) if split is not None else result
