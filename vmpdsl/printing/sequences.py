"""How a chain block's statistics and a sliced plate's mask print
(derive/chains.py): ``q(z[t-1]=j, z[t]=k)`` for a pair marginal, ``E[x[t-1]]``
for a previous element's moment, ``[t ≥ 1]`` for the mask of ``T[1:]``."""
from __future__ import annotations

from ..derive.chains import mask_text
from ..derive.terms import Atom

CHAIN_STATS = ("prev_onehot", "pair", "prev_x", "prev_xx", "cross")


def chain_statistic(r, a: Atom, letters, transposed=False) -> str:
    """A chain's statistic at position t, with its rows (t, outer plates) and
    its category letters; Gaussian event axes are shown by position."""
    s = r.s
    var = r.model.variables[a.var]
    p = len(var.plates)
    rows = [letters[l] for l in a.indices[:p]]
    now, before = s.index(s.name(a.var), rows), s.index(s.name(a.var), rows[:-1] + [f"{rows[-1]}-1"])
    cats = [letters[l] for l in a.indices[p:]]
    r.used.setdefault((a.var, a.stat), a)
    if a.stat == "prev_onehot":
        return s.q(f"{before} = {cats[0]}")
    if a.stat == "pair":
        return s.q(f"{before} = {cats[0]}, {now} = {cats[1]}")
    inner = {"prev_x": before, "prev_xx": f"{before} {s.transpose(before)}",
             "cross": f"{before} {s.transpose(now)}" if transposed else
             f"{now} {s.transpose(before)}"}[a.stat]
    return s.E(inner)


def slice_indicator(r, a: Atom, letters) -> str:
    """The mask of a sliced plate as the indicator it is: [t ≥ 1], [t = 0]."""
    text = mask_text(r.model, a.var, letters[a.indices[-1]])
    if text is None:
        return r.s.index(r.s.name(a.var), [letters[l] for l in a.indices])
    return text.replace("≥", r"\geq ") if r.s.latex else text


def chain_moments(r, s, v, sym, stat, var, idx, letters):
    """The "where" line of a chain block's expectation: where it comes from."""
    how = s.text("by forward-backward" if var.family == "Categorical"
                 else "by the Kalman filter and RTS smoother")
    t = idx[-1] if idx else "t"
    now, before = s.index(s.name(var.name), list(idx)), \
        s.index(s.name(var.name), list(idx[:-1]) + [f"{t}-1"])
    if stat == "onehot":  # the r[t,k] the updates print
        gap = r",\ " if s.latex else ", "
        return [(s.index(r.ctx.symbol(var.name, "probs", s), list(idx) + ["k"]),
                 f"{s.q(f'{now} = k')}{gap}{how}")]
    left = {"prev_onehot": lambda: s.q(f"{before} = j"),
            "pair": lambda: s.q(f"{before} = j, {now} = k"),
            "x": lambda: s.E(now), "xx": lambda: s.E(f"{now} {s.transpose(now)}"),
            "prev_x": lambda: s.E(before),
            "prev_xx": lambda: s.E(f"{before} {s.transpose(before)}"),
            "cross": lambda: s.E(f"{now} {s.transpose(before)}")}[stat]()
    return [(left, how)]


STAT_WORDS = {"prev_onehot": "[{b} = {j}]", "pair": "[{b} = {j}][{v} = {k}]",
              "prev_x": "{b}", "prev_xx": "{b} {b}ᵀ", "cross": "{v} {b}ᵀ"}


def chain_stat_word(s, stat: str, now: str, before: str, cats=()) -> str:
    """The statistic a chain coefficient multiplies, for --steps: ``now`` and
    ``before`` are z[t] and z[t-1] in the style's notation, ``cats`` the
    coefficient's category letters."""
    j, k = (list(cats) + ["j", "k"])[:2] if len(cats) != 1 else (cats[0], "k")
    text = STAT_WORDS[stat].format(v=now, b=before, j=j, k=k)
    return text.replace("ᵀ", r"^\top") if s.latex else text
