"""The front end: parse (lark → AST) and check (AST → typed model)."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import VmpError
from .check import check
from .model import CheckedModel
from .parse import parse

__all__ = ["parse", "check", "read_model", "model_source", "read_source"]


def read_model(path_or_text: str | os.PathLike, filename: str | None = None) -> CheckedModel:
    """Parse and check a model given as a path to a .vmp file or as its source text."""
    return check(parse(*model_source(path_or_text, filename)))


def model_source(path_or_text: str | os.PathLike, filename: str | None = None) -> tuple:
    """The model text and the filename for messages, from a path or the text.

    A string is taken as a path when it names an existing file (``~`` expands to
    the home directory); anything else, and anything with a newline, is model
    text — except a lone name ending in ``.vmp``, which is a missing file.
    """
    path = _as_path(path_or_text)
    if path is not None:
        return read_source(path), filename or str(path)
    text = str(path_or_text)
    if "\n" not in text and text.strip().endswith(".vmp"):
        raise VmpError("no such model file", filename=text)
    return text, filename


def read_source(path) -> str:
    """The text of a model file; a missing or unreadable file is a user error."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VmpError("no such model file", filename=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise VmpError(f"cannot read the model file: {err}", filename=str(path)) from None


def _as_path(value) -> Path | None:
    if isinstance(value, os.PathLike):
        return Path(value)
    if "\n" in value:
        return None
    try:
        path = Path(value).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError):  # names too long for the file system, NUL bytes
        return None
