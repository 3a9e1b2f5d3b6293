"""The front end: parse (lark → AST) and check (AST → typed model)."""
from __future__ import annotations

import os
from pathlib import Path

from .check import check
from .model import CheckedModel
from .parse import parse

__all__ = ["parse", "check", "read_model"]


def read_model(path_or_text: str | os.PathLike, filename: str | None = None) -> CheckedModel:
    """Parse and check a model given as a path to a .vmp file or as its source text.

    A string is taken as a path when it names an existing file (``~`` expands to
    the home directory); anything else, and anything with a newline, is model text.
    """
    path = _as_path(path_or_text)
    if path is not None:
        text = path.read_text(encoding="utf-8")
        return check(parse(text, filename or str(path)))
    return check(parse(str(path_or_text), filename))


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
