"""Printing one product of the update program as NumPy code a person would write.

A product is a coefficient times operands contracted to output labels (a
``Contraction`` of lower.py, after model_code.py has folded its constants).
Each operand is a local variable of the emitted function (``r``, ``x``,
``E_Lambda``), bound once by ``Locals``; the product becomes, decided here at
compile time, the cheapest clear form: a broadcast product (``r * x[:, None]``),
an axis sum (``r.sum(0)``), a matrix product (``r.T @ x``), ``np.vdot``, an
``np.einsum`` in the model's own index letters, or — for one-hot data, factored
second moments and products of three or more arrays — the runtime's
``contract`` (its planner and memo).

User text enters the code only as validated identifiers: a model name becomes
a local variable only if it is a plain identifier that Python keeps as
written (NFKC-stable, not a keyword or builtin, not a name the function
needs); otherwise it gets a neutral name.  Keys into E, K, data and hyper are
printed by numpy_emit.key.
"""
from __future__ import annotations

import builtins
import keyword
import unicodedata

ALPHABET = "abcdefghijklmnopqrstuvwxyz"
# names every emitted function may use (parameters, modules, runtime calls)
RESERVED = set(keyword.kwlist) | set(dir(builtins)) | {
    "np", "sps", "sla", "spsparse", "sopt", "warnings", "contract", "dense", "OneHot",
    "SharedOuter", "E", "K", "data", "hyper", "dim", "C", "row", "total", "stats", "full",
    "shapes", "prior", "s", "c"}


def plain(name: str) -> bool:
    """A name Python reads back as the same, distinct identifier."""
    return (name.isidentifier() and unicodedata.normalize("NFKC", name) == name
            and not keyword.iskeyword(name))


class Locals:
    """The local variables of one emitted function: each operand bound once
    (``x = data['x']``), in first-use order, under a unique readable name."""

    def __init__(self, reserved=(), inline=()):
        # the module's names, shared by every function's Locals (not copied)
        self.reserved = reserved if isinstance(reserved, Locals) else None
        self.taken = set() if self.reserved else set(RESERVED) | set(reserved)
        self.inline = tuple(inline)  # sources used as written (K[...] while K is built)
        self.by_source: dict = {}  # source text -> local name
        self.lines: list = []

    def name(self, wanted: str, fallback: str = "") -> str:
        base = wanted if plain(wanted) else "v"
        if base in self and fallback and plain(fallback) and fallback not in self:
            base = fallback
        name, n = base, 1
        while name in self:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name

    def __contains__(self, name) -> bool:
        return name in self.taken or (self.reserved is not None and name in self.reserved)

    def bind(self, source: str, wanted: str, fallback: str = "") -> str:
        """The local holding ``source`` (an expression of E, K, data, hyper, dim)."""
        if source.startswith(self.inline or ("\0",)):
            return source
        if source not in self.by_source:
            local = self.name(wanted, fallback)
            self.by_source[source] = local
            self.lines.append(f"    {local} = {source}")
        return self.by_source[source]


class Operand:
    """An operand as printed: its local name, labels, and whether only
    ``contract`` can take it (a one-hot, a factored second moment, δ)."""

    def __init__(self, text: str, labels: tuple, special: bool = False):
        self.text, self.labels, self.special = text, tuple(labels), special


def letters_for(labels, dims: dict, plate_letters: dict) -> dict:
    """Einsum letters in the model's own notation: a plate's index letter
    (``for k in K`` → k), else the dim's initial, else the next free letter."""
    out, used = {}, set()
    for label in labels:
        if label in out:
            continue
        start = label if len(label) == 1 and label in ALPHABET else \
            plate_letters.get(str(dims.get(label)), str(dims.get(label, "i"))[:1].lower())
        at = ALPHABET.index(start) if start in ALPHABET else 0
        letter = next((c for c in ALPHABET[at:] + ALPHABET[:at] if c not in used), None)
        if letter is None:
            letter = next(c for c in ALPHABET.upper() if c not in used)
        out[label] = letter
        used.add(letter)
    return out


def aligned(text: str, labels: tuple, out: tuple) -> str:
    """An array over ``labels`` (in ``out`` order) indexed so that it
    broadcasts against the full output: None for each missing output axis
    after its first label."""
    if not labels:
        return text
    first = out.index(labels[0])
    index = [":" if l in labels else "None" for l in out[first:]]
    while index and index[-1] == ":":
        index.pop()
    if not index or "None" not in index:
        return text
    if " @ " in text or " * " in text:
        text = f"({text})"
    return f"{text}[{', '.join(index)}]"


