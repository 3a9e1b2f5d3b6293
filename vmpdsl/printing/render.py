"""Monomials and squares as a textbook writes them.

One ``Renderer`` per printed block.  Index letters come from the plates
(``for k in K`` gives ``k``; a dim with no plate its lower-case initial), and
a summed index takes the next free letter, so it never reuses one in sight.
Vector and matrix axes are shown in matrix notation where the contraction is a
chain (``x[n]ᵀ E[Lambda[k]] E[mu[k]]``, ``XᵀX``, ``tr(A B)``, ``u vᵀ``), with
index notation as the fallback; observed integer indices are shown as indexing
(``E[log theta[doc[t], k]]``) or as a condition on the sum (``Σ_{t: doc[t] = d}``).
The renderer records every expectation and named statistic it prints, so the
"where" block can define exactly those.
"""
from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

from ..derive.statistics import EYE, Mono, is_output
from ..derive.terms import Atom
from ..derive.link_equations import STAT_TEXT as LOCAL_STATS
from .chains import chains
from .links import local_statistic
from .normal_wishart import JOINT_FAMILIES
from .normal_wishart import statistic as block_statistic
from .sequences import CHAIN_STATS, chain_statistic, slice_indicator
from .squares import Square

LOG_CONSTANTS = (("log2pi", math.log(2 * math.pi)), ("log2", math.log(2.0)),
                 ("logpi", math.log(math.pi)))
ALPHABET = "abcdefghijklmnopqrstuvwxyz"


class Letters:
    """Display names of labels for one printed line."""

    def __init__(self, renderer, fixed: dict):
        self.r = renderer
        self.names = dict(fixed)

    def __getitem__(self, label: str) -> str:
        if label not in self.names:
            self.names[label] = self.fresh(self.r.dims.get(label))
        return self.names[label]

    def fresh(self, dim) -> str:
        used = set(self.names.values())
        start = self.r.plate_letter(dim)
        at = ALPHABET.index(start) if start in ALPHABET else 0
        for c in ALPHABET[at:] + ALPHABET[:at]:
            if c not in used:
                return c
        return f"i{len(used)}"


