"""The worker side of vmpdsl.distributed: the tasks each row block runs.

Everything here is numpy-only and picklable by reference (module-level
functions and classes); the emitted module itself is executed from its
source on each process (``Shared.module``).  A block's round computes its
part of each step: a row latent's update (its part: how far its statistics
moved), the ELBO (its part: the block's ELBO minus the ELBO on no rows), a
global's update (its part: ``u(B) − u(∅)``, chunked.py's block sum).
"""
from __future__ import annotations

import hashlib
import sys
from contextlib import contextmanager

import numpy as np

from .chunk_groups import (bind_group_rows, block_features, check_gated, distinct_rows,
                           label_block, local_step, start_groups)
from .chunk_starts import block_starts
from .chunked import bind_rows, stat_moves
from .errors import VmpDataError

_MODULES = {}  # per process: digest of the source -> the executed module


class Shared:
    """What every task needs and no round changes (scattered once): the
    module's source, the data with no rows, the hypers, the row latents."""

    def __init__(self, source, name, empty, hyper, locals_, rows, grouping=None):
        self.source, self.name, self.empty, self.hyper = source, name, empty, hyper
        self.locals, self.rows = tuple(locals_), tuple(rows)
        self.grouping = grouping  # blocks of whole groups (chunk_groups.py), or None
        self.digest = hashlib.sha256(source.encode()).hexdigest()
        self.nothing = None  # (dim, arrays, constants) of no rows, bound on first use

    def __getstate__(self):
        return dict(self.__dict__, nothing=None)

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.module()  # before any q, E or block holding its objects arrives

    def module(self):
        """The emitted module, executed once per process (the client's too) and
        registered in sys.modules under a name of its own: its objects in q, E
        and the blocks (OneHot, SharedOuter) then pickle by reference, and
        ``contract`` knows them on the worker that receives them."""
        module = _MODULES.get(self.digest)
        if module is None:
            from .compiler import load_module
            module = load_module(self.source, f"{self.name}_{self.digest[:16]}")
            sys.modules[module.__name__] = _MODULES[self.digest] = module
        return module

    def no_rows(self, module):
        """(dim, arrays, constants) on no rows (and no groups, grouped)."""
        if self.nothing is None:
            self.nothing = self.bind(module, self.empty, (0, 0, (0, 0)))[0]
        return self.nothing

    def bind(self, module, chunk, rows):
        """(dim, arrays, constants) of the rows (start, stop, groups) of a
        block, and the inverse index of its merged rows (or None)."""
        start, stop, groups = rows
        if not self.grouping:
            return bind_rows(module, chunk, self.hyper, start, stop), None
        return bind_group_rows(module, chunk, self.hyper, (start, stop), groups, self.grouping,
                               self.grouping.get("merge", False))

    @property
    def plate(self):
        return next(shape[0] for name, shape, *_ in self.module().DATA_SPEC
                    if name == self.rows[0])


class Globals:
    """The client's q and E (the globals, and the row latents on no rows), and
    whether the local block restarts this sweep (chunk_groups.py)."""

    def __init__(self, q, E, restart=True):
        self.q, self.E, self.restart = dict(q), dict(E), restart


class Block:
    """A row block on a worker: its bound data, its row latents' q and E and
    the inverse index of its merged rows (chunk_groups.py; or None)."""

    def __init__(self, bound, q, E, inverse=None):
        self.bound, self.q, self.E, self.inverse = bound, q, E, inverse


@contextmanager
def guarded(module):
    """The emitted module's errors as the VmpDataError chunked.py raises, so
    the client sees a vmpdsl error (and no class of a generated module)."""
    try:
        yield
    except module.DataError as err:
        raise VmpDataError(str(err)) from None
    except module.FitError as err:
        raise VmpDataError(f"the fit failed: {err}") from None


def start_block(shared, rows, rng, given, starts, *columns):
    """Bind the rows ``rows`` = (start, stop, its groups or None) and start
    their row latents: from the k-means ``starts`` (plans, components;
    chunk_starts.block_starts), the others drawn from ``rng``
    (chunked.start); returns (Block, the generator for the next block)."""
    module = shared.module()
    bound, inverse = shared.bind(module, dict(shared.empty, **dict(zip(shared.rows, columns))),
                                 rows)
    dim, arrays, K = bound
    q, E = {}, {}
    with guarded(module):
        module._initial_state(q, E, K, arrays, shared.hyper, dim, rng,
                              dict(given.q, **block_starts(module, *starts, bound)))
        if shared.grouping and rows[0] == 0:  # (chunked.start)
            check_gated(module, q, E, bound, shared.hyper)
    return Block(bound, {n: q[n] for n in shared.locals}, {n: E[n] for n in shared.locals},
                 inverse), rng


def group_features(state, shared):
    """The features of the block's groups (chunk_groups.block_features)."""
    return block_features(shared.module(), state[0].bound)


