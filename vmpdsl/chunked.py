"""Chunked sweeps: ``fit(data, chunk_size=n)`` runs the same coordinate
ascent as the in-memory fit, one block of rows at a time.

The rows are the leading axis of the data arrays (derive/locality.py's row
plate).  Every message to a latent that is not plated over the rows is a sum
over rows plus its prior's part, so, with ``u(B)`` the emitted update of that
latent on row block B and ``u(∅)`` on no rows (its prior part alone),

    C = u(∅) + Σ_B (u(B) − u(∅)),

and likewise for the ELBO (``elbo_value``).  The latents plated over the rows
are updated block by block, in passes over the blocks (chunk_passes.py).
The sweep visits the updates in the emitted module's UPDATES order, so the
result is the in-memory fit's (to rounding): the same ELBO trace, the same
posterior.  The random start is drawn block by block from the same
generator, which gives the same numbers when the row latents come last in
the module's INIT_ORDER (gmm, lda, linreg, logreg); for other models
chunked fitting is refused, as it is for rows that are not independent
given the globals (chains, lags, data over rows × rows).  A mixture's
k-means start and the delete/merge moves after the climb are the in-memory
fit's too (chunk_starts.py); LDA's default per-document local loop runs in
blocks of whole documents, each block's θ and z held (chunk_groups.py).

Data arrays may be in memory, numpy memory maps, or ``.npy``/``.zarr`` paths
(ondisk.py): a block is read when a pass needs it, so an on-disk array is
never loaded whole.  The row latents (z: rows × K) are not held between
passes but computed again from the globals they were last updated from
(chunk_passes.materialize), so the memory a fit needs is the data's (if in
memory), one block's working set and the globals; ``keep_local=True`` holds
them and returns their posterior too.  Rows are fitted one by one (never
merged as ``collapse`` does, which would compare rows across blocks, except
in blocks of whole groups, chunk_groups.py);
``missing="skip"`` masks are bound per block.

The driver is here; it calls the functions every emitted module has
(``bind_data``, ``_constants``, ``_initial_state``, ``UPDATES``,
``_posterior``, ``_set_state``, ``elbo_value``), so the module itself stays
numpy + scipy only.
"""
from __future__ import annotations

import copy
import os
import warnings

import numpy as np

from .chunk_passes import (Moves, add_parts, bases, block_part, materialize, rows_of, segments,
                           sweep_steps)
from .chunk_passes import stat_moves  # noqa: F401  (block_tasks.py takes it from here)
from .chunk_groups import (bind_group_rows, block_features, check_gated, check_grouped,
                           cluster_labels, clustered, distinct_rows, group_cuts, group_layout,
                           held_locals, label_block, merge_wanted, merges, start_groups,
                           start_draws)
from .chunk_starts import (add_sums, block_rows, block_starts, in_use, kmeans_latents, kmeans_plan,
                           take_rows)
from .errors import VmpDataError
from .ondisk import open_rows


def open_arrays(data: dict) -> dict:
    """``.npy`` and ``.zarr`` paths opened for reading by rows (ondisk.py);
    other values as given."""
    return {name: open_rows(name, value)
            if isinstance(value, (str, os.PathLike)) and str(value).endswith((".npy", ".zarr"))
            else value for name, value in data.items()}


