"""Last touches to the model's code, so that it reads in the model's names.

* ``constant_names``: the keys of K (what ``_constants`` computes once per
  fit) named after what they hold — ``K['inv_W0']``, ``K['beta0_m0']``,
  ``K['const_z_onehot']`` — instead of the lowering's ``'@c3'``, ``'@h1'``,
  ``'@s2.onehot'``; ``renamed`` applies them to the code (a prior's constant
  part is named ``K['prior_mu_L']`` as it is written).
* ``inlined``: a local bound to a lookup (``E_log_pi = E['pi']['log']``) and
  used once is written at its use instead.
"""
from __future__ import annotations

import io
import re
import tokenize

from ..lower import DERIVED, HOISTED, Operand

# a K key of the lowering: derived constant, hoisted sum, folded group, a
# prior's or an update's constant part, the ELBO's, an identity
LOWERED = re.compile(r"'(@[chg]\d+|@s\d+\.\w+|@e0|@eye:\w+)'")


def constant_names(m, steps) -> dict:
    """{lowered key: readable key} of every K entry the code may hold."""
    by_index = {s.index: s.name for s in steps}

    def word(k: str) -> str:
        kind = k[1]
        if kind == "c":  # its function and inputs (inv_W0), or numbers only: its number
            word = m.wanted(Operand(DERIVED, k, "value", ()))
            const = m.derivation.constants.items.get(k)
            return f"{word}_c{k[2:]}" if const is not None and word == const.func else word
        if kind == "h":
            return m.wanted(Operand(HOISTED, k, "value", ()))
        if kind == "g":
            return m.group_words.get(k, "c" + k[2:])
        if kind == "s":
            index, stat = k[2:].split(".", 1)
            return f"const_{by_index[int(index)]}_{stat}"
        if k == "@e0":
            return "elbo_const"
        return "eye_" + k[len("@eye:"):]
    return word


def renamed(lines: list, word) -> list:
    """The code with each lowered K key replaced by its readable name (one
    name per key, distinct; a clash takes a number)."""
    names = {}
    taken = {k for line in lines for k in re.findall(r"K\['([^'@]+)'\]", line)}

    def readable(match) -> str:
        k = match.group(1)
        if k not in names:
            base = word(k) or k
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}_{n}"
            names[k] = name
            taken.add(name)
        return repr(names[k])
    return [LOWERED.sub(readable, line) for line in lines]


ATOM = re.compile(r"^\w+(\[[^\[\]]+\])+$")  # a lookup: E['pi']['log'], dim['D']


def inlined(head: list, body: list) -> list:
    """A function's local bindings (``head``, ``    name = source`` lines) and
    the lines after them, with each local bound to a lookup and used once in
    ``body`` written at its use instead."""
    bindings = {}
    for line in head:
        found = re.match(r"^    (\w+) = (.+)$", line)
        if found and ATOM.match(found.group(2)):
            bindings[found.group(1)] = (line, found.group(2))
    uses = {}
    text = "\n".join(body) + "\n"
    previous = None
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and tok.string in bindings and previous != ".":
            uses.setdefault(tok.string, []).append(tok.start)
        previous = tok.string  # (x.T: an attribute, not the local T)
    once = {name: spots[0] for name, spots in uses.items() if len(spots) == 1}
    out = text.splitlines()
    # right to left, so the columns of the earlier uses on a line stay valid
    for name, (row, col) in sorted(once.items(), key=lambda item: item[1], reverse=True):
        line = out[row - 1]
        out[row - 1] = line[:col] + bindings[name][1] + line[col + len(name):]
    dropped = {bindings[name][0] for name in once}
    return [line for line in head if line not in dropped] + out