class Renderer:
    def __init__(self, ctx, style):
        self.ctx, self.s = ctx, style
        self.model = ctx.model
        self.dims = ctx.dims
        self.used: dict = {}  # (var, stat) -> an example atom, for the where block
        self.named: dict = {}  # named statistics printed: name -> (atom, letters)

    # ------------------------------------------------------------- names
    def plate_letter(self, dim) -> str:
        return self.ctx.plate_letters.get(str(dim), str(dim)[:1].lower() or "i")

    def is_event(self, label: str) -> bool:
        return label not in self.ctx.rows

    def role(self, var: str):
        v = self.model.variables.get(var)
        return v.role if v is not None else None

    def rows_of(self, a: Atom, letters) -> list:
        return [letters[l] for l in a.indices if not self.is_event(l)]

    def base(self, a: Atom, letters, raw=False) -> str:
        """The atom without its event axes (those are shown by position)."""
        s = self.s
        if a.var == EYE:  # the identity matrix; on two row labels the indicator [k = l]
            rows = self.rows_of(a, letters)
            return s.indicator(rows[0], rows[1]) if len(rows) == 2 else "I"
        if a.var.startswith("@c"):
            return self.constant(a, letters)
        if a.var.startswith("@t"):  # a sliced plate's mask (derive/chains.py)
            return slice_indicator(self, a, letters)
        role = self.role(a.var)
        name = s.index(s.name(a.var), self.rows_of(a, letters)) if a.stat != "onehot" else None
        if role in ("latent", "point", "param"):
            if a.stat == "onehot":
                return self.gate(a, letters)
            if a.stat in LOCAL_STATS:  # λ(ξ_y[n]) of a link bound
                return local_statistic(self, a, letters)
            if a.stat in CHAIN_STATS:  # a chain's pairwise or previous-element statistic
                return chain_statistic(self, a, letters)
            if self.ctx.families.get(a.var) in JOINT_FAMILIES:  # E[mu[k]ᵀ Lambda[k] mu[k]]
                return block_statistic(self, a, self.rows_of(a, letters), raw)
            point = role != "latent"
            if not raw and not point:
                self.used.setdefault((a.var, a.stat), a)
            var = self.model.variables[a.var]
            event = bool(var.event)
            p = len(var.plates)
            if a.stat == "xx" and event and not self.is_event(a.indices[p]):
                # an element of the second moment: E[W[d,k]²], E[W[d,k] W[d,l]]
                plates = [letters[l] for l in a.indices[:p]]
                i, j = (s.index(s.name(a.var), plates + [letters[l]]) for l in a.indices[p:])
                inner = s.square(i) if i == j else f"{i} {j}"
                return inner if raw or point else s.E(inner)
            inner = {"x": name, "log": s.func("log", name),
                     "log1m": s.func("log", f"1 {s.minus()} {name}"), "logdet": s.logdet(name),
                     "xx": f"{name} {s.transpose(name)}" if event else s.square(name)}[a.stat]
            return inner if raw or point else s.E(inner)
        return name

    def gate(self, a: Atom, letters) -> str:
        """A latent Categorical's one-hot statistic: r[n,k] (or [z[n] = k] for a point)."""
        rows = [letters[l] for l in a.indices]
        if self.role(a.var) == "latent":
            self.used.setdefault((a.var, "onehot"), a)
            return self.s.index(self.ctx.symbol(a.var, "probs", self.s), rows)
        return self.s.indicator(self.s.index(self.s.name(a.var), rows[:-1]), rows[-1])

    def constant(self, a: Atom, letters) -> str:
        """A derived constant (W0⁻¹, log|W0|, log Γ(a), log c[n]!) in user names."""
        s = self.s
        c = self.ctx.derivation.constants.items[a.var]
        mapping = dict(zip(c.inputs, a.indices))
        inner_letters = Letters(self, {l: letters[m] for l, m in mapping.items()})
        parts = []
        for t in c.terms:
            words = [str(d) for d in t.sizes]  # 1/K of ones(K) / K
            words += ["I" if b.var == EYE else self.inner_atom(b, inner_letters, mapping)
                      for b in t.atoms if b.var != "@ones" and
                      (b.var != EYE or len(b.indices) == 2 and b.indices[0] != b.indices[1])]
            coeff = Fraction(t.coeff) if isinstance(t.coeff, Fraction) else t.coeff
            lead = "" if coeff == 1 and words else (
                s.number(coeff) if isinstance(coeff, Fraction) else repr(coeff))
            parts.append(" ".join(w for w in [lead] + words if w))
        inner = " + ".join(parts)
        if c.func == "inv" and inner == "I":  # Wishart(D, eye(D)): W0⁻¹ = I
            return "I"
        return {"inv": lambda: s.inverse(inner), "logdet": lambda: s.logdet(inner),
                "log": lambda: s.func("log", inner), "lgamma": lambda: s.func("lgamma", inner),
                "lgamma1p": lambda: s.func("log", inner + "!"),
                "recip": lambda: f"1/{inner}" if " " not in inner else f"1/({inner})"}.get(
            c.func, lambda: s.func("log", f"{c.func}({inner})"))()

    def inner_atom(self, b: Atom, letters, mapping) -> str:
        """An atom inside a derived constant: only its row axes are shown (a
        derived constant inside another, log(1/K), is rendered in turn)."""
        if b.var in self.ctx.derivation.constants.items:
            return self.constant(b, letters)
        shown = [letters[l] for l in b.indices
                 if mapping.get(l) is None or not self.is_event(mapping[l])]
        return self.s.index(self.s.name(b.var), shown)

    # -------------------------------------------------------------- pieces
    def mono(self, m: Mono, letters) -> tuple:
        """(sign, text) of one monomial."""
        coeff, consts = split_constant(m.coeff)
        atoms = list(m.atoms)
        sums = [l for l in m.sums if l in m.carried()]
        conditions: dict = {}
        atoms = self.selectors(atoms, sums, letters, conditions)
        named = self.named_count(atoms, sums, letters, conditions)
        if named is not None:
            atoms, sums, nm = named
        sizes = [self.s.name(str(d)) for d in m.sizes] + \
            [self.s.name(str(self.dims[l])) for l in m.sums if l not in m.carried()]
        rows_summed = [l for l in sums if not self.is_event(l)]
        inner = set(rows_summed) | self.gathered_under(m.atoms, rows_summed)
        outside = [a for a in atoms if not any(l in inner or self.is_event(l)
                                               for l in a.indices)]
        inside = [a for a in atoms if a not in outside]
        parts = [self.product(outside, letters, m)]
        if named is not None:
            parts.append(nm)
        if inside or rows_summed:
            pairs, inside = self.pairs(inside, rows_summed, letters)
            cond = [c for l in rows_summed for c in conditions.get(l, [])]
            shown = [letters[l] for l in rows_summed]
            body = self.product(inside + pairs, letters, m)
            if shown and cond and not body:  # a count: |{n: g[n] = j}|
                parts.append(self.s.count(shown, cond))
            else:
                parts.append(self.s.sigma(shown, cond) + (body or "1") if shown else body)
        if consts:
            parts.append(self.s.const(consts))
        return self.with_coeff(coeff, sizes, " ".join(p for p in parts if p))

    def with_coeff(self, coeff, sizes: list, body: str) -> tuple:
        sign = -1 if coeff < 0 else 1
        c = abs(coeff)
        s = self.s
        size = " ".join(sizes)
        if not isinstance(c, Fraction):
            text = " ".join(p for p in (s.decimal(float(c)), size, body) if p)
            return sign, text
        if not body:
            return sign, s.over(size, c) if size else s.number(c)
        if size:
            lead = s.over(size, c)
            lead = lead if c.denominator == 1 else (s.paren(lead) if not s.latex else lead)
            return sign, f"{lead} {body}"
        return sign, s.prefix(c) + body

    def selectors(self, atoms: list, sums: list, letters, conditions: dict,
                  context=()) -> list:
        """Observed integer indices: a gather becomes indexing, a selection a
        condition on the sum; other indicators stay as [g[n] = j]."""
        kept = []
        for a in atoms:
            if a.stat != "onehot" or self.role(a.var) != "data":
                kept.append(a)
                continue
            category, rows = a.indices[-1], a.indices[:-1]
            shown = self.s.index(self.s.name(a.var), [letters[l] for l in rows])
            others = [b for b in list(atoms) + list(context)
                      if b is not a and category in b.indices]
            if category in sums and others:
                letters.names[category] = shown
                sums.remove(category)
            elif any(l in sums for l in rows):
                conditions.setdefault(next(l for l in rows if l in sums), []).append(
                    f"{shown} = {letters[category]}")
            else:
                kept.append(Atom(a.var, "@indicator", a.indices))
        return kept

    def gathered_under(self, atoms, rows_summed) -> set:
        """Labels shown as a gather over a summed row (b[g[n]] under Σ_n)."""
        return {a.indices[-1] for a in atoms if a.stat == "onehot" and
                self.role(a.var) == "data" and any(l in rows_summed for l in a.indices[:-1])}

    def named_count(self, atoms, sums, letters, conditions):
        """Σ_n r[n,k] alone is the named statistic N[k]."""
        gates = [a for a in atoms if a.stat == "onehot" and self.role(a.var) == "latent"]
        for g in gates:
            rows = g.indices[:-1]
            if rows and g.indices[-1] not in sums and \
                    all(l in sums and l not in conditions for l in rows) and not any(
                    l in b.indices for b in atoms if b is not g for l in rows):
                name = self.ctx.count_name(g.var, self.s)
                self.named[(g.var, "count")] = g
                self.used.setdefault((g.var, "onehot"), g)
                text = self.s.index(name, [letters[g.indices[-1]]])
                return [b for b in atoms if b is not g], [l for l in sums if l not in rows], text
        return None

    def pairs(self, atoms: list, rows_summed: list, letters):
        """Two data arrays contracted over a summed row and nothing else are a
        matrix product (XᵀX, Xᵀy): returned as pseudo-atoms."""
        pairs = []
        for n in list(rows_summed):
            holders = [a for a in atoms if n in a.indices]
            if len(holders) == 2 and all(self.role(a.var) == "data" and a.stat == "value"
                                         and [l for l in a.indices if not self.is_event(l)] == [n]
                                         for a in holders):
                a, b = sorted(holders, key=lambda h: -sum(map(self.is_event, h.indices)))
                ev = [l for h in (a, b) for l in h.indices if self.is_event(l)]
                if not ev:
                    continue
                text = f"{self.s.transpose(self.s.name(a.var))}{self.s.name(b.var)}" \
                    if not self.s.latex else \
                    f"{self.s.name(a.var)}{self.s.T} {self.s.name(b.var)}"
                pairs.append(Atom("@pair:" + text, "pair" if a.var != b.var else "sympair",
                                  tuple(ev)))
                atoms = [h for h in atoms if h not in holders]
                rows_summed.remove(n)
        return pairs, atoms

    def product(self, atoms: list, letters, m=None, raw=False, attach=None) -> str:
        """Scalars first, then the chain of the event axes."""
        scalars = [a for a in atoms if not any(map(self.is_event, a.indices))]
        events = [a for a in atoms if a not in scalars]
        words = []
        for a in scalars:
            words.append(self.scalar(a, letters, raw))
        words = power_words(words, self.s)
        if events:
            outs = [l for l in dict.fromkeys(l for a in events for l in a.indices)
                    if (is_output(l) or l == attach) and self.is_event(l)]
            chain = self.chain(events, sorted(outs), letters, raw)
            if chain is None:
                chain = self.indexed(events, letters, raw)
            words.append(chain)
        return " ".join(w for w in words if w)

    def scalar(self, a: Atom, letters, raw) -> str:
        if a.stat == "@indicator":
            rows = [letters[l] for l in a.indices]
            return self.s.indicator(self.s.index(self.s.name(a.var), rows[:-1]), rows[-1])
        return self.base(a, letters, raw)

    def indexed(self, atoms: list, letters, raw) -> str:
        """Index notation, the fallback: Σ_{d,e} A[d,e] b[e]."""
        summed = [l for l in dict.fromkeys(l for a in atoms for l in a.indices)
                  if self.is_event(l) and not is_output(l)]
        words = []
        for a in atoms:
            ev = [letters[l] for l in a.indices if self.is_event(l)]
            words.append(self.s.index(self.element_base(a, letters, raw), ev))
        head = self.s.sigma([letters[l] for l in summed]) if summed else ""
        return head + " ".join(words)

    def element_base(self, a, letters, raw) -> str:
        text = self.base(a, letters, raw) if not a.var.startswith("@pair:") else a.var[6:]
        return text if text.isidentifier() or not (" " in text) else self.s.paren(text)

    # -------------------------------------------------------------- chains
    def chain(self, atoms: list, outs: list, letters, raw):
        """Matrix notation for the event factors, or None (see chains.py)."""
        atoms = self.diagonals(atoms, outs, letters, raw)
        found = chains([[l for l in a.indices if self.is_event(l)] for a in atoms], outs)
        if found is None:
            return None
        words = []
        for kind, steps in found:
            text = " ".join(self.elem(atoms[i], how, letters, raw) for i, how in steps)
            words.append(self.s.func("tr", text) if kind == "trace" else text)
        return " ".join(words)

    def diagonals(self, atoms: list, outs, letters, raw) -> list:
        """v[i] δ[i,j] is the matrix diag(v)."""
        for d in atoms:
            if d.var != EYE or len(d.indices) != 2:
                continue
            for v in atoms:
                ev = [l for l in v.indices if self.is_event(l)]
                if v is not d and len(ev) == 1 and ev[0] in d.indices:
                    text = self.s.func("diag", self.base(v, letters, raw))
                    diag = Atom("@pair:" + text, "sympair", d.indices)
                    return self.diagonals([diag] + [a for a in atoms if a is not d and a is not v],
                                          outs, letters, raw)
        return atoms

    def elem(self, a: Atom, how: str, letters, raw) -> str:
        if a.var.startswith("@pair:"):
            text = a.var[6:]
            symmetric = a.stat == "sympair"
        else:
            text = self.base(a, letters, raw)
            symmetric = self.ctx.symmetric(a)
        if how == "row" or (how == "back" and not symmetric):
            if a.stat == "cross":  # E[x[t] x[t-1]ᵀ]ᵀ is E[x[t-1] x[t]ᵀ]
                return chain_statistic(self, a, letters, transposed=True)
            return self.s.transpose(text)
        return text

    # -------------------------------------------------------------- squares
    def square(self, sq: Square, letters) -> tuple:
        """(sign, text): c Σ_n R E[(h)(h)ᵀ] (or E[(h)ᵀ M (h)], E[(h)²])."""
        coeff, _ = split_constant(sq.coeff)
        for l, d in sq.dims:
            self.dims.setdefault(l, d)
        sums, conditions = list(sq.sums), {}
        inner = [a for _, h in sq.halves for a in h] + list(sq.middle)
        rest = self.selectors(list(sq.rest), sums, letters, conditions, inner)
        rows = [l for l in sums if not self.is_event(l)]
        inner = set(rows) | self.gathered_under(sq.rest, rows)
        outside = [a for a in rest if not any(l in inner for l in a.indices)]
        within = [a for a in rest if a not in outside]
        form = self.square_form(sq, letters)
        if form.startswith(self.s.E("")[:2]):
            self.used.setdefault(("@square", replace(sq, coeff=1, factor=-1)), sq)
        body = " ".join(p for p in (self.product(within, letters), form) if p)
        if rows:
            cond = [c for l in rows for c in conditions.get(l, [])]
            body = self.s.sigma([letters[l] for l in rows], cond) + body
        head = self.product(outside, letters)
        sizes = [self.s.name(str(d)) for d in sq.sizes]
        return self.with_coeff(coeff, sizes, " ".join(p for p in (head, body) if p))

    def square_form(self, sq: Square, letters) -> str:
        """E[(h)(h)ᵀ], E[(h)ᵀ M (h)] or E[(h)²]; no E when nothing in it is random."""
        s = self.s
        h = self.half_sum(sq, letters)
        ph = s.paren(h) if len(sq.halves) > 1 else h
        random = any(self.role(a.var) == "latent"
                     for a in [a for _, hh in sq.halves for a in hh] + list(sq.middle))
        wrap = s.E if random else (lambda x: x)
        if sq.attach:
            return wrap(f"{ph}{ph}{s.T}")
        if sq.middle:
            m = sq.middle[0]
            mid = " " if m.var == EYE else " " + self.base(m, letters, raw=True) + " "
            return wrap(f"{ph}{s.T}{mid}{ph}")
        return wrap(s.square(h) if len(sq.halves) > 1 else s.square(h))

    def half_sum(self, sq: Square, letters) -> str:
        """h = Σ_p s_p h_p, each half in raw variables: x[n] − mu[k]."""
        words = []
        for i, (sign, atoms) in enumerate(sq.halves):
            text = self.product(list(atoms), letters, raw=True, attach="•")
            c = abs(sign)
            lead = self.s.prefix(c) if isinstance(c, Fraction) else f"{c} "
            if i == 0:
                words.append(("-" if sign < 0 else "") + lead + text)
            else:
                words.append((f" {self.s.minus()} " if sign < 0 else " + ") + lead + text)
        return "".join(words)


def split_constant(c):
    """A float coefficient that is a rational multiple of log 2π (log 2, log π)
    is printed exactly: (rational, 'log2pi')."""
    if isinstance(c, Fraction) or c == 0:
        return c, None
    for name, value in LOG_CONSTANTS:
        r = Fraction(c / value).limit_denominator(12)
        if abs(float(r) * value - c) < 1e-12 * abs(c):
            return r, name
    return c, None


def power_words(words: list, style) -> list:
    """Equal adjacent scalar factors as a square: y[n] y[n] → y[n]²."""
    out = []
    for w in words:
        if out and out[-1] == w:
            out[-1] = style.square(w)
        else:
            out.append(w)
    return out
