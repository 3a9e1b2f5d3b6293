"""One error root for everything a user can cause.

Every user error carries a source span (file, line, column) when it has one and
renders as ``file:line:col: message`` followed by the source line and a caret,
the way lark and compilers show it.  Internal failures are translated into a
``VmpError`` at the boundary (the CLI), never shown as tracebacks.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A region of model source; lines and columns are 1-based."""

    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None


class VmpError(Exception):
    """The root of every error a user of vmpdsl can cause."""

    kind = "error"

    def __init__(self, message: str, span: Span | None = None, *,
                 source: str | None = None, filename: str | None = None,
                 hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.source = source
        self.filename = filename
        self.hint = hint

    def with_source(self, source: str, filename: str | None) -> "VmpError":
        """Attach the model text so the error can show its line and caret."""
        if self.source is None:
            self.source = source
        if self.filename is None:
            self.filename = filename
        return self

    @property
    def location(self) -> str:
        """``file:line:col`` of the error, or empty without a span."""
        name = self.filename or "<model>"
        if self.span is None:
            return name
        return f"{name}:{self.span.line}:{self.span.column}"

    def caret_lines(self) -> str:
        """The offending source line with a caret under the error's column."""
        if self.span is None or self.source is None:
            return ""
        lines = self.source.splitlines()
        if not 1 <= self.span.line <= len(lines):
            return ""
        raw = lines[self.span.line - 1]
        # Columns count characters; expand tabs in the prefix the same way as
        # in the shown line so the caret stays under the spot.
        start = len(raw[:self.span.column - 1].expandtabs(4))
        end = start + 1
        if self.span.end_line == self.span.line and self.span.end_column:
            end = max(end, len(raw[:self.span.end_column - 1].expandtabs(4)))
        return f"    {raw.expandtabs(4)}\n    {' ' * start}{'^' * (end - start)}"

    def __str__(self) -> str:
        where = "" if self.span is None and self.filename is None else f"{self.location}: "
        parts = [f"{where}{self.kind}: {self.message}"]
        context = self.caret_lines()
        if context:
            parts.append(context)
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class VmpSyntaxError(VmpError):
    """The model text does not parse (line, column and caret)."""
    kind = "syntax error"


class VmpCheckError(VmpError):
    """The model parses but is ill-formed (unknown names, shapes, roles)."""
    kind = "model error"


class VmpConjugacyError(VmpError):
    """A factor is not conjugate-exponential in one of its variables."""
    kind = "not conjugate"


class VmpDataError(VmpError):
    """Bad data or hyperparameters handed to fit (no source span)."""

    kind = "data error"
