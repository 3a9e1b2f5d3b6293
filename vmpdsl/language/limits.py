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

import warnings

from lark import Tree

from ..errors import Span, VmpSyntaxError

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
