"""The abstract syntax of a .vmp model: frozen dataclasses with source spans.

The lark parse tree never leaves ``parse.py``; every later stage works on these
nodes and can point at the user's line through ``span``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Span


# ---------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Num:
    value: float
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class Slice:
    """A bare ``:`` inside an index, e.g. ``a[n, :]``."""

    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class Index:
    """``base[i, j, ...]``; each index is an expression or a Slice."""

    base: "Expr"
    indices: tuple
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with op one of ``+ - * / @``."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class Neg:
    operand: "Expr"
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class Call:
    """A built-in function: dot, sum, diag, zeros, ones, eye."""

    func: str
    args: tuple
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class Array:
    """A vector or matrix literal ``[1.0, 5.0]``, ``[[1, 0], [0, 1]]`` (hypers only)."""

    items: tuple
    span: Span = field(compare=False, default=None)


Expr = Num | Name | Index | BinOp | Neg | Call | Array

BUILTINS = ("dot", "sum", "diag", "zeros", "ones", "eye")


def source_text(expr) -> str:
    """An expression as the user would write it (for messages)."""
    if isinstance(expr, Num):
        return repr(expr.value) if not float(expr.value).is_integer() else str(int(expr.value))
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Slice):
        return ":"
    if isinstance(expr, Index):
        return f"{source_text(expr.base)}[{', '.join(map(source_text, expr.indices))}]"
    if isinstance(expr, BinOp):
        return f"{_operand(expr.left)} {expr.op} {_operand(expr.right)}"
    if isinstance(expr, Neg):
        return f"-{_operand(expr.operand)}"
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(map(source_text, expr.args))})"
    if isinstance(expr, Array):
        return f"[{', '.join(map(source_text, expr.items))}]"
    return "..."


def _operand(expr) -> str:
    text = source_text(expr)
    return f"({text})" if isinstance(expr, (BinOp, Neg)) else text


# --------------------------------------------------------------- declarations
@dataclass(frozen=True)
class Dist:
    """The right-hand side of ``~``: a distribution and its arguments."""

    name: str
    args: tuple
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class ModelDecl:
    name: str
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class DimItem:
    name: str
    default: Expr | None
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class DimDecl:
    items: tuple  # of DimItem
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class ArrayItem:
    """``name[dim, ...]`` in a data or param declaration (shape may be empty)."""

    name: str
    shape: tuple  # of Name (dims) or Num (fixed sizes)
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class DataDecl:
    items: tuple  # of ArrayItem
    dtype: str  # "real" or "int"
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class ParamDecl:
    items: tuple  # of ArrayItem
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class HyperItem:
    name: str
    value: Expr
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class HyperDecl:
    items: tuple  # of HyperItem
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class Tilde:
    """``[point] target ~ Dist(...)``; target is a Name or an Index."""

    target: Expr
    dist: Dist
    point: bool
    span: Span = field(compare=False, default=None)


@dataclass(frozen=True)
class For:
    """``for index in dim:`` followed by an indented (or one-line) body.

    ``for t in T[start:stop]:`` runs over a slice: ``start`` counts from 0,
    ``stop`` is None (to the end) or a number (negative: from the end)."""

    index: str
    dim: str
    body: tuple
    span: Span = field(compare=False, default=None)
    dim_span: Span = field(compare=False, default=None)
    start: int = 0
    stop: int | None = None


Statement = ModelDecl | DimDecl | DataDecl | ParamDecl | HyperDecl | Tilde | For


@dataclass(frozen=True)
class Program:
    statements: tuple
    source: str = field(compare=False, default="")
    filename: str | None = field(compare=False, default=None)
