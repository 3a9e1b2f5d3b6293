"""Emit: the lowered update program → a standalone NumPy module (text).

The module is printed from the program tree.  User text enters it only as
validated identifiers inside string literals (dictionary keys such as
``E['lambda']``), never as Python names, and as numbers printed by ``repr``;
so ``lambda``, ``import`` or ``__init__`` in a model are ordinary keys and a
hostile model cannot inject code.  The runtime (the prelude, the einsum
executor, family functions, checks, the fit loop) is copied verbatim from the
ground-floor package ``vmpdsl.runtime`` and the families: it imports numpy and
scipy only.
"""
from __future__ import annotations

import heapq
import re

from ..derive.expressions import EYE, ONES
from ..derive.starts import starts_lines
from ..errors import VmpCheckError
from ..families.registry import FAMILIES, runtime_source
from ..language.ast import Array, BinOp, Call, Index, Name, Neg, Num
from ..lower import DATA, HYPER, ONEHOT, RANDOM, Contraction, Program, operand
from . import nonconjugate_emit
from .assemble import Assembled, assemble, runtime_parts

IDENTIFIER = re.compile(r"^[^\W\d]\w*$")
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def key(name: str) -> str:
    """A model name as a string literal, after checking it is an identifier."""
    if not (IDENTIFIER.match(name) or re.match(r"^@[a-z]\d+$", name)):
        raise VmpCheckError(f"'{name}' is not a valid identifier")
    return repr(name)


def onehot_key(name: str) -> str:
    """The key of integer data's one-hot operand in the constants dict."""
    key(name)
    return repr("onehot:" + name)


def dim_text(d) -> str:
    return str(int(d)) if isinstance(d, int) else f"dim[{key(d)}]"


# ------------------------------------------------------------- contractions
def operand_text(o) -> str:
    if o.kind == RANDOM:
        return f"E[{key(o.name)}][{o.stat!r}]"
    if o.kind == DATA:
        return f"data[{key(o.name)}]"
    if o.kind == HYPER:
        return f"hyper[{key(o.name)}]"
    if o.kind == ONEHOT:
        return f"K[{onehot_key(o.name)}]"
    return f"K[{key(o.name)}]"


def contraction_text(c: Contraction, wrap=None, call: str = "contract") -> str:
    """``wrap(operand, text)``, if given, rewrites each operand's text and
    ``call`` names the contraction function (the row restriction of a serial
    update, serial_emit.py)."""
    dims = dict(c.label_dims)
    factors = [] if c.coeff == 1 else [repr(float(c.coeff))]
    factors += [dim_text(d) for d in c.sizes]
    if not c.operands and not c.out:
        return " * ".join(factors) or "1.0"
    product = elementwise_text(c, dims) if wrap is None else None
    if product is not None:
        return " * ".join(factors + [product])
    letters = {}
    for label in [l for o in c.operands for l in o.labels] + list(c.out):
        if label not in letters and len(letters) == len(LETTERS):
            raise VmpCheckError(f"an update needs a product over more than {len(LETTERS)} "
                                f"axes (einsum's letters); nest fewer plates")
        letters.setdefault(label, LETTERS[len(letters)])
    specs, args = [], []
    for o in c.operands:
        specs.append("".join(letters[l] for l in o.labels))
        text = operand_text(o) if o.name != EYE else f"np.eye({dim_text(dims[o.labels[0]])})"
        args.append(wrap(o, text) if wrap else text)
    spec = ",".join(specs) + "->" + "".join(letters[l] for l in c.out)
    return " * ".join(factors + [f"{call}({spec!r}, {', '.join(args)})"])


def elementwise_text(c: Contraction, dims: dict) -> str | None:
    """A contraction that sums nothing is a broadcast product: print it as
    one (``E['tau']['x'] * K['@h2'][:, None]``), which costs no call overhead.
    None when it is not one (a sum, a one-hot or factored operand, a repeated label)."""
    if not c.operands or any(o.kind == ONEHOT or o.name == EYE or o.factored
                             for o in c.operands):
        return None
    parts = []
    for o in c.operands:
        labels = list(o.labels)
        if len(set(labels)) != len(labels) or any(l not in c.out for l in labels):
            return None
        positions = [c.out.index(l) for l in labels]
        if positions != sorted(positions):
            return None  # would need a transpose
        text = operand_text(o)
        if labels and len(labels) < len(c.out):
            index = ", ".join(":" if l in labels else "None" for l in c.out)
            text = f"{text}[{index}]"
        parts.append(text)
    return "(" + " * ".join(parts) + ")"


