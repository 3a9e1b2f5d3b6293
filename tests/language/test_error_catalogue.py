"""Every malformed model of the catalogue gives its message at its line and column."""
import pytest

from bad_models import BAD_MODELS
from vmpdsl.errors import VmpCheckError, VmpConjugacyError, VmpError, VmpSyntaxError
from vmpdsl.language import check, parse

IDS = [row[0] for row in BAD_MODELS]


def _error_of(text: str) -> VmpError:
    with pytest.raises(VmpError) as info:
        check(parse(text, filename="bad.vmp"))
    return info.value


def test_catalogue_is_large_and_ids_are_unique():
    assert len(BAD_MODELS) >= 35
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("text, expected, line, column", [row[1:] for row in BAD_MODELS],
                         ids=IDS)
def test_bad_model(text, expected, line, column):
    err = _error_of(text)
    rendered = str(err)
    for part in expected if isinstance(expected, tuple) else (expected,):
        assert part in rendered
    assert (err.span.line, err.span.column) == (line, column)
    assert rendered.startswith(f"bad.vmp:{line}:{column}: ")
    source_line, caret_line = rendered.splitlines()[1:3]
    assert source_line.strip() == text.splitlines()[line - 1].strip()
    assert caret_line.strip().startswith("^")
    assert caret_line.index("^") == 4 + column - 1  # under the reported column


@pytest.mark.parametrize("text", [row[1] for row in BAD_MODELS], ids=IDS)
def test_error_kind_matches_the_stage(text):
    err = _error_of(text)
    try:
        parse(text)
    except VmpSyntaxError:
        assert isinstance(err, VmpSyntaxError)
    else:
        assert isinstance(err, (VmpCheckError, VmpConjugacyError))
