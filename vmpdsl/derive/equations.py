"""The derived updates, element by element, as sympy expressions (for tests).

The printed equations live in ``vmpdsl.printing`` (no sympy, so a fit never
imports it); ``equations_text`` here forwards to it for older callers.
``symbolic_coefficients`` gives each statistic's coefficient of log q(v)
elementwise for small dim sizes, which the tests compare with the textbooks.
"""
from __future__ import annotations

from fractions import Fraction

import sympy

from .expressions import EYE, ONES
from .messages import Derivation, constant_axes


def equations_text(derivation: Derivation, style: str = "text", steps: bool = False) -> str:
    from ..printing import equations_text as printed
    return printed(derivation, style, steps)


# ------------------------------------------------------ elementwise symbolic form
def element_symbol(var: str, stat: str, index: tuple) -> sympy.Symbol:
    """The scalar symbol of one element of an atom, e.g. ``E[w.xx][0,1]`` or ``X[3,0]``.

    Random variables' statistics are named ``E[var.stat]``; data, hypers and
    derived constants by their name.  Tests build the textbook updates from the
    same symbols and compare with ``symbolic_coefficients``.
    """
    idx = "[" + ",".join(map(str, index)) + "]" if index else ""
    return sympy.Symbol(f"{var}{idx}" if stat in ("value", None) else f"E[{var}.{stat}]{idx}")


def symbolic_coefficients(derivation: Derivation, name: str, sizes: dict) -> dict:
    """Each statistic's coefficient of log q(name), element by element, as sympy
    expressions, for the dim sizes given (small, e.g. {"N": 2, "D": 2})."""
    from itertools import product
    model = derivation.model
    update = derivation.update_of(name)
    result = {}
    for stat, messages in update.messages.items():
        shape = tuple(sizes[d] if isinstance(d, str) else d for d in target_dims(messages[0], derivation))
        total = sympy.MutableDenseNDimArray.zeros(*shape) if shape else sympy.Integer(0)
        for message in messages:
            factor = derivation.factors[message.factor]
            atoms = [a for a in message.term.atoms if a is not message.target]
            scale = sympy.nsimplify(message.term.coeff) if isinstance(message.term.coeff, Fraction) \
                else sympy.Float(message.term.coeff)
            for d in message.term.sizes + constant_axes(atoms, message.target.indices, factor):
                scale *= sizes[d] if isinstance(d, str) else d
            labels = list(dict.fromkeys([l for a in atoms if a.var != ONES for l in a.indices]
                                        + list(message.target.indices)))
            ranges = [range(size_of(factor.label_dims[l], sizes)) for l in labels]
            for values in product(*ranges):
                at = dict(zip(labels, values))
                value = scale
                for a in atoms:
                    value *= element_value(a, at, model)
                if shape:
                    total[tuple(at[l] for l in message.target.indices)] += value
                else:
                    total += value
        result[stat] = total
    return result


def target_dims(message, derivation) -> tuple:
    factor = derivation.factors[message.factor]
    return tuple(factor.label_dims[l] for l in message.target.indices)


def size_of(dim, sizes: dict) -> int:
    return sizes[dim] if isinstance(dim, str) else int(dim)


def element_value(a, at: dict, model):
    index = tuple(at[l] for l in a.indices)
    if a.var == EYE:
        return sympy.Integer(1 if index[0] == index[1] else 0)
    if a.var == ONES:
        return sympy.Integer(1)
    var = model.variables.get(a.var)
    if var is not None and var.role in ("latent", "point", "param"):
        return element_symbol(a.var, a.stat, index)
    if a.stat == "onehot":  # an observed index: the indicator [var[rows] = category]
        return sympy.Symbol(f"[{a.var}[{','.join(map(str, index[:-1]))}]={index[-1]}]")
    return element_symbol(a.var, None, index)