# ---------------------------------------------------------------- hypers
OPERATORS = ("+", "-", "*", "/", "@")
BUILTIN_CALLS = {"dot": "np.dot", "sum": "np.sum", "diag": "np.diag"}


def constant_text(expr, hypers=()) -> str:
    """A constant expression — numbers, dims, built-ins and the hypers named in
    ``hypers`` — as NumPy code, printed only from validated pieces."""
    if isinstance(expr, Num):
        return repr(float(expr.value))
    if isinstance(expr, Name):
        return f"hyper[{key(expr.id)}]" if expr.id in hypers else f"dim[{key(expr.id)}]"
    if isinstance(expr, Neg):
        return f"(-{constant_text(expr.operand, hypers)})"
    if isinstance(expr, BinOp) and expr.op in OPERATORS:
        left, right = constant_text(expr.left, hypers), constant_text(expr.right, hypers)
        return f"({left} {expr.op} {right})"
    if isinstance(expr, Call):
        args = [constant_text(a, hypers) for a in expr.args]
        if expr.func in ("zeros", "ones", "eye"):
            return f"np.{expr.func}(int({args[0]}))"
        if expr.func in BUILTIN_CALLS:
            return f"{BUILTIN_CALLS[expr.func]}({', '.join(args)})"
    if isinstance(expr, Array):
        return f"np.array([{', '.join(constant_text(i, hypers) for i in expr.items)}], dtype=float)"
    if isinstance(expr, Index):
        raise VmpCheckError("a hyperparameter cannot be indexed", expr.span)
    raise VmpCheckError("unsupported hyperparameter expression", getattr(expr, "span", None))


# ----------------------------------------------------------------- module
def emit(program: Program, equations: str = "", trim: bool = True) -> Assembled:
    """The module's pieces (emit/assemble.py): its docstring, the model's code,
    and the runtime, trimmed to what the model uses unless ``trim`` is False."""
    model = program.model
    lines = spec_lines(program)
    lines += hypers_function(model)
    lines += safety_lines(program) + starts_lines(model)  # derive/starts.py
    parts = runtime_parts(family_source(program))
    from .model_functions import model_lines
    from .serial_emit import serial_steps
    lines += model_lines(program, update_docs(program.derivation), runtime_names(lines, parts),
                         serial_steps(program))
    lines += nonconjugate_emit.shortcut_lines(program)
    lines += rotation_lines(program)
    return assemble(module_doc(model, equations), lines, parts, trim)


def runtime_names(lines, parts) -> set:
    """The module-level names the runtime and the tables define: the model's
    functions avoid them."""
    text = "\n".join(lines) + "".join(source for source, _ in parts)
    return {a or b for a, b in re.findall(r"^(?:def |class )(\w+)|^(\w+) *=", text, re.M)}


def update_docs(derivation) -> dict:
    """{latent: its printed update (text)}, the docstrings of update_<v>; the
    fit does not depend on the text, so a printer failure leaves them out."""
    try:
        from ..printing.blocks import block, layout_text
        from ..printing.collect import Context, collect
        from ..printing.render import Renderer
        from ..printing.style import STYLES
        ctx = Context(derivation)
        r = Renderer(ctx, STYLES["text"])
        return {form.update.name: layout_text([block(r, form, False)], [])
                for form in collect(ctx)}
    except Exception:  # noqa: BLE001 (see compiler.docstring_equations)
        return {}


def docstring(text: str, indent: str = "    ") -> str:
    """A docstring of any text: backslashes and triple quotes made harmless."""
    text = text.replace("\\", "\\\\").replace('"""', "'''")
    body = "\n".join((indent + line).rstrip() for line in text.splitlines())
    if "\n" in text:  # its first line indented like the rest: inspect.getdoc gives it back
        return f'{indent}"""\n{body}\n{indent}"""'
    return f'{indent}"""{text} """' if text.endswith('"') else f'{indent}"""{text}"""'


def module_doc(model, equations: str) -> str:
    text = (f"Variational message passing for the model '{model.name}', generated by vmpdsl.\n\n"
            f"Imports numpy and scipy only.  Call fit(data) -> dict.\n\n"
            f"Derived updates\n===============\n{equations}")
    return '"""' + text.replace("\\", "\\\\").replace('"""', "'''") + '\n"""'


