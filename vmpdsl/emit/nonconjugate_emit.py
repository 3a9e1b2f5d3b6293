"""Emitting the non-conjugate terms (derive/nonconjugate.py): their data
arrays once per fit, the Newton call in their variable's update (runtime/newton.py)
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


# per kind: the Newton update (runtime/newton.py), its ELBO share, its arguments
KINDS = ((ExpTerm, "gva_coefficients", "gva_expected_exp", _exp_args),
         (LgammaTerm, "lgamma_coefficients", "lgamma_expected", _lgamma_args))


def update_lines(step, program) -> list:
    """After a variable's coefficients are collected: its Newton update."""
    from .numpy_emit import key
    records = records_of(program, step.name)
    return [f"    C = {update}(C, E[{key(step.name)}], {args(program, step.name)})"
            for kind, update, _, args in KINDS if any(isinstance(r, kind) for r in records)]


def elbo_lines(program) -> list:
    """The terms' share of E[log p], evaluated at the current q."""
    from .numpy_emit import key
    lines = []
    for name in dict.fromkeys(r.var for r in records_of(program)):
        records = records_of(program, name)
        lines += [f"    total += {share}(E[{key(name)}], {args(program, name)})"
                  for kind, _, share, args in KINDS if any(isinstance(r, kind) for r in records)]
    return lines


def shortcut_lines(program) -> list:
    """The ELBO after a sweep may reuse the last update's coefficients only if
    that update was conjugate (its share is then <C, E[u]> + H): else
    ``ELBO_SHORTCUT = False`` (the runtime's default is True)."""
    last = program.steps[-1].name if program.steps else None
    return ["ELBO_SHORTCUT = False"] if records_of(program, last) else []
