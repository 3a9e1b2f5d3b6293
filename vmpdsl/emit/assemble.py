"""Assemble an emitted module: the model's own code first, then the generic
runtime it uses, trimmed at compile time.

The runtime (``vmpdsl.runtime`` and the family functions) is pasted in as
source, and only its top-level definitions that the module reaches are kept:
reachability by name from the model's code and from ``ENTRY_POINTS`` (what
users and the package call on a module; ``FEATURE_ENTRY_POINTS`` only where
the model has that feature).  A name counts as used wherever it
occurs in a kept definition, also as a string (``globals().get("BLOCKS")``),
so trimming never drops something the module can reach.

Optional features are reached through *hook tables*, dicts whose entries are
kept only for what the model has, so a feature's code is referenced (hence
kept) only then:

* an entry keyed by a class (``prelude._REWRITES``: how ``contract`` rewrites
  ``OneHot`` and ``SharedOuter`` operands) lives when kept code builds that
  class;
* an entry keyed by a string (``features.FEATURES`` and ``PREDICTORS``) lives
  when the model has that feature: a table of the model named by the key (up
  to a dot) is not empty (``ROTATIONS``, ``SLICE_MASKS``, ``KMEANS_STARTS``),
  its ``LOCAL_BLOCK`` has two latents or more, or the key is the model's
  predictive shape (``PREDICTIVE[0]``).

Family functions are reached by name (runtime/tables.py: the runtime looks
up ``<family>_<field>`` for ``FAMILY_FUNCTIONS[family][field]``), so a kept
string ``field`` (FAMILY_FIELDS) keeps ``<family>_<field>`` of each family of
the model's latents (``LATENTS``); the checks of its factors' and data's
families (``FACTOR_ARGS``, ``DATA_SPEC``) are kept always, as the fit runs them.

Layout: the docstring, imports (those the kept code uses), the model's code,
the runtime under a banner, then the *wiring*: the model's statements that
call runtime functions at import time (``UPDATES = updates_in_order(...)``),
moved after what they name; a function whose decorator is such a call stays
in place and the wiring applies the decorator (``statistics_z =
once_per_update('z')(statistics_z)``).  ``Assembled.pair`` writes the
runtime as a sibling file instead, which the model's file runs in its own
namespace before its code, so there the wiring stays in place (README, "Layout of the emitted module").
"""
from __future__ import annotations

import ast
import functools
import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

# The names users and the package (api.py, chunked.py, predict.py, svi.py,
# svi_units.py) use on an emitted module, besides the model's tables
# (tests/engine/test_trimmed_modules.py checks the package uses no other).
ENTRY_POINTS = ("fit", "local", "predict", "score", "DataError", "FitError", "bind_data",
                "_initial_state", "_posterior", "_set_state", "elbo_value", "is_steady",
                "split_blocks", "collapse_rows", "_distinct_rows", "worth_merging",
                "merge_duplicates",
                "local_block", "block_to_convergence", "LOCAL_TOL",
                "_MEMO", "_PLANS", "FAMILY_FUNCTIONS")
# Names the package's fits in row blocks call on a module (chunk_starts.py,
# chunked.py, distributed.py: the in-memory start and moves, the per-group
# local block), kept only when the model has that feature (features_of).
FEATURE_ENTRY_POINTS = {
    "KMEANS_STARTS": ("SAMPLE", "kmeans_rows", "kmeans_centers", "kmeans_labels",
                      "move_latents", "move_sums", "moved", "try_moves"),
    "LOCAL_BLOCK": ("local_layout", "AUTO_ITERS", "GATED_ITERS", "gated_dirichlet",
                    "restarted_block", "restart_pays", "_group_features", "cluster_groups",
                    "start_clusters", "label_rows", "start_draws", "start_locals"),
}
HOOK_TABLES = ("_REWRITES", "FEATURES", "PREDICTORS")
# The fields the runtime reads as FAMILY_FUNCTIONS[family][field] (runtime/tables.py).
FAMILY_FIELDS = ("params_from_coeffs", "expectations", "entropy", "entropy_total", "bound_share",
                 "sample",
                 "check_params", "mode", "point_expectations", "start", "marginals")
# The model's tables whose being non-empty turns on the feature of that name
# (LOCAL_BLOCK's: having two latents or more, see features_of).
FEATURE_TABLES = ("ROTATIONS", "SLICE_MASKS", "KMEANS_STARTS")
# Module aliases the runtime uses, and the import each needs (standard library first).
IMPORTS = {"os": "import os", "warnings": "import warnings", "weakref": "import weakref",
           "np": "import numpy as np",
           "sla": "from scipy import linalg as sla",
           "sopt": "from scipy import optimize as sopt",
           "spsparse": "from scipy import sparse as spsparse",
           "sps": "from scipy import special as sps"}