def family_source(program: Program) -> str:
    families = sorted({step.family for step in program.steps} |
                      {v.family for v in program.model.variables.values()
                       if v.role != "hyper" and v.family in FAMILIES})
    return runtime_source(families)


def spec_lines(program: Program) -> list:
    model = program.model
    data = tuple((v.name, tuple(v.shape), v.dtype, v.categories, v.family)
                 for v in model.by_role("data"))
    dims = {name: (float(d.value) if isinstance(d, Num) else None)
            for name, d in model.dims.items()}
    for name, default in model.dims.items():
        if default is not None and not isinstance(default, Num):
            raise VmpCheckError(f"the default of dim '{name}' must be a number", default.span)
    declared = [u.name for u in program.derivation.updates]  # steps are in sweep order
    latents = tuple((s.name, s.family, tuple(model.variables[s.name].plates),
                     value_shape(s, model), s.point)
                    for s in sorted(program.steps, key=lambda s: declared.index(s.name)))
    hypers = tuple(model.hypers)
    from ..derive.locality import local_block
    from ..predict import local_names, plan  # decided once, at compile time
    return [f"PREDICTIVE = {plan(model)!r}", f"LOCAL_LATENTS = {tuple(local_names(model))!r}",
            f"LOCAL_BLOCK = {local_block(program)!r}",
            f"MODEL_NAME = {model.name!r}", f"DATA_SPEC = {data!r}", f"DIM_DEFAULTS = {dims!r}",
            f"HYPER_NAMES = {hypers!r}", f"LATENTS = {latents!r}", f"INIT_ORDER = {init_order(program)!r}",
            f"ARRAY_SHAPES = {array_shapes(program)!r}",
            f"BLOCKS = {block_rows(program)!r}", ""]


def array_shapes(program: Program) -> tuple:
    """(what, shape as dims) of every array a fit allocates that grows with the
    dims: the statistics of each latent and each hyper (memory.check_memory)."""
    model = program.model
    rows = [(f"E[{stat}] of '{s.name}'", tuple(shape)) for s in program.steps
            for stat, shape in stat_shapes(s, model).items()]
    rows += [(f"hyper '{v.name}'", tuple(v.shape)) for v in model.by_role("hyper") if v.shape]
    return tuple(rows)


def block_rows(program: Program) -> tuple:
    """(block, family, members, parameters) of every joint block
    (derive/blocks.py); the runtime splits its posterior into the members'
    (runtime.split_blocks)."""
    return tuple((u.name, u.family, tuple(u.members), FAMILIES[u.family].param_names)
                 for u in program.derivation.updates if u.members)


def stat_shapes(step, model) -> dict:
    """Each statistic's array shape (as dims) for one latent."""
    var = model.variables[step.name]
    family = FAMILIES[step.family]
    event = (var.categories,) if var.family == "Categorical" else tuple(var.event)
    shapes = {}
    for stat in family.stats:
        rank = family.event_rank[stat]
        own = () if rank == 0 else event if rank == len(event) else event + event
        shapes[stat] = tuple(var.plates) + own
    return shapes


def value_shape(step, model) -> tuple:
    """The shape of a latent's value (a probability vector for Dirichlet)."""
    var = model.variables[step.name]
    return tuple(var.plates) + tuple(var.event)


def init_order(program: Program) -> tuple:
    """Latents ordered so that each prior's parents are initialized first."""
    deps = {}
    for step in program.steps:
        parents = set()
        for stat in step.stats:
            for c in prior_contractions(stat, step.name, program):
                parents |= {o.name for o in c.operands if o.kind == RANDOM}
        deps[step.name] = parents - {step.name}
    return tuple(first_ready_order(deps))


def first_ready_order(deps: dict) -> list:
    """A topological order that always takes the earliest ready name (in
    ``deps`` order): Kahn's algorithm with a heap, O(n log n + edges)."""
    position = {name: i for i, name in enumerate(deps)}
    waiting = {name: len(parents) for name, parents in deps.items()}
    children = {name: [] for name in deps}
    for name, parents in deps.items():
        for parent in parents:
            children[parent].append(name)
    ready = [position[n] for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    names, order = list(deps), []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, position[child])
    if len(order) < len(deps):
        raise VmpCheckError("the priors of the model form a cycle: " + ", ".join(deps))
    return order


def prior_contractions(stat_update, name, program):
    derivation = program.derivation
    update = derivation.update_of(name)
    messages = update.messages[stat_update.stat]
    return [c for c, m in zip(stat_update.contractions, messages)
            if derivation.factors[m.factor].factor.variable in update.variables]


