"""Print the derived updates, read straight from the derivation.

Each latent's update is shown as its q family and the formula of each standard
parameter in terms of expectations of the others and of the data, e.g.

    q(alpha) = Gamma(shape, rate)
      shape = a0 + N/2
      rate  = b0 + ½ Σ_n y[n]² − ...

sympy does the algebra on the scalar parts (collecting ``a0 − 1 + N/2 + 1``
into ``a0 + N/2``); every contraction over indices is one opaque symbol
written in index notation, so the printout is exactly what the code computes.
"""
from __future__ import annotations

from fractions import Fraction

import sympy

from .expressions import EYE, ONES
from .link_equations import bound_blocks, local_formulas, local_header, stat_text
from .messages import Derivation, constant_axes

TEXT_STATS = {"x": "E[{v}]", "xx": "E[{v}{v}ᵀ]", "xx_scalar": "E[{v}²]", "log": "E[log {v}]",
              "log1m": "E[log(1−{v})]", "logdet": "E[log|{v}|]", "onehot": "q({v})"}
LATEX_STATS = {"x": r"\mathbb{{E}}[{v}]", "xx": r"\mathbb{{E}}[{v}{v}^\top]",
               "xx_scalar": r"\mathbb{{E}}[{v}^2]",
               "log": r"\mathbb{{E}}[\log {v}]", "log1m": r"\mathbb{{E}}[\log(1-{v})]",
               "logdet": r"\mathbb{{E}}[\log|{v}|]", "onehot": r"q({v})"}
# A point estimate's statistics are plug-ins of its value, not expectations.
PLUGIN_TEXT = {"x": "{v}", "xx": "{v}{v}ᵀ", "xx_scalar": "{v}²", "log": "log {v}",
               "log1m": "log(1−{v})", "logdet": "log|{v}|", "onehot": "[{v} = k]"}
PLUGIN_LATEX = {"x": "{v}", "xx": r"{v}{v}^\top", "xx_scalar": "{v}^2", "log": r"\log {v}",
                "log1m": r"\log(1-{v})", "logdet": r"\log|{v}|", "onehot": r"[{v} = k]"}
LETTERS = "ijklmpqrsuvabcdefgh"


class Printer:
    """Renders atoms and contractions in one style ("text" or "latex")."""

    def __init__(self, derivation: Derivation, style: str):
        self.derivation = derivation
        self.latex = style == "latex"
        self.symbols: dict = {}  # sympy Symbol -> rendered text (for latex)

    def name(self, var: str) -> str:
        if not self.latex:
            return var
        return var if len(var) == 1 else r"\mathrm{" + var.replace("_", r"\_") + "}"

    def labels(self, labels, names) -> str:
        shown = [names.setdefault(l, l if not l.startswith("#") else self.letter(names))
                 for l in labels]
        if not shown:
            return ""
        return ("_{" + ",".join(shown) + "}") if self.latex else "[" + ",".join(shown) + "]"

    @staticmethod
    def letter(names) -> str:
        used = set(names.values())
        return next(c for c in LETTERS if c not in used)

    def atom(self, a, names) -> str:
        constants = self.derivation.constants.items
        if a.var == EYE:
            return (r"\delta" if self.latex else "δ") + self.labels(a.indices, names)
        if a.var in constants:
            c = constants[a.var]
            inner = " + ".join(self.product(t.atoms, names) or "1" for t in c.terms)
            return f"{c.func}({inner})" + self.labels(a.indices, names)
        variables = self.derivation.model.variables
        var = variables.get(a.var)
        if var is not None and var.role in ("latent", "point", "param"):
            table = LATEX_STATS if self.latex else TEXT_STATS
            if var.role != "latent":
                table = PLUGIN_LATEX if self.latex else PLUGIN_TEXT
            stat = "xx_scalar" if a.stat == "xx" and not var.event else a.stat
            text = table[stat] if stat in table else stat_text(stat, self.latex)  # link bounds
            return text.format(v=self.name(a.var)) + self.labels(a.indices, names)
        if a.stat == "onehot":
            row = self.labels(a.indices[:-1], names)
            cat = names.setdefault(a.indices[-1], self.letter(names))
            return f"[{self.name(a.var)}{row} = {cat}]"
        return self.name(a.var) + self.labels(a.indices, names)

    def product(self, atoms, names) -> str:
        return " ".join(self.atom(a, names) for a in atoms if a.var != ONES)

    def term(self, message, out_names) -> sympy.Expr:
        """One monomial (minus its target statistic) as a sympy expression."""
        term, target = message.term, message.target
        factor = self.derivation.factors[message.factor]
        names = dict(out_names)
        everything = [a for a in term.atoms if a is not target]
        sizes = term.sizes + constant_axes(everything, target.indices if target else (), factor)
        atoms = [a for a in everything if a.var != ONES]
        scalars = [a for a in atoms if not a.indices]
        tensors = [a for a in atoms if a.indices]
        expr = sympy.nsimplify(term.coeff) if isinstance(term.coeff, Fraction) \
            else sympy.Float(term.coeff, 6)
        for d in sizes:
            expr *= self.symbol(str(d))
        for a in scalars:
            expr *= self.symbol(self.atom(a, names))
        if tensors:
            body = self.product(tensors, names)
            summed = [names[l] for l in dict.fromkeys(i for a in tensors for i in a.indices)
                      if l not in out_names]
            if summed:
                sigma = (r"\sum_{" if self.latex else "Σ_{") + ",".join(summed) + "} "
                body = sigma + body
            expr *= self.symbol(body)
        return expr

    def symbol(self, text: str) -> sympy.Symbol:
        sym = sympy.Symbol(text if not self.latex else f"s{len(self.symbols)}_{hash(text) & 0xffff}")
        self.symbols[sym] = text
        return sym

    def show(self, expr) -> str:
        if self.latex:
            return sympy.latex(expr, symbol_names=self.symbols)
        return sympy.sstr(expr).replace("**", "^")


