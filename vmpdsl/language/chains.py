"""Chains in the language: plate slices, lagged indices, piecewise latents.

A *chain* is a latent array defined in two pieces along its last plate:

    z[0] ~ Categorical(pi0)                 # the first element
    for t in T[1:]:
        z[t] ~ Categorical(A[z[t-1]])       # each later one given the previous

Outer plates may come first (``z[s, 0]`` inside ``for s in S``; several
sequences).  ``find_chains`` recognizes the pattern before the checker's
second pass, so that the first piece already knows the latent's full shape
(outer plates + T) and the second may refer to the previous element.  Errors
say what is wrong where: a lag that reaches outside its plate (``z[t-1]`` in
``for t in T``), a lag on data or on another variable, a reference to the same
or a later element (a cycle), pieces that do not cover the array.

Only first-order chains along the innermost plate are supported: the
transition sees ``z[t-1]``, nothing earlier.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import VmpCheckError
from . import ast
from .shapes import Ty, Typer


@dataclass(frozen=True)
class Chain:
    """A latent defined piecewise: ``first`` gives element 0, ``step`` the rest."""

    name: str
    dim: str  # the chain's plate (T)
    index: str  # the transition plate's index (t)
    outer: tuple  # ((index, dim), ...) of the plates around both pieces
    first: ast.Tilde
    step: ast.Tilde


def lag_offset(expr) -> tuple | None:
    """``(index, k)`` for an index expression ``t - k`` / ``t + k`` (k ≠ 0 whole), else None."""
    if not (isinstance(expr, ast.BinOp) and expr.op in "+-"):
        return None
    left, right = expr.left, expr.right
    if not (isinstance(left, ast.Name) and isinstance(right, ast.Num)):
        return None
    if right.value != int(right.value):
        return None
    k = int(right.value)
    return left.id, (-k if expr.op == "-" else k)


def is_lag(expr) -> bool:
    return lag_offset(expr) is not None


def find_chains(statements, decls: dict) -> dict:
    """{name: Chain} for every latent with more than one ``~`` statement or
    with a constant last index; raise ``VmpCheckError`` for a malformed one."""
    sites: dict = {}
    _walk(statements, [], sites)
    chains = {}
    for name, found in sites.items():
        if decls.get(name, ("latent",))[0] not in ("latent", "point"):
            continue
        firsts = [(s, p) for s, p in found if _first_index(s)]
        if len(found) == 1 and not firsts and not any(_sliced(p) for p in found[0][1]):
            _lag_outside(name, *found[0])
            continue
        chains[name] = _chain(name, found, firsts)
    return chains


def _walk(statements, plates, sites):
    for stmt in statements:
        if isinstance(stmt, ast.For):
            if stmt.start < 0 or (stmt.stop is not None and stmt.stop >= 0):
                raise VmpCheckError(
                    f"plate slice {stmt.dim}{slice_words(stmt.start, stmt.stop)}: the start "
                    "counts from 0, the end from the end", stmt.span,
                    hint=f"write {stmt.dim}[1:] (from the second element) or "
                         f"{stmt.dim}[:-1] (all but the last)")
            _walk(stmt.body, plates + [stmt], sites)
        elif isinstance(stmt, ast.Tilde):
            target = stmt.target
            name = target.id if isinstance(target, ast.Name) else target.base.id
            sites.setdefault(name, []).append((stmt, tuple(plates)))


def _sliced(plate: ast.For) -> bool:
    return bool(plate.start) or plate.stop is not None


def _first_index(stmt) -> bool:
    target = stmt.target
    return (isinstance(target, ast.Index) and bool(target.indices)
            and isinstance(target.indices[-1], ast.Num))


def _chain(name, found, firsts) -> Chain:
    hint = (f"a chain is written `{name}[0] ~ ...` and, inside `for t in T[1:]:`, "
            f"`{name}[t] ~ ...` (which may use {name}[t-1])")
    if len(found) > 2:
        raise VmpCheckError(f"{name} has {len(found)} `~` statements; a latent gets one, "
                            f"or two when it is a chain", found[2][0].target.span, hint=hint)
    steps = [(s, p) for s, p in found if (s, p) not in firsts]
    if len(firsts) != 1 or len(steps) != 1:
        stmt = found[-1][0]
        if len(found) == 1 and firsts:
            message = f"{name}[0] gives only the first element of {name}; its transition is missing"
        elif len(found) == 1:
            message = (f"{name} is given for a slice of its plate only; its first element "
                       f"{name}[0] needs its own statement")
        else:
            message = f"{name} already has a prior on line {found[0][0].span.line}"
            hint = "a latent variable gets exactly one `~` statement, two for a chain"
        node = stmt.target if isinstance(stmt.target, ast.Name) else stmt.target.base
        raise VmpCheckError(message, node.span, hint=hint)
    (first, first_plates), (step, step_plates) = firsts[0], steps[0]
    return _validate(name, first, first_plates, step, step_plates, hint)


def _validate(name, first, first_plates, step, step_plates, hint) -> Chain:
    value = first.target.indices[-1].value
    if value != 0:
        raise VmpCheckError(f"a chain's first element is {name}[0], not {name}[{value:g}]",
                            first.target.indices[-1].span, hint=hint)
    if not step_plates or step_plates[-1].start != 1 or step_plates[-1].stop is not None:
        _lag_outside(name, step, step_plates)
        raise VmpCheckError(f"the transition of the chain {name} must be inside "
                            f"`for t in T[1:]:` (elements 1 .. T-1)", step.target.span,
                            hint=hint)
    plate = step_plates[-1]
    outer = tuple((p.index, p.dim) for p in step_plates[:-1])
    if tuple((p.index, p.dim) for p in first_plates) != outer or \
            any(p.start or p.stop is not None for p in first_plates + step_plates[:-1]):
        raise VmpCheckError(f"the two pieces of the chain {name} must sit in the same "
                            f"outer plates", first.target.span, hint=hint)
    if step.span.line < first.span.line:
        raise VmpCheckError(f"{name}[0] must come before the transition of {name} "
                            f"(line {step.span.line})", first.target.span,
                            hint="define the first element, then the rest")
    return Chain(name, plate.dim, plate.index, outer, first, step)


def _lag_outside(name, stmt, plates):
    """A lagged self-reference in a plate that does not start late enough."""
    for use in self_references(stmt.dist, name):
        lag = lag_offset(use.indices[-1]) if isinstance(use, ast.Index) else None
        plate = next((p for p in plates if lag and p.index == lag[0]), None)
        if plate is not None and lag[1] < 0 and plate.start + lag[1] < 0:
            raise VmpCheckError(
                f"{_show(use)} reaches outside its plate: for {plate.index} in "
                f"{plate.dim}{slice_words(plate.start, plate.stop) if plate.start or plate.stop else ''} "
                f"it would read element {plate.start + lag[1]}", use.indices[-1].span,
                hint=f"run the transition over {plate.dim}[1:] and give {name}[0] its own "
                     f"statement")


def self_references(expr, name: str):
    """Every use of ``name`` inside ``expr``: Index nodes and bare Names."""
    if isinstance(expr, ast.Index) and isinstance(expr.base, ast.Name) \
            and expr.base.id == name:
        yield expr
    elif isinstance(expr, ast.Name) and expr.id == name:
        yield expr
    for child in _children(expr):
        yield from self_references(child, name)


def _children(expr):
    if isinstance(expr, ast.Index):
        return expr.indices
    if isinstance(expr, ast.BinOp):
        return (expr.left, expr.right)
    if isinstance(expr, ast.Neg):
        return (expr.operand,)
    if isinstance(expr, (ast.Call, ast.Dist)):
        return expr.args
    return ()


def check_transition(chain: Chain, dist: ast.Dist):
    """The transition may read its own chain only as ``name[..., t-1]``."""
    name, t = chain.name, chain.index
    for use in self_references(dist, name):
        if isinstance(use, ast.Name):
            raise VmpCheckError(f"{name} appears in its own distribution", use.span,
                                hint=f"the transition reads the previous element, {name}[..., {t}-1]")
        lag = lag_offset(use.indices[-1]) if use.indices else None
        if lag is None or lag[0] != t or lag[1] >= 0:
            raise VmpCheckError(
                f"{name}[{t}] cannot depend on {_show(use)}: the model would have a cycle "
                f"(an element drawn given itself or a later one)", use.span,
                hint=f"a chain's element depends on the one before it, {name}[{t}-1]")


def _show(expr) -> str:
    """An index expression as the user wrote it (names, numbers, + -)."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Num):
        return f"{expr.value:g}"
    if isinstance(expr, ast.BinOp):
        return f"{_show(expr.left)}{expr.op}{_show(expr.right)}"
    if isinstance(expr, ast.Index):
        return f"{_show(expr.base)}[{', '.join(_show(i) for i in expr.indices)}]"
    return "..."


