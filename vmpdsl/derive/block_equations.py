"""Printing a joint block's update (derive/blocks.py), for ``equations.py``.

A Normal–Wishart block prints as PRML (10.58)–(10.63) do:

    q(mu[k], Lambda[k]) = NormalWishart(beta, m, W⁻¹, nu)    # plates [K]
      beta = beta0 + Σ_{n} q(z)[n,k]
      m = (beta0*m0[i] + Σ_{n} x[n,i] q(z)[n,k])/beta
      W⁻¹ = inv(W0) + beta0 m0 m0ᵀ + Σ_{n} x xᵀ q(z) − beta m mᵀ
      nu = nu0 + Σ_{n} q(z)[n,k]

and its statistics, where other updates use them, as E[muᵀ Lambda mu],
E[Lambda mu], E[Lambda], E[log|Lambda|].
"""
from __future__ import annotations

import sympy

TEXT = {"xLx": "E[{m}ᵀ {p} {m}]", "Lx": "E[{p} {m}]", "L": "E[{p}]", "logdet": "E[log|{p}|]"}
LATEX = {"xLx": r"\mathbb{{E}}[{m}^\top {p} {m}]", "Lx": r"\mathbb{{E}}[{p} {m}]",
         "L": r"\mathbb{{E}}[{p}]", "logdet": r"\mathbb{{E}}[\log|{p}|]"}
# Scalar precision (Normal–Gamma): μ² τ, τ μ, τ, log τ.
SCALAR_TEXT = {"xLx": "E[{p} {m}²]", "Lx": "E[{p} {m}]", "L": "E[{p}]", "logdet": "E[log {p}]"}
SCALAR_LATEX = {"xLx": r"\mathbb{{E}}[{p} {m}^2]", "Lx": r"\mathbb{{E}}[{p} {m}]",
                "L": r"\mathbb{{E}}[{p}]", "logdet": r"\mathbb{{E}}[\log {p}]"}


def block_members(derivation, var: str) -> tuple:
    """The members of the block whose state is named ``var``; () if none."""
    return next((u.members for u in derivation.updates if u.name == var), ())


def block_stat_text(members: tuple, stat: str, scalar: bool, latex: bool, name) -> str:
    """One block statistic in words, ``name`` rendering a variable name."""
    table = (SCALAR_LATEX if latex else SCALAR_TEXT) if scalar else (LATEX if latex else TEXT)
    mean, precision = members
    return table[stat].format(m=name(mean), p=name(precision))


def block_title(update, index: str) -> str:
    """``mu[k], Lambda[k]``: the variables a block's q covers."""
    return ", ".join(f"{member}{index}" for member in update.members)


def block_formulas(family: str, C: dict, dim: str) -> list:
    """The block's parameters from its statistic coefficients (PRML 10.60–10.63)."""
    two, half = sympy.Integer(2), sympy.Rational(1, 2)
    beta = sympy.Symbol("beta")
    formulas = [("beta", -two * C["xLx"]), ("m", C["Lx"] / beta)]
    if family == "NormalWishart":
        return formulas + [("W⁻¹", -two * C["L"] - sympy.Symbol("beta m mᵀ")),
                           ("nu", two * C["logdet"] + sympy.Symbol(dim))]
    if family == "NormalGamma":
        return formulas + [("a", C["logdet"] + half), ("b", -C["L"] - sympy.Symbol("beta m²/2"))]
    raise KeyError(family)
