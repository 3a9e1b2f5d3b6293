"""The functions of the model-specific part (see model_code.py for the plan).

``model_lines(program, docs, reserved)`` is the entry: the lines from
``_constants`` to the UPDATES table, for emit() to place after the module's
specification tables.
"""
from __future__ import annotations

import re

from ..lower import DATA
from . import nonconjugate_emit
from .model_code import Model, coefficient_value, signed_sum
from .model_names import constant_names, inlined, renamed
from .model_terms import Statistic, arrange, row_statistics, using_statistic
from .model_text import Locals, product
from .numpy_emit import constants_header, folded_key, key, packed, stat_shapes

SIGNATURE = "(E, K, data, hyper, dim)"


class Step:
    """One latent's update, arranged: its prior's and its children's parts."""

    def __init__(self, index, step, program, update, rows):
        self.index, self.step, self.name = index, step, step.name
        factors = program.derivation.factors
        prior, rest = {}, {}
        for stat in step.stats:
            own = [factors[m.factor].factor.variable in update.variables
                   for m in update.messages[stat.stat]]
            prior[stat.stat] = [c for c, p in zip(stat.contractions, own) if p]
            rest[stat.stat] = [c for c, p in zip(stat.contractions, own) if not p]
        self.prior = {s: arrange(c, rows) for s, c in prior.items()}
        # the update calls prior_<v> when the prior holds other latents (E[lambda] I);
        # otherwise the prior's constants fold with the children's
        self.calls_prior = any(terms for _, terms in self.prior.values())
        self.parts = {s: arrange(rest[s] if self.calls_prior else rest[s] + prior[s], rows)
                      for s in rest}

    def constant_key(self, stat: str) -> str:
        """The K entry of the update's constant part: the prior's own when the
        children add no constant (computed once, read by both)."""
        if self.parts[stat][0] and self.parts[stat][0] == self.prior[stat][0]:
            return prior_key(self, stat)
        return folded_key(self.index, stat)


def model_lines(program, docs: dict, reserved=(), serial=frozenset()) -> list:
    m = Model(program, reserved)
    updates = {u.name: u for u in program.derivation.updates}
    steps = [Step(i, s, program, updates[s.name], m.rows) for i, s in enumerate(program.steps)]
    for s in steps:  # every module-level name first: no local may shadow one
        for prefix in ("prior", "update", "rows"):
            m.function(prefix, s.name, s.index)
    stats = name_statistics(m, steps, serial)
    lines = []
    for latent, found in stats.items():
        lines += statistics_function(m, latent, found)
    for s in steps:
        lines += prior_function(m, s)
        if s.index in serial:
            from .serial_emit import serial_update_function
            lines += serial_update_function(s.index, s.step, program,
                                            m.function("update", s.name, s.index),
                                            m.function("rows", s.name, s.index))
        else:
            lines += update_function(m, s, stats, docs.get(s.name, ""))
    from .numpy_emit import tables
    lines += tables(SERIAL=tuple(program.steps[i].name for i in sorted(serial)))
    lines += elbo_functions(m, stats)
    # last: the functions above decided which constants to fold (Model.folded)
    lines = constants_function(m, steps, serial) + lines + updates_table(m, steps)
    for old, new in m.aliases.items():
        lines = [line.replace(f"K[{old}]", f"K[{new}]") for line in lines]
    return renamed(lines, constant_names(m, steps))


# ----------------------------------------------------------------- statistics
def name_statistics(m: Model, steps, serial) -> dict:
    found = row_statistics(m.program, {s.name: [t for _, terms in s.parts.values()
                                                for t in terms]
                                       for s in steps if s.index not in serial}, m.local)
    named = {}
    for latent, stats in found.items():
        m.function("statistics", latent, 0)
        stats = sorted(stats, key=lambda st: (len(st.ops), len(st.out)))
        named[latent] = [Statistic(s.latent, s.ops, s.out, s.label_dims,
                                   m.globals.name(statistic_word(m, s))) for s in stats]
    return named


def statistic_word(m: Model, s) -> str:
    """N for a count, else r followed by the data it weighs (rx, rxx, r_word)."""
    words = []
    for o in s.ops:
        if o.kind == DATA and o.name.startswith("@"):
            continue  # row weights and masks are how, not what
        words.append(m.wanted(o).replace("onehot_", ""))
    if len(words) == 1:
        return "N" if words[0] == "r" else f"N_{s.latent}" if words[0].startswith("r_") \
            else f"sum_{words[0]}"
    return ("" if all(len(w) == 1 for w in words) else "_").join(words)


def statistics_function(m: Model, latent: str, stats: list) -> list:
    name = m.function("statistics", latent, 0)
    local = Locals(m.globals)  # (the statistics' own names are module names too)
    body = []
    for s in stats:
        dims = dict(s.label_dims)
        ops = [m.operand(o, local, dims) for o in s.ops]
        text, _ = product(ops, s.out, dims, m.plate_letters)
        body.append(f"    {s.name} = {text}")
    names = ", ".join(s.name for s in stats)
    return ([f"@once_per_update({key(latent)})", f"def {name}{SIGNATURE}:",
             f'    """What the other updates read of q({latent}), computed once per update '
             f'of it."""'] + local.lines + body + [f"    return {names}{',' if len(stats) == 1 else ''}", ""])