class Entry(NamedTuple):
    """One entry of a hook table: whether it lives (``label``: a string, the
    feature, or ("class", name)), its text, and the names it uses."""
    label: object
    text: str
    uses: frozenset


@dataclass(frozen=True)
class Statement:
    """One top-level statement of the source: its text (with the comments
    above it), the names it defines, uses and calls (a class called is
    built), and a hook table's entries (then ``uses`` is empty)."""
    node: ast.stmt
    text: str
    defines: frozenset
    uses: frozenset
    calls: frozenset
    entries: tuple = ()
    part: str = ""


@dataclass(frozen=True)
class Assembled:
    """The pieces of an emitted module (texts without trailing newlines):
    ``model`` is the model's code in order, ``model_first`` the same without
    the ``wiring``, its statements that need runtime names as they run (a
    table the runtime builds, a runtime decorator applied)."""
    doc: str
    imports: str
    model: str
    model_first: str
    runtime: str
    wiring: str

    @property
    def text(self) -> str:
        """The module as one file: the runtime pasted after the model's code."""
        return "\n\n\n".join([self.doc + "\n" + self.imports, self.model_first, RUNTIME_BANNER,
                               self.runtime, WIRING + "\n" + self.wiring]) + "\n"

    def pair(self, runtime_file: str) -> tuple[str, str]:
        """(the model's file, the runtime's file): the model's file first runs
        ``runtime_file`` (a name beside it) in its own namespace, then its code."""
        imports = self.imports if "import os" in self.imports else "import os\n" + self.imports
        main = "\n\n\n".join([self.doc + "\n" + imports, LOADER.format(file=runtime_file),
                               self.model])
        runtime = "\n\n\n".join([RUNTIME_DOC + "\n" + self.imports, self.runtime])
        return main + "\n", runtime + "\n"


RUNTIME_BANNER = """# {rule}
# The generic runtime (vmpdsl/runtime and the family functions), trimmed at
# compile time to what this model uses: nothing in it is specific to the
# model, except the wiring at the end.
# {rule}""".format(rule="=" * 77)
LOADER = """# The generic runtime (fit, the checks, the einsum executor, the family
# functions) is the file {file} beside this one; it runs here first,
# in this module's namespace, as if pasted here.  The model's code follows.
_RUNTIME_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), {file!r})
with open(_RUNTIME_FILE, encoding="utf-8") as _source:
    exec(compile(_source.read(), _RUNTIME_FILE, "exec"))"""
WIRING = ("# " + "-" * 77 + "\n# Wiring: the model's statements that call the runtime as the "
          "module runs\n# (its tables built, its decorators applied).")

RUNTIME_DOC = '''"""The generic runtime of a module emitted by vmpdsl (copied from vmpdsl/runtime
and the family functions, trimmed to what the model uses; numpy and scipy only).

Not a module of its own: the model's file runs this file in its namespace
(see its loader), so the names here and there are one set of globals.
"""'''


# ------------------------------------------------------------------ parsing
def statements(source: str, part: str = "") -> tuple[str, list]:
    """(the first sentence of the module docstring, the top-level statements
    other than imports and that docstring) of ``source``."""
    body = ast.parse(source).body
    lines = source.splitlines()
    title = ""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        title, body = first_sentence(body[0].value.value), body[1:]
    found = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        above = first - 1
        while above > 0 and lines[above - 1].lstrip().startswith("#"):
            above -= 1  # the comment lines right above belong to it
        found.append(statement(node, "\n".join(lines[above:node.end_lineno]), source, part))
    return title, found


@functools.lru_cache(maxsize=64)
def runtime_statements(source: str, part: str) -> tuple[str, list]:
    """``statements`` of a runtime part, parsed once per process: the parts
    are the same for every model, and parsing them was most of a compile
    (the statements are only read afterwards)."""
    return statements(source, part)


def first_sentence(doc: str) -> str:
    """A docstring's first sentence, on one line."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    paragraph = re.sub(r" \((copied|part of)[^)]*\)", "", paragraph)  # true of every part
    end = re.search(r"\.(\s|$)", paragraph)
    return paragraph[:end.start() + 1] if end else paragraph


def statement(node, text: str, source: str, part: str) -> Statement:
    defines = set()
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        defines.add(node.name)
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        defines |= {t.id for t in targets if isinstance(t, ast.Name)}
    if defines & set(HOOK_TABLES) and isinstance(node.value, ast.Dict):
        entries = tuple(Entry(k.value if isinstance(k, ast.Constant) else ("class", k.id),
                              f"{ast.get_source_segment(source, k)}: "
                              f"{ast.get_source_segment(source, v)}", _names(k) | _names(v))
                        for k, v in zip(node.value.keys, node.value.values))
        return Statement(node, text, frozenset(defines), frozenset(), frozenset(), entries, part)
    return Statement(node, text, frozenset(defines), _names(node), _called(node), (), part)


def _names(node) -> frozenset:
    """Every name a node uses, and every string that looks like one."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) \
                and sub.value.isidentifier():
            found.add(sub.value)
    return frozenset(found)


