"""Passes over the row blocks for chunked sweeps (vmpdsl/chunked.py).

A sweep is the emitted module's UPDATES in order, then the ELBO.  Run over
row blocks, a *pass* reads every block once and does, per block, a run of
those steps (a *segment*): a local update (the row latents of the block,
from the globals as they are now), a global update's block part ``u(B)``
(summed over the blocks, applied at the end of the pass) or the block's
ELBO part.  A step joins the segment unless it reads a global that an
earlier step of the segment updates (that value exists only once the pass
ends), or it is a local update after the segment's ELBO (a sweep that has
converged must not have moved).  So GMM (UPDATES mu, pi, z) runs one pass
per sweep — z on the block, its ELBO part, then the next sweep's mu and pi
parts from that z — and a block's z is computed once per sweep.

The local latents need not be held between passes: a local latent whose
update reads only globals is a function of the globals it was last updated
from (its *recipe*, a shallow copy of their expectations), or of the random
generator's state for its random start; a pass that reads it before
updating it computes it again from that recipe, bit for bit the value the
held one would have.  ``block_part`` is one block's share of a pass and
touches nothing outside its arguments, so a driver can run it anywhere.
"""
from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np

from .chunk_groups import local_step


class Step(NamedTuple):
    kind: str  # "local", "block" (the local block per group), "global" or "elbo"
    row: tuple | None  # the UPDATES row
    reads: frozenset  # the latents whose expectations it reads


class Recorder(dict):
    """A dict that notes the keys read from it."""

    def __init__(self, items):
        super().__init__(items)
        self.seen = set()

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.seen.add(key)
        return super().get(key, default)

    def __iter__(self):  # a walk over all of them reads all of them
        self.seen.update(self.keys())
        return super().__iter__()

    def items(self):
        self.seen.update(self.keys())
        return super().items()

    def values(self):
        self.seen.update(self.keys())
        return super().values()


def sweep_steps(module, locals_, empty, hyper, E, grouped=False) -> list:
    """The steps of one sweep, each with the latents its update reads (found
    by running it once on no rows).  ``grouped``: the local block is one
    step, in its last member's place, as the in-memory sweep iterates it
    (chunk_groups.py)."""
    dim, arrays, K = empty
    steps, block = [], set(getattr(module, "LOCAL_BLOCK", ())) if grouped else set()
    last = [row[0] for row in module.UPDATES if row[0] in block][-1:]
    reads = set()
    for row in module.UPDATES:
        seen = Recorder(E)
        row[3](seen, K, arrays, hyper, dim)
        if row[0] in block:
            reads |= seen.seen | block
            if row[0] in last:
                steps.append(Step("block", row, frozenset(reads)))
            continue
        steps.append(Step("local" if row[0] in locals_ else "global", row,
                          frozenset(seen.seen)))
    return steps + [Step("elbo", None, frozenset(E))]


LOCAL = ("local", "block")  # the steps that update row latents


def segments(steps, max_iter):
    """The passes of ``max_iter`` sweeps: lists of (sweep, step), in order."""
    segment, updated, after_elbo = [], set(), False
    for sweep in range(1, max_iter + 1):
        for step in steps:
            blocked = (step.reads & updated) or after_elbo and step.kind in LOCAL \
                or step.kind == "global" and step.row[0] in updated
            if blocked and segment:
                yield segment
                segment, updated, after_elbo = [], set(), False
            segment.append((sweep, step))
            updated |= {step.row[0]} if step.kind == "global" else set()
            after_elbo |= step.kind == "elbo"
    if segment:
        yield segment


def shortcut(segment, position, module) -> bool:
    """The ELBO at ``position`` follows the sweep's last update, a local one,
    in the same block: its coefficients give that latent's share
    (elbo_value's ``last_coeffs``), as in the in-memory fit."""
    if position == 0:
        return False
    step = segment[position - 1][1]
    return step.kind in LOCAL and step.row[0] == module.UPDATES[-1][0]


def coefficients(row, E, bound, hyper):
    """One update's coefficients on one block."""
    dim, arrays, K = bound
    return row[3](E, K, arrays, hyper, dim)


def update(module, row, E, bound, hyper):
    """(coefficients, q params) of one update on one block."""
    coeffs = coefficients(row, E, bound, hyper)
    return coeffs, module._posterior(row[0], row[1], coeffs)


