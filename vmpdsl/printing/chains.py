"""Matrix notation: the vector and matrix factors of a contraction as chains.

Each factor carries one event label (a vector) or two (a matrix); a label is
shared by exactly two places (two factors, or a factor and an output axis).
Then the factors fall into paths and cycles, which is what matrix notation
writes: ``M v`` (from an output to a vector), ``A B`` (output to output),
``u vᵀ`` (two vectors on the two outputs), ``uᵀ M v`` (vector to vector),
``tr(A B)`` (a cycle).  Anything else (three factors on one label, a tensor)
returns None and is printed in index notation.
"""
from __future__ import annotations

from collections import Counter

FLIP = {"vec": "row", "row": "vec", "fwd": "back", "back": "fwd"}


def chains(labels: list, outs: list):
    """[(kind, [(factor, how)])] or None; kind is "matrix", "column", "outer"
    (its steps: the left column, then the right one as a row), "scalar" or
    "trace"; how is "fwd"/"back" (a matrix read along or against its labels),
    "vec" (a column vector) or "row" (a transposed one)."""
    if any(len(ls) not in (1, 2) for ls in labels):
        return None
    count = Counter(l for ls in labels for l in ls) + Counter(outs)
    if any(c != 2 for c in count.values()):
        return None
    walker = Walker(labels, outs)
    found, columns = [], []
    for o in outs:
        if walker.used(o):
            continue
        seq, end = walker.walk(o, walker.holder(o))
        if seq is None or (end is not None and end not in outs):
            return None
        (columns.append(seq) if end is None else found.append(("matrix", seq)))
    if len(columns) == 2:
        found.append(("outer", columns[0] + [(i, FLIP[h]) for i, h in reversed(columns[1])]))
    else:
        found += [("column", c) for c in columns]
    return walker.closed(found)


class Walker:
    def __init__(self, labels: list, outs: list):
        self.labels, self.outs, self.seen = labels, outs, set()

    def used(self, label) -> bool:
        return any(label in self.labels[i] for i in self.seen)

    def holder(self, label, skip=None):
        return next((i for i, ls in enumerate(self.labels)
                     if i not in self.seen and i != skip and label in ls), None)

    def walk(self, label, i):
        """The factors from i on, entered through ``label``: (steps, the label
        it stops at: an output, or a dangling one; None after a vector)."""
        seq = []
        while i is not None:
            self.seen.add(i)
            ls = self.labels[i]
            if len(ls) == 1:
                return seq + [(i, "vec")], None
            if ls[0] == ls[1]:
                return None, None
            forward = ls[0] == label
            seq.append((i, "fwd" if forward else "back"))
            label = ls[1] if forward else ls[0]
            if label in self.outs:
                return seq, label
            i = self.holder(label)
        return seq, label

    def closed(self, found: list):
        """Add the scalar paths (vector … vector) and the cycles (traces)."""
        for i, ls in enumerate(self.labels):
            if i in self.seen or len(ls) != 1:
                continue
            self.seen.add(i)
            rest, end = self.walk(ls[0], self.holder(ls[0], i))
            if rest is None or end is not None or not rest or rest[-1][1] != "vec":
                return None
            found.append(("scalar", [(i, "row")] + rest))
        for i, ls in enumerate(self.labels):
            if i in self.seen:
                continue
            self.seen.add(i)
            if ls[0] == ls[1]:
                found.append(("trace", [(i, "fwd")]))
                continue
            rest, end = self.walk(ls[1], self.holder(ls[1]))
            if rest is None or end != ls[0]:
                return None
            found.append(("trace", [(i, "fwd")] + rest))
        return found