def group_start(state, shared, globals_, step, values):
    """A step of the clustered start on the block (chunk_groups.py): its rows
    at their groups' labels ``values`` (step "labels"), or its groups' θ at
    the concentrations ``values`` and its block iterated (step "locals")."""
    module, block = shared.module(), state[0]
    q, E = dict(globals_.q, **block.q), dict(globals_.E, **block.E)
    module._MEMO.clear()  # (run_round)
    with guarded(module):
        if step == "labels":
            label_block(module, q, E, block.bound, values)
        else:
            start_groups(module, q, E, block.bound, shared.hyper, values)
    module._MEMO.clear()
    return Block(block.bound, {n: q[n] for n in shared.locals},
                 {n: E[n] for n in shared.locals}, block.inverse), None


def block_distinct(shared, *columns):
    """The number of distinct rows of a block (chunk_groups.merges)."""
    return distinct_rows(shared.module(), dict(shared.empty, **dict(zip(shared.rows, columns))),
                         shared.plate)


def block_move_sums(state, shared, name):
    """kmeans.move_sums of a row latent on the block (chunked.State.move_sums)."""
    module, block = shared.module(), state[0]
    weight = block.bound[1].get(getattr(module, "ROW_WEIGHTS", {}).get(name))
    return module.move_sums(block.q[name]["probs"], weight)


def move_block(state, shared, name, plan):
    """The block with the move ``plan`` applied to its row latent ``name``."""
    module, block = shared.module(), state[0]
    q, E = dict(block.q), dict(block.E)
    with guarded(module):
        module._set_state(q, E, name, "Categorical", False,
                          {"probs": module.moved(q[name]["probs"], plan)})
    return Block(block.bound, q, E, block.inverse), None


def run_round(state, shared, globals_, steps):
    """One block's round: its part of each step (module docstring).
    Returns (the block with its row latents updated, {step: part})."""
    module, block = shared.module(), state[0]
    q, E = dict(globals_.q, **block.q), dict(globals_.E, **block.E)
    parts, coeffs = {}, {}  # coeffs: of the row latents updated in this round
    module._MEMO.clear()  # products are shared within a task only
    with guarded(module):
        for j, (kind, index) in enumerate(steps):
            parts[j] = PARTS[kind](module, shared, globals_, (q, E, coeffs), block.bound, index)
    module._MEMO.clear()
    return Block(block.bound, {n: q[n] for n in shared.locals},
                 {n: E[n] for n in shared.locals}, block.inverse), parts


def local_part(module, shared, globals_, state, bound, index):
    """Update a row latent on the block; its statistics' moves are the part."""
    (q, E, coeffs), (dim, arrays, K) = state, bound
    name, family, point, update, _ = module.UPDATES[index]
    old = {name: E[name]}
    coeffs[index] = update(E, K, arrays, shared.hyper, dim)
    params = module._posterior(name, family, coeffs[index])
    module._set_state(q, E, name, family, point, params)
    return stat_moves(old, {name: E[name]}, {})


def group_part(module, shared, globals_, state, bound, index):
    """The local block iterated per group on the block (chunk_groups.py); its
    part: the restarts' gain (its latents follow the globals, so their moves
    are not measured: sweeps.has_converged)."""
    q, E, coeffs = state
    coeffs[index], gain = local_step(module, q, E, bound, shared.hyper,
                                     shared.grouping["iters"], globals_.restart)
    return gain


def global_part(module, shared, globals_, state, bound, index):
    """u(B) − u(∅) of a global's update."""
    (_, E, _), (dim, arrays, K) = state, bound
    nothing_dim, nothing, nothing_K = shared.no_rows(module)
    update = module.UPDATES[index][3]
    rows = update(E, K, arrays, shared.hyper, dim)
    base = update(globals_.E, nothing_K, nothing, shared.hyper, nothing_dim)
    return {s: np.asarray(rows[s] - base[s], dtype=float) for s in rows}


def elbo_part(module, shared, globals_, state, bound, index):
    """The block's ELBO minus the ELBO on no rows.  When the sweep's last
    update is a row latent's and ran in this round, the block's ELBO takes
    the in-memory fit's shortcut from its coefficients (elbo_value)."""
    (q, E, coeffs), (dim, arrays, K) = state, bound
    nothing_dim, nothing, nothing_K = shared.no_rows(module)
    last = coeffs.get(len(module.UPDATES) - 1)
    return (module.elbo_value(q, E, K, arrays, shared.hyper, dim, last)
            - module.elbo_value(globals_.q, globals_.E, nothing_K, nothing, shared.hyper,
                                nothing_dim))


PARTS = {"local": local_part, "block": group_part, "global": global_part, "elbo": elbo_part}


def combine(steps, *parts):
    """The blocks' parts of each step added (the moves: their largest)."""
    total = {}
    for j, (kind, _) in enumerate(steps):
        values = [p[j] for p in parts]
        if kind == "global":
            total[j] = {s: sum(v[s] for v in values) for s in values[0]}
        elif kind in ("elbo", "block"):  # (the block's: the restarts' gains)
            total[j] = sum(values)
        else:
            total[j] = largest_moves({}, *values)
    return total


def combine_rounds(steps, *states):
    """``combine`` of run_round's parts, on the worker that holds its blocks."""
    return combine(steps, *[parts for _, parts in states])


def largest_moves(into, *moves):
    """stat_moves' dicts merged: the largest move and scale of each statistic."""
    for found in moves:
        for key, (move, scale) in found.items():
            old_move, old_scale = into.get(key, (0.0, 0.0))
            into[key] = (max(old_move, move), max(old_scale, scale))
    return into
