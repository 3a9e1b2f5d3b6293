"""Derive: factor log densities → canonical monomials → VMP messages.

For every factor, substitute the argument expressions into the family's log
density (``densities.py``), multiply by the factor's selectors (gates and
gathers) and bring every monomial to canonical form: each random variable
appears through exactly one of its sufficient statistics (``w.x · w.x`` with
the same plate labels becomes ``w.xx``).  A monomial that cannot be brought to
that form is not conjugate and is reported.

The message to latent ``v``'s statistic ``s`` is then the sum of the monomials
holding ``v.s`` with every other random atom replaced by its expectation:
``log q*(v) = Σ_s <C_s, u_s(v)>`` with ``C_s = Σ E_{-v}[coefficient of v.s]``.
The ELBO is ``Σ_f E[log f] + Σ_v H[q_v]``: every monomial with every atom
replaced by its expectation, plus the entropies.  A joint block (a mean and
its scaled precision, ``blocks.py``) is one such v: its members' atoms are
rewritten into the block's statistics before the messages are collected.  Row weights (missing-data
masks, counts of merged duplicate rows) multiply factors here and are decided
in ``weights.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import repairs
from ..errors import VmpCheckError, VmpConjugacyError
from ..families.registry import FAMILIES
from ..language.model import CheckedModel, Factor
from . import chains
from .blocks import find_blocks, rewrite
from .densities import DENSITIES
from .links import link_density, with_local_parameters
from .nonconjugate import newton_families, weighted
from .expressions import (STATEFUL_ROLES, Constants, FactorContext, finite, shape_of,
                          to_terms)
from .statistics import drop_observed_selector_sums
from .pairs import expand_pairs, is_pair
from .terms import Atom, Term, mul
from .weights import RowWeights

STAT_WORDS = {"x": "{v}", "xx": "{v}²", "log": "log {v}", "log1m": "log(1 − {v})",
              "logdet": "log det {v}", "onehot": "[{v} = k]", "value": "{v}"}


@dataclass(frozen=True)
class FactorTerms:
    """One factor's log density as canonical monomials."""

    factor: Factor
    terms: tuple
    label_dims: dict


@dataclass(frozen=True)
class Message:
    """One monomial's contribution to the coefficient of ``target`` (a statistic)."""

    factor: int  # index into Derivation.factors
    term: Term
    target: Atom


@dataclass
class Update:
    """The update of one latent: its q family and the messages per statistic."""

    name: str
    family: str  # the q family (a FAMILIES key)
    point: bool = False  # a point estimate: plug-in expectations, mode update
    messages: dict = field(default_factory=dict)  # stat -> [Message]
    members: tuple = ()  # a block's variables (derive/blocks.py); () for one latent

    @property
    def variables(self) -> tuple:
        """The model variables this q covers."""
        return self.members or (self.name,)


@dataclass
class Derivation:
    model: CheckedModel
    factors: list
    updates: list  # in schedule order
    constants: Constants
    nonconjugate: list = field(default_factory=list)  # ExpTerm / LgammaTerm (nonconjugate.py)

    def update_of(self, name: str) -> Update:
        return next(u for u in self.updates if u.name == name)


def derive(model: CheckedModel) -> Derivation:
    """The VMP messages and ELBO monomials of a checked model."""
    model = with_local_parameters(model)  # the links' local parameters (links.py)
    constants = Constants()
    weights = RowWeights(model)
    raw, nonconjugate = [], []
    for position, factor in enumerate(model.factors):
        factor = chains.plate_view(model, factor)  # z[0] ~ ... as a plate T[0:1]
        ctx = FactorContext(model, factor, constants)
        try:
            terms = expand_pairs(factor_terms(factor, ctx), ctx)  # B[z[i], z[j]]: pairs.py
        except VmpCheckError as err:  # terms.mul does not know where it is
            err.span = err.span or factor.span
            raise
        weight = weights.factor_weight(position, factor)  # a row mask or count
        masks = chains.mask_atoms(model, factor)  # sliced plates (a chain's pieces)
        if masks and ctx.nonconjugate:
            raise ctx.error("a link or a learned shape inside a sliced plate is not supported")
        for w in [weight] + masks:
            terms = mul(terms, [Term(1, (w,))]) if w is not None else terms
        raw.append((ctx, terms))
        nonconjugate += weighted(ctx.nonconjugate, weight, ctx)
    families = {v.name: q_family(model, v.name, raw)
                for v in model.variables.values() if v.role in STATEFUL_ROLES}
    families.update(newton_families(model, nonconjugate))
    factors = [FactorTerms(ctx.factor, finite(combine_like_terms(
        [drop_observed_selector_sums(canonical(t, ctx, families), model) for t in terms],
        ctx.label_dims), ctx.factor), dict(ctx.label_dims)) for ctx, terms in raw]  # 1e308+1e308
    found = find_blocks(model, factors)  # joint q's (blocks.py)
    factors = [FactorTerms(f.factor, combine_like_terms(
        [rewrite(t, found) for t in f.terms], f.label_dims), f.label_dims) for f in factors]
    updates = block_updates(model, families, found)
    for position, f in enumerate(factors):
        for term in f.terms:
            for a in term.atoms:
                if a.var in updates:
                    messages = updates[a.var].messages.setdefault(a.stat, [])
                    messages.append(Message(position, weights.message_term(term, a), a))
    return Derivation(model, factors, list(updates.values()), constants, nonconjugate)


