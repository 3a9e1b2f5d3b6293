"""One printed block per update: its q (or point estimate) and its parameters;
with ``steps``, each factor's message first, then their sum.  Plain text and
LaTeX share everything but the style and the layout (``layout_*``).
"""
from __future__ import annotations

from ..derive.statistics import Mono
from ..derive.link_equations import STAT_LATEX as LOCAL_LATEX
from ..derive.link_equations import STAT_TEXT as LOCAL_STATS
from . import links
from .families import PRINTING
from .formulas import Inverse, Ratio, formulas, without
from .normal_wishart import statistic_word
from .render import Letters, Renderer
from .sequences import CHAIN_STATS, chain_stat_word
from .squares import Square
from .where import var_letters, where_lines

STAT_WORDS = {"x": "{v}", "log": "log {v}", "log1m": "log(1 − {v})", "logdet": "log|{v}|",
              "onehot": "[{v} = k]"}


# ------------------------------------------------------------------ sums
def render_sum(r: Renderer, pieces: list, letters, factor: bool = True) -> str:
    if not pieces:
        return "0"
    pieces = sorted(pieces, key=lambda p: (isinstance(p, Mono) and not p.atoms and
                                           not p.sizes and not p.sums, p.factor,
                                           isinstance(p, Square)))
    common = common_factor(r, pieces) if factor else None
    if common is not None:
        inner = render_sum(r, without(pieces, [common]), letters, factor=False)
        outer = r.product([common], Letters(r, letters.names))
        rest = without(pieces, [common])
        if not any(r.is_event(l) for p in rest for b in p.atoms for l in b.indices):
            return f"{r.s.paren(inner)} {outer}"  # (beta0 + N[k]) E[Lambda[k]]
        return f"{outer} {r.s.paren(inner)}"  # E[tau] (Σ_n … − …)
    out = []
    for p in pieces:
        local = Letters(r, letters.names)
        sign, text = r.square(p, local) if isinstance(p, Square) else r.mono(p, local)
        minus = r.s.minus()
        if not out:
            out.append(f"{minus}{text}" if sign < 0 else text)
        else:
            out.append(f" {minus} {text}" if sign < 0 else f" + {text}")
    return "".join(out)


def common_factor(r, pieces):
    """An atom in every monomial of a sum of several, printed once: a scalar in
    front, a matrix after a scalar sum."""
    if len(pieces) < 2 or not all(isinstance(p, Mono) for p in pieces):
        return None
    for a in pieces[0].atoms:
        if all(a in p.atoms for p in pieces) and not any(
                l in p.sums for p in pieces for l in a.indices):
            rest = without(pieces, [a])
            if not any(r.is_event(l) for l in a.indices) or not any(
                    r.is_event(l) for p in rest for b in p.atoms for l in b.indices):
                return a
    return None


def single(pieces, r=None) -> bool:
    """Printed as one product (no parentheses needed around it)."""
    if r is not None and common_factor(r, pieces) is not None:
        return True
    return len(pieces) == 1 and not (isinstance(pieces[0], Mono) and pieces[0].coeff < 0)


def render_value(r, value, letters, covariance) -> str:
    s = r.s
    if isinstance(value, str):  # a finished text (a chain's smoother)
        return s.text(value)
    if hasattr(value, "render"):  # a family's own form (normal_wishart.Less)
        return value.render(r, letters)
    if isinstance(value, Ratio):
        num, den = render_sum(r, value.num, letters), render_sum(r, value.den, letters)
        if den == "1":
            return num
        return s.frac(num, den, single(value.num, r), single(value.den, r))
    if isinstance(value, Inverse):
        times = render_sum(r, value.times, letters)
        times = times if single(value.times, r) else s.paren(times)
        if value.matrix == ["S"]:
            matrix = covariance
        else:
            matrix = s.inverse(render_sum(r, value.matrix, letters))
        return f"{matrix} {times}" if value.before else f"{times} {matrix}"
    return render_sum(r, value, letters)


# ---------------------------------------------------------------- blocks
def output_letters(r, form) -> tuple:
    """The update's index letters: its plates', then its event axes'."""
    shown, letters = var_letters(r, form.update.name, 0)
    fixed = {}
    for i, label in enumerate(form.outputs):
        if i < len(shown):
            fixed[label] = shown[i]
    out = Letters(r, fixed)
    for label in form.outputs[len(shown):]:
        out[label]
    return [out.names[l] for l in form.outputs], out


