"""Emitting the non-conjugate terms (derive/nonconjugate.py): their data
arrays once per fit, the Newton call in their variable's update (emit/newton.py)
and their share of the ELBO.  Called from numpy_emit.py at three places.
"""
from __future__ import annotations

from ..derive.expressions import DerivedConst
from ..derive.nonconjugate import ExpTerm, LgammaTerm


def records_of(program, name: str | None = None) -> list:
    found = getattr(program.derivation, "nonconjugate", [])
    return [r for r in found if name is None or r.var == name]


def constant_lines(program) -> list:
    """K['@xI'] = the design of ExpTerm I (rows × D), K['@yI'] = its offsets."""
    from .numpy_emit import derived_value, key
    lines = []
    for i, r in enumerate(records_of(program)):
        if not isinstance(r, ExpTerm):
            continue
        dims = dict(r.dims)
        for name, terms, labels in ((f"@x{i}", r.design, r.labels + (r.label,)),
                                    (f"@y{i}", r.offset, r.labels)):
            const = DerivedConst(name, "", tuple(terms), labels, labels,
                                 tuple(dims[l] for l in labels))
            lines.append(f"    K[{key(name)}] = {derived_value(const, program.model)}")
    return lines


def _exp_args(program, name: str) -> str:
    from .numpy_emit import key
    rows = []
    for i, r in enumerate(records_of(program)):
        if isinstance(r, ExpTerm) and r.var == name:
            weight = f"data[{key(r.weight.var)}]" if r.weight is not None else "1.0"
            rows.append(f"(K[{key(f'@x{i}')}], K[{key(f'@y{i}')}], {weight})")
    return "[" + ", ".join(rows) + "]"


def _lgamma_args(program, name: str) -> str:
    from .numpy_emit import dim_text
    rows = []
    for r in records_of(program, name):
        if isinstance(r, LgammaTerm):
            weight = " * ".join([repr(float(r.coeff))] + [dim_text(d) for d in r.sizes])
            scale = " * ".join([repr(float(r.scale))] + [dim_text(d) for d in r.scale_sizes])
            rows.append(f"({weight}, {scale})")
    return "[" + ", ".join(rows) + "]"


def update_lines(step, program) -> list:
    """After a variable's coefficients are collected: its Newton update."""
    from .numpy_emit import key
    records = records_of(program, step.name)
    lines = []
    if any(isinstance(r, ExpTerm) for r in records):
        lines.append(f"    C = gva_coefficients(C, E[{key(step.name)}], "
                     f"{_exp_args(program, step.name)})")
    if any(isinstance(r, LgammaTerm) for r in records):
        lines.append(f"    C = lgamma_coefficients(C, E[{key(step.name)}], "
                     f"{_lgamma_args(program, step.name)})")
    return lines


def elbo_lines(program) -> list:
    """The terms' share of E[log p], evaluated at the current q."""
    from .numpy_emit import key
    lines = []
    for name in dict.fromkeys(r.var for r in records_of(program)):
        records = records_of(program, name)
        if any(isinstance(r, ExpTerm) for r in records):
            lines.append(f"    total += gva_expected_exp(E[{key(name)}], "
                         f"{_exp_args(program, name)})")
        if any(isinstance(r, LgammaTerm) for r in records):
            lines.append(f"    total += lgamma_expected(E[{key(name)}], "
                         f"{_lgamma_args(program, name)})")
    return lines


def shortcut_line(program) -> str:
    """The ELBO after a sweep may reuse the last update's coefficients only if
    that update was conjugate (its share is then <C, E[u]> + H)."""
    last = program.steps[-1].name if program.steps else None
    return f"ELBO_SHORTCUT = {not records_of(program, last)!r}"
