"""Printing the derived updates as a textbook would (no sympy).

``equations(derivation, style, steps)`` → ``Equations``: prints as plain text,
``.latex`` is an amsmath fragment, and Jupyter shows it through
``_repr_latex_``.  The pipeline: ``collect`` (monomials and squares per
statistic, simplified exactly) → ``formulas`` (each family's parameters) →
``blocks`` (one block per update, then the "where" block) with ``render``
doing the notation.
"""
from __future__ import annotations

import re

from .blocks import render
from .collect import Context, collect
from .style import STYLES


class Equations(str):
    """The derived updates: a ``str`` (plain text, or LaTeX if asked for) that
    also knows its other form; ``_repr_latex_`` shows it in Jupyter."""

    def __new__(cls, text: str, derivation, steps: bool):
        obj = super().__new__(cls, text)
        obj._derivation, obj._steps = derivation, steps
        return obj

    @property
    def text(self) -> str:
        return equations_text(self._derivation, "text", self._steps)

    @property
    def latex(self) -> str:
        return equations_text(self._derivation, "latex", self._steps)

    def _repr_latex_(self) -> str:
        """One display for Jupyter (MathJax has no \\intertext: a text row instead)."""
        body = re.sub(r"\\intertext\{(.*)\}", r"&\\text{\1} \\\\", self.latex)
        return "$$" + body.replace("align*", "aligned") + "$$"


def equations_text(derivation, style: str = "text", steps: bool = False) -> str:
    if style not in STYLES:
        raise ValueError(f"style must be 'text' or 'latex', got {style!r}")
    ctx = Context(derivation)
    text = render(ctx, collect(ctx), STYLES[style], steps)
    if style == "text":  # the local / global split and its row statistics
        from .locality import locality_section
        text = "\n\n".join(t for t in (text, locality_section(ctx, STYLES[style])) if t)
    return text


def equations(derivation, style: str = "text", steps: bool = False) -> Equations:
    return Equations(equations_text(derivation, style, steps), derivation, steps)