def block_updates(model: CheckedModel, families: dict, blocks: list) -> dict:
    """One update per latent, in declaration order; a block's update replaces
    its members' at the place of the first member declared."""
    owner = {m: b for b in blocks for m in b.members}
    updates = {}
    for name, family in families.items():
        block = owner.get(name)
        if block is None:
            updates[name] = Update(name, family, model.variables[name].role != "latent")
        elif block.name not in updates:
            updates[block.name] = Update(block.name, block.family, members=block.members)
    return updates


def q_family(model: CheckedModel, name: str, raw: list) -> str:
    """The q family of a latent or point (its prior's posterior family); for a
    param (no prior) the family whose statistics its uses produce."""
    var = model.variables[name]
    if chains.chain_family(model, name):
        return chains.chain_family(model, name)
    if var.role == "param":
        return param_family(var, {a.stat for _, terms in raw for t in terms
                                  for a in t.atoms if a.var == name})
    family = FAMILIES.get(var.family)
    if family is None or family.posterior is None:
        raise VmpConjugacyError(
            f"'{name}' has a {var.family} prior, which vmpdsl cannot use for an "
            f"unobserved variable", var.span,
            hint="observe it as data, or use a family with a conjugate posterior "
                 "(Normal, MvNormal, Gamma, Wishart, Dirichlet, Categorical, Beta, Bernoulli)")
    return family.posterior


def param_family(var, stats: set) -> str:
    """A param's statistics decide its family: a flat prior in that family
    makes the mode of the collected messages the maximum-likelihood M-step."""
    rank = len(var.event)
    if "logdet" in stats and rank == 2:
        return "Wishart"
    if "log1m" in stats and rank == 0:
        return "Beta"
    if "log" in stats:
        if rank == 0:
            return "Gamma"
        if rank == 1:
            return "Dirichlet"
    elif stats <= {"x"} and rank <= 1:
        return "MvNormal" if rank else "Normal"
    raise VmpConjugacyError(
        f"vmpdsl cannot estimate the param '{var.name}' from how the model uses it "
        f"(statistics {', '.join(sorted(stats)) or 'none'})", var.span,
        hint="use the param as a mean, a precision, a rate or a probability vector, "
             "or give it a prior")


def factor_terms(factor: Factor, ctx: FactorContext) -> list:
    """The factor's log density with its selectors multiplied in."""
    model = ctx.model
    var = model.variables[factor.variable]
    dist = factor.dist.name
    if dist not in DENSITIES:
        raise VmpConjugacyError(f"no log density is known for {dist}", factor.dist.span)
    if dist == "Categorical":
        event = (categories_of(factor, ctx),)

        def x(out):
            (t,) = to_terms(factor.target, (), ctx)
            (a,) = t.atoms
            return [Term(t.coeff, (Atom(a.var, "onehot", a.indices + tuple(out)),))]
    else:
        event = tuple(var.event) if var.role != "data" else shape_of(factor.dist.args[0], ctx)
        if dist in ("MvNormal", "Wishart", "Dirichlet"):
            event = target_event(factor, ctx, dist)

        def x(out):
            return to_terms(factor.target, out, ctx)

    def arg(k, out):
        return to_terms(factor.dist.args[k], out, ctx)

    terms = link_density(factor, ctx, x, arg)  # a link: its bound (links.py)
    if terms is None:
        terms = DENSITIES[dist](x, arg, ctx, event)
    selectors = [[Term(1, (a,))] for a in ctx.selectors.values()]
    return mul(terms, *selectors) if selectors else terms


def categories_of(factor: Factor, ctx: FactorContext):
    return shape_of(factor.dist.args[0], ctx)[-1]


def target_event(factor: Factor, ctx: FactorContext, dist: str) -> tuple:
    """The event shape of an MvNormal / Wishart / Dirichlet from its arguments."""
    if dist == "Wishart":
        return tuple(shape_of(factor.dist.args[1], ctx))
    return tuple(shape_of(factor.dist.args[0], ctx))