def hypers_function(model) -> list:
    lines = ["def _hypers(dim):"] + literal_dim_checks(model) + ["    hyper = {}"]
    seen = {}
    for name, expr in model.hypers.items():
        line = expr.span.line if expr.span else 0
        lines.append(f"    hyper[{key(name)}] = hyper_value({key(name)}, {line}, "
                     f"lambda: {constant_text(expr, seen)})")
        seen[name] = expr
    lines += ["    return hyper", ""]
    return lines


def literal_dim_checks(model) -> list:
    """A dim that a literal's length fixes (``a[k]`` for k in K = 3 with a of
    three entries) must keep that size when given at fit time."""
    lines = []
    for name, size in model.literal_dims:
        lines += [f"    if dim[{key(name)}] != {int(size)}:",
                  f"        raise DataError(f\"dim {name} is {{dim[{key(name)}]}}, but a literal hyper "
                  f"of length {int(size)} is used along it; give {name} = {int(size)} or "
                  f"change the literal\")"]
    return lines


def is_constant(expr, model) -> bool:
    """An expression of numbers, dims, hypers and built-ins only."""
    if isinstance(expr, Num):
        return True
    if isinstance(expr, Name):
        return expr.id in model.hypers or expr.id in model.dims
    if isinstance(expr, Neg):
        return is_constant(expr.operand, model)
    if isinstance(expr, BinOp):
        return is_constant(expr.left, model) and is_constant(expr.right, model)
    if isinstance(expr, Call):
        return expr.func in ("zeros", "ones", "eye", "dot", "sum", "diag") and \
            all(is_constant(a, model) for a in expr.args)
    if isinstance(expr, Array):
        return all(is_constant(a, model) for a in expr.items)
    return False


def hyper_names(expr, model) -> tuple:
    """The hypers an expression refers to, in order of appearance."""
    found = []

    def walk(e):
        if isinstance(e, Name) and e.id in model.hypers and e.id not in found:
            found.append(e.id)
        for child in (getattr(e, "left", None), getattr(e, "right", None),
                      getattr(e, "operand", None), getattr(e, "base", None)):
            if child is not None:
                walk(child)
        for child in getattr(e, "args", ()) + getattr(e, "indices", ()) + getattr(e, "items", ()):
            walk(child)
    walk(expr)
    return tuple(found)


def safety_lines(program: Program) -> list:
    """Tables for checks before fitting (see runtime.check_factor_arguments):
    FACTOR_ARGS, one row per factor: (variable, role, distribution, line,
    ((argument, hypers it uses, constant?), ...)); _factor_argument_values
    evaluates the constant arguments (the families' check_params check them,
    runtime/tables.py ARGUMENT_CHECKS).  Row weights (derive/weights.py):
    MASKS, the observed-masks of fit(missing="skip"); COLLAPSIBLE, the plates
    whose duplicate rows fit merges into counted rows; ROW_WEIGHTS, the
    latents whose entropy (and share of the last update's coefficients)
    carries a row weight; each only when not empty."""
    from ..derive.chains import mask_table
    from ..derive.weights import collapsible_plates, masked_factors, row_latents
    from ..language.distributions import DISTRIBUTIONS
    model = program.model
    rows, items = [], []
    for factor in model.factors:
        var = model.variables[factor.variable]
        spec = DISTRIBUTIONS[factor.dist.name]
        args, values = [], []
        for arg, expr in zip(spec.args, factor.dist.args):
            constant = is_constant(expr, model)
            args.append((arg.name, hyper_names(expr, model), constant))
            if constant:
                values.append(f"{arg.name!r}: {constant_text(expr, model.hypers)}")
        line = factor.span.line if factor.span else 0
        rows.append((key(var.name) and var.name, var.role, factor.dist.name, int(line),
                     tuple(args)))
        items.append(f"{{{', '.join(values)}}}")
    lines = (["def _factor_argument_values(dim, hyper):"]
             + packed("    return (", items, ",)" if len(items) == 1 else ")") + [""])
    masks = ()
    if model.missing:
        masked = masked_factors(model)
        masks = tuple((model.factors[p].variable, name, len(labels))
                      for p, (name, labels) in masked.items())
    return lines + [f"FACTOR_ARGS = {tuple(rows)!r}"] + tables(
        MASKS=masks, COLLAPSIBLE=collapsible_plates(model), ROW_WEIGHTS=row_latents(model),
        SLICE_MASKS=mask_table(model)) + [""]


