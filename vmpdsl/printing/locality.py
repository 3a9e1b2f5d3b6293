"""The "Local / global structure" section of ``vmpdsl equations``, in the
printer's notation.

derive/locality.py finds the split (row plates, local latents, the row
statistics each message to a global is made of); this module prints it with
the same renderer as the updates, so a statistic reads as in them:

    Local / global structure (row blocks)
      rows: N
      local: z  (one update is optimal given the globals)
      global: mu, Lambda, pi
      statistics each row block sends to the global updates:
        q(mu, Lambda): N[k],  Σ_n r[n,k] x[n],  Σ_n r[n,k] x[n] x[n]ᵀ
        q(pi): N[k]

(r[n,k] and N[k] as the "where" block above defines them.)
"""
from __future__ import annotations

from fractions import Fraction

from ..derive.locality import (group_plates, local_block, observed_row_plates, statistics,
                               unhoisted)
from ..derive.statistics import Mono, is_weight, output_label
from ..derive.terms import Atom
from ..lower import ONEHOT, RANDOM, lower
from .render import Letters, Renderer

ELEMENTWISE = ("Dirichlet", "Categorical", "Beta")


def locality_section(ctx, style) -> str:
    program = lower(ctx.derivation)
    found = statistics(program)
    if not found:
        return ""
    block = local_block(program)
    groups = group_plates(program.model)
    plates = ", ".join(sorted(observed_row_plates(program.model))) + "".join(
        f"; groups {g} (by {index})" for g, (index, _) in sorted(groups.items()))
    inner = "fit(local_iters=n) updates them up to n times before the globals" \
        if len(block) > 1 else "one update is optimal given the globals" if block else ""
    glob = [m for step in program.steps if step.name not in block
            for m in members(ctx, step.name)]
    lines = ["Local / global structure (row blocks)", f"  rows: {plates}",
             f"  local: {', '.join(block) or 'none'}{f'  ({inner})' if inner else ''}",
             f"  global: {', '.join(glob) or 'none'}",
             "  statistics each row block sends to the global updates:"]
    return "\n".join(lines + statistic_lines(ctx, style, program, found))


def members(ctx, name: str) -> tuple:
    update = next((u for u in ctx.derivation.updates if u.name == name), None)
    return tuple(update.members) if update is not None and update.members else (name,)


def statistic_lines(ctx, style, program, found) -> list:
    """One line per global update: its row statistics, each printed once."""
    r = Renderer(ctx, style)
    hoisted = {h.name: h.contraction for h in program.hoisted}
    shown: dict = {}
    for i, s in enumerate(found):
        mono = statistic_mono(ctx, unhoisted(s.statistic, hoisted), f"L{i}")
        sign, text = r.mono(mono, Letters(r, {}))
        texts = shown.setdefault(s.target, [])
        text = f"{r.s.minus()}{text}" if sign < 0 else text
        if text not in texts:
            texts.append(text)
    lines = []
    for target, texts in shown.items():
        update = next(u for u in ctx.derivation.updates if u.name == target)
        head = target if update.point else r.s.q(", ".join(members(ctx, target)))
        lines.append(f"    {head}: {',  '.join(texts)}")
    return lines


def statistic_mono(ctx, c, tag: str) -> Mono:
    """A row statistic as a monomial of the printer: its kept labels outputs,
    the others summed; labels on plates and categories are rows (indexed),
    the rest vector axes (matrix notation)."""
    dims = dict(c.label_dims)
    rename = {l: output_label(f"{tag}.{i}") for i, l in enumerate(c.out)}
    rename.update({l: f"{l}@{tag}" for l in dims if l not in rename})
    atoms = []
    for o in c.operands:
        if is_weight(o.name):
            continue
        stat = "onehot" if o.kind == ONEHOT else o.stat if o.kind == RANDOM else "value"
        atoms.append(Atom(o.name, stat, tuple(rename[l] for l in o.labels)))
    for label, dim in dims.items():
        ctx.dims[rename[label]] = dim
    mark_rows(ctx, atoms, rename, dims)
    sums = tuple(rename[l] for l in dims if l not in c.out)
    return Mono(Fraction(1) if c.coeff == 1 else c.coeff, tuple(atoms), sums,
                tuple(map(str, c.sizes)))


def mark_rows(ctx, atoms: list, rename: dict, dims: dict):
    """Plate and category labels are rows; a vector's axes are not."""
    plates = set(ctx.plate_letters)
    for label, dim in dims.items():
        if str(dim) in plates:
            ctx.rows.add(rename[label])
    for a in atoms:
        if a.stat == "onehot":
            ctx.rows.update(a.indices)
        elif ctx.families.get(a.var) in ELEMENTWISE:
            ctx.rows.update(a.indices)