class Blocks:
    """The row blocks of the data: bound (and their constants computed) on
    demand, and kept when the data are in memory."""

    def __init__(self, module, data, hyper, chunk_size, missing=None, grouping=None,
                 collapse=False):
        self.module, self.hyper, self.missing = module, hyper, missing
        plate, rows = row_plate(module, data)
        self.plate = plate
        on_rows = [name for name, shape, *_ in module.DATA_SPEC if shape and shape[0] == plate]
        self.on_rows = on_rows
        self.data = data
        self.grouping, self.merge, self.inverses = grouping, False, {}
        if grouping:  # blocks of whole groups (chunk_groups.py)
            column = data[grouping["index"]]
            edges, self.firsts = group_cuts(
                (column[a:a + chunk_size] for a in range(0, rows, chunk_size)), rows,
                chunk_size, grouping["index"], grouping["groups"])
            self.starts, self.stops = edges[:-1], edges[1:]
            if merge_wanted(module, collapse, plate):
                self.merge = merges(module, sum(distinct_rows(module, self.chunk(i), plate)
                                                for i in range(len(self.starts))), rows)
        else:
            self.starts = list(range(0, rows, chunk_size)) or [0]
            self.stops = [start + chunk_size for start in self.starts]
        self.size = chunk_size
        # in-memory arrays whose blocks bind as views (or, of whole groups, as
        # their own copies): kept bound
        self.keep = all(type(data[n]) is np.ndarray for n in on_rows)
        self.cache = {}
        self.empty = self.bind(0, 0, (0, 0))
        self.rows = rows

    def sample(self, rows):
        """The data rows numbered ``rows`` (sorted), bound: the k-means sample
        (chunk_starts.py), read without reading the blocks around it."""
        chunk = {name: (take_rows(value, rows) if name in self.on_rows else value)
                 for name, value in self.data.items()}
        try:
            return bind_rows(self.module, chunk, self.hyper, 0, len(rows), self.missing)
        except VmpDataError:  # name the rows of the block at fault
            for i in range(len(self)):
                self[i]
            raise

    def in_use(self, name):
        """The numbers of the rows of ``name`` with an observation (a pass)."""
        found, offset = [], 0
        for i in range(len(self)):
            bound = self[i]
            found.append(in_use(self.module, name, bound, offset))
            offset += block_rows(self.module, name, bound[0])
        return np.concatenate(found)

    def __len__(self):
        return len(self.starts)

    def chunk(self, index):
        """Block ``index``'s data, unbound."""
        return self.rows_between(self.starts[index], self.stops[index])

    def rows_between(self, start, stop):
        """The data with its row arrays cut to rows start .. stop − 1."""
        return {name: (value[start:stop] if name in self.on_rows else value)
                for name, value in self.data.items()}

    def bind(self, start, stop, groups=None, index=None):
        chunk = self.rows_between(start, stop)
        if not self.grouping:
            return bind_rows(self.module, chunk, self.hyper, start, stop, self.missing)
        bound, inverse = bind_group_rows(self.module, chunk, self.hyper, (start, stop), groups,
                                         self.grouping, self.merge)
        if index is not None:
            self.inverses[index] = inverse
        return bound

    def __getitem__(self, index):
        if index in self.cache:
            return self.cache[index]
        groups = tuple(self.firsts[index:index + 2]) if self.grouping else None
        bound = self.bind(self.starts[index], self.stops[index], groups, index)
        if self.keep and (self.grouping or all(np.shares_memory(bound[1][n], self.data[n])
                                               for n in self.on_rows)):
            self.cache[index] = bound
        return bound


def bind_rows(module, chunk, hyper, start, stop, missing=None):
    """(dim, arrays, constants) of the data ``chunk``, rows start to stop."""
    try:
        dim, arrays = module.bind_data(chunk, missing)
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


def check_start_order(module, locals_, init):
    """The in-memory start draws from one generator in INIT_ORDER; the
    chunked start draws the globals first, then the row latents block by
    block.  Those are the same numbers unless a global drawn at random (its
    family has a ``start``) comes after a row latent drawn at random."""
    families = {row[0]: row[1] for row in module.LATENTS}
    drawn = [n for n in module.INIT_ORDER if n not in (init or {})
             and module.FAMILY_FUNCTIONS[families[n]]["start"] is not None]
    first = next((i for i, n in enumerate(drawn) if n in locals_), len(drawn))
    late = [n for n in drawn[first:] if n not in locals_]
    if late:
        raise VmpDataError(f"chunk_size: model '{module.MODEL_NAME}' draws the random start "
                           f"of {', '.join(late)} after that of the row latents "
                           f"({', '.join(locals_)}), so a chunked fit could not draw the "
                           f"in-memory fit's random start; fit it in memory")