def tables(**values) -> list:
    """``NAME = value`` of each table that is not empty: the runtime's
    readers default an absent one (runtime/tables.py)."""
    return [f"{name} = {value!r}" for name, value in values.items() if value]


def axis_size(c: Contraction, label) -> str:
    """The size of a label as code: its dim, or the categories of the one-hot
    data that carries it (a nested index's dim is known only to the data)."""
    d = dict(c.label_dims).get(label)
    if d is not None:
        return dim_text(d)
    hot = next(o for o in c.operands if o.kind == ONEHOT and o.labels[-1] == label)
    return f"K[{onehot_key(hot.name)}].size"


def constants_header(program: Program, local, m) -> tuple:
    """The first entries of K (one-hot data, derived constants) and the
    hoisted data sums, each named in a comment."""
    model = program.model
    head = []
    for v in model.by_role("data"):
        if v.dtype == "int" and v.categories is not None:
            head.append(f"    K[{onehot_key(v.name)}] = OneHot(data[{key(v.name)}], "
                        f"{dim_text(v.categories)})")
    for const in program.derivation.constants.items.values():
        head.append(f"    K[{key(const.name)}] = apply_constant_function({const.func!r}, "
                    f"{derived_value(const, model)}, {dim_arg(const.arg)})")
    hoisted = []
    for h in program.hoisted:
        # at full shape: a one-hot gather may leave a label as a size-1 axis
        text, _ = m.constant_text([h.contraction], local)
        shape = "".join(f"{axis_size(h.contraction, l)}, " for l in h.contraction.out)
        if shape and any(o.kind == ONEHOT for o in h.contraction.operands):
            text = f"np.ascontiguousarray(np.broadcast_to({text}, ({shape})))"
        hoisted.append(f"    K[{key(h.name)}] = {text}  # {m.wanted_hoisted(h)}")
    return head, hoisted


def sum_text(parts: list) -> str:
    """A sum as code; a long one as sum((...)), since Python compiles a chain
    a + b + … recursively (a RecursionError past a few thousand terms)."""
    return " + ".join(parts) if len(parts) <= 32 else f"sum(({', '.join(parts)},))"


def split_constant(contractions) -> tuple:
    """Contributions that involve no random variable are summed once per fit
    (hyper terms, plate sizes, data sums); the rest run every sweep."""
    constant = [c for c in contractions if all(o.constant for o in c.operands)]
    varying = [c for c in contractions if not all(o.constant for o in c.operands)]
    return constant, varying


def folded_key(index: int, stat: str) -> str:
    return repr(f"@s{index}.{stat}")


def dim_arg(arg) -> str:
    return "None" if arg is None else dim_text(arg)


def derived_value(const, model) -> str:
    """The constant term sum of a derived constant, at its full shape."""
    shape = "(" + "".join(f"{dim_text(d)}, " for d in const.dims) + ")"
    dims = tuple(zip(const.inputs, const.dims))
    parts = []
    for term in const.terms:
        operands = tuple(operand(a, model) for a in term.atoms if a.var != ONES)
        c = Contraction(term.coeff, term.sizes, operands, const.inputs, dims)
        text = re.sub(r"^\((\w+\['\w+'\])\)$", r"\1", contraction_text(c))  # (hyper['a'])
        # operands along every axis (W0[d,e] for inv W0) have the full shape already
        full = set(const.inputs) <= {l for o in operands for l in o.labels}
        parts.append(text if full else f"np.broadcast_to({text}, {shape})")
    return sum_text(parts) if parts else f"np.zeros({shape})"


def packed(head: str, items: list, end: str, width: int = 99) -> list:
    """``head`` and the comma-separated ``items`` filled into lines of at most
    ``width`` characters (continuation lines aligned after ``head``)."""
    lines, line = [], head
    for item in items:
        if line != head and len(line) + len(item) + 1 > width:
            lines.append(line.rstrip())
            line = " " * len(head)
        line += item + ", "
    return lines + [line.rstrip(", ") + end]


def rotation_lines(program: Program) -> list:
    """ROTATIONS (derive/rotations.py): the bilinear pairs the sweep rotates."""
    from ..derive.rotations import rotation_pairs
    return tables(ROTATIONS=rotation_pairs(program.model))


def fam_fn(family: str, field: str) -> str:
    fn = getattr(FAMILIES[family], field)
    return fn.__name__ if fn is not None else "None"