def with_statistics(m: Model, terms: list, step_name, stats: dict, local: Locals) -> list:
    """Terms rewritten to read row statistics; the statistics_<latent> calls bound."""
    out = []
    for t in terms:
        for latent, found in stats.items():
            new = using_statistic(t, found, step_name, m.model, m.local)
            if new is not None:
                call = f"{m.function('statistics', latent, 0)}{SIGNATURE}"
                if call not in local.by_source:
                    names = ", ".join(s.name for s in found)
                    local.by_source[call] = names
                    local.lines.append(f"    {names}{',' if len(found) == 1 else ''} = {call}")
                t = new
                break
        out.append(t)
    return out


def locals_for(m: Model, stats: dict) -> Locals:
    local = Locals(m.globals)
    for found in stats.values():
        local.taken |= {s.name for s in found}
    return local


# ------------------------------------------------------------------ constants
def constants_function(m: Model, steps, serial) -> list:
    """_constants; an entry that would repeat another's value (a prior's part
    that is a hoisted sum, a folded group equal to a prior's part) is not
    computed again: ``m.aliases`` sends its key to the other's."""
    from .numpy_emit import contraction_text, split_constant, sum_text
    local = Locals(m.globals, inline=("K[",))
    body, known = [], {}  # known: value text -> (its key, the axes it varies along)

    def entry(k: str, constant):
        text = m.constant_text(constant, local)[0]
        if re.fullmatch(r"K\[[^\[\]]+\]", text):  # only a read of another entry
            m.aliases[k] = m.aliases.get(text[2:-1], text[2:-1])
            return
        known.setdefault(text, (k, len(constant_carried(constant))))
        body.append(f"    K[{k}] = {text}")
    for s in steps:
        if s.index in serial:  # one row at a time: each constant keeps its axes
            for stat in s.step.stats:
                constant, _ = split_constant(stat.contractions)
                if constant:
                    total = sum_text([f"({contraction_text(c)})" for c in constant])
                    body.append(f"    K[{folded_key(s.index, stat.stat)}] = {total}")
            continue
        for stat, (constant, _) in s.prior.items():
            if constant:
                entry(prior_key(s, stat), constant)
        for stat, (constant, _) in s.parts.items():
            if constant and s.constant_key(stat) == folded_key(s.index, stat):
                entry(folded_key(s.index, stat), constant)
    constant, _ = arrange(m.program.elbo)
    if constant:
        body.append(f"    K['@e0'] = float(np.sum({m.constant_text(constant, local)[0]}))")
    head, hoisted = constants_header(m.program, local, m)
    from .model_code import eye_key
    from .numpy_emit import dim_text
    head = [f"    K[{eye_key(d)}] = np.eye({dim_text(d)})" for d in sorted(m.eyes, key=str)] + head
    for name, term, labels in m.groups:
        inner, text = m.group_text(term, labels, local)
        same = known.get(inner)
        if same is not None and same[1] == len(labels):  # that value, at full shape already
            m.aliases[key(name)] = m.aliases.get(same[0], same[0])
        else:
            body.append(f"    K[{key(name)}] = {text}")
    return (["def _constants(dim, data, hyper):", '    """What depends on the data and the '
             'hypers only: computed once per fit."""']
            + inlined(local.lines, ["    K = {}"] + head + hoisted + body
                      + nonconjugate_emit.constant_lines(m.program) + ["    return K"]) + [""])


# ------------------------------------------------------------------- updates
def prior_function(m: Model, s: Step) -> list:
    """prior_<v>: the prior's message, each coefficient along the axes it
    varies only, as update_<v> adds it to the children's messages (the
    runtime's prior_coefficients broadcasts it for the start of q(v))."""
    name = m.function("prior", s.name, s.index)
    local = locals_for(m, {})
    items, s.prior_carried = [], {}
    for stat in stat_shapes(s.step, m.model):
        constant, terms = s.prior.get(stat, ([], []))
        parts = [(1, f"K[{prior_key(s, stat)}]")] if constant else []
        carried = constant_carried(constant)
        for t in terms:
            sign, text, kept = m.term_text(t, local)
            parts.append((sign, text))
            carried |= kept
        s.prior_carried[stat] = carried
        items.append(f"{stat!r}: {signed_sum(parts)}")
    return ([f"def {name}{SIGNATURE}:",
             f'    """The prior factor\'s message to q({s.name}): its start."""']
            + inlined(local.lines, packed("    return {", items, "}")) + [""])


def prior_key(s: Step, stat: str) -> str:
    """The K entry of a prior's constant part: ``K['prior_mu_L']``."""
    return repr(f"prior_{s.name}_{stat}")


