"""Shape inference for expressions.

A shape is a tuple of dims (dim names, or whole numbers for fixed sizes).
``Typer`` walks one expression and returns its ``Ty``; what names mean comes
from an environment (the checker), so the same typer serves hypers, factor
arguments, and later stages that want the shape of an argument.

Environment protocol (``env``):
  resolve(name_node) -> Ty            the type of a name, or raise
  note_index(name, leading)           ``name`` was indexed on its first ``leading`` axes
  note_categories(node, dim)          an integer index ``node`` ranges over ``dim``
  describe(name) -> str               "w, a Normal latent", for messages
  is_dim(name) -> bool                may this name size an array (zeros(D))?
  is_random(refs) -> bool             do these names include a latent, point or param?
  lag(name, index) -> Ty              the type of a lagged index ``t-1`` into ``name``
  same_size(a, b) -> bool             do sizes a and b agree (a dim whose default
                                      is a literal's length agrees with it)?
  same_shape(a, b) -> bool            same_size along equal ranks
  constant_of -> str | None           "hyper a" while typing a constant expression
  context -> str | None               "the Normal factor of y", for conjugacy errors
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .. import repairs
from ..errors import VmpCheckError, VmpConjugacyError
from . import ast

# Functions that would make a model non-conjugate; named so the message can say so.
NONLINEAR = ("exp", "log", "sqrt", "pow", "abs", "sin", "cos", "tanh", "sigmoid",
             "logistic", "softmax", "inv", "inverse", "logdet", "det", "lgamma", "digamma")


@dataclass(frozen=True)
class Ty:
    """The type of an expression."""

    shape: tuple = ()
    dtype: str = "real"  # "int" for plate indices, integer data and discrete variables
    categories: object = None  # for integer values: the dim they range over, if known
    refs: frozenset = field(default_factory=frozenset)  # variable names read


def fmt_shape(shape: tuple) -> str:
    return "() (a scalar)" if not shape else "(" + ", ".join(map(str, shape)) + ")"


def did_you_mean(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


class Typer:
    """Infers the ``Ty`` of an expression in one environment."""

    def __init__(self, env):
        self.env = env

    def infer(self, expr) -> Ty:
        method = getattr(self, "_" + type(expr).__name__.lower(), None)
        if method is None:
            raise VmpCheckError("a ':' slice can only appear inside an index", expr.span)
        return method(expr)

    def _num(self, expr: ast.Num) -> Ty:
        return Ty()

    def _name(self, expr: ast.Name) -> Ty:
        return self.env.resolve(expr)

    def _neg(self, expr: ast.Neg) -> Ty:
        inner = self.infer(expr.operand)
        return Ty(inner.shape, refs=inner.refs)

    def _binop(self, expr: ast.BinOp) -> Ty:
        left, right = self.infer(expr.left), self.infer(expr.right)
        refs = left.refs | right.refs
        if expr.op == "@":
            return Ty(_matmul_shape(left.shape, right.shape, expr), refs=refs)
        if expr.op == "/" and self.env.is_random(right.refs):
            raise VmpCheckError(
                "division by a random quantity is not supported", expr.right.span,
                hint="divide only by constants; write a precision instead of a variance")
        if self.env.same_shape(left.shape, right.shape):
            return Ty(right.shape if _named(right.shape) else left.shape, refs=refs)
        return Ty(_broadcast(left.shape, right.shape, expr), refs=refs)

    def _array(self, expr: ast.Array) -> Ty:
        """A literal: its entries share one shape, which it gains an axis over."""
        if not self.env.constant_of:
            raise VmpCheckError("a vector or matrix literal can only be the value of a hyper",
                                expr.span, hint="declare `hyper a = [...]` and use a here")
        types = [self.infer(item) for item in expr.items]
        for ty, item in zip(types, expr.items):
            if ty.shape != types[0].shape:
                raise VmpCheckError(
                    f"the entries of this literal differ in shape: {fmt_shape(types[0].shape)} "
                    f"and {fmt_shape(ty.shape)}", item.span,
                    hint="a matrix literal has rows of equal length")
        return Ty((len(types),) + types[0].shape, refs=frozenset().union(*(t.refs for t in types)))

    # ----------------------------------------------------------- indexing
    def _index(self, expr: ast.Index) -> Ty:
        base = self.infer(expr.base)
        name = expr.base.id
        if len(expr.indices) > len(base.shape):
            raise VmpCheckError(
                f"{self.env.describe(name)} has {len(base.shape)} "
                f"ax{'i' if len(base.shape) == 1 else 'e'}s "
                f"(shape {fmt_shape(base.shape)}) but is indexed with {len(expr.indices)}",
                expr.span)
        shape, refs = list(base.shape[len(expr.indices):]), set(base.refs)
        kept = []
        for axis, (dim, index) in enumerate(zip(base.shape, expr.indices)):
            if isinstance(index, ast.Slice):
                kept.append(dim)
                continue
            refs |= self._check_index(name, axis, dim, index).refs
        self.env.note_index(name, _leading(expr.indices))
        return Ty(tuple(kept + shape), base.dtype if not (kept or shape) else "real",
                  base.categories if not (kept or shape) else None, frozenset(refs))

    def _check_index(self, name: str, axis: int, dim, index) -> Ty:
        lagged = isinstance(index, ast.BinOp) and isinstance(index.left, ast.Name) \
            and isinstance(index.right, ast.Num) and index.op in "+-"
        ty = self.env.lag(name, index) if lagged else self.infer(index)
        what = _root(index)
        if ty.shape:
            raise VmpCheckError(
                f"an index must be a single value, but this has shape {fmt_shape(ty.shape)}",
                index.span)
        if ty.dtype != "int" or (what is None and not lagged):
            raise VmpCheckError(
                f"cannot index {name} by {self._index_words(index, what)}: it is real-valued",
                index.span, hint="an index is a plate index, integer data "
                                 "(`data g[N]: int`) or a Categorical latent")
        categories = ty.categories
        if categories is None:
            categories = self.env.note_categories(index, dim)
        if not self.env.same_size(categories, dim):
            raise VmpCheckError(
                f"{self.env.describe(what)} takes values in {categories}, but axis {axis + 1} "
                f"of {name} has size {dim}", index.span,
                hint=f"index an axis of size {categories}, or change the dims")
        return ty

    def _index_words(self, index, what) -> str:
        return self.env.describe(what) if what else "an expression"

    # ----------------------------------------------------------- calls
    def _call(self, expr: ast.Call) -> Ty:
        rule = _CALLS.get(expr.func)
        if rule is None:
            raise _unknown_function(expr, self.env.context)
        arity, shape_of = rule
        if arity is not None and len(expr.args) != arity:
            raise VmpCheckError(
                f"{expr.func} takes {arity} argument{'s' * (arity != 1)}, "
                f"got {len(expr.args)}", expr.span)
        if expr.func in ("zeros", "ones", "eye"):
            return Ty(shape_of([self._size(arg) for arg in expr.args], expr))
        args = [self.infer(arg) for arg in expr.args]
        refs = frozenset().union(*(a.refs for a in args))
        return Ty(shape_of([a.shape for a in args], expr), refs=refs)

    def _size(self, arg):
        """An argument of zeros / ones / eye: a dim or a whole number."""
        if isinstance(arg, ast.Num) and arg.value == int(arg.value) and arg.value > 0:
            return int(arg.value)
        if isinstance(arg, ast.Name) and self.env.is_dim(arg.id):
            return arg.id
        raise VmpCheckError("a size must be a dim or a positive whole number", arg.span,
                            hint="e.g. zeros(D) or ones(3)")


def _root(expr) -> str | None:
    """The variable an index expression reads (``z`` for ``z[n]``)."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Index):
        return expr.base.id
    return None


