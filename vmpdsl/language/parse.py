"""Parse .vmp text into the AST of ``ast.py``.

The grammar (grammar/vmp.lark) is the single source of the syntax.  The lark
parse tree never leaves this module: ``_ToAst`` turns it into frozen
dataclasses carrying source spans, and every lark exception becomes a
``VmpSyntaxError`` phrased for a modeller (see ``_syntax_error``).
"""
from __future__ import annotations

import functools
import math
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (UnexpectedCharacters, UnexpectedInput, UnexpectedToken,
                             VisitError)
from lark.indenter import Indenter

from ..errors import Span, VmpSyntaxError
from . import ast
from .limits import check_depth, warn_bidi, without_bom

__all__ = ["parse", "grammar_text"]

# Terminals a reader knows by a description rather than by their text.
_TOKEN_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "_NL": "the end of the line",
    "_INDENT": "an indented block", "_DEDENT": "the end of the block",
    "$END": "the end of the model",
}
_EXPR_START = {"NAME", "NUMBER", "LPAR", "MINUS"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "AT"}
_RESERVED = {"MODEL", "DIM", "DATA", "HYPER", "PARAM", "POINT", "FOR", "IN"}


def grammar_text() -> str:
    """The grammar: from grammar/ in a source checkout, else the installed package data."""
    root = Path(__file__).resolve().parents[2]
    checkout = root / "grammar" / "vmp.lark"
    if checkout.is_file() and (root / "pyproject.toml").is_file():
        return checkout.read_text(encoding="utf-8")
    return resources.files("vmpdsl.grammar").joinpath("vmp.lark").read_text(encoding="utf-8")


