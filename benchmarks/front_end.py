"""The front end on a long model: parse and check a 10,000-line model, and
find the error at its end (tests/bad_inputs/test_fuzz.py checks that both
work; how long they take is measured here, not asserted in the test suite)."""
import time

from vmpdsl.errors import VmpError
from vmpdsl.language import check, parse

LINES = 10_000


def long_model(lines: int = LINES) -> str:
    return "dim N\n" + "".join(f"mu{i} ~ Normal(0.0, 1.0)\n" for i in range(lines))


def measure(lines: int = LINES) -> dict:
    """Seconds to parse and check the model, and to reject it with a syntax
    error on its last line (the error must point there)."""
    text = long_model(lines)
    t0 = time.perf_counter()
    model = check(parse(text, filename="long.vmp"))
    check_s = time.perf_counter() - t0
    assert len(model.variables) == lines
    t0 = time.perf_counter()
    try:
        check(parse(text + "oops ~ Normal(0.0,\n", filename="long.vmp"))
        raise AssertionError("the truncated model was accepted")
    except VmpError as err:
        assert err.span is not None and err.span.line >= lines + 1, err
    return {"lines": lines, "check_s": check_s, "error_s": time.perf_counter() - t0}


def markdown(row: dict) -> list:
    return [f"## Front end ({row['lines']:,}-line model)", "",
            "| parse + check | parse until the error on the last line |", "|---|---|",
            f"| {row['check_s'] * 1e3:.0f} ms | {row['error_s'] * 1e3:.0f} ms |", ""]


if __name__ == "__main__":
    print("\n".join(markdown(measure())))
