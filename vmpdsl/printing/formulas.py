"""Each q family's parameters from its collected coefficients, as printed.

``log q(v) = Σ_s <C_s, u_s(v)>`` fixes the parameters: Gamma a = 1 + C_log,
b = −C_x; (Mv)Normal precision = −2 C_xx, mean = precision⁻¹ C_x; Wishart
ν = 2 C_logdet + D + 1, W⁻¹ = −2 C_x; Dirichlet α = 1 + C_log; Categorical
log r = C_onehot + const; Beta a = 1 + C_log, b = 1 + C_log1m.  A point
estimate is the mode of the same conjugate form.  One function per family
and kind, registered in ``families.PRINTING``.

Each returns [(left side, [pieces] or a finished text)], printed by
``blocks.py``.  A piece list is a sum; ``Ratio`` a quotient of two sums.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from ..derive.statistics import Mono, add_coeffs, is_output, like_key, rename_label, simplify

ONE, TWO, HALF = Fraction(1), Fraction(2), Fraction(1, 2)


@dataclass
class Ratio:
    num: list
    den: list


@dataclass
class Inverse:
    """``inv(den) × num``: a matrix inverse times a vector (or a scalar sum)."""

    matrix: list
    times: list
    before: bool = True  # (den)⁻¹ (num) rather than (num) (den)⁻¹


def scale(pieces: list, c) -> list:
    return [p.scaled(c) for p in pieces]


def plus(pieces: list, c, sizes=()) -> list:
    """``pieces + c × Π sizes``, merged into a constant already there."""
    sizes = tuple(sizes)
    for i, p in enumerate(pieces):
        if isinstance(p, Mono) and not p.atoms and not p.sums and tuple(p.sizes) == sizes:
            total = add_coeffs(p.coeff, c)
            rest = list(pieces[:i]) + list(pieces[i + 1:])
            return rest if total == 0 else rest[:i] + [replace(p, coeff=total)] + rest[i:]
    return list(pieces) + [Mono(Fraction(c), (), (), sizes)]


def C(form, stat: str) -> list:
    coefficient = form.coefficients.get(stat)
    return list(coefficient.total) if coefficient else []


# ------------------------------------------------------------ cancellation
def common_scalars(*sums) -> list:
    """Atoms with no event axes present in every monomial of every sum."""
    pieces = [p for s in sums for p in s]
    if not pieces or not all(isinstance(p, Mono) for p in pieces):
        return []
    common = [a for a in pieces[0].atoms]
    for p in pieces[1:]:
        common = [a for a in common if a in p.atoms]
    return common


def without(pieces: list, atoms: list) -> list:
    if not atoms:
        return list(pieces)
    return [replace(p, atoms=tuple(a for a in p.atoms if a not in atoms)) for p in pieces]


def cancel(num: list, den: list, rows: set) -> Ratio:
    """Cancel scalar atoms common to the numerator and the denominator."""
    common = [a for a in common_scalars(num, den) if all(l in rows for l in a.indices)]
    return Ratio(without(num, common), without(den, common))


def matrix_cancel(precision: list, cx: list, rows: set):
    """``(c A)⁻¹ (A b)`` is ``b / c`` when every precision monomial is a scalar
    times one matrix atom A and every mean monomial contains A once, contracted
    with the rest: gmm's m[k] = (beta0 m0 + Σ_n r[n,k] x[n]) / (beta0 + N[k])."""
    if not precision or not cx or not all(isinstance(p, Mono) for p in precision + cx):
        return None
    shared = [a for a in precision[0].atoms if sum(not (l in rows) for l in a.indices) == 2]
    if len(shared) != 1 or any(shared[0] not in p.atoms for p in precision):
        return None
    A = shared[0]
    scalars = without(precision, [A])
    if any(l not in rows for p in scalars for a in p.atoms for l in a.indices):
        return None
    out_i, out_j = [l for l in A.indices if l not in rows]
    vectors = []
    for p in cx:
        found = [a for a in p.atoms if a.var == A.var and a.stat == A.stat and
                 [l for l in a.indices if l in rows] == [l for l in A.indices if l in rows]]
        if len(found) != 1:
            return None
        a = found[0]
        ev = [l for l in a.indices if l not in rows]
        outer = [l for l in ev if is_output(l)]
        inner = [l for l in ev if not is_output(l)]
        if len(outer) != 1 or len(inner) != 1 or inner[0] not in p.sums:
            return None
        rest = [b for b in p.atoms if b is not a]
        rest = [type(b)(b.var, b.stat, tuple(outer[0] if l == inner[0] else l
                                             for l in b.indices)) for b in rest]
        vectors.append(replace(p, atoms=tuple(rest),
                               sums=tuple(l for l in p.sums if l != inner[0])))
    return Ratio(vectors, scalars), A


def sum_over(pieces: list, label: str, dims: dict, symmetric) -> list:
    """Σ over an output label (a Dirichlet's categories), then simplified."""
    out = []
    for p in pieces:
        if not isinstance(p, Mono):
            return None
        summed = "Σ" + label
        dims[summed] = dims[label]
        atoms = tuple(type(a)(a.var, a.stat, tuple(summed if l == label else l
                                                   for l in a.indices)) for a in p.atoms)
        out.append(replace(p, atoms=atoms, sums=p.sums + (summed,)))
    return simplify(out, dims, symmetric)


