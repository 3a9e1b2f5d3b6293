"""The model-specific part of an emitted module, as a careful person writes it.

``model_lines(program, docs, reserved)`` returns the lines of
* ``_constants``: what depends on data and hypers only, once per fit (one-hot
  data, derived constants, hoisted data sums, every coefficient's constant part);
* ``statistics_<latent>``: the row statistics of a local latent that other
  updates read (model_terms.row_statistics), computed once per update of it;
* ``prior_<v>`` (the prior factor's message: the start of q(v)) and
  ``update_<v>`` (its docstring the printed equation), in model names;
* ``_expected_log_joint_rest`` (E[log p] without the last-updated latent's
  terms) and ``_expected_log_joint`` (that plus those terms);
* the UPDATES table.
Serial updates (serial_emit.py) and Newton terms (nonconjugate_emit.py) plug in
as before.  Every product is printed by model_text.product.
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from ..derive.expressions import EYE
from ..lower import DATA, DERIVED, HOISTED, ONEHOT, RANDOM, Program
from .model_terms import STAT
from .model_text import Locals, Operand, plain, product
from .numpy_emit import dim_text, key, operand_text

BLOCK_WORDS = {"L": "E_{p}", "Lx": "E_{p}_{m}", "xLx": "E_{m}_{p}_{m}", "logdet": "E_logdet_{p}"}
STAT_WORDS = {"x": "E_{v}", "xx": "E_{v}{v}", "log": "E_log_{v}", "log1m": "E_log1m_{v}",
              "logdet": "E_logdet_{v}"}
WEIGHT_WORDS = {"@m": "observed", "@w": "count", "@t": "inside"}


class Model:
    """What every emitted function of one program shares: names and letters."""

    def __init__(self, program: Program, reserved=()):
        from ..printing.collect import Context
        self.program, self.model = program, program.model
        self.derivation = program.derivation
        self.plate_letters = Context(self.derivation).plate_letters
        self.categoricals = [s.name for s in program.steps if s.family == "Categorical"]
        self.blocks = {u.name: tuple(u.members) for u in self.derivation.updates if u.members}
        from ..derive.locality import local_block, local_plates
        self.local = local_block(program)  # latents on the data's rows or groups
        self.rows = local_plates(self.model)
        self.globals = Locals(reserved)
        self.functions = {}
        self.groups, self.group_words = [], {}  # folded constants (see folded)
        self.eyes = set()  # dims whose identity matrix the code uses
        self.aliases = {}  # K key -> the key of the same value (model_functions.constants_function)

    def function(self, prefix: str, name: str, index: int) -> str:
        """``update_mu``: a module-level name, unique and NFKC-stable."""
        k = (prefix, name)
        if k not in self.functions:
            wanted = f"{prefix}_{name}"
            self.functions[k] = self.globals.name(wanted if plain(wanted) else f"{prefix}_{index}")
        return self.functions[k]

    # ------------------------------------------------------------ operands
    def wanted(self, o) -> str:
        if o.kind == RANDOM:
            if o.stat == "onehot" and o.name in self.categoricals:
                return "r" if len(self.categoricals) == 1 else f"r_{o.name}"
            if o.name in self.blocks and o.stat in BLOCK_WORDS:
                m, p = self.blocks[o.name][:2]
                return BLOCK_WORDS[o.stat].format(m=m, p=p)
            if o.stat == "xx" and len(o.name) > 1:
                return f"E_{o.name}_{o.name}"
            return STAT_WORDS.get(o.stat, "E_{v}_" + o.stat).format(v=o.name)
        if o.kind == DATA and o.name.startswith("@"):
            return WEIGHT_WORDS.get(o.name[:2], "weight") + o.name[2:]
        if o.kind == ONEHOT:
            return f"onehot_{o.name}"
        if o.kind == DERIVED:
            const = self.derivation.constants.items.get(o.name)
            if const is not None:
                inputs = [a.var for t in const.terms for a in t.atoms if not a.var.startswith("@")]
                return "_".join([const.func] + list(dict.fromkeys(inputs)))
        if o.name in self.group_words:
            return self.group_words[o.name]
        if o.kind == HOISTED:
            hoisted = next(h for h in self.program.hoisted if h.name == o.name)
            c = hoisted.contraction
            words = [self.wanted(p) for p in c.operands]
            if len(words) == 1:
                return "sum_" + words[0]
            summed = {l for p in c.operands for l in p.labels} - set(c.out)
            if len(words) == 2 and summed and all(w.isalnum() for w in words) \
                    and not any(p.name.startswith("@") for p in c.operands):  # (weights)
                # a sum over rows as in matrix notation: Xᵀy is XtY, XᵀX is XtX
                a, b = sorted(zip(words, c.operands), key=lambda wp: -len(set(wp[1].labels)
                                                                       & set(c.out)))
                return f"{a[0]}t{b[0]}"
            return "_".join(words)
        if o.name == EYE:
            return "I"
        return o.name

    def wanted_hoisted(self, h) -> str:
        """``X_y = Σ_n X[n,d] y[n]``: the name and sum of a hoisted constant."""
        c = h.contraction
        dims = dict(c.label_dims)
        from .model_text import letters_for
        letters = letters_for([l for o in c.operands for l in o.labels], dims, self.plate_letters)
        summed = sorted({letters[l] for o in c.operands for l in o.labels} -
                        {letters[l] for l in c.out})
        atoms = " ".join(self.wanted(o) + (f"[{','.join(letters[l] for l in o.labels)}]"
                                           if o.labels else "") for o in c.operands)
        return f"{self.wanted(Operand_of(h))} = " + (f"Σ_{''.join(summed)} " if summed else "") + atoms

    def source(self, o, dims: dict) -> str:
        if o.name == EYE:  # one identity per dim, made with the constants
            self.eyes.add(dims[o.labels[0]])
            return f"K[{eye_key(dims[o.labels[0]])}]"
        return operand_text(o)

    def operand(self, o, local: Locals, dims: dict) -> Operand:
        if o.kind == STAT:
            return Operand(o.name, o.labels)
        text = local.bind(self.source(o, dims), self.wanted(o))
        # E[x xᵀ] is held factored (a SharedOuter) only for rows of a plate
        factored = o.factored and bool(self.model.variables[o.name].plates)
        return Operand(text, o.labels, special=o.kind == ONEHOT or factored)

    def size(self, d, local: Locals) -> str:
        return str(int(d)) if isinstance(d, int) else local.bind(dim_text(d), str(d), f"size_{d}")

    # ------------------------------------------------------------- products
    def folded(self, term):
        """A term whose constant factors have axes: those summed once per fit
        into one array (K['@gI'], built in _constants), the term reading it."""
        if all(not o.labels for _, _, consts in term.scale for o in consts):
            return term
        if len(term.scale) == 1:  # one product: its constants stay operands
            coeff, sizes, consts = term.scale[0]
            scalars = tuple(o for o in consts if not o.labels)
            return replace(term, scale=((coeff, sizes, scalars),),
                           ops=tuple(o for o in consts if o.labels) + tuple(term.ops))
        order = [l for o in term.ops for l in o.labels]
        labels = tuple(dict.fromkeys(l for l in order if any(
            l in o.labels for _, _, consts in term.scale for o in consts)))
        name = f"@g{len(self.groups) + 1}"
        self.groups.append((name, term, labels))
        word = "c_" + self.wanted(term.ops[0]).replace("E_", "", 1)
        self.group_words[name] = word
        from ..lower import Operand as LoweredOperand
        const = LoweredOperand(DERIVED, name, "value", labels)
        return replace(term, scale=((1, (), ()),), ops=(const,) + tuple(term.ops))

    def group_text(self, term, labels, local: Locals) -> tuple:
        """(Σ coeff × sizes × constants over ``labels``, that at full shape)."""
        dims = dict(term.label_dims)
        parts = []
        for coeff, sizes, consts in term.scale:
            factors = [self.size(d, local) for d in sizes]
            ops = [self.operand(o, local, dims) for o in consts]
            if ops:
                factors.append(product(ops, labels, dims, self.plate_letters)[0])
            parts.append((coeff, times(coeff, factors)))
        shape = "".join(f"{self.size(dims[l], local)}, " for l in labels)
        inner = signed_sum(parts)
        return inner, f"np.ascontiguousarray(np.broadcast_to({inner}, ({shape})))"

    def scale_text(self, scale, local: Locals) -> tuple:
        """(sign, text or '') of Σ coeff × sizes × scalar constants."""
        parts = []
        for coeff, sizes, consts in scale:
            factors = [self.size(d, local) for d in sizes]
            factors += [self.operand(o, local, {}).text for o in consts]
            parts.append((coeff, factors))
        if len(parts) == 1:
            coeff, factors = parts[0]
            return (-1 if coeff < 0 else 1), times(coeff, factors, "")
        return 1, "(" + signed_sum([(c, times(c, f)) for c, f in parts]) + ")"

    def term_text(self, term, local: Locals) -> tuple:
        """(sign, code, output positions carried) of one Term."""
        term = self.folded(term)
        dims = dict(term.label_dims)
        ops = [self.operand(o, local, dims) for o in term.ops]
        term, ops = self.scaled_early(term, ops, dims)
        body, carried = product(ops, term.out, dims, self.plate_letters) if ops else ("", ())
        sign, scale = self.scale_text(term.scale, local)
        if scale and (" @ " in body or " + " in body or " - " in body):
            body = f"({body})"
        text = f"{scale} * {body}" if scale and body else scale or body or "1.0"
        return sign, text, {term.out.index(l) for l in carried}

    def scaled_early(self, term, ops, dims):
        """A number times a product over the data's rows multiplies the small
        operand instead (``contract('nd,ne,kde->nk', x, x, 0.5 * E_Lambda)``):
        one pass over N×K saved."""
        if len(term.scale) != 1 or term.scale[0][1] or term.scale[0][2] or len(ops) < 2:
            return term, ops
        coeff = term.scale[0][0]
        rows = {l for l in term.out if dims.get(l) in self.rows}
        small = [i for i, o in enumerate(ops) if o.labels and not o.special
                 and not any(dims.get(l) in self.rows for l in o.labels)]
        if abs(float(coeff)) == 1 or not rows or not small:
            return term, ops
        i = small[-1]
        ops = list(ops)
        ops[i] = Operand(f"({times(coeff, [ops[i].text])})", ops[i].labels)
        return replace(term, scale=((1 if coeff > 0 else -1, (), ()),)), ops

    def sum_text(self, terms, local: Locals) -> list:
        """[(sign, code, carried)] of terms; a scalar factor they all share is
        written once in front: ``E_tau * (Y @ E_W - E_W.T @ E_mu)``."""
        terms = [self.folded(t) for t in terms]
        common = [o for o in terms[0].ops if not o.labels and o.kind != ONEHOT] if terms else []
        common = [o for o in common if all(o in t.ops for t in terms)]
        if len(terms) < 2 or not common:
            return [self.term_text(t, local) for t in terms]
        inner = [self.term_text(replace(t, ops=tuple(o for o in t.ops if o not in common)),
                                local) for t in terms]
        inner.sort(key=lambda p: p[0] < 0)  # a positive term first: "a - b", not "-b + a"
        factor = " * ".join(self.operand(o, local, {}).text for o in common)
        return [(1, f"{factor} * ({signed_sum([p[:2] for p in inner])})",
                 set().union(*(p[2] for p in inner)))]

    def constant_text(self, contractions, local: Locals) -> tuple:
        """(code, output positions carried) of a sum of constant monomials."""
        parts, carried = [], set()
        for c in contractions:
            dims = dict(c.label_dims)
            ops = [self.operand(o, local, dims) for o in c.operands]
            body, kept = product(ops, c.out, dims, self.plate_letters) if ops else ("", ())
            carried |= {c.out.index(l) for l in kept}
            factors = [self.size(d, local) for d in c.sizes] + ([body] if body else [])
            parts.append((c.coeff, times(c.coeff, factors)))
        return signed_sum(parts), carried


# constants the derivation leaves as numbers, written as what they are (the
# same floats: ½ log 2π is 0.9189385332046727 either way)
NAMED = {0.9189385332046727: "0.5 * np.log(2 * np.pi)", 1.8378770664093453: "np.log(2 * np.pi)",
         0.34657359027997264: "0.5 * np.log(2.0)", 0.6931471805599453: "np.log(2.0)",
         0.5723649429247001: "0.5 * np.log(np.pi)", 1.1447298858494002: "np.log(np.pi)"}


def times(coeff, factors: list, one: str = "1.0") -> str:
    """|coeff| × factors as code (the sign is the caller's)."""
    number = abs(float(coeff))
    if number == 1:
        return " * ".join(factors) or one
    return " * ".join([NAMED.get(number, repr(number))] + factors)


def eye_key(d) -> str:
    return repr(f"@eye:{d}") if isinstance(d, int) else repr(f"@eye:{key(d)[1:-1]}")


def Operand_of(h):
    from ..lower import Operand as LoweredOperand
    return LoweredOperand(HOISTED, h.name, "value", h.contraction.out)


def signed_sum(parts) -> str:
    """``a - b + c`` from (coefficient sign source, text) pairs."""
    out = ""
    for coeff, text in parts:
        negative = coeff < 0
        if not out:
            out = f"-{text}" if negative else text
        else:
            out += f" - {text}" if negative else f" + {text}"
    return out or "0.0"


def full_shape(shape, local: Locals, model: Model) -> str:
    return "(" + "".join(f"{model.size(d, local)}, " for d in shape) + ")"


def coefficient_value(terms_code: list, shape, carried: set, local, model) -> str:
    """The sum of a coefficient's parts, viewed at full shape if some axis is
    constant (rows sharing one value share one array, factorized once)."""
    total = signed_sum(terms_code)
    if not shape:
        return f"np.float64({total})"
    if carried >= set(range(len(shape))):
        return total
    return f"np.broadcast_to({total}, {full_shape(shape, local, model)})"


def fraction_free(x):
    return float(x) if isinstance(x, Fraction) else x