def _called(node) -> frozenset:
    return frozenset(sub.func.id for sub in ast.walk(node)
                     if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name))


# ---------------------------------------------------------------- trimming
def reachable(runtime: list, roots: set, features: set, built: set,
              families=()) -> tuple[set, set]:
    """(indices of the runtime statements reached from ``roots``, the hook
    entries that live): a fixpoint, since a kept statement may build a class
    whose rewrite entry then lives.  A name reached also reaches
    ``<family>_<name>`` of each of ``families`` if ``name`` is a FAMILY_FIELDS."""
    where = {name: i for i, s in enumerate(runtime) for name in s.defines}
    prefixes = [family.lower() + "_" for family in families]
    while True:
        # a statement that defines nothing runs for its effect: always kept
        kept = {i for i, s in enumerate(runtime) if not s.defines}
        live, todo = set(), list(roots) + [n for i in kept for n in runtime[i].uses]
        while todo:
            name = todo.pop()
            if name in FAMILY_FIELDS:
                todo += [p + name for p in prefixes]
            i = where.get(name)
            if i is None or i in kept:
                continue
            kept.add(i)
            todo += runtime[i].uses
            for n, entry in enumerate(runtime[i].entries):
                if _lives(entry.label, features, built):
                    live.add((i, n))
                    todo += entry.uses
        now = built | {c for i in kept if not runtime[i].entries for c in runtime[i].calls}
        if now == built:
            return kept, live
        built = now


def _lives(label, features: set, built: set) -> bool:
    """A class entry lives when kept code builds the class, a feature's
    (``"ROTATIONS"``, ``"KMEANS_STARTS.start"``) when the model has it."""
    return label[1] in built if isinstance(label, tuple) else label.split(".")[0] in features


def hook_text(s: Statement, index: int, live: set) -> str:
    """A hook table's text with only its live entries."""
    name = next(iter(s.defines))
    head = s.text[:s.text.index(f"{name} = ")]
    rows = [f"    {e.text}," for n, e in enumerate(s.entries) if (index, n) in live]
    return head + (f"{name} = {{\n" + "\n".join(rows) + "\n}" if rows else f"{name} = {{}}")


def table_values(model: list, names) -> dict:
    """The model's tables of those names that it defines, as values."""
    return {name: ast.literal_eval(s.node.value) for s in model
            for name in s.defines & set(names)}


def features_of(model: list) -> set:
    """The features the model's tables turn on (see the module docstring)."""
    values = table_values(model, set(FEATURE_TABLES) | {"PREDICTIVE", "LOCAL_BLOCK"})
    found = {name for name in FEATURE_TABLES if values.get(name)}
    if len(values.get("LOCAL_BLOCK", ())) > 1:  # its per-group restarts (local_loop.py)
        found.add("LOCAL_BLOCK")
    if values.get("PREDICTIVE"):
        found.add(values["PREDICTIVE"][0])
    return found


def families_of(model: list) -> tuple[set, set]:
    """(the families of the model's latents, the family functions its checks
    call: each factor's check_params, each data's check_support)."""
    values = table_values(model, ("LATENTS", "FACTOR_ARGS", "DATA_SPEC"))
    checks = {f"{row[2].lower()}_check_params" for row in values.get("FACTOR_ARGS", ())}
    checks |= {f"{row[4].lower()}_check_support" for row in values.get("DATA_SPEC", ())
               if row[4] is not None}
    return {row[1] for row in values.get("LATENTS", ())}, checks


