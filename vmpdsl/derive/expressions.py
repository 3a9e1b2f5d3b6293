"""Argument expressions → sums of tensor monomials (``terms.py``).

Each distribution argument of a factor is turned into a sum of terms whose
free index labels are the argument's own axes.  Indexing does the interesting
work:

* a plate index ``X[n]`` keeps the plate's label ``n``;
* an observed integer array ``theta[g[n]]`` is a *gather*: a fresh label ``j``
  over theta's axis and the selector atom ``g.onehot[n, j]``;
* a latent Categorical ``mu[z[n]]`` is a *gate*: a fresh label ``k`` and the
  selector atom ``z.onehot[n, k]`` (the responsibilities).

Selectors are collected per factor and multiply the whole log density once:
``log f(x | mu_z) = Σ_k [z = k] log f(x | mu_k)``, which is linear in the
one-hot statistic of z (a gate), and exact for observed indices (a gather).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import VmpConjugacyError, VmpCheckError
from ..language.ast import BinOp, Call, Index, Name, Neg, Num, Slice
from ..language.links import LINKS
from ..language.model import CheckedModel, Factor
from ..language.chains import is_lag
from .chains import lag_stat, lagged
from .terms import Atom, Term, add, atom, const, mul, neg, scale, sub

# Names of built-in constant arrays; '@' keeps them apart from user names.
ONES, EYE = "@ones", "@eye"
STATEFUL_ROLES = ("latent", "point", "param")


@dataclass(frozen=True)
class DerivedConst:
    """A constant computed once per fit: ``func`` of a constant term sum.

    ``inputs`` are the free labels of ``terms`` (in order); the function acts
    on the trailing ``consumes`` axes (logdet, inv: 2; elementwise: 0) and the
    result keeps ``labels``.  ``arg`` carries a dim for ``mvlgamma``.
    """

    name: str
    func: str
    terms: tuple
    inputs: tuple
    labels: tuple
    dims: tuple  # dims of ``inputs``
    arg: object = None


@dataclass
class Constants:
    """Every derived constant of a model, deduplicated by content."""

    items: dict = field(default_factory=dict)
    by_key: dict = field(default_factory=dict)

    def add(self, func: str, terms: list, inputs: tuple, labels: tuple,
            dims: tuple, arg=None) -> str:
        key = (func, tuple(terms), inputs, labels, dims, arg)
        if key not in self.by_key:
            name = f"@c{len(self.items) + 1}"
            self.items[name] = DerivedConst(name, func, tuple(terms), inputs,
                                            labels, dims, arg)
            self.by_key[key] = name
        return self.by_key[key]


@dataclass
class FactorContext:
    """Per-factor state: labels, their dims, and the selectors found."""

    model: CheckedModel
    factor: Factor
    constants: Constants
    label_dims: dict = field(default_factory=dict)
    selectors: dict = field(default_factory=dict)  # (var, rows) -> Atom
    count: int = 0
    nonconjugate: list = field(default_factory=list)  # derive/nonconjugate.py records

    def __post_init__(self):
        for plate in self.factor.plates:
            self.label_dims[plate.index] = plate.dim

    @property
    def plate_labels(self) -> tuple:
        return tuple(p.index for p in self.factor.plates)

    def fresh(self, dim) -> str:
        # '#' cannot occur in a user identifier, so labels never collide.
        self.count += 1
        label = f"#{self.count}"
        self.label_dims[label] = dim
        return label

    def error(self, message: str, hint: str | None = None, span=None):
        return VmpConjugacyError(message, span or self.factor.span, hint=hint)


# ------------------------------------------------------------------- shapes
def shape_of(expr, ctx: FactorContext) -> tuple:
    """The (event) shape of an argument expression as a tuple of dims."""
    variables = ctx.model.variables
    if isinstance(expr, Num):
        return ()
    if isinstance(expr, Name):
        var = variables.get(expr.id)
        return tuple(var.shape) if var is not None else ()
    if isinstance(expr, Index):
        base = shape_of(expr.base, ctx)
        kept = [d for d, ix in zip(base, expr.indices) if isinstance(ix, Slice)]
        return tuple(kept) + tuple(base[len(expr.indices):])
    if isinstance(expr, Neg):
        return shape_of(expr.operand, ctx)
    if isinstance(expr, BinOp):
        left, right = shape_of(expr.left, ctx), shape_of(expr.right, ctx)
        if expr.op == "@":
            return tuple(left[:-1]) + tuple(right[1:])
        return left if len(left) >= len(right) else right
    if isinstance(expr, Call):
        if expr.func in LINKS:  # a link keeps its argument's shape
            return shape_of(expr.args[0], ctx)
        if expr.func in ("dot", "sum"):
            return ()
        if expr.func == "diag":
            (d,) = shape_of(expr.args[0], ctx)
            return (d, d)
        if expr.func in ("zeros", "ones"):
            return (dim_of(expr.args[0]),)
        if expr.func == "eye":
            d = dim_of(expr.args[0])
            return (d, d)
    raise VmpCheckError(f"cannot work out the shape of this expression", expr.span)


def dim_of(expr):
    """A size argument of zeros/ones/eye: a dim name or an integer literal."""
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Num) and float(expr.value).is_integer():
        return int(expr.value)
    raise VmpCheckError("a size must be a dim name or a whole number", expr.span)


def number(value: float):
    """Model literals: integers stay exact so equations print as ½, not 0.5."""
    return Fraction(int(value)) if float(value).is_integer() else float(value)


# --------------------------------------------------------------- conversion
def to_terms(expr, out: tuple, ctx: FactorContext) -> list:
    """The expression as a sum of terms whose free axes carry labels ``out``."""
    if isinstance(expr, Num):
        return const(number(expr.value))
    if isinstance(expr, Name):
        if expr.id in ctx.model.dims:
            return [Term(Fraction(1), (), (expr.id,))]
        return variable_atom(expr.id, (), out, ctx)
    if isinstance(expr, Index):
        return index_terms(expr, out, ctx)
    if isinstance(expr, Neg):
        return neg(to_terms(expr.operand, out, ctx))
    if isinstance(expr, BinOp):
        return finite(binop_terms(expr, out, ctx), expr)
    if isinstance(expr, Call):
        return call_terms(expr, out, ctx)
    raise VmpCheckError("unsupported expression", getattr(expr, "span", None))


def finite(terms: list, expr) -> list:
    """Constant factors are multiplied and added exactly (Fractions); a result
    past the float range (1e300 * 1e300, 1e308 + 1e308) is refused where it
    is written."""
    for term in terms:
        try:
            ok = math.isfinite(float(term.coeff))
        except OverflowError:
            ok = False
        if not ok:
            raise VmpCheckError("the numbers in this expression come to more than the "
                                "largest float (about 1.8e308)", expr.span)
    return terms


def variable_atom(name: str, given: tuple, out: tuple, ctx: FactorContext) -> list:
    """``name`` with its leading axes labelled ``given`` and the rest ``out``."""
    var = ctx.model.variables[name]
    labels = tuple(given) + tuple(out)
    if len(labels) != len(var.shape):
        raise VmpCheckError(f"'{name}' has {len(var.shape)} axes but is used with "
                            f"{len(labels)}", ctx.factor.span)
    for label, dim in zip(labels, var.shape):
        ctx.label_dims.setdefault(label, dim)
    stat = "x" if var.role in STATEFUL_ROLES else "value"
    return atom(name, stat, labels)


def index_terms(expr: Index, out: tuple, ctx: FactorContext) -> list:
    if not isinstance(expr.base, Name):
        raise VmpCheckError("only a named variable can be indexed", expr.span)
    name = expr.base.id
    shape = ctx.model.variables[name].shape
    given, rest = [], list(out)
    for axis, ix in enumerate(expr.indices):
        if isinstance(ix, Slice):
            given.append(rest.pop(0))
        else:
            given.append(index_label(ix, shape[axis], ctx))
    terms = variable_atom(name, tuple(given), tuple(rest), ctx)
    if lagged(expr):  # a chain's previous element: its statistic shifted to t
        terms = [Term(t.coeff, tuple(Atom(a.var, lag_stat(a.stat), a.indices) for a in t.atoms))
                 for t in terms]
    return terms


def index_label(ix, dim, ctx: FactorContext) -> str:
    """The label an index expression stands for (plate, gather or gate)."""
    if isinstance(ix, Name) and ix.id in ctx.plate_labels:
        return ix.id
    if is_lag(ix) and ix.left.id in ctx.plate_labels:
        return ix.left.id  # t-1: the statistic says "previous" (lag_stat)
    selector, rows = ix, ()
    if isinstance(ix, Index):
        selector = ix.base
        rows = tuple(index_label(r, None, ctx) for r in ix.indices)
    if isinstance(selector, Name) and selector.id in ctx.model.variables:
        var = ctx.model.variables[selector.id]
        if var.dtype == "int" or var.family == "Categorical":
            stat = lag_stat("onehot") if lagged(ix) else "onehot"
            key = (selector.id, rows, stat)
            if key not in ctx.selectors:
                label = ctx.fresh(dim)
                ctx.selectors[key] = Atom(selector.id, stat, rows + (label,))
            return ctx.selectors[key].indices[-1]
    raise VmpCheckError("an index must be a plate index, an integer data array or "
                        "a Categorical variable", getattr(ix, "span", None))


def binop_terms(expr: BinOp, out: tuple, ctx: FactorContext) -> list:
    op, left, right = expr.op, expr.left, expr.right
    if op in "+-":
        l, r = to_terms(left, out, ctx), to_terms(right, out, ctx)
        return add(l, r) if op == "+" else sub(l, r)
    if op == "*":
        lrank, rrank = len(shape_of(left, ctx)), len(shape_of(right, ctx))
        lout = out if lrank else ()
        rout = out if rrank else ()
        return mul(to_terms(left, lout, ctx), to_terms(right, rout, ctx))
    if op == "/":
        if isinstance(right, Num):
            if right.value == 0:
                raise VmpCheckError("division by zero", expr.span)
            return scale(1 / number(right.value), to_terms(left, out, ctx))
        return mul(to_terms(left, out, ctx), reciprocal(right, ctx))
    if op == "@":
        lshape, rshape = shape_of(left, ctx), shape_of(right, ctx)
        inner = ctx.fresh(rshape[0])
        lrank = len(lshape)
        lout = tuple(out[:lrank - 1]) + (inner,)
        rout = (inner,) + tuple(out[lrank - 1:])
        return mul(to_terms(left, lout, ctx), to_terms(right, rout, ctx))
    raise VmpCheckError(f"unsupported operator '{op}'", expr.span)


def reciprocal(expr, ctx: FactorContext) -> list:
    """1 / a constant scalar (a dim, a hyper: ``ones(K) / K``) as a derived
    constant; the checker has refused division by a random quantity."""
    if shape_of(expr, ctx):
        raise VmpCheckError("division is only by a scalar", expr.span)
    denominator = to_terms(expr, (), ctx)
    labels = tuple(dict.fromkeys(l for t in denominator for a in t.atoms for l in a.indices))
    dims = tuple(ctx.label_dims[l] for l in labels)
    return atom(ctx.constants.add("recip", denominator, labels, labels, dims), "value", labels)


def call_terms(expr: Call, out: tuple, ctx: FactorContext) -> list:
    f, args = expr.func, expr.args
    if f == "dot":
        inner = ctx.fresh(shape_of(args[0], ctx)[0])
        return mul(to_terms(args[0], (inner,), ctx), to_terms(args[1], (inner,), ctx))
    if f == "sum":
        inner = ctx.fresh(shape_of(args[0], ctx)[0])
        return to_terms(args[0], (inner,), ctx)
    if f == "diag":
        i, j = out
        return mul(to_terms(args[0], (i,), ctx), atom(EYE, "value", (i, j)))
    if f == "zeros":
        return []
    if f == "ones":
        ctx.label_dims.setdefault(out[0], dim_of(args[0]))
        return atom(ONES, "value", out)
    if f == "eye":
        for label in out:
            ctx.label_dims.setdefault(label, dim_of(args[0]))
        return atom(EYE, "value", out)
    raise VmpCheckError(f"unknown function '{f}'", expr.span)