def fit_chunked(module, data, chunk_size, hypers=None, max_iter=500, tol=1e-8, seed=None,
                init=None, callback=None, local_iters=None, keep_local=False,
                newton=(), missing=None, start_from="kmeans", collapse=True) -> dict:
    """The in-memory ``fit``'s result, computed one row block at a time.
    ``newton``: the latents updated by Newton steps (not a sum over rows);
    ``start_from``: "kmeans" (the default start, chunk_starts.py) or "random";
    ``collapse``: merge duplicate rows where the in-memory fit does (only in
    blocks of whole groups, chunk_groups.py; else every row is fitted)."""
    check_chunk_size(chunk_size)
    data = open_arrays(dict(data))
    _, locals_, hyper, grouping = prepare(module, data, hypers, init, local_iters, newton,
                                          missing)
    blocks = Blocks(module, data, hyper, int(chunk_size), missing, grouping, collapse)
    kmeans = kmeans_latents(module, locals_, init, start_from)
    try:
        state = start(module, blocks, locals_, hyper, np.random.default_rng(seed), init,
                      keep_local, kmeans, clustered(grouping, start_from, init, max_iter))
        trace, converged = state.run(max_iter, tol, callback)
        if kmeans and converged:  # the in-memory fit's delete and merge moves
            state, trace, converged = state.try_moves(init, trace, converged, max_iter, tol)
    except module.DataError as err:  # a block's random start
        raise VmpDataError(str(err)) from None
    except module.FitError as err:
        raise VmpDataError(f"the fit failed: {err}") from None
    finally:
        module._MEMO.clear()
    if not converged and max_iter > 0:
        warnings.warn(f"{module.MODEL_NAME}: not converged after {max_iter} iterations",
                      RuntimeWarning, stacklevel=3)
    result = state.result(trace, converged, hyper, keep_local)
    result["collapse"] = bool(grouping) and bool(collapse)  # (as asked, where it applies)
    return result


def check_chunk_size(chunk_size):
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) \
            or chunk_size < 1:
        raise VmpDataError(f"chunk_size must be a positive whole number, got {chunk_size!r}")


def prepare(module, data, hypers, init, local_iters, newton, missing=None):
    """(row plate, row latents, checked hypers, the grouping of the local block
    or None: chunk_groups.group_layout) of a fit in row blocks, or a
    VmpDataError where a block sum would not be the in-memory fit."""
    if local_iters is not None and (isinstance(local_iters, bool) or not isinstance(
            local_iters, (int, np.integer)) or local_iters < 1):
        raise VmpDataError(f"local_iters must be a positive whole number, got {local_iters!r}")
    plate, _ = row_plate(module, data)
    grouping = group_layout(module, data, plate, local_iters, missing)
    if grouping is None and local_iters not in (None, 1):
        raise VmpDataError("chunk_size works with one local update per sweep (local_iters=1), "
                           "or more where a local block is iterated per group (LDA)")
    locals_ = [row[0] for row in module.LATENTS if row[2] and row[2][0] == plate]
    if grouping:  # the block's latents over the groups are local too (θ)
        check_grouped(module, init, missing)
        locals_ += [name for name in module.LOCAL_BLOCK if name not in locals_]
    check_blockwise(module, plate, locals_, newton, init)
    on_rows = {n for n, shape, *_ in module.DATA_SPEC if shape and shape[0] == plate}
    empty = {n: (v[0:0] if n in on_rows else v) for n, v in data.items()}
    try:  # the in-memory fit's checks of hypers, init and factor arguments
        hyper = module.fit(empty, hypers=hypers, max_iter=0, init=init, collapse=False,
                           missing=missing)["hypers"]
    except module.DataError as err:
        raise VmpDataError(str(err)) from None
    return plate, locals_, hyper, grouping


def check_blockwise(module, plate, locals_, newton, init):
    """Refuse what a sum over row blocks would not compute exactly."""
    check_start_order(module, locals_, init)
    summed = sorted(set(newton) - set(locals_))
    if summed:
        raise VmpDataError(f"chunk_size: the update of {', '.join(summed)} is a Newton "
                           f"optimization over all rows, not a sum of row blocks; fit in memory")
    if set(init or {}) & set(locals_):
        raise VmpDataError(f"chunk_size: init may give global latents only, not "
                           f"{', '.join(sorted(set(init) & set(locals_)))}")
    across = [n for n, shape, *_ in module.DATA_SPEC if plate in tuple(shape)[1:]]
    across += [row[0] for row in module.LATENTS if plate in tuple(row[2])[1:]]
    if across:
        raise VmpDataError(f"chunk_size: {', '.join(across)} runs over the rows {plate} on "
                           f"another axis too, so it does not split into row blocks; fit it "
                           f"in memory")
    chained = [m[0] for m in getattr(module, "SLICE_MASKS", ()) if plate in m[1]]
    if chained or set(getattr(module, "SERIAL", ())) & set(locals_):
        raise VmpDataError(f"chunk_size: model '{module.MODEL_NAME}' links rows of {plate} to "
                           f"each other (a chain, a lag or rows updated in turn), so its row "
                           f"blocks are not independent; fit it in memory")


