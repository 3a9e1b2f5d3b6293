"""dask.distributed: ``fit(data, client=…)`` runs chunked.py's sweep on a
cluster, one task per row block per round.

The data's row blocks (the chunks of dask arrays along the rows, or
``chunk_size`` rows of numpy arrays) are bound on the workers once and stay
there with their row latents.  A sweep visits the module's UPDATES as the
in-memory fit does; the driver groups its steps into *rounds*.  In a round
each block runs, in one task: the row latents' updates given the globals,
then the ELBO's part (end of a sweep), then its part ``u(B) − u(∅)`` of the
next global updates (chunked.py).  The parts are summed by a tree of tasks;
the client adds the prior part ``u(∅)``, updates the globals and scatters
them to every worker for the next round.  A round ends where a step would
read a global that the round has not applied yet (found in the module's
source: which ``E['name']`` each update reads), so for GMM, LDA and logistic
regression (UPDATES: the globals, then the row latents) every sweep after the
first is one round: [z; ELBO; π, μ].  The result is chunked.py's, which is
the in-memory fit (ELBO trace included) to rounding.

The tasks are in block_tasks.py.  The emitted module stays numpy + scipy:
its source text travels to the workers once (scattered) and is executed
there once per process, cached by its digest, so process workers need only
vmpdsl installed.  The random start
is drawn block after block from one generator passed along a chain of tasks,
as chunked.py draws it; a mixture's k-means centres are fitted on the client
to the sampled rows, each block's labels on its worker, and the delete/merge
moves run on the blocks (chunk_starts.py).
"""
from __future__ import annotations

import ast
import operator
import warnings
from contextlib import contextmanager

import numpy as np

from .block_tasks import (Globals, Shared, block_distinct, block_move_sums, combine,
                          combine_rounds, group_features, group_start, guarded, largest_moves,
                          move_block, run_round, start_block)
from .chunk_groups import (cluster_labels, clustered, group_cuts, held_locals, merge_wanted,
                           merges, start_draws)
from .chunk_starts import add_sums, kmeans_latents, kmeans_plan, take_rows
from .chunked import bind_rows, fit_result, prepare, row_plate, stat_moves
from .errors import VmpDataError

FAN_IN = 8  # parts summed per task of the reduction tree
INLINE_BYTES = 1 << 16  # globals up to this size travel in each task's arguments


def is_dask(value) -> bool:
    """A dask array, recognised without importing dask."""
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "chunks")


def wants_cluster(data, client) -> bool:
    return client is not None or (isinstance(data, dict) and any(map(is_dask, data.values())))


def require_distributed():
    """The distributed package, or a VmpDataError saying how to install it."""
    try:
        import dask.array  # noqa: F401
        import distributed
    except ImportError:
        raise VmpDataError("dask arrays, client= and --scheduler need dask and distributed: "
                           "pip install 'vmpdsl[dask]'") from None
    return distributed


@contextmanager
def connect(address):
    """A Client of the scheduler at ``address``, closed after; None without one."""
    if address is None:
        yield None
        return
    distributed = require_distributed()
    try:
        client = distributed.Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise VmpDataError(f"cannot connect to the dask scheduler at {address}: {err}") from None
    try:
        yield client
    finally:
        client.close()


def cluster_client(client):
    """The given dask.distributed Client, else the current one."""
    distributed = require_distributed()
    if client is None:
        try:
            client = distributed.default_client()
        except ValueError:
            raise VmpDataError("the data has dask arrays but there is no dask.distributed "
                               "Client: pass client= or start one first") from None
    if not isinstance(client, distributed.Client):
        raise VmpDataError(f"client must be a dask.distributed Client, got "
                           f"{type(client).__name__}")
    return client


# ------------------------------------------------------------------ the data
def row_arrays(module, data, plate, chunk_size) -> dict:
    """The arrays on the row plate as dask arrays with one chunking of the rows
    (``chunk_size`` rows if given, else the dask arrays' own)."""
    import dask.array as da
    names = [n for n, shape, *_ in module.DATA_SPEC if shape and shape[0] == plate and n in data]
    given = {n: data[n] for n in names if is_dask(data[n])}
    for name, value in given.items():
        split = [a for a in range(1, value.ndim) if len(value.chunks[a]) > 1]
        if split:
            raise VmpDataError(f"array '{name}' is split along axis {split[0]} (chunks "
                               f"{value.chunks[split[0]]}); blocks must be rows only: "
                               f"rechunk it with {{{split[0]}: -1}}")
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) \
                or chunk_size < 1:
            raise VmpDataError(f"chunk_size must be a positive whole number, got {chunk_size!r}")
        rows = int(chunk_size)
    elif given:
        rows = next(iter(given.values())).chunks[0]
        for name, value in given.items():
            if value.chunks[0] != rows:
                first = next(iter(given))
                raise VmpDataError(f"arrays '{first}' and '{name}' have different row chunks "
                                   f"({rows} vs {value.chunks[0]}); rechunk them alike or "
                                   f"pass chunk_size=")
    else:
        raise VmpDataError("client= with numpy data needs chunk_size= (rows per block)")
    return {n: (data[n] if is_dask(data[n]) else da.from_array(np.asarray(data[n])))
            .rechunk({0: rows, **{a: -1 for a in range(1, np.ndim(data[n]))}}) for n in names}