def coefficient(printer: Printer, update, stat: str, out_names: dict) -> sympy.Expr:
    terms = []
    for message in update.messages.get(stat, []):
        out = dict(zip(message.target.indices, out_names.get(stat, ())))
        names = {l: n for l, n in out.items()}
        terms.append(printer.term(message, names))
    return sympy.Add(*terms)  # one flatten: += would re-sort the sum per term


def parameter_formulas(family: str, C: dict, dim: str) -> list:
    """Standard parameters from the statistic coefficients, per q family."""
    one, two = sympy.Integer(1), sympy.Integer(2)
    if family == "Normal":
        return [("precision", -two * C["xx"]), ("mean", C["x"] / (-two * C["xx"]))]
    if family == "MvNormal":
        return [("precision", -two * C["xx"]), ("mean", sympy.Symbol("cov") * C["x"])]
    if family == "Gamma":
        return [("shape", one + C["log"]), ("rate", -C["x"])]
    if family == "Wishart":
        return [("df", two * C["logdet"] + sympy.Symbol(dim) + one),
                ("scale⁻¹", -two * C["x"])]
    if family == "Dirichlet":
        return [("concentration", one + C["log"])]
    if family == "Categorical":
        return [("log probs", C["onehot"])]
    if family == "Beta":
        return [("a", one + C["log"]), ("b", one + C["log1m"])]
    if family == "Bernoulli":
        return [("logit p", C["x"])]
    raise KeyError(family)


def point_formulas(family: str, C: dict, dim: str) -> list:
    """The M-step of a point estimate: the mode of the conjugate form its
    messages define (with a flat prior for a param, the maximum likelihood)."""
    two = sympy.Integer(2)
    P, b = sympy.Symbol("P"), sympy.Symbol("b")
    if family == "Normal":
        return [("argmax", C["x"] / (-two * C["xx"]))]
    if family == "MvNormal":
        return [("P", -two * C["xx"]), ("b", C["x"]), ("argmax", sympy.Symbol("P⁻¹ b"))]
    if family == "Gamma":
        return [("argmax", C["log"] / (-C["x"]))]
    if family == "Wishart":
        return [("S", -two * C["x"]), ("argmax", two * C["logdet"] * sympy.Symbol("S⁻¹"))]
    if family == "Dirichlet":
        return [("c", C["log"]), ("argmax", sympy.Symbol("c / Σ c"))]
    if family == "Beta":
        return [("argmax", C["log"] / (C["log"] + C["log1m"]))]
    if family == "Categorical":
        return [("argmax", sympy.Symbol("one-hot of argmax_k") * C["onehot"])]
    raise KeyError(family)


def output_names(update, model) -> dict:
    """Readable index names for each statistic's axes (plates, then event)."""
    prior = model.factor_of(update.name)
    var = model.variables[update.name]
    plates = ([p.index for p in prior.plates] if prior is not None
              else [str(d).lower() for d in var.plates])  # a param has no plates of its own
    event = [c for c in LETTERS if c not in plates][:2]
    names = {}
    for stat, messages in update.messages.items():
        rank = len(messages[0].target.indices) - len(plates)
        names[stat] = tuple(plates + event[:rank])
    return names


def equations_text(derivation: Derivation, style: str = "text", steps: bool = False) -> str:
    """The derived update of every latent, in plain text or LaTeX."""
    printer = Printer(derivation, style)
    model = derivation.model
    blocks = bound_blocks(derivation, style)  # what each link factor became (link_equations.py)
    for update in derivation.updates:
        var = model.variables[update.name]
        names = output_names(update, model)
        C = {stat: coefficient(printer, update, stat, names) for stat in update.messages}
        from ..families.registry import FAMILIES
        for stat in FAMILIES[update.family].stats:
            C.setdefault(stat, sympy.Integer(0))
        dim = str(var.event[0]) if var.event else "1"
        formulas = local_formulas(derivation, update, C) or \
            (point_formulas if update.point else parameter_formulas)(update.family, C, dim)
        blocks.append(render_block(printer, update, var, formulas, C, steps, names))
    return "\n\n".join(blocks)


def render_block(printer, update, var, formulas, C, steps, names) -> str:
    plates = "".join(f"[{d}]" for d in var.plates)
    params = ", ".join(n for n, _ in formulas)
    if printer.latex:
        lines = [rf"q({printer.name(update.name)}) &= \mathrm{{{update.family}}}({params})\\"]
        lines += [rf"\quad \mathrm{{{n}}} &= {printer.show(e)}\\" for n, e in formulas]
    else:
        index = "".join(f"[{n}]" for n in names.get(next(iter(names), ""), ())[:len(var.plates)])
        if update.point:
            kind = "maximum likelihood" if var.role == "param" else "MAP"
            lines = [local_header(update, index, plates) or
                     f"{update.name}{index} = argmax E[log p]  ({kind} point estimate, "
                     f"{update.family} form)    # plates {plates or 'none'}"]
        else:
            lines = [f"q({update.name}{index}) = {update.family}({params})    "
                     f"# plates {plates or 'none'}"]
        if steps:
            lines += [f"  coefficient of {TEXT_STATS.get(s, s).format(v=update.name)}: "
                      f"{printer.show(e)}" for s, e in C.items()]
        lines += [f"  {update.name if n == 'argmax' else n} = {printer.show(e)}"
                  for n, e in formulas]
    return "\n".join(lines)


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