def _names(expr):
    """Every Name node below an expression (plate indices included)."""
    if isinstance(expr, ast.Name):
        yield expr
    for child in getattr(expr, "args", ()) + getattr(expr, "indices", ()):
        yield from _names(child)
    for attr in ("base", "left", "right", "operand"):
        if hasattr(expr, attr):
            yield from _names(getattr(expr, attr))


def _leading(indices) -> int:
    count = 0
    for index in indices:
        if isinstance(index, ast.Slice):
            break
        count += 1
    return count


def _named(shape: tuple) -> bool:
    return any(isinstance(d, str) for d in shape)


def _broadcast(left: tuple, right: tuple, expr) -> tuple:
    if left == right or not right:
        return left
    if not left:
        return right
    verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}[expr.op]
    raise VmpCheckError(
        f"cannot {verb} shapes {fmt_shape(left)} and {fmt_shape(right)}", expr.span,
        hint="elementwise arithmetic needs equal shapes or a scalar; "
             "use dot(a, b) or a @ b for products")


def _matmul_shape(left: tuple, right: tuple, expr) -> tuple:
    if left and right and left[-1] == right[0]:
        return left[:-1] + right[1:]
    raise VmpCheckError(
        f"matrix product of shapes {fmt_shape(left)} and {fmt_shape(right)}: "
        "the inner sizes must match", expr.span)


def _dot(shapes, expr):
    a, b = shapes
    if len(a) == 1 and a == b:
        return ()
    raise VmpCheckError(
        f"dot needs two vectors of the same length, got shapes {fmt_shape(a)} "
        f"and {fmt_shape(b)}", expr.span)


def _diag(shapes, expr):
    (a,) = shapes
    if len(a) == 1:
        return (a[0], a[0])
    if len(a) == 2 and a[0] == a[1]:
        return (a[0],)
    raise VmpCheckError(f"diag takes a vector or a square matrix, got shape {fmt_shape(a)}",
                        expr.span)


def _filled(sizes, expr):
    if not sizes:
        raise VmpCheckError(f"{expr.func} needs at least one size, e.g. {expr.func}(D)",
                            expr.span)
    return tuple(sizes)


# name -> (number of arguments or None for any, shape rule)
_CALLS = {
    "dot": (2, _dot),
    "sum": (1, lambda shapes, expr: ()),
    "diag": (1, _diag),
    "zeros": (None, _filled),
    "ones": (None, _filled),
    "eye": (1, lambda sizes, expr: (sizes[0], sizes[0])),
}


def _unknown_function(expr: ast.Call, context: str | None):
    if expr.func in NONLINEAR or expr.func in repairs.links():
        where = f" in {context}" if context else ""
        return VmpConjugacyError(
            f"{ast.source_text(expr)}{where} makes the model non-conjugate: variational "
            "message passing needs each random variable to enter linearly, through "
            "+ - * @ dot sum diag",
            expr.span, hint=repairs.nonlinear_call(expr.func))
    hint = did_you_mean(expr.func, _CALLS) or "the functions are " + ", ".join(_CALLS)
    return VmpCheckError(f"unknown function '{expr.func}'", expr.span, hint=hint)