def symmetric_parts(pieces: list, form, stat: str, ctx) -> list:
    """A symmetric matrix as printed: a monomial M whose transpose is not in the
    sum is ½ M + ½ Mᵀ (the same coefficient of a symmetric statistic, and now
    right entry by entry: lgssm's −2 E[x[t] x[t-1]ᵀ] Aᵀ is not symmetric)."""
    i, j = form.stat_outputs[stat][-2:]
    keys = [like_key(p, ctx.dims, ctx.symmetric) if isinstance(p, Mono) else None
            for p in pieces]
    out = []
    for p, key in zip(pieces, keys):
        if key is None:
            out.append(p)
            continue
        swapped = rename_label(rename_label(rename_label(p, i, "^swap"), j, i), "^swap", j)
        swapped = replace(swapped, sums=p.sums)
        other = like_key(swapped, ctx.dims, ctx.symmetric)
        if other == key or any(k == other and q.coeff == p.coeff
                               for q, k in zip(pieces, keys)):
            out.append(p)
        else:
            out += [p.scaled(HALF), swapped.scaled(HALF)]
    return out


# --------------------------------------------------------------- latents
def gamma(form, ctx):
    return [("shape", plus(C(form, "log"), 1)), ("rate", scale(C(form, "x"), -1))]


def beta(form, ctx):
    return [("a", plus(C(form, "log"), 1)), ("b", plus(C(form, "log1m"), 1))]


def dirichlet(form, ctx):
    return [("concentration", plus(C(form, "log"), 1))]


def wishart(form, ctx):
    dim = str(form.var.event[0])
    df = plus(plus(scale(C(form, "logdet"), 2), 1), 1, (dim,))
    return [("df", df), ("scale⁻¹", symmetric_parts(scale(C(form, "x"), -2), form, "x", ctx))]


def normal(form, ctx):
    precision = scale(C(form, "xx"), -2)
    return [("mean", cancel(C(form, "x"), precision, ctx.rows)), ("precision", precision)]


def mvnormal(form, ctx):
    precision = scale(C(form, "xx"), -2)
    found = matrix_cancel(precision, C(form, "x"), ctx.rows)
    mean = found[0] if found else Inverse(["S"], C(form, "x"))
    return [("mean", mean), ("precision", precision)]


def categorical(form, ctx):
    return [("log probs", C(form, "onehot"))]


def bernoulli(form, ctx):
    return [("logit p", C(form, "x"))]


def categorical_chain(form, ctx):
    """A chain block (derive/chains.py): the potentials forward–backward runs on."""
    rows = [("log node", C(form, "onehot")), ("log node of t-1", C(form, "prev_onehot")),
            ("log edge(z[t-1], z[t])", C(form, "pair"))]
    return [(name, value) for name, value in rows if value] + [
        ("marginals, pair marginals, log Z", "forward-backward(node, edge)")]


def gaussian_chain(form, ctx):
    """A Gaussian chain block: the information form its Kalman/RTS smoother runs on."""
    rows = [("J", scale(C(form, "xx"), -2)), ("h", C(form, "x")),
            ("J of t-1", scale(C(form, "prev_xx"), -2)), ("h of t-1", C(form, "prev_x")),
            ("M (coupling x[t], x[t-1])", C(form, "cross"))]
    return [(name, value) for name, value in rows if value] + [
        ("moments, log Z", "Kalman filter + RTS smoother(J, h, M)")]


# ---------------------------------------------------------------- points
def point_normal(form, ctx):
    return [("value", cancel(C(form, "x"), scale(C(form, "xx"), -2), ctx.rows))]


def point_mvnormal(form, ctx):
    precision = scale(C(form, "xx"), -2)
    found = matrix_cancel(precision, C(form, "x"), ctx.rows)
    return [("value", found[0] if found else Inverse(precision, C(form, "x")))]


def point_gamma(form, ctx):
    return [("value", cancel(C(form, "log"), scale(C(form, "x"), -1), ctx.rows))]


def point_wishart(form, ctx):
    return [("value", Inverse(scale(C(form, "x"), -2), scale(C(form, "logdet"), 2),
                              before=False))]


def point_dirichlet(form, ctx):
    c = C(form, "log")
    total = sum_over(c, form.outputs[-1], ctx.dims, ctx.symmetric)
    return [("value", Ratio(c, total if total is not None else c))]


def point_beta(form, ctx):
    both = simplify(C(form, "log") + C(form, "log1m"), ctx.dims, ctx.symmetric) \
        if all(isinstance(p, Mono) for p in C(form, "log") + C(form, "log1m")) \
        else C(form, "log") + C(form, "log1m")
    return [("value", Ratio(C(form, "log"), both))]


def point_categorical(form, ctx):
    return [("argmax", C(form, "onehot"))]


def formulas(form, ctx) -> list:
    from .families import PRINTING  # the table imports this module
    record = PRINTING[form.update.family]
    return (record.point if form.update.point else record.latent)(form, ctx)

