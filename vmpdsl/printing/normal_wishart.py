"""Printing a joint Normal–Wishart (Normal–Gamma) block (derive/blocks.py).

The block's update prints as PRML (10.58)–(10.63): in x̄[k] and S[k] where the
data enter as one weighted sum (textbook.py), otherwise multiplied out:

    q(mu[k], Lambda[k]) = NormalWishart(m[k], β[k], ν[k], W[k])
      β[k] = beta0 + N[k]
      m[k] = (beta0 m0 + Σ_n r[n,k] x[n]) / (beta0 + N[k])
      W[k]⁻¹ = W0⁻¹ + beta0 m0 m0ᵀ + Σ_n r[n,k] x[n] x[n]ᵀ − β[k] m[k] m[k]ᵀ
      ν[k] = nu0 + N[k]

and its statistics, where other updates use them, as E[mu[k]ᵀ Lambda[k] mu[k]],
E[Lambda[k] mu[k]], E[Lambda[k]], E[log|Lambda[k]|], defined in the "where"
block from the block's parameters (E[μᵀΛμ] = D/β + ν mᵀWm, E[Λμ] = ν W m).
The block's state is keyed by its mean (the update's name); ``members`` names
both variables.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .formulas import C, Ratio, plus, scale
from .textbook import BarMean, BarRate, BarScale, centred

JOINT_FAMILIES = ("NormalWishart", "NormalGamma")


@dataclass
class Less:
    """``pieces − β m mᵀ`` (``− β m²/2``): a sum of monomials less a term in the
    block's own parameters, which are printed at render time in its letters."""

    pieces: list
    name: str  # the block's update
    plates: tuple  # its plate labels
    scalar: bool  # Normal–Gamma: β m²/2

    def render(self, r, letters) -> str:
        from .blocks import render_sum  # blocks imports the family table, which imports us
        s = r.s
        plates = [letters[l] for l in self.plates]
        b, m = (s.index(r.ctx.symbol(self.name, p, s), plates) for p in ("beta", "mean"))
        term = (s.frac(f"{b} {s.square(m)}", "2", True, True) if self.scalar
                else f"{b} {m} {s.transpose(m)}")
        return f"{render_sum(r, self.pieces, letters)} {s.minus()} {term}"


def members(ctx, name: str) -> tuple:
    return next(u.members for u in ctx.derivation.updates if u.name == name)


def shared(form):
    """β = −2 C_xLx and m = C_Lx / β (PRML 10.60, 10.61)."""
    beta = scale(C(form, "xLx"), -2)
    return [("beta", beta), ("mean", Ratio(C(form, "Lx"), beta))]


def normalwishart(form, ctx):
    """W⁻¹ = −2 C_L − β m mᵀ, ν = 2 C_logdet + D (PRML 10.62, 10.63); with
    weighted data, m and W⁻¹ in x̄ and S as PRML prints them (textbook.py)."""
    plates = form.outputs[:len(form.var.plates)]
    df = ("df", plus(scale(C(form, "logdet"), 2), 1, (str(form.var.event[0]),)))
    parts = centred(form) if "S" not in taken(ctx) else None
    if parts is not None:
        name = form.update.name
        return [shared(form)[0], ("mean", BarMean(parts, name, plates)),
                ("scale⁻¹", BarScale(parts, name, plates)), df]
    return shared(form) + [
        ("scale⁻¹", Less(scale(C(form, "L"), -2), form.update.name, plates, False)),
        ("df", plus(scale(C(form, "logdet"), 2), 1, (str(form.var.event[0]),)))]


def taken(ctx) -> set:
    """Letters and names in use (S[k] of the textbook form must be free)."""
    return {letter for letter, _ in ctx.symbols.values()} | set(ctx.model.variables) | \
        set(ctx.model.dims)


def normalgamma(form, ctx):
    """a = C_logdet + ½, b = −C_L − β m²/2; with weighted data, m and b in x̄
    and S (Murphy 2007, §3; textbook.py)."""
    plates = form.outputs[:len(form.var.plates)]
    shape = ("shape", plus(C(form, "logdet"), Fraction(1, 2)))
    parts = centred(form, scalar=True) if "S" not in taken(ctx) else None
    if parts is not None:
        name = form.update.name
        return [shared(form)[0], ("mean", BarMean(parts, name, plates)), shape,
                ("rate", BarRate(parts, name, plates))]
    return shared(form) + [shape,
                           ("rate", Less(scale(C(form, "L"), -1), form.update.name, plates, True))]


# ------------------------------------------------------- statistics and moments
def statistic(r, a, rows: list, raw: bool) -> str:
    """A block atom in other updates: E[mu[k]ᵀ Lambda[k] mu[k]], E[Lambda[k] mu[k]], ..."""
    s = r.s
    mean, precision = (s.index(s.name(v), rows) for v in members(r.ctx, a.var))
    if not raw:
        r.used.setdefault((a.var, a.stat), a)
    scalar = r.ctx.families[a.var] == "NormalGamma"
    inner = {"xLx": f"{precision} {s.square(mean)}" if scalar
             else f"{s.transpose(mean)} {precision} {mean}",
             "Lx": f"{precision} {mean}", "L": precision,
             "logdet": s.func("log", precision) if scalar else s.logdet(precision)}[a.stat]
    return inner if raw else s.E(inner)


def statistic_word(s, form, stat: str, rows: list) -> str:
    """The statistic a block coefficient multiplies (for --steps)."""
    mean, precision = (s.index(s.name(v), rows) for v in form.update.members)
    scalar = form.update.family == "NormalGamma"
    return {"xLx": f"{precision} {s.square(mean)}" if scalar
            else f"{s.transpose(mean)} {precision} {mean}",
            "Lx": f"{precision} {mean}", "L": precision,
            "logdet": s.func("log", precision) if scalar else s.logdet(precision)}[stat]


def normalwishart_moments(r, s, v, sym, stat, var, idx, letters):
    from .where import wishart_moments
    mean, precision = (s.index(s.name(n), idx) for n in members(r.ctx, var.name))
    m, beta, nu, W = sym("mean"), sym("beta"), sym("df"), sym("scale")
    D = s.name(str(var.event[0]))
    if stat == "xLx":
        return [(s.E(f"{s.transpose(mean)} {precision} {mean}"),
                 f"{s.frac(D, beta, True, True)} + {nu} {s.transpose(m)} {W} {m}")]
    if stat == "Lx":
        return [(s.E(f"{precision} {mean}"), f"{nu} {W} {m}")]
    return wishart_moments(r, s, precision, sym, "x" if stat == "L" else "logdet",
                           r.model.variables[members(r.ctx, var.name)[1]], idx, letters)


def normalgamma_moments(r, s, v, sym, stat, var, idx, letters):
    mean, precision = (s.index(s.name(n), idx) for n in members(r.ctx, var.name))
    m, beta, a, b = sym("mean"), sym("beta"), sym("shape"), sym("rate")
    tau = s.frac(a, b, True, True)
    return [{
        "xLx": (s.E(f"{precision} {s.square(mean)}"),
                f"{s.frac('1', beta, True, True)} + {tau} {s.square(m)}"),
        "Lx": (s.E(f"{precision} {mean}"), f"{tau} {m}"),
        "L": (s.E(precision), tau),
        "logdet": (s.E(s.func("log", precision)),
                   f"{s.func('digamma', a)} {s.minus()} {s.func('log', b)}"),
    }[stat]]