def empty_data(data, rows) -> dict:
    """The data with no rows (numpy), the other dask arrays computed."""
    out = {}
    for name, value in data.items():
        if name in rows:
            out[name] = np.empty((0,) + rows[name].shape[1:], dtype=rows[name].dtype)
        else:
            out[name] = np.asarray(value.compute()) if is_dask(value) else value
    return out


def update_reads(source: str, module) -> list:
    """Per UPDATES row, the latents whose E the update reads (None: any)."""
    functions = {f.name: f for f in ast.parse(source).body if isinstance(f, ast.FunctionDef)}
    return [e_reads(functions[row[3].__name__], functions) for row in module.UPDATES]


def e_reads(function, functions=None, seen=()) -> set | None:
    """The names of ``E['name']`` in a function, following E into the
    module's own functions it is handed to (``statistics_z(E, …)``,
    ``prior_z(E, …)``); None if it uses E in any other way."""
    functions = functions or {}
    nodes = list(ast.walk(function))
    uses = sum(isinstance(n, ast.Name) and n.id == "E" for n in nodes)
    keyed = [n.slice.value for n in nodes if isinstance(n, ast.Subscript)
             and isinstance(n.value, ast.Name) and n.value.id == "E"
             and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str)]
    names, explained = set(keyed), len(keyed)
    for call in (n for n in nodes if isinstance(n, ast.Call)):
        handed = sum(isinstance(a, ast.Name) and a.id == "E" for a in call.args)
        callee = getattr(call.func, "id", None)
        if not handed or callee not in functions or callee in seen:
            continue
        inner = e_reads(functions[callee], functions, seen + (function.name,))
        if inner is None:
            return None
        names |= inner
        explained += handed
    return names if explained == uses else None


def rounds(module, reads, locals_, max_iter, grouped=False):
    """The sweeps' steps, ("local" | "global", UPDATES index) and ("elbo",
    sweep), grouped into rounds: a step that reads a global the round has
    not applied yet (the ELBO reads all) starts the next round, and so does
    a row latent's update after the ELBO (the state at a converged sweep's
    end must stay on the workers).  ``grouped``: the local block is one step
    ("block", its last member's index), as the in-memory sweep iterates it
    (chunk_groups.py)."""
    kinds, reads = block_kinds(module, reads, locals_, grouped)
    current, pending, after_elbo = [], set(), False
    for sweep in range(max_iter):
        for kind, index in kinds + [("elbo", sweep)]:
            needs = None if kind == "elbo" else reads[index]
            if (pending and (needs is None or needs & pending)) \
                    or (kind in ("local", "block") and after_elbo):
                yield current
                current, pending, after_elbo = [], set(), False
            current.append((kind, index))
            if kind == "global":
                pending.add(module.UPDATES[index][0])
            after_elbo = after_elbo or kind == "elbo"
    if current:
        yield current


def block_kinds(module, reads, locals_, grouped):
    """Each UPDATES row's kind of step, the local block's members (grouped)
    as one "block" step in its last member's place reading what they all read."""
    block = [i for i, row in enumerate(module.UPDATES)
             if grouped and row[0] in module.LOCAL_BLOCK]
    reads = list(reads)
    if block:
        members = [reads[i] for i in block]
        reads[block[-1]] = None if None in members else set().union(*members)
    return [("block" if i in block[-1:] else "local" if row[0] in locals_ else "global", i)
            for i, row in enumerate(module.UPDATES) if i not in block[:-1]], reads


def no_missing():
    """A cluster fit has no missing="skip" (api.py), so every row is in use."""
    raise AssertionError("the rows in use are asked for only with missing='skip'")