# ---------------------------------------------------------------- assembly
def assemble(doc: str, model_lines: list, parts: list, trim: bool = True) -> Assembled:
    """The module from its docstring, the model's code (lines) and the
    runtime ``parts`` ((source, where it comes from) in order); ``trim=False``
    keeps the whole runtime (tests compare the two)."""
    _, model = statements("\n".join(model_lines))
    runtime, titles = [], {}
    for source, where in parts:
        title, found = runtime_statements(source, where)
        titles[where] = title
        runtime += found
    defined = {name for s in runtime for name in s.defines}
    own = {name for s in model for name in s.defines}
    wiring = [s for s in model if (_import_time_names(s) & defined) - own]
    families, checks = families_of(model)
    features, built = features_of(model), {c for s in model for c in s.calls}
    roots = set(ENTRY_POINTS) | {n for s in model for n in s.uses} | checks | \
        {n for f in features for n in FEATURE_ENTRY_POINTS.get(f, ())}
    if trim:
        kept, live = reachable(runtime, roots, features, built, families)
    else:
        kept = set(range(len(runtime)))
        live = {(i, n) for i in kept for n in range(len(runtime[i].entries))}
    body, part = [], None
    for i, s in enumerate(runtime):
        if i not in kept:
            continue
        if s.part != part:
            part = s.part
            title = textwrap.wrap(f"{titles[part]} ({part})", 77)
            body.append("\n".join([f"# {'-' * 77}"] + [f"# {line}" for line in title]))
        body.append(hook_text(s, i, live) if s.entries else s.text)
    # a function that needs the runtime only for its decorators stays in
    # place; the wiring applies them (statistics_z = once_per_update('z')(...))
    split = {id(s): _undecorated(s, defined - own) for s in wiring}
    model_text = joined(s.text if s not in wiring else split[id(s)][0] for s in model
                        if s not in wiring or split[id(s)])
    wiring_text = joined(split[id(s)][1] if split[id(s)] else s.text for s in wiring)
    runtime_text = joined(body)
    # the names the kept runtime uses, from its statements and live hook
    # entries (equal to parsing runtime_text again, without the parse)
    used = {n for s in model for n in s.uses} | \
        {n for i in kept for n in runtime[i].uses} | \
        {n for i, e in live for n in runtime[i].entries[e].uses}
    imports = [line for alias, line in IMPORTS.items() if alias in used]
    standard = [line for line in imports
                if line in ("import os", "import warnings", "import weakref")]
    imports = "\n".join(standard + [""] * bool(standard) + imports[len(standard):])
    return Assembled(doc, imports, joined(s.text for s in model), model_text, runtime_text,
                     wiring_text)


def _undecorated(s: Statement, runtime: set):
    """(the function without its decorators, the lines applying them) of a
    function whose decorators alone name runtime names as it is defined
    (each a line of its own); None otherwise."""
    node = s.node
    if not isinstance(node, ast.FunctionDef) or not node.decorator_list:
        return None
    defaults = [p for p in node.args.defaults + node.args.kw_defaults if p is not None]
    if any(_names(p) & runtime for p in defaults) \
            or any(d.lineno != d.end_lineno for d in node.decorator_list):
        return None
    text = "\n".join(line for line in s.text.splitlines() if not line.startswith("@"))
    return text, "\n".join(f"{node.name} = {ast.unparse(d)}({node.name})"
                           for d in reversed(node.decorator_list))


def _import_time_names(s: Statement) -> frozenset:
    """The names a statement evaluates as the module runs: a definition's
    decorators, defaults and bases, anything else's whole text."""
    node = s.node
    if isinstance(node, ast.FunctionDef):
        parts = node.decorator_list + node.args.defaults + node.args.kw_defaults
    elif isinstance(node, ast.ClassDef):
        parts = node.decorator_list + node.bases + node.keywords
    else:
        return s.uses
    return frozenset().union(*(_names(p) for p in parts if p is not None))


def joined(texts) -> str:
    """Statements as a module: two blank lines around a definition or a
    section comment (PEP 8), none between consecutive tables."""
    out, previous = "", None
    for text in texts:
        block = text.lstrip().startswith(("def ", "class ", "@", "#"))
        if previous is not None:
            out += "\n\n\n" if block or previous else "\n"
        out += text
        previous = block
    return out


def runtime_path(module_path: str) -> str | None:
    """Where ``vmpdsl compile -o module_path`` writes the runtime: beside it,
    ``<stem>_runtime.py``; None for a target that is not a regular file (a
    device, a pipe), which gets the module as one text."""
    path = Path(module_path)
    if path.exists() and not path.is_file():
        return None
    return str(path.with_name(path.stem + "_runtime.py"))


def runtime_parts(family_source: str) -> list:
    """(source, where from) of every runtime part, in module order: the
    contraction executor, the family functions (``family_source``), the fit
    loop and its optional steps, and last the hook tables naming them."""
    from ..runtime import (chains, checks, driver, einsum, features, kmeans, local_loop,
                           local_restart, memory, new_data, newton, prelude, rotate, scatter,
                           serial, statistics, sweeps, tables)
    before = (prelude, scatter, einsum, serial, statistics)
    after = (tables, checks, memory, driver, sweeps, local_loop, local_restart, chains, new_data,
             newton, kmeans, rotate, features)
    families = ('"""The numeric functions of the families the model uses."""\n'
                + family_source, "vmpdsl/families")
    return [_part(m) for m in before] + [families] + [_part(m) for m in after]


def _part(module) -> tuple:
    return inspect.getsource(module), module.__name__.replace(".", "/") + ".py"