def block(r: Renderer, form, steps: bool) -> list:
    """[(kind, left, right)] lines of one update: the header, the --steps
    lines, then one line per parameter."""
    s = r.s
    name = form.update.name
    family = form.update.family
    shown, letters = output_letters(r, form)
    plates = shown[:len(form.var.plates)]
    lines = [("head",) + header(r, form, plates)]
    if steps:
        lines += step_lines(r, form, letters)
    # an MvNormal's mean is S (C_x) where S is the covariance its S⁻¹ line defines
    covariance = s.index(r.ctx.symbol(name, "precision", s), plates) \
        if family == "MvNormal" and not form.update.point else None
    special = links.nonconjugate_lines(r, form, letters)
    if special is not None:  # Newton updates (exp links, learned hyperparameters)
        v = s.index(s.name(name), plates)
        return lines + [("param", lhs or v, rhs) for lhs, rhs in special]
    for param, value in formulas(form, r.ctx):
        lhs = left_side(r, form, param, shown, plates)
        rhs = render_value(r, value, letters, covariance)
        if family == "Categorical" and not form.update.point:
            rhs += " + " + s.text("const")
        if param == "argmax":  # a point Categorical: the best category
            k = letters[form.outputs[-1]]
            rhs = (f"argmax_{k} " if not s.latex else rf"\operatorname{{argmax}}_{{{k}}} ") \
                + s.paren(rhs)
        lines.append(("param", lhs, rhs))
    return lines


def header(r, form, plates):
    s, name, family = r.s, form.update.name, form.update.family
    v = s.index(s.name(name), plates)
    local = links.header(r, form, v)
    if local is not None:
        return local
    if form.update.point:
        kind = "maximum likelihood" if form.var.role == "param" else "MAP estimate"
        return (v, f"argmax of E[log joint]   ({kind}: the mode of its {family} form)"
                if not s.latex else rf"\operatorname{{argmax}}\ \mathbb{{E}}[\log "
                rf"\text{{joint}}] \quad \text{{({kind})}}")
    if form.update.members:  # a joint block: q(mu[k], Lambda[k])
        v = ", ".join(s.index(s.name(n), plates) for n in form.update.members)
    params = []
    for param in PRINTING[family].params:
        sym = s.index(r.ctx.symbol(name, param, s), plates)
        params.append(s.inverse(sym) if family == "MvNormal" and param == "precision" else sym)
    fam = family if not s.latex else rf"\mathrm{{{family}}}"
    return (s.q(v), f"{fam}({', '.join(params)})")


def left_side(r, form, param, shown, plates) -> str:
    s, name, family = r.s, form.update.name, form.update.family
    if form.update.point:  # the estimate itself; a Dirichlet's elementwise
        v = s.index(s.name(name), shown if family == "Dirichlet" else plates)
        return s.square(v) if param == "square" else v
    elementwise = family in ("Dirichlet", "Categorical")
    idx = shown if elementwise else plates
    if param == "log probs":
        return s.func("log", s.index(r.ctx.symbol(name, "probs", s), idx))
    if param == "logit p":
        return f"logit {s.index(r.ctx.symbol(name, 'p', s), idx)}"
    if family in ("CategoricalChain", "GaussianChain"):  # a chain's potentials, by name
        return s.text(param)
    key = {"scale⁻¹": "scale"}.get(param, param)
    sym = s.index(r.ctx.symbol(name, key, s), idx)
    if param == "scale⁻¹" or (family == "MvNormal" and param == "precision"):
        return s.inverse(sym)
    return sym