# ------------------------------------------------------------- on the client
def fit_distributed(module, source, data, client, chunk_size=None, hypers=None, max_iter=500,
                    tol=1e-8, seed=None, init=None, callback=None, local_iters=None,
                    keep_local=False, newton=(), start_from="kmeans", collapse=True) -> dict:
    """chunked.fit_chunked's result (so the in-memory fit's), swept on the
    dask cluster of ``client`` (default: the current Client)."""
    client = cluster_client(client)
    data = dict(data)
    for name, value in data.items():
        if is_dask(value) and any(np.isnan(c) for axis in value.chunks for c in axis):
            raise VmpDataError(f"array '{name}' has unknown chunk sizes; call "
                               f"compute_chunk_sizes() first")
    plate, n_rows = row_plate(module, data)
    rows = row_arrays(module, data, plate, chunk_size)
    empty = empty_data(data, rows)
    _, locals_, hyper, grouping = prepare(module, empty, hypers, init, local_iters, newton)
    if grouping:  # blocks of whole groups (chunk_groups.py)
        rows, grouping = group_blocks(client, module, source, rows, grouping, chunk_size,
                                      collapse, empty, hyper, plate)
    shared = Shared(source, module.MODEL_NAME, empty, hyper, locals_, rows, grouping)
    module = shared.module()
    driver = Driver(client, module, shared)
    kmeans = kmeans_latents(module, locals_, init, start_from)
    driver.start(rows, np.random.default_rng(seed), init, kmeans,
                 clustered(grouping, start_from, init, max_iter))
    reads = update_reads(source, module)
    trace, converged = driver.sweeps(reads, max_iter, tol, callback)
    if kmeans and converged:  # the in-memory fit's delete and merge moves
        trace, converged = driver.try_moves(init, trace, converged, reads, max_iter, tol)
    module._MEMO.clear()
    if not converged and max_iter > 0:
        warnings.warn(f"{module.MODEL_NAME}: not converged after {max_iter} iterations",
                      RuntimeWarning, stacklevel=3)
    dims = dict(driver.nothing[0], **{plate: n_rows})
    if grouping:
        dims[grouping["G"]] = grouping["groups"]
    kept = driver.local_rows(keep_local) if keep_local or grouping else None
    result = fit_result(module, (driver.q, driver.E), locals_, kept, trace, converged, hyper,
                        dims)
    result["collapse"] = bool(grouping) and bool(collapse)  # (as asked, where it applies)
    return result


def group_blocks(client, module, source, rows, grouping, chunk_size, collapse, empty, hyper,
                 plate):
    """The row arrays rechunked on group boundaries (chunk_groups.group_cuts,
    from the index column read chunk by chunk) and the grouping with the
    blocks' first groups and whether the rows are merged (the distinct rows
    counted by a task per block)."""
    index = rows[grouping["index"]]
    size = int(chunk_size) if chunk_size is not None else int(max(index.chunks[0]))
    edges, firsts = group_cuts((index.blocks[i].compute() for i in range(index.numblocks[0])),
                               int(index.shape[0]), size, grouping["index"], grouping["groups"])
    chunks = tuple(int(n) for n in np.diff(edges))
    rows = {n: a.rechunk({0: chunks}) for n, a in rows.items()}
    merge = False
    if merge_wanted(module, collapse, plate):
        shared = Shared(source, module.MODEL_NAME, empty, hyper, (), rows, grouping)
        columns = [client.compute(list(a.to_delayed().ravel())) for a in rows.values()]
        counts = client.gather([client.submit(block_distinct, shared, *[c[i] for c in columns],
                                              pure=False) for i in range(len(chunks))])
        merge = merges(module, sum(counts), int(index.shape[0]))
    return rows, dict(grouping, firsts=firsts, merge=merge)


