"""What the parser accepts beyond the grammar: the text's encoding marks and
the size of one expression.

* A UTF-8 byte-order mark (Windows editors write one) is not part of the model.
* Bidirectional control characters (U+202A…U+202E, U+2066…U+2069, U+200E/F,
  U+061C) make text display in an order other than the one it runs in
  ("Trojan Source"); outside comments the lexer already refuses them, inside
  a comment they are legal but get a warning naming the line.
* One expression may nest at most ``MAX_DEPTH`` operators deep.  Every later
  stage (check, derive, the printed NumPy, Python's own parser with its limit
  of 200 nested parentheses) walks expressions recursively; past this depth the
  user gets a located error instead of a RecursionError or a module that
  cannot be compiled.
"""
from __future__ import annotations

import math
import operator
import warnings

from lark import Tree

from ..errors import Span, VmpCheckError, VmpSyntaxError
from . import ast

BOM = "\ufeff"
BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
        "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"}
MAX_DEPTH = 100


def without_bom(text: str) -> str:
    return text[1:] if text.startswith(BOM) else text


def warn_bidi(text: str, filename: str | None):
    """One warning for the first bidirectional control character, if any."""
    for number, line in enumerate(text.splitlines(), start=1):
        for column, char in enumerate(line, start=1):
            if char in BIDI:
                warnings.warn(f"{filename or '<model>'}:{number}:{column}: the model holds the "
                              f"bidirectional control character U+{ord(char):04X}; the text may "
                              f"not run in the order it displays", UserWarning, stacklevel=4)
                return


def check_depth(tree: Tree):
    """Refuse an expression nested deeper than MAX_DEPTH, pointing at its
    statement (iteratively: the tree itself may be too deep for recursion)."""
    stack = [(child, 1, child) for child in tree.children if isinstance(child, Tree)]
    while stack:
        node, depth, statement = stack.pop()
        if depth > MAX_DEPTH:
            meta = statement.meta
            raise VmpSyntaxError(
                f"an expression here nests more than {MAX_DEPTH} operations deep",
                Span(meta.line, meta.column, meta.line, meta.column + 1),
                hint="split it into several hypers or variables; a sum of many terms can "
                     "often be written with sum(...) over a dim")
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1, statement))


def check_literal_hypers(hypers: dict):
    """A hyper written with numbers alone (``hyper h = 1.0/0.0``) is computed
    now, so a division by zero or an overflow points at its text; one with dims
    or other hypers is checked when the fit knows them (checks.hyper_value)."""
    for name, expr in hypers.items():
        try:
            value = _literal_value(expr)
            problem = None if value is None or math.isfinite(value) else \
                "it overflows (past about 1.8e308)"
        except ZeroDivisionError:
            problem = "it divides by zero"
        except OverflowError:
            problem = "it overflows (past about 1.8e308)"
        if problem:
            raise VmpCheckError(f"hyper {name} cannot be computed: {problem}", expr.span)


def _literal_value(expr):
    """The value of numbers joined by + - * / and signs; None for anything else."""
    if isinstance(expr, ast.Num):
        return float(expr.value)
    if isinstance(expr, ast.Neg):
        inner = _literal_value(expr.operand)
        return None if inner is None else -inner
    if isinstance(expr, ast.BinOp) and expr.op in "+-*/":
        left, right = _literal_value(expr.left), _literal_value(expr.right)
        if left is None or right is None:
            return None
        return {"+": operator.add, "-": operator.sub, "*": operator.mul,
                "/": operator.truediv}[expr.op](left, right)
    return None
