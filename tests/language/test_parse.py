"""The parser: every example model, every syntactic form, and errors that are never lark's."""
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmpdsl.errors import Span, VmpError, VmpSyntaxError
from vmpdsl.language import ast, check, parse
from vmpdsl.language.parse import _parser, grammar_text

MODELS = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.vmp"))


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_example_model_parses(path):
    program = parse(path.read_text(), filename=str(path))
    assert isinstance(program.statements[0], ast.ModelDecl)
    assert program.statements[0].name == path.stem
    assert program.filename == str(path)


def test_parser_is_built_once_from_the_grammar_file():
    assert _parser() is _parser()
    assert "start:" in grammar_text()


def _only(text):
    (stmt,) = parse(text).statements
    return stmt


def _value(expr_text):
    return _only(f"hyper h = {expr_text}\n").items[0].value


def test_declarations():
    dims = _only("dim N, K = 3\n")
    assert [(i.name, i.default) for i in dims.items] == [("N", None), ("K", ast.Num(3.0))]
    data = _only("data doc[T], word[T]: int\n")
    assert data.dtype == "int" and [i.name for i in data.items] == ["doc", "word"]
    assert data.items[0].shape == (ast.Name("T"),)
    assert _only("data X[N, D]\n").dtype == "real"
    assert _only("param Lambda[K, D, D]\n").items[0].shape == (
        ast.Name("K"), ast.Name("D"), ast.Name("D"))
    hyper = _only("hyper nu0 = D, W0 = eye(D)\n")
    assert hyper.items[1].value == ast.Call("eye", (ast.Name("D"),))
    point = _only("point w ~ MvNormal(zeros(D), lambda * eye(D))\n")
    assert point.point and point.target == ast.Name("w")


@pytest.mark.parametrize("text, value", [("1", 1.0), ("2.5", 2.5), ("1e-3", 1e-3),
                                          ("-0.5", -0.5), ("3E+2", 300.0), (".5", 0.5)])
def test_numbers(text, value):
    assert _value(text) == ast.Num(value)


def test_operator_precedence_and_unary_minus():
    expr = _value("a + b * c @ d - -e / 2")
    b, c, d, e = (ast.Name(x) for x in "bcde")
    product = ast.BinOp("@", ast.BinOp("*", b, c), d)
    assert expr == ast.BinOp("-", ast.BinOp("+", ast.Name("a"), product),
                             ast.BinOp("/", ast.Neg(e), ast.Num(2.0)))
    assert _value("(a + b) * c").op == "*"


def test_indexing_forms():
    assert _value("X[n]") == ast.Index(ast.Name("X"), (ast.Name("n"),))
    assert _value("a[n, :]").indices == (ast.Name("n"), ast.Slice())
    nested = _value("mu[z[n]]")
    assert nested.indices == (ast.Index(ast.Name("z"), (ast.Name("n"),)),)


def test_unicode_and_python_keywords_are_names():
    program = parse("hyper α = 1.0, λ = 2.0, lambda = 3.0, class = 4.0\n")
    assert [i.name for i in program.statements[0].items] == ["α", "λ", "lambda", "class"]


def test_blocks_one_line_plates_comments_and_line_endings():
    text = ("# leading comment\r\nmodel m  # trailing\r\n\r\ndim N, D\r\n"
            "for n in N: for d in D: y[n, d] ~ Normal(0.0, 1.0)\r\n"
            "for n in N:\r\n    # comment-only line inside a block\r\n\r\n"
            "    x[n] ~ Normal(0.0, 1.0)\r\n    z[n] ~ Normal(0.0, 1.0)")
    stmts = parse(text).statements
    assert [type(s).__name__ for s in stmts] == ["ModelDecl", "DimDecl", "For", "For"]
    inline = stmts[2]
    assert isinstance(inline.body[0], ast.For) and inline.body[0].dim == "D"
    assert [s.target.base.id for s in stmts[3].body] == ["x", "z"]


def test_spans_point_at_the_source():
    program = parse("dim N\nfor n in N:\n    y[n] ~ Normal(mu, 1.0)\n")
    loop = program.statements[1]
    assert loop.span == Span(2, 1, 2, 11) and loop.dim_span == Span(2, 10, 2, 11)
    tilde = loop.body[0]
    assert tilde.span.line == 3 and tilde.span.column == 5
    assert tilde.dist.args[0].span == Span(3, 19, 3, 21)


def test_syntax_error_names_file_and_keeps_source():
    with pytest.raises(VmpSyntaxError) as info:
        parse("dim N\nx ~ Normal(1 +)\n", filename="m.vmp")
    err = info.value
    assert err.filename == "m.vmp" and err.source.startswith("dim N")
    assert str(err).startswith("m.vmp:2:15: syntax error: expected an expression after '+'")


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_every_prefix_of_a_model_fails_cleanly(path):
    """Truncating a model anywhere gives a model, or a VmpError; never a crash."""
    text = path.read_text()
    for cut in range(0, len(text), 3):
        try:
            check(parse(text[:cut]))
        except VmpError as err:
            assert err.span is None or err.span.line >= 1


_ALPHABET = st.sampled_from(list("abNKxyz0123.e+-*/@~()[],:= \n    #\t$")
                            + ["for ", "in ", "dim ", "data ", "hyper ", "Normal",
                               "Gamma", "MvNormal", "Categorical", "eye(", "dot(", "zeros("])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_random_text_never_raises_anything_but_vmp_errors(text):
    try:
        check(parse(text))
    except VmpError as err:
        assert str(err)


@pytest.mark.parametrize("text", [
    "model m\ndim N\ndata y[N]\nfor n in N:\n    y[n] ~ Normal(y[n]",
    "model m\ndim N\nfor n in N:\n    for m in N:\n        x[n] ~ Normal(0.0,",
    "model m\ndim N\ndata y[N]\nfor n in N:\n    y[n] ~ Normal(y[",
], ids=["unclosed-call", "nested-dedent", "unclosed-index"])
def test_an_error_at_the_end_of_the_file_points_inside_it(text):
    """Found by fuzzing: the file's closing dedent sits on the line after the
    last, and the caret must not point past the text."""
    with pytest.raises(VmpSyntaxError) as info:
        parse(text, "m.vmp")
    span, lines = info.value.span, text.splitlines()
    assert 1 <= span.line <= len(lines)
    assert "^" in str(info.value)