def product(ops: list, out: tuple, dims: dict, plate_letters: dict) -> tuple:
    """(code, output labels carried) of Σ over non-output labels of Π ops,
    aligned to broadcast against ``out`` (a scalar when out is empty).
    Scalar operands multiply in front: ``E_alpha * np.vdot(y_X, E_w)``."""
    scalars = [o.text for o in ops if not o.labels and not o.special]
    rest = [o for o in ops if o.labels or o.special]
    if scalars and rest:
        body, carried = product(rest, out, dims, plate_letters)
        if " @ " in body or " + " in body or " - " in body:
            body = f"({body})"
        return " * ".join(scalars + [body]), carried
    carried = tuple(l for l in out if any(l in o.labels for o in ops))
    summed = {l for o in ops for l in o.labels} - set(out)
    special = any(o.special for o in ops)
    if not special and not summed:
        text = broadcast_product(ops, out)
        if text is not None:
            return text, carried
    if not special and len(ops) == 1:
        text = axis_sum(ops[0], carried)
        if text is not None:
            return aligned(text, carried, out), carried
    if not special and len(ops) == 2:
        text = matrix_product(ops[0], ops[1], carried, summed)
        if text is not None:
            return aligned(text, carried, out), carried
    letters = letters_for([l for o in ops for l in o.labels] + list(out), dims, plate_letters)
    inputs = ",".join("".join(letters[l] for l in o.labels) for o in ops)
    args = ", ".join(o.text for o in ops)
    if special or len(ops) > 2:  # contract: size-1 axes for absent output labels
        spec = inputs + "->" + "".join(letters[l] for l in out)
        return f"contract({spec!r}, {args})", carried
    spec = inputs + "->" + "".join(letters[l] for l in carried)
    return aligned(f"np.einsum({spec!r}, {args})", carried, out), carried


def broadcast_product(ops: list, out: tuple):
    """Π ops by broadcasting, each operand's labels already in output order."""
    parts = []
    for o in ops:
        labels = list(o.labels)
        if len(set(labels)) != len(labels):
            return None
        positions = [out.index(l) for l in labels]
        text = o.text
        if positions != sorted(positions):
            if len(labels) != 2:
                return None
            text, labels = f"{text}.T", labels[::-1]
        parts.append(aligned(text, tuple(labels), out))
    return " * ".join(parts)


def axis_sum(o: Operand, carried: tuple):
    """One operand summed over the labels the output lacks: ``r.sum(0)``."""
    labels = list(o.labels)
    if len(labels) == 2 and labels[0] == labels[1] and not carried:
        return f"np.trace({o.text})"
    if len(set(labels)) != len(labels) or [l for l in labels if l in carried] != list(carried):
        return None
    axes = tuple(i for i, l in enumerate(labels) if l not in carried)
    if not carried:
        return f"{o.text}.sum()"
    if axes == (0,) and len(labels) == 2 and o.text.isidentifier():
        # Σ over the rows by a GEMV: numpy's axis-0 sum visits the rows one by
        # one (10⁴ × 10: 470 µs, against 27 µs)
        return f"np.ones(len({o.text})) @ {o.text}"
    return f"{o.text}.sum({axes[0] if len(axes) == 1 else axes})"


def matrix_product(a: Operand, b: Operand, carried: tuple, summed: set):
    """Two operands of at most two axes sharing one summed label and nothing
    else: ``a @ b`` with transposes; two of the same labels summed whole: vdot."""
    if a.labels == b.labels and not carried and len(set(a.labels)) == len(a.labels):
        return f"np.vdot({a.text}, {b.text})"
    shared = set(a.labels) & set(b.labels)
    if len(summed) != 1 or shared != summed or len(a.labels) > 2 or len(b.labels) > 2 \
            or len(set(a.labels)) != len(a.labels) or len(set(b.labels)) != len(b.labels):
        return None
    (s,) = summed
    free_a = [l for l in a.labels if l != s]
    free_b = [l for l in b.labels if l != s]
    if free_a + free_b != list(carried):
        if free_b + free_a != list(carried):
            return None
        a, b, free_a, free_b = b, a, free_b, free_a
    left = a.text if not free_a or a.labels == (free_a[0], s) else f"{a.text}.T"
    right = b.text if not free_b or b.labels == (s, free_b[0]) else f"{b.text}.T"
    return f"{left} @ {right}"
