"""Chains in the derivation: sliced plates as masks, lags as statistics.

Two ideas keep a chain inside the ordinary machinery (terms, messages,
lowering, einsum), with every array over the *whole* plate:

* **A sliced plate is the whole plate times a 0/1 mask.**  ``for t in T[1:]``
  becomes ``for t in T`` with every factor multiplied by the data operand
  ``@tN[t]`` (1 for t ≥ 1), and the first piece ``z[0] ~ ...`` becomes
  ``for t in T[0:1]: z[t] ~ ...``.  A masked factor contributes nothing at
  the masked positions, to messages or to the ELBO, so this is exact; the
  masks are bound with the data (``SLICE_MASKS``, runtime/chains.py).

* **A lag is a statistic.**  ``z[t-1]`` at position t is the atom
  ``z.prev_onehot[t, j]`` (``x.prev_x[t, i]`` for a Gaussian chain): the
  previous element's statistic, shifted to t.  Canonical form merges the
  products a transition makes into the chain's pairwise statistics:
  ``[z_{t-1} = j][z_t = k]`` → ``z.pair[t, j, k]``; ``x_t x_{t-1}ᵀ`` →
  ``x.cross[t, i, j]``; ``x_{t-1} x_{t-1}ᵀ`` → ``x.prev_xx[t, i, j]``.

The chain's q is one *block*: a q over all its elements, described by an
ordinary ``Family`` record whose statistics include the pairwise ones, with
its own expectations, entropy and ``bound_share`` (log Z): ``CategoricalChain``
(forward–backward, families/categorical_chain.py) and ``GaussianChain`` (a
Kalman/RTS smoother in information form, families/gaussian_chain.py; a Normal
chain is its D = 1 case).  ``q_family`` names the block family, and from then
on the update is the usual one: the message to a block is the sum of its
factors' coefficients, one per statistic, and the family turns them into
marginals, pairwise expectations and its log normalizer.
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import VmpConjugacyError
from ..language import ast
from ..language.chains import is_lag
from ..language.model import CheckedModel, Factor, Plate
from .terms import Atom

# A chain latent's q family, by its prior's family.
CHAIN_FAMILIES = {"Categorical": "CategoricalChain", "MvNormal": "GaussianChain",
                  "Normal": "GaussianChain"}
MASK_PREFIX = "@t"


def chain_family(model: CheckedModel, name: str) -> str | None:
    """The block family of a chain latent, None for any other variable."""
    if name not in model.chains:
        return None
    var = model.variables[name]
    if var.role != "latent":
        raise VmpConjugacyError(f"'{name}' is a chain and cannot be a point estimate: its q "
                                f"is one block over all its elements", var.span,
                                hint=f"drop `point` (or --point {name}) for this variable")
    if var.family not in CHAIN_FAMILIES:
        raise VmpConjugacyError(
            f"'{name}' is a {var.family} chain; a chain is a Categorical latent (a hidden "
            f"Markov model) or a Normal or MvNormal latent (a linear-Gaussian state space "
            f"model)", var.span, hint="give the chain's elements a Categorical, Normal or "
                                      "MvNormal distribution")
    return CHAIN_FAMILIES[var.family]


def plate_view(model: CheckedModel, factor: Factor) -> Factor:
    """The factor with a chain's first piece written as a sliced plate:
    ``z[s, 0] ~ D`` is ``for t in T[0:1]: z[s, t] ~ D``."""
    chain = model.chains.get(factor.variable)
    if chain is None or factor.plates and factor.plates[-1].dim == chain.dim:
        return factor
    target = factor.target
    if not (isinstance(target, ast.Index) and isinstance(target.indices[-1], ast.Num)):
        return factor
    index = ast.Name(chain.index, target.indices[-1].span)
    target = replace(target, indices=target.indices[:-1] + (index,))
    plates = tuple(factor.plates) + (Plate(chain.index, chain.dim, 0, 1),)
    return replace(factor, target=target, plates=plates)


def _mask_specs(model: CheckedModel, factor: Factor) -> list:
    """(spec, labels) of the masks that multiply a factor in ``plate_view``
    form; spec = (dims, start, stop, chain).  A chain's own pieces get masks
    over all its plates (sequences end at their last observation); any other
    factor in a sliced plate a mask over that plate alone."""
    chain = model.chains.get(factor.variable)
    found = []
    for position, plate in enumerate(factor.plates):
        if not plate.sliced:
            continue
        if chain is not None and position == len(factor.plates) - 1 and plate.dim == chain.dim:
            plates = factor.plates
            spec = (tuple(p.dim for p in plates), plate.start, plate.stop, chain.name)
            found.append((spec, tuple(p.index for p in plates)))
        else:
            found.append((((plate.dim,), plate.start, plate.stop, None), (plate.index,)))
    return found


def slice_masks(model: CheckedModel) -> dict:
    """{spec: mask key} for every sliced plate of the model (a positive stop
    is absolute: the first piece's [0:1])."""
    found = {}
    for factor in model.factors:
        for spec, _ in _mask_specs(model, plate_view(model, factor)):
            found.setdefault(spec, f"{MASK_PREFIX}{len(found)}")
    return found


def mask_atoms(model: CheckedModel, factor: Factor) -> list:
    """The mask atoms that multiply a factor (already in ``plate_view`` form)."""
    keys = slice_masks(model)
    return [Atom(keys[spec], "value", labels) for spec, labels in _mask_specs(model, factor)]


def mask_table(model: CheckedModel) -> tuple:
    """``SLICE_MASKS`` of the emitted module (runtime/chains.py): rows
    (key, dims, start, stop, observed-masks that end each sequence)."""
    from .weights import mask_name
    rows = []
    for (dims, start, stop, chain), key in slice_masks(model).items():
        sources = ()
        if chain is not None and model.missing:
            sources = tuple(mask_name(model, v.name) for v in model.by_role("data")
                            if v.family is not None and v.shape[:len(dims)] == dims)
        rows.append((key, dims, start, stop, sources))
    return tuple(rows)


# ------------------------------------------------------------ lags as statistics
def lag_stat(stat: str) -> str:
    return "prev_" + stat


def lagged(expr) -> bool:
    """Is this ``v[..., t-1]``?"""
    return isinstance(expr, ast.Index) and bool(expr.indices) and is_lag(expr.indices[-1])


# Products of a chain's statistics at one position → its pairwise statistics.
# (previous element's stat, current element's stat) in either order.
PAIRS = {
    ("prev_onehot", "onehot"): "pair",
    ("prev_x", "x"): "cross",
    ("prev_x", "prev_x"): "prev_xx",
}


def merge_chain(name: str, found: list, nplates: int) -> Atom | None:
    """Merge two atoms of a chain latent at the same plate position into one
    statistic (``pair[t, j, k]`` = [z_{t-1} = j][z_t = k]; ``cross[t, i, j]`` =
    x_t,i x_{t-1},j), or None when they are not such a product."""
    if len(found) != 2:
        return None
    a, b = found
    if a.indices[:nplates] != b.indices[:nplates]:
        return None
    key = (a.stat, b.stat)
    if key not in PAIRS and (b.stat, a.stat) in PAIRS:
        a, b = b, a
        key = (a.stat, b.stat)
    stat = PAIRS.get(key)
    if stat is None:
        return None
    rows = a.indices[:nplates]
    if stat == "cross":  # current first: cross[t, i, j] = x_t,i x_{t-1},j
        return Atom(name, stat, rows + b.indices[nplates:] + a.indices[nplates:])
    return Atom(name, stat, rows + a.indices[nplates:] + b.indices[nplates:])


# ------------------------------------------------------------ printing
# How the equations show a chain's statistics (derive/equations.py):
# ₋₁ marks the previous element, so q(z₋₁,z)[t,j,k] = q(z[t-1] = j, z[t] = k).
CHAIN_TEXT = {"prev_onehot": "q({v}₋₁)", "pair": "q({v}₋₁,{v})", "prev_x": "E[{v}₋₁]",
              "prev_xx": "E[{v}₋₁{v}₋₁ᵀ]", "cross": "E[{v}{v}₋₁ᵀ]"}
CHAIN_LATEX = {"prev_onehot": r"q({v}_{{-1}})", "pair": r"q({v}_{{-1}},{v})",
               "prev_x": r"\mathbb{{E}}[{v}_{{-1}}]",
               "prev_xx": r"\mathbb{{E}}[{v}_{{-1}}{v}_{{-1}}^\top]",
               "cross": r"\mathbb{{E}}[{v}{v}_{{-1}}^\top]"}


def mask_text(model: CheckedModel, key: str, label: str) -> str | None:
    """A slice mask as the indicator it is: ``[t ≥ 1]``, ``[t = 0]``, ``[t < T-1]``."""
    for (dims, start, stop, _), name in slice_masks(model).items():
        if name == key:
            if stop == 1 and start == 0:
                return f"[{label} = 0]"
            parts = [f"{label} ≥ {start}"] if start else []
            if stop is not None:
                parts.append(f"{label} < {dims[-1]}{stop:+d}" if stop < 0 else f"{label} < {stop}")
            return "[" + ", ".join(parts) + "]"
    return None


def chain_formulas(family: str, C: dict) -> list:
    """The potentials a chain block's smoother runs on, from the coefficients
    (a coefficient of the previous element's statistic belongs to element t−1;
    zero ones are left out)."""
    import sympy
    two = sympy.Integer(2)
    if family == "CategoricalChain":
        rows = [("log node", C["onehot"]), ("log node of t-1", C["prev_onehot"]),
                ("log edge(z[t-1], z[t])", C["pair"]),
                ("q(z), q(z₋₁,z), log Z", sympy.Symbol("forward–backward(node, edge)"))]
    else:
        rows = [("J", -two * C["xx"]), ("h", C["x"]), ("J of t-1", -two * C["prev_xx"]),
                ("h of t-1", C["prev_x"]), ("M in x[t]ᵀ M x[t-1]", C["cross"]),
                ("E[x], E[xxᵀ], E[xx₋₁ᵀ], log Z",
                 sympy.Symbol("Kalman filter + RTS smoother(J, h, M)"))]
    return [(name, value) for name, value in rows if value != 0]