def slice_words(start: int, stop) -> str:
    return f"[{start or ''}:{'' if stop is None else stop}]"


def lag_type(checker, name: str, index: ast.BinOp):
    """``t - k`` indexing ``name``: only a chain's own earlier element, in a
    plate sliced so that the element exists (``for t in T[1:]``: ``z[t-1]``)."""
    plate = next((p for p in reversed(checker.plates) if p.index == index.left.id), None)
    offset = lag_offset(index)
    if plate is None or offset is None:
        return Typer(checker).infer(index)  # not a plate index: the usual error
    _check_in_plate(name, index, plate, offset[1])
    _check_lagged_variable(checker, name, index, offset[1])
    return Ty((), "int", plate.dim)


def _check_in_plate(name, index, plate, k):
    stop = plate.stop or 0
    if plate.start + k >= 0 and stop + k <= 0:
        return
    first = plate.start + k if plate.start + k < 0 else f"{plate.dim}{stop + k:+d}"
    raise VmpCheckError(
        f"{name}[{index.left.id}{k:+d}] reaches outside its plate: for {index.left.id} in "
        f"{plate.dim}{slice_words(plate.start, plate.stop)} it would read element {first}",
        index.span,
        hint=f"run the plate over {plate.dim}[{-k}:], and give the first "
             f"element{'s' if -k > 1 else ''} {name}[0] its own statement"
        if k < 0 else f"run the plate over {plate.dim}[:{-k}]")


def _check_lagged_variable(checker, name, index, k):
    var, t = checker.vars.get(name), index.left.id
    if var is not None and var.role == "data":
        raise VmpCheckError(f"a lagged index on data ({name}[{t}{k:+d}]) is not supported",
                            index.span, hint=f"pass the shifted array as data of its own, "
                                             f"e.g. {name}_prev with {name}_prev[t] = {name}[t-1]")
    if name not in checker.chains:
        raise VmpCheckError(f"a lagged index reads an earlier element of a chain, but "
                            f"{checker.describe(name)} is not a chain", index.span,
                            hint=f"a chain is written {name}[0] ~ ... and "
                                 f"{name}[t] ~ ... inside `for t in T[1:]:`")
    if k != -1:
        raise VmpCheckError(f"only first-order chains are supported: read {name}[{t}-1], "
                            f"not {name}[{t}{k:+d}]", index.span)