def materialize(module, row, recipe, bound, hyper):
    """A local latent's (q, E) on a block, from its recipe: ("update", the
    expectations its last update read), ("init", the generator as it was
    before the block's random start, the globals' q or a function of the
    block giving them and the k-means starts) or ("moved", (a recipe, a
    delete or merge move applied to it: kmeans.moved))."""
    kind, value = recipe
    q, E = {}, {}
    if kind == "held":
        return value
    if kind == "moved":
        base, plan = value
        probs = module.moved(materialize(module, row, base, bound, hyper)[0]["probs"], plan)
        module._set_state(q, E, row[0], row[1], row[2], {"probs": probs})
    elif kind == "init":
        dim, arrays, K = bound
        rng, given = value
        given = given(bound) if callable(given) else dict(given)
        module._initial_state(q, E, K, arrays, hyper, dim, copy.deepcopy(rng), given)
    else:
        _, params = update(module, row, value, bound, hyper)
        module._set_state(q, E, row[0], row[1], row[2], params)
    return q[row[0]], E[row[0]]


def block_part(module, segment, bound, hyper, q, E, recipes, bases, moves=None,
               group=None) -> dict:
    """One block's share of a pass.  ``q``, ``E``: the globals (and the local
    latents on no rows); ``recipes``: per local latent, how to get its value
    at the pass's start on this block (materialize); ``bases``: per position
    of a global or ELBO step, its value on no rows (subtracted, so the sum
    over blocks plus one base is the whole).  Returns {"parts": {position:
    u(B) − u(∅) or the ELBO part}, "locals": {name: (q, E)} as updated,
    "gain": the restarts' gain}; with ``moves`` (a Moves), each local
    update's change is added to it.  ``group``: (inner iterations, restart)
    of the block step (chunk_groups.local_step)."""
    q, E = dict(q), dict(E)
    rows, pending = rows_of(module), set(recipes)
    parts, updated, coeffs, gain = {}, {}, None, 0.0
    for position, (_, step) in enumerate(segment):
        wanted = step.reads | ({step.row[0]} if moves is not None and step.kind == "local"
                               else set())
        for name in wanted & pending:  # its value at the pass's start
            q[name], E[name] = materialize(module, rows[name], recipes[name], bound, hyper)
            pending.discard(name)
        if step.kind == "block":  # (its latents follow the globals: not in ``moves``,
            # as sweeps.has_converged leaves a block iterated within the sweep out)
            coeffs, part_gain = local_step(module, q, E, bound, hyper, *group)
            gain += part_gain
            updated.update({name: (q[name], E[name]) for name in module.LOCAL_BLOCK})
        elif step.kind == "local":
            name, family, point = step.row[:3]
            coeffs, params = update(module, step.row, E, bound, hyper)
            old = E[name]
            module._set_state(q, E, name, family, point, params)
            if moves is not None:
                moves.add({name: old}, {name: E[name]})
            pending.discard(name)
            updated[name] = (q[name], E[name])
        elif step.kind == "global":
            parts[position] = {s: c - bases[position][s] for s, c in
                               coefficients(step.row, E, bound, hyper).items()}
        else:
            dim, arrays, K = bound
            last = coeffs if shortcut(segment, position, module) else None
            parts[position] = module.elbo_value(q, E, K, arrays, hyper, dim, last) \
                - bases[position]
    return {"parts": parts, "locals": updated, "gain": gain}


def rows_of(module) -> dict:
    return {row[0]: row for row in module.UPDATES}


def bases(module, segment, empty, hyper, q, E) -> dict:
    """Each global or ELBO step's value on no rows, from the pass's start."""
    out, coeffs = {}, None
    dim, arrays, K = empty
    for position, (_, step) in enumerate(segment):
        if step.kind in LOCAL:
            coeffs = coefficients(step.row, E, empty, hyper)
        elif step.kind == "global":
            out[position] = coefficients(step.row, E, empty, hyper)
        else:
            last = coeffs if shortcut(segment, position, module) else None
            out[position] = module.elbo_value(q, E, K, arrays, hyper, dim, last)
    return out


def add_parts(total: dict, parts: dict):
    """Sum a block's parts into ``total`` (position → coefficients or ELBO)."""
    for position, part in parts.items():
        if position not in total:
            total[position] = ({s: np.array(c, dtype=float) for s, c in part.items()}
                               if isinstance(part, dict) else float(part))
        elif isinstance(part, dict):
            for s, c in part.items():
                total[position][s] += c
        else:
            total[position] += part


class Moves:
    """The largest change of every expected statistic over a sweep and its
    largest magnitude, over any number of blocks (sweeps.has_converged)."""

    def __init__(self):
        self.moves = {}

    def add(self, before: dict, after: dict):
        stat_moves(before, after, self.moves)

    def within(self, tol) -> bool:
        return all(move <= np.sqrt(tol) * scale for move, scale in self.moves.values())


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