class Driver:
    """The client's side: the globals' q and E, and a future per row block."""

    def __init__(self, client, module, shared):
        self.client, self.module, self.shared = client, module, shared
        self.static = client.scatter(shared, broadcast=True, hash=False)
        self.nothing = shared.no_rows(module)
        self.q, self.E, self.states = {}, {}, []
        self.restart = True  # the local block's restarts (chunk_groups.py)

    def scatter(self, q, E):
        """The globals for every task: in the tasks' arguments when small (no
        round trip), else put on every worker once."""
        shared = Globals(q, E, self.restart)
        size = sum(np.asarray(v).nbytes for stats in shared.E.values() for v in stats.values()
                   if isinstance(v, np.ndarray))
        if size <= INLINE_BYTES:
            return shared
        return self.client.scatter(shared, broadcast=True, hash=False)

    def start(self, rows, rng, init, kmeans=(), groups=False):
        """chunked.start: the globals on no rows, then the k-means centres from
        a sample of the rows (chunk_starts.py), then each block's row latents
        from them and from the same generator, handed from block to block;
        ``groups``: then the local block from the groups clustered."""
        dim, arrays, K = self.nothing
        with guarded(self.module):
            self.module._initial_state(self.q, self.E, K, arrays, self.shared.hyper, dim, rng,
                                       dict(init or {}))
        n_rows = int(next(iter(rows.values())).shape[0])
        plans = {name: kmeans_plan(self.module, name, self.q[name]["probs"], n_rows, rng,
                                   self.nothing, lambda taken: self.sample(rows, taken),
                                   no_missing) for name in kmeans}
        starts = (plans, {n: self.q[n]["probs"].shape[-1] for n in plans})
        given = self.scatter({n: p for n, p in self.q.items() if n not in self.shared.locals}, {})
        columns = [self.client.compute(list(a.to_delayed().ravel())) for a in rows.values()]
        edges = np.cumsum((0,) + next(iter(rows.values())).chunks[0])
        self.homes = self.placed(columns[0])
        firsts = (self.shared.grouping or {}).get("firsts")
        for i, (begin, end) in enumerate(zip(edges[:-1], edges[1:])):
            groups = tuple(firsts[i:i + 2]) if firsts else None
            state = self.submit(i, start_block, self.static, (int(begin), int(end), groups),
                                rng, given, starts, *[c[i] for c in columns])
            rng = self.submit(i, operator.getitem, state, 1)
            self.states.append(state)
        if groups:
            self.start_clustered(self.client.gather(rng))

    def start_clustered(self, rng):
        """chunked.State.start_clustered on the cluster: the blocks' features
        gathered and clustered here, each block's rows labelled by a task,
        the globals updated by a round each, every group's θ drawn here and
        each block's part of it sent to its task."""
        module = self.module
        features = self.client.gather([self.submit(i, group_features, s, self.static)
                                       for i, s in enumerate(self.states)])
        labels = cluster_labels(module, features, self.q, rng)
        if labels is None:  # (as in memory: the random start stays)
            return
        self.start_step("labels", labels)
        for index, row in enumerate(module.UPDATES):
            if row[0] not in module.LOCAL_BLOCK:
                kind = "local" if row[0] in self.shared.locals else "global"
                totals = self.run([(kind, index)])
                if kind == "global":
                    self.apply(index, totals[0])
        self.start_step("locals", start_draws(module, self.q, self.shared.grouping["groups"],
                                              rng))

    def start_step(self, step, values):
        """block_tasks.group_start on every block, with its groups' ``values``."""
        shared, firsts = self.scatter(self.q, self.E), self.shared.grouping["firsts"]
        self.states = [self.submit(i, group_start, s, self.static, shared, step,
                                   values[firsts[i]:firsts[i + 1]])
                       for i, s in enumerate(self.states)]

    def sample(self, rows, taken):
        """The data rows numbered ``taken``, read from the cluster and bound."""
        chunk = dict(self.shared.empty, **{n: take_rows(a, taken) for n, a in rows.items()})
        try:
            return bind_rows(self.module, chunk, self.shared.hyper, 0, len(taken))
        except VmpDataError:  # name the rows of the block at fault
            edges = np.cumsum((0,) + next(iter(rows.values())).chunks[0])
            for begin, end in zip(edges[:-1], edges[1:]):
                block = {n: np.asarray(a[begin:end].compute()) for n, a in rows.items()}
                bind_rows(self.module, dict(self.shared.empty, **block), self.shared.hyper,
                          int(begin), int(end))
            raise

    def try_moves(self, init, trace, converged, reads, max_iter, tol):
        """kmeans.delete_and_merge on the blocks (chunked.State.try_moves):
        each move's sums by a round of tasks, its climb by the rounds from
        the move applied on every block; the state kept stays."""
        for name in self.module.move_latents(self.q, init or {}):
            def sums(name=name):
                parts = self.client.gather([self.submit(i, block_move_sums, s, self.static, name)
                                            for i, s in enumerate(self.states)])
                total = None
                for part in parts:
                    total = add_sums(total, part)
                return total

            def climb(plan, name=name):
                saved = (self.q, self.E, self.states)
                self.q, self.E = dict(self.q), dict(self.E)
                self.states = [self.submit(i, move_block, s, self.static, name, plan)
                               for i, s in enumerate(saved[2])]
                try:
                    again, settled = self.sweeps(reads, max_iter, tol, None)
                except VmpDataError as err:  # the in-memory climb's FitError
                    raise self.module.FitError(str(err)) from None
                finally:
                    trial, (self.q, self.E, self.states) = (self.q, self.E, self.states), saved
                return again, settled, lambda: self.keep(trial)
            trace, converged = self.module.try_moves(sums, climb, trace, converged)
        return trace, converged

    def keep(self, state):
        self.q, self.E, self.states = state

    def placed(self, futures) -> list:
        """The worker holding each future, once they are computed."""
        from distributed import wait
        wait(futures)
        held = self.client.who_has(futures)
        return [sorted(held[f.key])[:1] for f in futures]

    def submit(self, block, function, *args):
        """A task of a row block, kept on its block's worker (a block moved by
        work stealing costs more than the task) unless that worker is gone."""
        return self.client.submit(function, *args, pure=False, workers=self.homes[block],
                                  allow_other_workers=True)

    def run(self, steps) -> dict:
        """One round on every block; the parts summed by a tree: first on each
        block's worker (nothing moves), then by tasks of FAN_IN parts, the
        last FAN_IN on the client."""
        shared = self.scatter(self.q, self.E)
        self.states = [self.submit(i, run_round, s, self.static, shared, steps)
                       for i, s in enumerate(self.states)]
        by_worker = {}
        for i in range(len(self.states)):
            by_worker.setdefault(tuple(self.homes[i]), []).append(i)
        parts = [self.submit(blocks[j], combine_rounds, steps,
                             *[self.states[i] for i in blocks[j:j + FAN_IN]])
                 for blocks in by_worker.values() for j in range(0, len(blocks), FAN_IN)]
        while len(parts) > FAN_IN:
            parts = [self.client.submit(combine, steps, *parts[i:i + FAN_IN], pure=False)
                     for i in range(0, len(parts), FAN_IN)]
        return combine(steps, *self.client.gather(parts))

    def sweeps(self, reads, max_iter, tol, callback):
        """Rounds until the fit converges or max_iter sweeps; (trace, converged)."""
        trace, self.moves, self.before = [], {}, dict(self.E)
        for steps in rounds(self.module, reads, self.shared.locals, max_iter,
                            bool(self.shared.grouping)):
            totals = self.run(steps)
            for j, (kind, index) in enumerate(steps):
                if kind == "global":
                    self.apply(index, totals[j])
                elif kind == "local":
                    largest_moves(self.moves, totals[j])
                elif kind == "block":  # (the restarts' gain summed)
                    if self.restart and trace:  # as restarted_block decides
                        self.restart = self.module.restart_pays(totals[j], trace[-1])
                elif self.end_sweep(trace, totals[j], tol, callback):
                    return trace, True
        return trace, False

    def apply(self, index, rows):
        """A global's update: u(∅) on the client plus the blocks' Σ (u(B) − u(∅))."""
        name, family, point, update, _ = self.module.UPDATES[index]
        dim, arrays, K = self.nothing
        base = update(self.E, K, arrays, self.shared.hyper, dim)
        total = {s: np.array(c, dtype=float) + rows[s] for s, c in base.items()}
        with guarded(self.module):
            self.module._set_state(self.q, self.E, name, family, point,
                                   self.module._posterior(name, family, total))

    def end_sweep(self, trace, rows, tol, callback) -> bool:
        """The sweep's ELBO and convergence (chunked.State.converged)."""
        dim, arrays, K = self.nothing
        trace.append(self.module.elbo_value(self.q, self.E, K, arrays, self.shared.hyper, dim)
                     + rows)
        if not np.isfinite(trace[-1]):
            raise VmpDataError(f"the fit failed: the ELBO became {trace[-1]} at iteration "
                               f"{len(trace)}")
        if callback is not None:
            callback(len(trace), trace[-1])
        stat_moves(self.before, self.E, self.moves)
        if len(trace) > 1 and self.module.is_steady(trace, tol) and all(
                move <= np.sqrt(tol) * scale for move, scale in self.moves.values()):
            return True
        self.moves, self.before = {}, dict(self.E)
        return False

    def local_rows(self, keep_local=True) -> list:
        """Per block, the row latents' ({name: q}, {name: E}), fetched; of a
        local block per group, the groups' always and the rows' (per row
        again where merged) if ``keep_local``."""
        blocks = [block for block, _ in self.client.gather(self.states)]
        if not self.shared.grouping:
            return [(block.q, block.E) for block in blocks]
        return [held_locals(self.module, self.shared.plate, (b.q, b.E), b.inverse, keep_local)
                for b in blocks]