class _Indenter(Indenter):
    """Python-style INDENT/DEDENT tokens, with errors in the user's terms.

    It also remembers the last two tokens handed to the parser, so that a parse
    error can say what came *before* the unexpected token ("after '+'").
    """

    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB"]
    CLOSE_PAREN_types = ["RPAR", "RSQB"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    def process(self, stream):
        self.history = [None, None]
        self.open_brackets = []
        for token in super().process(stream):
            self.history = [self.history[1], token]
            if token.type in self.OPEN_PAREN_types:
                self.open_brackets.append(token)
            elif token.type in self.CLOSE_PAREN_types and self.open_brackets:
                self.open_brackets.pop()
            yield token

    def handle_NL(self, token):
        indent_str = token.rsplit("\n", 1)[1].rsplit("\f", 1)[-1]  # \f resets, as in Python
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        if self.paren_level == 0 and indent < self.indent_level[-1] \
                and indent not in self.indent_level:
            raise VmpSyntaxError(
                "unindent does not match any outer indentation level",
                Span(token.end_line, token.end_column),
                hint="indent the statements of one block by the same amount")
        yield from super().handle_NL(token)

    def _process(self, stream):
        # Lark's version asserts on a stray ')' before the parser can report it.
        for token in super()._process(self._clamped(stream)):
            yield token

    def _clamped(self, stream):
        for token in stream:
            if token.type in self.CLOSE_PAREN_types and self.paren_level == 0:
                self.paren_level = 1  # the parser rejects the token itself
            yield token


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    """Built once: LALR tables take a while to compute, parsing is then fast."""
    return Lark(grammar_text(), parser="lalr", postlex=_Indenter(),
                propagate_positions=True, maybe_placeholders=True)


def parse(text: str, filename: str | None = None) -> ast.Program:
    """Parse model source into an ``ast.Program``; raise ``VmpSyntaxError``."""
    text = without_bom(text)
    warn_bidi(text, filename)
    source = text if text.endswith("\n") else text + "\n"
    parser = _parser()
    try:
        tree = parser.parse(source)
        check_depth(tree)
        statements = _ToAst().transform(tree)
    except UnexpectedInput as err:
        error = _syntax_error(err, parser)
        error.span = _within(error.span, text)
        raise error.with_source(text, filename) from None
    except VmpSyntaxError as err:
        raise err.with_source(text, filename) from None
    except VisitError as err:  # a conversion rule rejected a value
        if isinstance(err.orig_exc, VmpSyntaxError):
            raise err.orig_exc.with_source(text, filename) from None
        raise
    return ast.Program(tuple(statements), source=text, filename=filename)


# ------------------------------------------------------------ error messages
def _describe(token_type: str, parser: Lark) -> str:
    if token_type in _TOKEN_WORDS:
        return _TOKEN_WORDS[token_type]
    try:
        pattern = parser.get_terminal(token_type).pattern
    except KeyError:
        return token_type.lower()
    return f"'{pattern.value}'"


def _show(token) -> str:
    if token is None:
        return "the start of the model"
    if token.type in _TOKEN_WORDS and token.type not in ("NAME", "NUMBER"):
        return _TOKEN_WORDS[token.type]
    return f"'{token}'"


def _expected(err: UnexpectedToken) -> set:
    """What the parser could take here (the contextual lexer reports less)."""
    state = err.state
    try:
        return {t for t in state.parse_conf.states[state.position] if t.isupper()}
    except AttributeError:
        return set(err.expected)


def _previous(err: UnexpectedToken, parser: Lark):
    before, last = parser.options.postlex.history
    return before if last is err.token else last


def _syntax_error(err: UnexpectedInput, parser: Lark) -> VmpSyntaxError:
    if isinstance(err, UnexpectedCharacters):
        char = err.char if err.char not in "\t\r" else repr(err.char)
        return VmpSyntaxError(f"unexpected character '{char}'",
                              Span(err.line, err.column, err.line, err.column + 1),
                              hint="names are letters, digits and _; "
                                   "operators are + - * / @ and ~")
    token, expected = err.token, _expected(err)
    prev = _previous(err, parser)
    message, hint = _token_message(token, expected, prev, parser)
    opened = parser.options.postlex.open_brackets
    if opened and hint is None and token.line > opened[-1].line:
        hint = f"is the '{opened[-1]}' on line {opened[-1].line} left unclosed?"
    return VmpSyntaxError(message, _token_span(token), hint=hint)


def _within(span: Span, text: str) -> Span:
    """A position past the end (the closing dedent of the file, which sits on
    the line after the last) points at the end of the last line instead."""
    lines = text.splitlines() or [""]
    if span.line <= len(lines):
        return span
    end = len(lines[-1]) + 1
    return Span(len(lines), end, len(lines), end + 1)


def _token_span(token) -> Span:
    if token.type in ("_INDENT", "_DEDENT"):
        return Span(token.end_line, token.end_column)
    width = len(token) if token.type not in ("_NL", "$END") else 1
    return Span(token.line, token.column, token.line, token.column + width)


def _wanted(expected: set, parser: Lark) -> str:
    words = sorted(_describe(t, parser) for t in expected - _OPERATORS)
    if _OPERATORS <= expected:
        words.insert(0, "an operator")
    return " or ".join(words)


def _token_message(token, expected, prev, parser):
    """(message, hint) for an unexpected token, most specific case first."""
    if token.type == "_INDENT":
        return "unexpected indentation", "only the body of a `for` is indented"
    if "_INDENT" in expected:
        return ("expected an indented block after the `for ... :` line",
                "indent the statements of the plate, or write `for n in N: stmt`")
    if token.type in _RESERVED and "NAME" in expected:
        return (f"'{token}' is a reserved word and cannot be used as a name",
                "choose another name")
    if prev is not None and prev.type in _RESERVED and "NAME" in expected:
        return (f"expected a name after '{prev}', found {_show(token)}",
                f"'{prev}' is a reserved word: it cannot name a variable" if
                token.type in ("TILDE", "LSQB") else None)
    if prev is not None and prev.type == "NUMBER" and token.type == "NAME" \
            and str(token).startswith("_"):
        return (f"'{prev}{token}' is not a number: numbers have no digit separators",
                f"write {prev}{str(token).replace('_', '')}")
    if prev is not None and prev.type == "TILDE":
        return (f"expected a distribution after '~', found {_show(token)}",
                "write e.g. `x ~ Normal(0.0, 1.0)`")
    if _EXPR_START <= expected and token.type not in _EXPR_START:
        where = "" if prev is None else f" after {_show(prev)}"
        return f"expected an expression{where}, found {_show(token)}", None
    wanted = _wanted(expected, parser)
    if token.type == "$END":
        return f"the model ends too early: expected {wanted}", None
    if token.type == "_NL":
        return f"the line ends too early after {_show(prev)}: expected {wanted}", None
    hint = "a constant is declared with `hyper name = value`" \
        if token.type == "EQUAL" and "TILDE" in expected else None
    return f"unexpected {_show(token)} after {_show(prev)}; expected {wanted}", hint


# ------------------------------------------------------------ tree to AST
def _span(meta) -> Span:
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tspan(token: Token) -> Span:
    return Span(token.line, token.column, token.end_line, token.end_column)


@v_args(meta=True)
class _ToAst(Transformer):
    """One method per grammar rule; each returns an ``ast`` node."""

    def start(self, meta, children):
        return children

    # declarations
    def model_decl(self, meta, c):
        return ast.ModelDecl(str(c[0]), _tspan(c[0]))

    def dim_decl(self, meta, items):
        return ast.DimDecl(tuple(items), _span(meta))

    def dim_item(self, meta, c):
        return ast.DimItem(str(c[0]), c[1], _tspan(c[0]))

    def data_decl(self, meta, c):
        dtype = c[-1]
        if dtype is not None and str(dtype) not in ("int", "real"):
            raise VmpSyntaxError(f"unknown data type '{dtype}'", _tspan(dtype),
                                 hint="write `: int` for integer data; data is real otherwise")
        return ast.DataDecl(tuple(c[:-1]), str(dtype or "real"), _span(meta))

    def param_decl(self, meta, items):
        return ast.ParamDecl(tuple(items), _span(meta))

    def array_item(self, meta, c):
        return ast.ArrayItem(str(c[0]), tuple(c[1:]), _tspan(c[0]))

    def shape_dim(self, meta, c):
        token = c[0]
        if token.type == "NAME":
            return ast.Name(str(token), _tspan(token))
        if not token.isdigit():
            raise VmpSyntaxError(f"an array size must be a dim or a whole number, not {token}",
                                 _tspan(token))
        return ast.Num(int(token), _tspan(token))

    def hyper_decl(self, meta, items):
        return ast.HyperDecl(tuple(items), _span(meta))

    def hyper_item(self, meta, c):
        return ast.HyperItem(str(c[0]), c[1], _tspan(c[0]))

    def tilde(self, meta, c):
        point, target, dist = c
        return ast.Tilde(target, dist, point is not None, _span(meta))

    def target(self, meta, c):
        name = ast.Name(str(c[0]), _tspan(c[0]))
        if len(c) == 1:
            return name
        return ast.Index(name, tuple(c[1:]), _span(meta))

    def dist(self, meta, c):
        return ast.Dist(str(c[0]), tuple(c[1:]), _span(meta))

    def for_stmt(self, meta, c):
        index, dim, bounds, *body = c
        end = bounds[2] if bounds is not None else _tspan(dim)
        header = Span(meta.line, meta.column, end.end_line, end.end_column)
        start, stop = (bounds[0] or 0, bounds[1]) if bounds is not None else (0, None)
        return ast.For(str(index), str(dim), tuple(body), header, _tspan(dim), start, stop)

    def plate_slice(self, meta, c):
        start, _, stop = c
        return start, stop, _span(meta)

    def slice_bound(self, meta, c):
        sign, number = c
        if not number.isdigit():
            raise VmpSyntaxError(f"a plate slice bound must be a whole number, not {number}",
                                 _tspan(number), hint="write e.g. `for t in T[1:]`")
        return -int(number) if sign is not None else int(number)

    # expressions
    def number(self, meta, c):
        value = float(c[0])
        if not math.isfinite(value):  # 1e999: a float would be inf
            raise VmpSyntaxError(f"the number {c[0]} is too large (the largest is about "
                                 f"1.8e308)", _span(meta))
        return ast.Num(value, _span(meta))

    def name(self, meta, c):
        return ast.Name(str(c[0]), _span(meta))

    def index(self, meta, c):
        return ast.Index(ast.Name(str(c[0]), _tspan(c[0])), tuple(c[1:]), _span(meta))

    def slice(self, meta, c):
        return ast.Slice(_span(meta))

    def call(self, meta, c):
        return ast.Call(str(c[0]), tuple(c[1:]), _span(meta))

    def array(self, meta, c):
        return ast.Array(tuple(c), _span(meta))

    def neg(self, meta, c):
        operand = c[0]
        if isinstance(operand, ast.Num):  # `-0.5` is a number, as the user reads it
            return ast.Num(-operand.value, _span(meta))
        return ast.Neg(operand, _span(meta))

    def _binop(op):
        def method(self, meta, c):
            return ast.BinOp(op, c[0], c[1], _span(meta))
        return method

    add, sub, mul = _binop("+"), _binop("-"), _binop("*")
    div, matmul = _binop("/"), _binop("@")
    del _binop