def step_lines(r, form, letters) -> list:
    """Each factor's message (its coefficient of each statistic), then the sum."""
    s, model = r.s, r.model
    lines = []
    factors = sorted({i for c in form.coefficients.values() for i in c.by_factor})
    name = s.index(s.name(form.update.name), [letters[l] for l in form.outputs
                                              [:len(form.var.plates)]])
    event = bool(form.var.event)
    plates = [letters[l] for l in form.outputs[:len(form.var.plates)]]

    def word(stat):
        if form.update.members:  # a joint block's statistics: muᵀ Lambda mu, ...
            return statistic_word(s, form, stat, plates)
        if stat in CHAIN_STATS:  # its categories in the coefficient's letters
            cats = [letters[l] for l in form.stat_outputs[stat][len(form.var.plates):]]
            before = s.index(s.name(form.update.name), plates[:-1] + [f"{plates[-1]}-1"])
            return chain_stat_word(s, stat, name, before, cats)
        return stat_word(s, stat, name, event)
    source = model.source.splitlines() if model.source else []
    for index in factors:
        factor = r.ctx.derivation.factors[index].factor
        line = factor.span.line if factor.span else 0
        text = source[line - 1].split("#")[0].strip() if 0 < line <= len(source) \
            else factor.variable
        lines.append(("from", f"message from line {line}", text))
        for stat, c in form.coefficients.items():
            if index in c.by_factor:
                lines.append(("coef", word(stat), render_sum(r, c.by_factor[index], letters)))
    lines.append(("sum", "sum of the messages", ""))
    for stat, c in form.coefficients.items():
        lines.append(("coef", word(stat), render_sum(r, c.total, letters)))
    return lines


def stat_word(s, stat, name, event=False) -> str:
    """The statistic a coefficient multiplies: log alpha, w wᵀ, log|Lambda[k]|."""
    if stat == "xx":
        return f"{name} {s.transpose(name)}" if event else s.square(name)
    if stat in LOCAL_STATS:  # λ(ξ), c(ξ), g(ψ) of a link bound
        return (LOCAL_LATEX if s.latex else LOCAL_STATS)[stat].format(v=name)
    if s.latex:
        return {"x": name, "log": rf"\log {name}", "log1m": rf"\log(1-{name})",
                "logdet": s.logdet(name), "onehot": rf"[{name} = k]"}[stat]
    return STAT_WORDS[stat].format(v=name)


# ---------------------------------------------------------------- layout
TEXT_LAYOUT = {"head": "{l} = {r}", "param": "  {l} = {r}", "from": "  {l}: {r}",
               "coef": "    coefficient of {l}: {r}", "sum": "  {l}:"}


def layout_text(blocks: list, where: list, preface=()) -> str:
    out = list(preface) + ["\n".join(TEXT_LAYOUT[k].format(l=l, r=rr) for k, l, rr in lines)
           for lines in blocks]
    if where:
        out.append("where\n" + "\n".join(f"  {l} = {rr}" for l, rr in where))
    return "\n\n".join(out)


def layout_latex(blocks: list, where: list, preface=()) -> str:
    out = list(preface)
    for lines in blocks:
        rows = []
        for kind, lhs, rhs in lines:
            if kind == "from":
                rows.append(rf"\intertext{{{lhs}: \texttt{{{texttt(rhs)}}}}}")
            elif kind == "sum":
                rows.append(rf"\intertext{{{lhs}:}}")
            elif kind == "coef":
                rows.append(rf"\quad\text{{coefficient of }} {lhs} &\colon\ {rhs}")
            else:
                rows.append(f"{lhs} &= {rhs}")
        out.append(latex_align(rows))
    if where:
        out.append(latex_align([r"\intertext{where}"] + [f"{l} &= {rr}" for l, rr in where]))
    return "\n\n".join(out)


def texttt(source: str) -> str:
    """Model source for \\texttt: TeX's special characters escaped."""
    special = {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
               "{": r"\{", "}": r"\}", "_": r"\_", "#": r"\#", "%": r"\%", "&": r"\&",
               "$": r"\$"}
    return "".join(special.get(c, c if c.isascii() else f"u+{ord(c):04x}") for c in source)


def latex_align(rows: list) -> str:
    body = []
    for i, row in enumerate(rows):
        last = i == len(rows) - 1
        body.append(row + ("" if last or row.startswith(r"\intertext") else r" \\"))
    return "\\begin{align*}\n" + "\n".join(body) + "\n\\end{align*}"


def render(ctx, forms: list, style, steps: bool) -> str:
    r = Renderer(ctx, style)
    blocks = [block(r, form, steps) for form in forms]
    where = where_lines(r)
    return (layout_latex if style.latex else layout_text)(blocks, where, links.bounds(r))
