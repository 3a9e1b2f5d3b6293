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

from .chunk_starts import block_starts
from .chunked import bind_rows, stat_moves
from .errors import VmpDataError

_MODULES = {}  # per process: digest of the source -> the executed module


class Shared:
    """What every task needs and no round changes (scattered once): the
    module's source, the data with no rows, the hypers, the row latents."""

    def __init__(self, source, name, empty, hyper, locals_, rows):
        self.source, self.name, self.empty, self.hyper = source, name, empty, hyper
        self.locals, self.rows = tuple(locals_), tuple(rows)
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
        if self.nothing is None:
            self.nothing = bind_rows(module, self.empty, self.hyper, 0, 0)
        return self.nothing


class Globals:
    """The client's q and E (the globals, and the row latents on no rows)."""

    def __init__(self, q, E):
        self.q, self.E = dict(q), dict(E)


class Block:
    """A row block on a worker: its bound data and its row latents' q and E."""

    def __init__(self, bound, q, E):
        self.bound, self.q, self.E = bound, q, E


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


def start_block(shared, start, stop, rng, given, starts, *columns):
    """Bind rows start to stop and start their row latents: from the k-means
    ``starts`` (plans, components; chunk_starts.block_starts), the others
    drawn from ``rng`` (chunked.start); returns (Block, the generator for the
    next block)."""
    module = shared.module()
    bound = bind_rows(module, dict(shared.empty, **dict(zip(shared.rows, columns))),
                      shared.hyper, start, stop)
    dim, arrays, K = bound
    q, E = {}, {}
    with guarded(module):
        module._initial_state(q, E, K, arrays, shared.hyper, dim, rng,
                              dict(given.q, **block_starts(module, *starts, bound)))
    return Block(bound, {n: q[n] for n in shared.locals}, {n: E[n] for n in shared.locals}), rng


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
    return Block(block.bound, q, E), None


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
                 {n: E[n] for n in shared.locals}), parts


def local_part(module, shared, globals_, state, bound, index):
    """Update a row latent on the block; its statistics' moves are the part."""
    (q, E, coeffs), (dim, arrays, K) = state, bound
    name, family, point, update, _ = module.UPDATES[index]
    old = {name: E[name]}
    coeffs[index] = update(E, K, arrays, shared.hyper, dim)
    params = module._posterior(name, family, coeffs[index])
    module._set_state(q, E, name, family, point, params)
    return stat_moves(old, {name: E[name]}, {})


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


PARTS = {"local": local_part, "global": global_part, "elbo": elbo_part}


def combine(steps, *parts):
    """The blocks' parts of each step added (the moves: their largest)."""
    total = {}
    for j, (kind, _) in enumerate(steps):
        values = [p[j] for p in parts]
        if kind == "global":
            total[j] = {s: sum(v[s] for v in values) for s in values[0]}
        elif kind == "elbo":
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
