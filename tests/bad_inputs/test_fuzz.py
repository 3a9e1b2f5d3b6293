"""Parser fuzzing: mutations of the example models (tokens deleted, duplicated,
swapped; random bytes; deep nesting; a 10 000-line model) give a checked model
or a VmpError with a location — never another exception, never a hang."""
import pathlib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmpdsl.errors import VmpError
from vmpdsl.language import check, parse

MODELS = sorted((pathlib.Path(__file__).resolve().parents[2] / "models").glob("*.vmp"))
TEXTS = [p.read_text(encoding="utf-8") for p in MODELS]
TOKEN = re.compile(r"\s+|\w+|.", re.S)
FUZZ = settings(max_examples=120, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def outcome(text: str):
    """Parse and check; a VmpError must carry a location inside the text."""
    try:
        return check(parse(text, filename="fuzz.vmp"))
    except VmpError as err:
        rendered = str(err)
        assert rendered.startswith("fuzz.vmp"), rendered
        if err.span is not None:
            assert 1 <= err.span.line <= max(1, text.count("\n") + 1), (err.span, text)
        return err


@st.composite
def mutated(draw):
    tokens = TOKEN.findall(draw(st.sampled_from(TEXTS)))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens.insert(i, draw(st.sampled_from(
                ["(", ")", "[", "]", ",", ":", "~", "=", "\n", "    ", "\t", "#", "@", "-",
                 "for", "in", "data", "dim", "point", "1e999", "0", "'''", '"""', "\\", "λ"])))
    return "".join(tokens)


@FUZZ
@given(mutated())
def test_token_mutations(text):
    outcome(text)


@FUZZ
@given(st.sampled_from(TEXTS), st.binary(min_size=1, max_size=12), st.floats(0, 1))
def test_random_bytes(text, junk, where):
    cut = int(where * len(text))
    outcome(text[:cut] + junk.decode("utf-8", errors="replace") + text[cut:])


@settings(max_examples=40, deadline=2000)
@given(st.integers(1, 300), st.sampled_from(["(", "[", "-", "(-"]))
def test_deep_nesting(depth, opener):
    closer = {"(": ")", "[": "]", "-": "", "(-": ")"}[opener]
    expr = opener * depth + "1.0" + closer * depth
    outcome(f"dim N\ndata x[N]\nmu ~ Normal({expr}, 1.0)\nfor n in N:\n    x[n] ~ Normal(mu, 1.0)\n")


@pytest.mark.parametrize("depth", [50, 200])
def test_deeply_nested_plates(depth):
    lines = ["dim N"]
    for i in range(depth):
        lines.append("    " * i + f"for i{i} in N:")
    lines.append("    " * depth + "mu ~ Normal(0.0, 1.0)")
    assert isinstance(outcome("\n".join(lines) + "\n"), VmpError)


def test_ten_thousand_line_model_compiles():
    """Its time is a benchmark row (benchmarks/front_end.py, `make bench`)."""
    body = "".join(f"mu{i} ~ Normal(0.0, 1.0)\n" for i in range(10_000))
    model = outcome("dim N\n" + body)
    assert not isinstance(model, VmpError) and len(model.variables) == 10_000
    bad = "dim N\n" + body + "oops ~ Normal(0.0,\n"
    err = outcome(bad)
    assert isinstance(err, VmpError) and err.span.line >= 10_001


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_compile_or_fail_cleanly(text):
    """The whole pipeline (derive, lower, emit, load) on mutants that check."""
    import vmpdsl
    if isinstance(outcome(text), VmpError):
        return
    try:
        vmpdsl.load(text)
    except VmpError as err:
        assert str(err)