def constant_axes(atoms, out: tuple, factor: FactorTerms) -> tuple:
    """Dims of the axes a monomial is constant along, so summing it multiplies
    by their sizes: the factor's plates (and ``ones`` axes) that no other atom
    carries and the output does not keep (``Σ_n ½ log α`` is ``N/2 log α``)."""
    from .expressions import ONES
    carried = {l for a in atoms if a.var != ONES for l in a.indices} | set(out)
    candidates = [p.index for p in factor.factor.plates]
    candidates += [l for a in atoms if a.var == ONES for l in a.indices]
    return tuple(factor.label_dims[l] for l in dict.fromkeys(candidates) if l not in carried)


# ------------------------------------------------------------- canonical form
def canonical(term: Term, ctx: FactorContext, families: dict) -> Term:
    """Merge each random variable's atoms into one sufficient statistic."""
    variables = ctx.model.variables
    groups: dict = {}
    for a in term.atoms:
        var = variables.get(a.var)
        if var is not None and var.role in STATEFUL_ROLES:
            groups.setdefault(a.var, []).append(a)
    atoms = [a for a in term.atoms if a.var not in groups]
    for name, found in groups.items():
        if is_pair(found, families[name]):
            atoms.extend(found)  # a product of two elements' expectations (pairs.py)
            continue
        merged = merge(name, found, term, ctx, families[name])
        if merged.stat not in FAMILIES[families[name]].stats:
            raise conjugacy_error(name, merged.stat, term, ctx, families[name])
        atoms.append(merged)
    return Term(term.coeff, tuple(atoms), term.sizes)


def combine_like_terms(terms: list, label_dims) -> tuple:
    """Sum the coefficients of terms equal up to the order of their atoms and
    the names of their labels (a quadratic form's cross terms w·z·mu and
    mu·w·z; (a − 1) log τ next to −log τ), dropping those that cancel: each
    monomial is then computed, and printed, once."""
    combined: dict = {}
    for term in terms:
        key = like_term_key(term, label_dims)
        if key in combined:
            first = combined[key]
            combined[key] = Term(first.coeff + term.coeff, first.atoms, first.sizes)
        else:
            combined[key] = term
    return tuple(t for t in combined.values() if t.coeff != 0)


def like_term_key(term: Term, label_dims) -> tuple:
    """Atoms sorted by (variable, statistic), labels renamed by first appearance
    with their dims; sizes as a sorted tuple.  Equal keys mean equal monomials
    (ties between atoms of one array may hide a match, never invent one)."""
    atoms = sorted(term.atoms, key=lambda a: (a.var, a.stat, len(a.indices)))
    names: dict = {}
    for a in atoms:
        for label in a.indices:
            names.setdefault(label, (len(names), label_dims.get(label)))
    return (tuple((a.var, a.stat, tuple(names[l] for l in a.indices)) for a in atoms),
            tuple(sorted(map(str, term.sizes))))


def merge(name: str, found: list, term: Term, ctx: FactorContext, q: str) -> Atom:
    if len(found) == 1:
        return found[0]
    var = ctx.model.variables[name]
    nplates = len(var.plates)
    paired = chains.merge_chain(name, found, nplates) if name in ctx.model.chains else None
    if paired is not None:
        return paired
    if len(found) == 2 and all(a.stat == "x" for a in found):
        a, b = found
        if a.indices[:nplates] != b.indices[:nplates]:
            raise ctx.error(
                f"'{name}' is multiplied with itself across its plate: under mean "
                f"field its elements are independent, and this product is not "
                f"a sufficient statistic", f"declare '{name}' as one MvNormal vector "
                f"instead of a plate of scalars")
        return Atom(name, "xx", a.indices + b.indices[nplates:])
    raise conjugacy_error(name, "·".join(a.stat for a in found), term, ctx, q)


def conjugacy_error(name: str, stat: str, term: Term, ctx: FactorContext, q: str):
    var = ctx.model.variables[name]
    family = var.family or "point"
    words = " · ".join(STAT_WORDS.get(s, s).format(v=name) for s in stat.split("·"))
    hint = repairs.for_statistic(name, stat, words)
    return ctx.error(
        f"this {ctx.factor.dist.name} factor is not conjugate for '{name}': it contains "
        f"{words} (in the term {describe(term, ctx)}), but a {family} q-distribution "
        f"only absorbs {', '.join(STAT_WORDS[s].format(v=name) for s in FAMILIES[q].stats)}",
        hint)


def describe(term: Term, ctx: FactorContext) -> str:
    """A term in user words: E[...]-free statistics of named variables."""
    parts = [str(term.coeff)] if term.coeff != 1 else []
    for a in term.atoms:
        if not a.var.startswith("@"):
            parts.append(STAT_WORDS.get(a.stat, a.stat).format(v=a.var))
    return " · ".join(parts) or "a constant"