def constant_carried(constant) -> set:
    """The output axes along which a sum of constant monomials varies."""
    return {p for c in constant for p, l in enumerate(c.out)
            if any(l in o.labels for o in c.operands)}


def update_function(m: Model, s: Step, stats: dict, doc: str) -> list:
    from .numpy_emit import docstring
    name = m.function("update", s.name, s.index)
    local = locals_for(m, stats)
    if s.calls_prior:
        local.lines.append(f"    prior = {m.function('prior', s.name, s.index)}"
                           f"{SIGNATURE}")
        local.taken.add("prior")
    items = []
    for stat, shape in stat_shapes(s.step, m.model).items():
        constant, terms = s.parts.get(stat, ([], []))
        terms = with_statistics(m, terms, s.name, stats, local)
        parts, carried = [], set()
        prior_constant, prior_terms = s.prior.get(stat, ([], []))
        if s.calls_prior and (prior_constant or prior_terms):
            parts.append((1, f"prior[{stat!r}]", s.prior_carried[stat]))
        if constant:
            parts.append((1, f"K[{s.constant_key(stat)}]", constant_carried(constant)))
        parts += m.sum_text(terms, local)
        # the terms along fewer axes first: N×K is added to once per big term
        parts.sort(key=lambda p: len(p[2]))
        carried = set().union(*(p[2] for p in parts))
        parts = [p[:2] for p in parts]
        if not parts:
            parts = [(1, "0.0")]
        items.append(f"        {stat!r}: {coefficient_value(parts, shape, carried, local, m)},")
    newton = nonconjugate_emit.update_lines(s.step, m.program)
    head = [f"def {name}{SIGNATURE}:", docstring(doc or f"q({s.name}): {s.step.family}")]
    if newton:
        return head + local.lines + ["    C = {"] + items + ["    }"] + newton + ["    return C", ""]
    one = f"    return {{{items[0].strip().rstrip(',')}}}" if len(items) == 1 else ""
    if one and len(one) <= 99:  # one coefficient: one line
        return head + local.lines + [one, ""]
    return head + local.lines + ["    return {"] + items + ["    }", ""]


# ---------------------------------------------------------------------- ELBO
def elbo_functions(m: Model, stats: dict) -> list:
    """E[log p] without the last-updated latent's terms (the sweep adds them
    from its coefficients), and in full: that plus those terms."""
    program = m.program
    ids = {id(c) for c in program.elbo_rest}
    rest = [c for c in program.elbo if id(c) in ids]
    last = [c for c in program.elbo if id(c) not in ids]
    _, rest_terms = arrange(rest, m.rows)
    constant, _ = arrange(program.elbo)
    local = locals_for(m, stats)
    lines = accumulated("K['@e0']" if constant else "",
                        [m.term_text(t, local)[:2]
                         for t in with_statistics(m, rest_terms, None, stats, local)])
    lines += nonconjugate_emit.elbo_lines(program)
    out = ["def _expected_log_joint_rest(E, K, data, hyper, dim):",
           '    """E[log p] without the terms of the last-updated latent."""']
    out += inlined(local.lines, lines + ["    return float(total)"]) + [""]
    local = locals_for(m, stats)
    _, last_terms = arrange(last, m.rows)
    lines = accumulated("_expected_log_joint_rest(E, K, data, hyper, dim)",
                        [m.term_text(t, local)[:2]
                         for t in with_statistics(m, last_terms, None, stats, local)])
    out += ["def _expected_log_joint(E, K, data, hyper, dim):",
            '    """E[log p]: the terms above and those of the last-updated latent."""']
    return out + inlined(local.lines, lines + ["    return float(total)"]) + [""]


def accumulated(start: str, parts: list) -> list:
    """``total = start ± the first part``, then ``total ±= part`` for each
    other (sign, text) part; ``start`` '' for none."""
    lines = []
    for sign, text in parts:
        if lines:
            lines.append(f"    total {'-' if sign < 0 else '+'}= {text}")
        elif start and len(start) + len(text) <= 80:  # (a line of at most 99)
            lines.append(f"    total = {start} {'-' if sign < 0 else '+'} {text}")
        elif start:
            lines += [f"    total = {start}", f"    total {'-' if sign < 0 else '+'}= {text}"]
        else:
            lines.append(f"    total = {'-' if sign < 0 else ''}{text}")
    return lines or [f"    total = {start or '0.0'}"]


def updates_table(m: Model, steps) -> list:
    """UPDATES, built by the runtime (runtime/tables.py) from the sweep order
    and the update_<v> / prior_<v> naming; a latent whose functions could
    not take those names (a clash) names them."""
    items = []
    for s in steps:
        update, prior = m.function("update", s.name, s.index), m.function("prior", s.name, s.index)
        conventional = (update, prior) == (f"update_{s.name}", f"prior_{s.name}")
        items.append(key(s.name) if conventional else f"({key(s.name)}, {update}, {prior})")
    return packed("UPDATES = updates_in_order((", items, ",))" if len(items) == 1 else "))") + [""]
