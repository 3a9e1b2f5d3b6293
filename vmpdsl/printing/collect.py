"""The printing form of a derivation: per update, per statistic, the collected
coefficient as monomials and squares, both per factor (for ``--steps``) and
summed (like terms combined across factors).

Reads ``Derivation`` only; every simplification is exact (``derive/statistics``
and ``squares``), so the printed coefficient equals the one the code computes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..derive.statistics import EYE, Mono, from_message, is_output, simplify
from ..language.ast import Call, Index, Name
from .families import PRINTING
from .squares import SquareFinder

STATEFUL = ("latent", "point", "param")
DIRICHLET_LETTERS = ("α", "γ", "λ", "ω")


@dataclass
class Coefficient:
    stat: str
    by_factor: dict = field(default_factory=dict)  # factor index -> [pieces]
    total: list = field(default_factory=list)


@dataclass
class UpdateForm:
    update: object
    var: object
    outputs: tuple  # output labels of the statistics, plates first (the longest)
    coefficients: dict  # stat -> Coefficient
    stat_outputs: dict = field(default_factory=dict)  # stat -> its output labels


class Context:
    """What every renderer of one derivation shares: label dims and kinds,
    plate letters, the symbols of q parameters."""

    def __init__(self, derivation):
        self.derivation = derivation
        self.model = derivation.model
        self.dims: dict = {}
        self.rows: set = set()
        self.families = {u.name: u.family for u in derivation.updates}
        self.plate_letters = {}
        for f in self.model.factors:
            for p in f.plates:
                self.plate_letters.setdefault(str(p.dim), p.index)
        self.symbols = self.assign_symbols()

    # ------------------------------------------------------------ symbols
    def assign_symbols(self) -> dict:
        """Letters for q parameters: the textbook's (a, b; m, S; ν, W; r) and,
        where two variables would share one, the variable's name as a tag."""
        names = set(self.model.variables) | set(self.model.dims)
        taken: dict = {}
        out = {}
        # later Dirichlets first: LDA's theta gets γ and phi λ, as in Blei et al.
        order = sorted(self.derivation.updates, key=lambda u: (
            u.family == "Dirichlet", -self.derivation.updates.index(u) if
            u.family == "Dirichlet" else 0))
        for u in order:
            if u.point:
                continue
            record = PRINTING[u.family]
            letters = record.letters
            if u.family == "Dirichlet":
                letters = (next((c for c in DIRICHLET_LETTERS if c not in taken and
                                 greek_word(c) not in names), "α"),)
            for param, letter in zip(record.params, letters):
                owner = None if letter not in taken and greek_word(letter) not in names \
                    and letter not in names else u.name
                taken.setdefault(letter, u.name)
                out[u.name, param] = (letter, owner)
        return out

    def symbol(self, var: str, param: str, style) -> str:
        letter, owner = self.symbols[var, param]
        return style.symbol(letter, owner)

    def count_name(self, var: str, style) -> str:
        gates = [u for u in self.derivation.updates if u.family == "Categorical" and not u.point]
        return "N" if len(gates) <= 1 else style.symbol("N", var)

    def symmetric(self, a) -> bool:
        """Atoms equal to their transpose: second moments, Wishart matrices,
        δ, the inverse of a (symmetric) scale matrix."""
        if a.var == EYE or a.stat in ("xx", "prev_xx"):
            return True
        if a.var.startswith("@c"):
            return self.derivation.constants.items[a.var].func == "inv"
        return (self.families.get(a.var), a.stat) in (("Wishart", "x"), ("NormalWishart", "L"))


def greek_word(letter: str) -> str:
    return {"α": "alpha", "β": "beta", "γ": "gamma", "λ": "lambda", "ω": "omega",
            "ν": "nu"}.get(letter, letter)


# ------------------------------------------------------------------ collect
def collect(ctx: Context) -> list:
    return [collect_update(ctx, u, i) for i, u in enumerate(ctx.derivation.updates)]


def collect_update(ctx: Context, update, position: int) -> UpdateForm:
    model, derivation = ctx.model, ctx.derivation
    var = model.variables[update.name]
    coefficients, stat_outputs = {}, {}
    finder = SquareFinder(model, ctx.rows, ctx.dims)
    for stat, messages in update.messages.items():
        coefficient = Coefficient(stat)
        per_factor: dict = {}
        for m in messages:
            factor = derivation.factors[m.factor]
            # output labels are the update's own: '^2.1' is axis 1 of update 2
            outputs = tuple(f"^{position}.{i}" for i in range(len(m.target.indices)))
            mono = from_message(m.term, m.target, m.factor,
                                tuple(p.index for p in factor.factor.plates),
                                factor.label_dims, ctx.dims, outputs)
            mark_rows(ctx, mono, outputs, var, stat)
            per_factor.setdefault(m.factor, []).append(mono)
        everything = []
        for index, monos in per_factor.items():
            factor = derivation.factors[index].factor
            squares, rest = [], monos
            if factor.dist.name in ("Normal", "MvNormal"):
                squares, rest = finder.find(monos, names_in(factor.dist.args[1]),
                                            factor.variable)
            rest = simplify(rest, ctx.dims, ctx.symmetric)
            coefficient.by_factor[index] = squares + rest
            everything += squares + rest
        squares = [p for p in everything if not isinstance(p, Mono)]
        coefficient.total = squares + simplify(
            [p for p in everything if isinstance(p, Mono)], ctx.dims, ctx.symmetric)
        coefficients[stat] = coefficient
        stat_outputs[stat] = outputs
    longest = max(stat_outputs.values(), key=len, default=())
    return UpdateForm(update, var, longest, coefficients, stat_outputs)


def mark_rows(ctx: Context, mono: Mono, outputs: tuple, var, stat: str):
    """Which labels index rows (plates, categories: shown in brackets) rather
    than vector / matrix axes (shown by matrix notation)."""
    nplates = len(var.plates)
    for i, label in enumerate(outputs):
        if i < nplates or stat in ("onehot", "log", "log1m") and \
                ctx.families.get(var.name) in ("Categorical", "Dirichlet", "Beta"):
            ctx.rows.add(label)
    for a in mono.atoms:
        v = ctx.model.variables.get(a.var)
        if a.stat == "onehot":
            ctx.rows.update(a.indices)
            continue
        if v is not None and v.role in STATEFUL and \
                ctx.families.get(a.var) in ("Dirichlet", "Categorical", "Beta"):
            ctx.rows.update(a.indices)  # probabilities are indexed elementwise
        for l in a.indices:
            if not is_output(l) and not l.startswith("#"):
                ctx.rows.add(l)
    for l in mono.sums:
        if not l.startswith("#"):
            ctx.rows.add(l)


def names_in(expr) -> set:
    """Every variable name an argument expression mentions."""
    if isinstance(expr, Name):
        return {expr.id}
    if isinstance(expr, Index):
        return names_in(expr.base) | set().union(*(names_in(i) for i in expr.indices))
    if isinstance(expr, Call):
        return set().union(set(), *(names_in(a) for a in expr.args))
    out = set()
    for attr in ("left", "right", "operand"):
        if hasattr(expr, attr):
            out |= names_in(getattr(expr, attr))
    return out