def start(module, blocks, locals_, hyper, rng, init, keep_local, kmeans=(), groups=False):
    """The in-memory start: the globals on no rows, then the k-means centres
    of the ``kmeans`` row latents from a sample of the rows (chunk_starts.py),
    then each block's row latents, labelled from the centres or drawn from
    the same generator, in row order: here if they are held, else when the
    first pass reads the blocks (State.recipes).  ``groups``: then the local
    block from the groups clustered (State.start_clustered)."""
    q, E = {}, {}
    dim, arrays, K = blocks.empty
    module._initial_state(q, E, K, arrays, hyper, dim, rng, dict(init or {}))
    plans = {name: kmeans_plan(module, name, q[name]["probs"], blocks.rows, rng, blocks.empty,
                               blocks.sample, lambda name=name: blocks.in_use(name))
             for name in kmeans}
    state = State(module, blocks, locals_, hyper, q, E, keep_local, rng, plans)
    if state.held:
        state.store = [state.draw(i) for i in range(len(blocks))]
    if blocks.grouping:  # the per-group loop must be the gated one (chunk_groups.py)
        check_gated(module, dict(q, **{n: p for n, (p, _) in state.store[0].items()}),
                    dict(E, **{n: e for n, (_, e) in state.store[0].items()}), blocks[0], hyper)
    if groups:
        state.start_clustered()
    return state


class State:
    """q and E of the globals; the row latents per block, held or as recipes
    (chunk_passes.materialize)."""

    def __init__(self, module, blocks, locals_, hyper, q, E, keep_local, rng, plans=None):
        self.module, self.blocks, self.locals, self.hyper = module, blocks, locals_, hyper
        self.plans = plans or {}  # the k-means centres of row latents (chunk_starts.py)
        self.q, self.E = q, E  # the globals (and the row latents on no rows)
        grouping = blocks.grouping  # the local block per group (chunk_groups.py)
        self.steps = sweep_steps(module, locals_, blocks.empty, hyper, E, bool(grouping))
        reads_local = any(s.reads & set(locals_) for s in self.steps if s.kind == "local")
        # a local made from locals is kept, as are the locals of a block
        # iterated per group (its restart compares the new with the old)
        self.held = bool(keep_local) or reads_local or bool(grouping)
        self.group = [grouping["iters"], True] if grouping else None  # iters, restart
        on_groups = {r[0] for r in module.LATENTS if r[2] and grouping
                     and r[2][0] == grouping["G"]}  # θ
        summed = [s.row[0] for s in self.steps if s.kind == "global" and s.reads & on_groups]
        if summed:
            raise VmpDataError(f"chunk_size: the update of {', '.join(summed)} reads the "
                               f"locals of the groups, which blocks of whole groups do not "
                               f"sum; pass local_iters=1 or fit in memory")
        self.store, self.rng, self.rngs = [], rng, []
        self.moves = Moves()  # (run's, per sweep)
        self.given = {n: q[n] for n in q if n not in locals_}
        self.sources = {n: ("init", None) for n in locals_}  # or ("update", the globals' E)

    def draw(self, i):
        """Block i's random start of the row latents from the generator, which
        must be at block i (blocks are drawn in row order); its state before
        is kept to draw them again."""
        assert i == len(self.rngs), "row blocks drawn out of order"
        self.rngs.append(copy.deepcopy(self.rng))
        bound = self.blocks[i]
        dim, arrays, K = bound
        qb, Eb = {}, {}
        self.module._initial_state(qb, Eb, K, arrays, self.hyper, dim, self.rng,
                                   self.starting(bound))
        return {n: (qb[n], Eb[n]) for n in self.locals}

    def starting(self, bound):
        """What a block's start takes as given: the globals' q, and the
        k-means starts of its rows."""
        K_of = {n: self.q[n]["probs"].shape[-1] for n in self.plans}
        return dict(self.given, **block_starts(self.module, self.plans, K_of, bound))

    def recipes(self, i, sources=None):
        """How block i's row latents are had (chunk_passes.materialize); the
        first pass over a block draws its start (used there as held)."""
        if self.held:
            return {n: ("held", self.store[i][n]) for n in self.locals}
        sources = sources or self.sources
        fresh = self.draw(i) if i == len(self.rngs) else {}
        return {n: ("held", fresh[n]) if n in fresh and kind == "init"
                else ("init", (self.rngs[i], self.starting)) if kind == "init"
                else (kind, value)
                for n, (kind, value) in sources.items()}

    def start_clustered(self):
        """local_restart.gated_start over the blocks of whole groups
        (chunk_groups.py): the groups clustered from the generator as the
        blocks' random starts left it, each block's rows at their groups'
        labels, the globals updated from them (a pass each, in UPDATES
        order), every group's θ drawn at once, then each block started."""
        module, blocks = self.module, self.blocks
        labels = cluster_labels(module, [block_features(module, blocks[i])
                                         for i in range(len(blocks))], self.q, self.rng)
        if labels is None:  # (as in memory: the random start stays)
            return
        self.each_block(lambda i, q, E: label_block(module, q, E, blocks[i],
                                                    labels[blocks.firsts[i]:blocks.firsts[i + 1]]))
        for step in self.steps:
            if step.kind in ("local", "global"):
                base, totals = self.run_pass([(1, step)])
                if step.kind == "global":
                    self.apply(step, base[0], totals[0])
        concentration = start_draws(module, self.q, blocks.grouping["groups"], self.rng)
        self.each_block(lambda i, q, E: start_groups(
            module, q, E, blocks[i], self.hyper,
            concentration[blocks.firsts[i]:blocks.firsts[i + 1]]))

    def each_block(self, change):
        """``change(i, q, E)`` on each block's held locals with the globals."""
        for i, held in enumerate(self.store):
            q = dict(self.q, **{n: p for n, (p, _) in held.items()})
            E = dict(self.E, **{n: e for n, (_, e) in held.items()})
            change(i, q, E)
            self.store[i] = {n: (q[n], E[n]) for n in held}
        self.module._MEMO.clear()

    def apply(self, step, base, total):
        """A global's update: u(∅) plus the blocks' Σ (u(B) − u(∅))."""
        name, family, point = step.row[:3]
        coeffs = {s: base[s] + c for s, c in total.items()}
        self.module._set_state(self.q, self.E, name, family, point,
                               self.module._posterior(name, family, coeffs))

    def run(self, max_iter, tol, callback):
        """The sweeps, pass by pass; returns (ELBO trace, converged)."""
        trace, before = [], (dict(self.E), dict(self.sources))
        self.moves = Moves()
        for segment in segments(self.steps, max_iter):
            base, totals = self.run_pass(segment)
            if self.group and self.group[1] and trace and any(
                    step.kind == "block" for _, step in segment):  # as restarted_block decides
                self.group[1] = self.module.restart_pays(self.gain, trace[-1])
            for position, (sweep, step) in enumerate(segment):
                if step.kind == "global":
                    self.apply(step, base[position], totals[position])
                elif step.kind == "elbo":
                    trace.append(base[position] + totals[position])
                    if self.sweep_done(trace, before, tol, callback):
                        return trace, True
                    before, self.moves = (dict(self.E), dict(self.sources)), Moves()
        return trace, False

    def run_pass(self, segment):
        """Every block's part of the segment, summed; the locals' new recipes."""
        base = bases(self.module, segment, self.blocks.empty, self.hyper, self.q, self.E)
        totals, at_start, self.gain = {}, dict(self.E), 0.0
        for i in range(len(self.blocks)):
            recipes = self.recipes(i)
            part = block_part(self.module, segment, self.blocks[i], self.hyper, self.q, self.E,
                              recipes, base, self.moves if self.held else None, self.group)
            add_parts(totals, part["parts"])
            self.gain += part["gain"]
            if self.held:
                self.store[i].update(part["locals"])
        for _, step in segment:
            if step.kind == "local":
                self.sources[step.row[0]] = ("update", at_start)
        return base, totals

    def sweep_done(self, trace, before, tol, callback) -> bool:
        """The in-memory fit's check (sweeps.has_converged) over all blocks;
        a row latent's change is computed again only when all else has
        converged."""
        if not np.isfinite(trace[-1]):
            raise VmpDataError(f"the fit failed: the ELBO became {trace[-1]} at iteration "
                               f"{len(trace)}")
        if callback is not None:
            callback(len(trace), trace[-1])
        if len(trace) < 2 or not self.module.is_steady(trace, tol):
            return False
        self.moves.add(before[0], {n: e for n, e in self.E.items() if n not in self.locals})
        if not self.held and self.moves.within(tol):
            self.local_moves(before[1])
        return self.moves.within(tol)

    def local_moves(self, old_sources):
        """Each row latent's change since the last sweep, block by block."""
        rows = rows_of(self.module)
        for i in range(len(self.blocks)):
            for name in self.locals:
                old, new = (materialize(self.module, rows[name], self.recipes(i, sources)[name],
                                        self.blocks[i], self.hyper)[1]
                            for sources in (old_sources, self.sources))
                self.moves.add({name: old}, {name: new})

    def try_moves(self, init, trace, converged, max_iter, tol):
        """kmeans.delete_and_merge over the blocks: each move's sums by a pass,
        its climb by the sweeps from the move; (the state kept, trace,
        converged)."""
        kept = [self]
        self.module._MEMO.clear()
        for name in self.module.move_latents(self.q, init or {}):
            def climb(plan, name=name):
                trial = kept[0].moved(name, plan)
                try:
                    again, settled = trial.run(max_iter, tol, None)
                except VmpDataError as err:  # the in-memory climb's FitError
                    raise self.module.FitError(str(err)) from None
                return again, settled, lambda: kept.__setitem__(0, trial)
            trace, converged = self.module.try_moves(lambda name=name: kept[0].move_sums(name),
                                                     climb, trace, converged)
        return kept[0], trace, converged

    def move_sums(self, name):
        """kmeans.move_sums of a row latent, summed over the blocks."""
        total, row = None, rows_of(self.module)[name]
        # e.g. the rows observed (missing="skip"); no table: every row weighs one
        weights = getattr(self.module, "ROW_WEIGHTS", {}).get(name)
        for i in range(len(self.blocks)):
            q, _ = materialize(self.module, row, self.recipes(i)[name], self.blocks[i],
                               self.hyper)
            weight = self.blocks[i][1].get(weights)
            total = add_sums(total, self.module.move_sums(q["probs"], weight))
        return total

    def moved(self, name, plan):
        """A copy whose row latent ``name`` is this one's after the move ``plan``."""
        trial = copy.copy(self)
        trial.q, trial.E, trial.sources = dict(self.q), dict(self.E), dict(self.sources)
        if self.held:
            trial.store = [dict(block) for block in self.store]
            row = rows_of(self.module)[name]
            for i, block in enumerate(trial.store):
                block[name] = materialize(self.module, row, ("moved", (("held", block[name]),
                                                                       plan)),
                                          self.blocks[i], self.hyper)
        else:
            trial.sources[name] = ("moved", (self.sources[name], plan))
        return trial

    def result(self, trace, converged, hyper, keep_local):
        dims = dict(self.blocks.empty[0])
        dims[self.blocks.plate] = sum(np.shape(self.blocks.data[n])[0]
                                      for n in self.blocks.on_rows[:1])
        rows = [tuple({n: pair[k] for n, pair in block.items()} for k in (0, 1))
                for block in self.store] if keep_local or self.group else None
        if self.group:  # the groups' latents always (as in memory), the rows' if asked
            dims[self.blocks.grouping["G"]] = self.blocks.grouping["groups"]
            rows = [held_locals(self.module, self.blocks.plate, pair, self.blocks.inverses.get(i),
                                keep_local)
                    for i, pair in enumerate(rows)]
        return fit_result(self.module, (self.q, self.E), self.locals, rows, trace, converged,
                          hyper, dims)


def fit_result(module, state, locals_, rows, trace, converged, hyper, dims) -> dict:
    """The fit's result dict from the globals' (q, E) in ``state``, and the row
    latents' from ``rows`` (per block: ({name: q}, {name: E})) when given."""
    q, E = state
    posterior = {n: p for n, p in q.items() if n not in locals_}
    expectations = {n: e for n, e in E.items() if n not in locals_}
    for name in rows[0][0] if rows else ():
        posterior[name] = {k: np.concatenate([bq[name][k] for bq, _ in rows])
                           for k in rows[0][0][name]}
        expectations[name] = {k: np.concatenate([bE[name][k] for _, bE in rows])
                              for k in rows[0][1][name]}
    result = {"posterior": posterior, "expectations": expectations,
              "elbo": np.asarray(trace), "converged": converged, "iterations": len(trace),
              "dims": dims, "hypers": hyper, "start_elbos": np.asarray(trace[-1:])}
    split = getattr(module, "split_blocks", None)  # a joint block's members
    return split(result) if split is not None else result
