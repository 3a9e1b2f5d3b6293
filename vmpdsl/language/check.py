"""Check a parsed program and produce the typed ``CheckedModel``.

Two passes.  ``_collect`` records every declaration and every ``~`` target
(so messages can say "w is a latent declared on line 7" even before line 7),
catching redeclarations and double priors.  ``_statement`` then walks the
program in source order, binding names, inferring shapes (``shapes.Typer``)
and matching each distribution against its table entry (``distributions``).
Names must be defined before they are used: that keeps the model a DAG and
every message about "not yet defined" concrete.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import Span, VmpCheckError, VmpError
from . import ast
from .chains import check_transition, find_chains, lag_type
from .limits import check_literal_hypers
from .links import infer_argument
from .distributions import bind_shapes, lookup, signature, substitute
from .model import LATENT_FAMILIES, CheckedModel, Factor, Plate, Variable
from .shapes import Ty, Typer, did_you_mean, fmt_shape

__all__ = ["check"]

# numpy handles arrays of at most 32 axes in places (nditer, unique); a latent's
# second moment doubles its event axes and einsum has 52 letters, so plates
# may nest 24 deep and a declared array has at most 32 axes.
MAX_PLATES, MAX_AXES = 24, 32
_ROLE_WORDS = {"latent": "latent", "point": "point estimate"}


def check(program: ast.Program) -> CheckedModel:
    """Bind names, infer shapes and validate distributions; raise ``VmpCheckError``."""
    try:
        return _Checker(program).run()
    except VmpError as err:
        raise err.with_source(program.source, program.filename) from None


def _target_name(target) -> ast.Name:
    return target if isinstance(target, ast.Name) else target.base


def _name_span(dist: ast.Dist) -> Span:
    s = dist.span
    return Span(s.line, s.column, s.line, s.column + len(dist.name))


class _Checker:
    def __init__(self, program: ast.Program):
        self.program = program
        self.decls = {}  # name -> (role, span) of every declaration, from _collect
        self.plate_sites = {}  # plate index -> its first For, for "outside its plate"
        self.observed = {}  # data name -> span of its likelihood
        self.dims, self.vars, self.hypers = {}, {}, {}
        self.factors, self.param_uses = [], {}
        self.plates = []  # Plate stack in scope, outer first
        self.current = None  # the variable whose `~` is being checked
        self.reads_itself = False  # a chain's transition may read its own z[t-1]
        self.context = None  # "the Normal factor of y (line 9)", for conjugacy errors
        self.constant_of = None  # "hyper nu0" while checking a constant expression
        self.literal_dims = {}  # dim -> the size a literal's length fixes it to
        self.chains = {}  # name -> chains.Chain: latents defined piecewise (z[0], z[t])

    def run(self) -> CheckedModel:
        self._collect(self.program.statements, declarations=True)
        self._collect(self.program.statements, declarations=False)
        self.chains = find_chains(self.program.statements, self.decls)
        for position, stmt in enumerate(self.program.statements):
            self._statement(stmt, position)
        self._settle_params()
        check_literal_hypers(self.hypers)
        return CheckedModel(self._model_name(), dict(self.dims), dict(self.vars),
                            dict(self.hypers), tuple(self.factors), self.program,
                            chains=dict(self.chains),
                            literal_dims=tuple(self.literal_dims.items()))

    def _model_name(self) -> str:
        first = self.program.statements[:1]
        if first and isinstance(first[0], ast.ModelDecl):
            return first[0].name
        return Path(self.program.filename).stem if self.program.filename else "model"

    # ------------------------------------------------------------ pass 1
    def _collect(self, statements, declarations: bool):
        for stmt in statements:
            if isinstance(stmt, ast.For):
                self.plate_sites.setdefault(stmt.index, stmt)
                self._collect(stmt.body, declarations)
            elif isinstance(stmt, ast.Tilde) and not declarations:
                self._collect_tilde(stmt)
            elif declarations and isinstance(stmt, (ast.DimDecl, ast.DataDecl,
                                                    ast.HyperDecl, ast.ParamDecl)):
                role = type(stmt).__name__[:-4].lower()
                for item in stmt.items:
                    self._declare(item.name, role, item.span)

    def _declare(self, name: str, role: str, span: Span):
        if name in self.decls:
            old_role, old_span = self.decls[name]
            raise VmpCheckError(f"{name} is already declared on line {old_span.line} "
                                f"(as {old_role})", span, hint="give each quantity one name")
        self.decls[name] = (role, span)

    def _collect_tilde(self, stmt: ast.Tilde):
        node = _target_name(stmt.target)
        role, span = self.decls.get(node.id, (None, None))
        if role == "data":
            if node.id in self.observed:
                raise VmpCheckError(
                    f"{node.id} already has a likelihood on line {self.observed[node.id].line}",
                    node.span, hint="observed data gets exactly one `~` statement")
            self.observed[node.id] = node.span
        elif role is None:  # a second `~` of a latent: find_chains judges (a chain or an error)
            self.decls[node.id] = ("point" if stmt.point else "latent", node.span)

    # ------------------------------------------------------------ pass 2
    def _statement(self, stmt, position: int):
        if isinstance(stmt, ast.For):
            return self._for(stmt)
        if isinstance(stmt, ast.Tilde):
            return self._tilde(stmt)
        if self.plates:
            raise VmpCheckError("declarations belong at the top level, not inside a plate",
                                stmt.span, hint="move this line above the `for`")
        if isinstance(stmt, ast.ModelDecl):
            if position:
                raise VmpCheckError("the `model NAME` line must be the first statement",
                                    stmt.span)
            return None
        handler = {ast.DimDecl: self._dim_decl, ast.DataDecl: self._array_decl,
                   ast.ParamDecl: self._array_decl, ast.HyperDecl: self._hyper_decl}
        return handler[type(stmt)](stmt)

    def _dim_decl(self, stmt: ast.DimDecl):
        for item in stmt.items:
            if item.default is not None:
                self._constant(f"the default of dim {item.name}", item.default)
                value = item.default
                if isinstance(value, ast.Num) and (value.value != int(value.value)
                                                   or value.value < 1):
                    raise VmpCheckError(f"dim {item.name} must be a positive whole number",
                                        value.span)
            self.dims[item.name] = item.default

    def _array_decl(self, stmt):
        role = "data" if isinstance(stmt, ast.DataDecl) else "param"
        dtype = stmt.dtype if role == "data" else "real"
        for item in stmt.items:
            shape = tuple(self._axis(axis) for axis in item.shape)
            if len(shape) > MAX_AXES:
                raise VmpCheckError(f"'{item.name}' has {len(shape)} axes; vmpdsl handles at "
                                    f"most {MAX_AXES} (numpy's limit)", item.span)
            self.vars[item.name] = Variable(item.name, role, event=shape, dtype=dtype,
                                            span=item.span)

    def _axis(self, axis):
        if isinstance(axis, ast.Num):
            return int(axis.value)
        if axis.id not in self.dims:
            self._not_a_dim(axis.id, axis.span, "an array axis")
        return axis.id

    def _not_a_dim(self, name: str, span: Span, use: str):
        if name in self.decls:
            role = self.decls[name][0]
            if role == "dim":
                raise VmpCheckError(f"dim {name} is used before it is declared", span,
                                    hint="move its `dim` line up")
            raise VmpCheckError(f"{name} is {self._a(role)}, not a dim; {use} must be a dim",
                                span, hint=f"declare it with `dim {name}`")
        raise VmpCheckError(f"{name} is not a declared dim; {use} must be a dim", span,
                            hint=did_you_mean(name, self.dims) or f"add `dim {name}`")

    @staticmethod
    def _a(role: str) -> str:
        return {"data": "data", "latent": "a latent variable", "point": "a point estimate"
                }.get(role, f"a {role}")

    def _hyper_decl(self, stmt: ast.HyperDecl):
        for item in stmt.items:
            ty = self._constant(f"hyper {item.name}", item.value)
            self.vars[item.name] = Variable(item.name, "hyper", event=ty.shape,
                                            span=item.span)
            self.hypers[item.name] = item.value

    def _constant(self, what: str, expr) -> Ty:
        self.constant_of = what
        try:
            return Typer(self).infer(expr)
        finally:
            self.constant_of = None

    def _for(self, stmt: ast.For):
        if stmt.dim not in self.dims:
            self._not_a_dim(stmt.dim, stmt.dim_span, "a plate (`for i in DIM`)")
        if stmt.index in self.decls or any(p.index == stmt.index for p in self.plates):
            what = self.decls.get(stmt.index, ("enclosing plate index",))[0]
            raise VmpCheckError(f"the plate index {stmt.index} clashes with the {what} "
                                f"{stmt.index}", stmt.span, hint="choose another index name")
        if len(self.plates) >= MAX_PLATES:
            raise VmpCheckError(f"plates nest more than {MAX_PLATES} deep", stmt.span,
                                hint="numpy arrays have at most 32 axes; flatten some plates "
                                     "into one dim")
        self.plates.append(Plate(stmt.index, stmt.dim, stmt.start, stmt.stop))
        for inner in stmt.body:
            self._statement(inner, -1)
        self.plates.pop()

    # ------------------------------------------------------------ ~ statements
    def _tilde(self, stmt: ast.Tilde):
        node = _target_name(stmt.target)
        role = self._tilde_role(stmt, node)
        spec = lookup(stmt.dist.name, _name_span(stmt.dist))
        indices = () if isinstance(stmt.target, ast.Name) else stmt.target.indices
        self._check_target(node, role, indices, stmt.target)
        chain = self.chains.get(node.id)
        if chain is not None and stmt is chain.step:
            check_transition(chain, stmt.dist)  # reads itself only as z[t-1]
        self.current = node.id
        self.reads_itself = chain is not None and stmt is chain.step  # z[t-1], checked above
        self.context = f"the {spec.name} factor of {node.id} (line {stmt.span.line})"
        try:
            event, categories = self._dist_shapes(spec, stmt.dist)
        finally:
            self.current = self.context = None
            self.reads_itself = False
        if role == "data":
            self._observe(node, spec, event, categories, stmt.target)
        else:
            self._define_latent(node, role, spec, event, categories)
        self.factors.append(Factor(node.id, stmt.target, stmt.dist, tuple(self.plates),
                                   stmt.span))

    def _tilde_role(self, stmt: ast.Tilde, node: ast.Name) -> str:
        role, span = self.decls[node.id]
        if role in ("dim", "hyper"):
            raise VmpCheckError(f"{node.id} is {self._a(role)} (a fixed constant) and "
                                "cannot have a distribution", node.span,
                                hint=f"remove the `{role}` declaration to make it a latent")
        if role == "param":
            raise VmpCheckError(f"{node.id} is declared `param` (estimated without a "
                                "prior) and cannot have a distribution", node.span,
                                hint="remove the `param` line to give it this prior")
        if role == "data" and stmt.point:
            raise VmpCheckError(f"`point` applies to latent variables, but {node.id} is data",
                                stmt.span, hint="remove `point`")
        if role == "data" and node.id not in self.vars:
            raise VmpCheckError(f"data {node.id} is observed before its `data` line "
                                f"(line {span.line})", node.span, hint="declare data first")
        return role

    def _check_target(self, node: ast.Name, role: str, indices, target):
        expected = [p.index for p in self.plates]
        chain = self.chains.get(node.id)
        if chain is not None and len(indices) == len(expected) + 1:
            expected.append(indices[-1])  # the first element, z[0]
        elif role == "data" and any(p.sliced for p in self.plates):
            raise VmpCheckError("a likelihood inside a sliced plate is not supported",
                                target.span, hint="observe the data in a plate over the whole "
                                                  "dim (`for t in T:`)")
        given = list(indices)
        while role == "data" and given and isinstance(given[-1], ast.Slice):
            given.pop()  # `x[n, :]` observes the same as `x[n]`
        names = [i.id if isinstance(i, ast.Name) else i for i in given]
        if names == expected:
            return
        for index in given:
            if isinstance(index, ast.Name) and index.id not in expected \
                    and index.id in self.plate_sites:
                self._outside_plate(index)
        written = f"{node.id}[{', '.join(expected)}]" if expected else node.id
        raise VmpCheckError(
            f"the left of `~` must be indexed by exactly its enclosing plate indices, "
            f"in order: write {written}", target.span,
            hint="each plate repeats the statement once per value of its index")

    def _outside_plate(self, node: ast.Name):
        site = self.plate_sites[node.id]
        raise VmpCheckError(f"the plate index {node.id} is used outside its plate "
                            f"(`for {node.id} in {site.dim}` on line {site.span.line})",
                            node.span, hint="move this statement into that plate")

    def _dist_shapes(self, spec, dist: ast.Dist):
        if len(dist.args) != len(spec.args):
            raise VmpCheckError(f"{spec.name} takes {len(spec.args)} argument"
                                f"{'s' * (len(spec.args) != 1)}, got {len(dist.args)}",
                                dist.span, hint=f"write {signature(spec)}")
        typer = Typer(self)
        role = self.decls[self.current][0]
        types = [infer_argument(typer, spec.name, k, arg, role)
                 for k, arg in enumerate(dist.args)]
        for arg, ty, node in zip(spec.args, types, dist.args):
            if arg.fixed and self.is_random(ty.refs):
                raise VmpCheckError(f"the {arg.name} of {spec.name} must be fixed "
                                    "(a number, hyper or data), not random", node.span)
        binding = bind_shapes(spec, [t.shape for t in types], [a.span for a in dist.args],
                              self.same_size)
        return substitute(spec.event, binding), binding.get(spec.categories)

    def _observe(self, node, spec, event, categories, target):
        var, plates = self.vars[node.id], self.plates
        declared = var.event
        if len(declared) < len(plates):
            raise VmpCheckError(f"{node.id} has shape {fmt_shape(declared)}, too few axes "
                                f"for {len(plates)} plates", target.span)
        for axis, (dim, plate) in enumerate(zip(declared, plates)):
            if dim != plate.dim:
                raise VmpCheckError(f"the plate index {plate.index} runs over {plate.dim}, "
                                    f"but axis {axis + 1} of {node.id} has size {dim}",
                                    target.span)
        rest = declared[len(plates):]
        if not self.same_shape(rest, event):
            raise VmpCheckError(
                f"{node.id} has shape {fmt_shape(rest)} per observation, but {spec.name} "
                f"here describes shape {fmt_shape(event)}", target.span)
        if spec.dtype == "int" and var.dtype != "int":
            raise VmpCheckError(f"{node.id} is real data, but {spec.name} describes integers",
                                target.span, hint=f"declare it with `: int`, e.g. "
                                                  f"`data {node.id}[...]: int`")
        if categories is not None:
            categories = self._set_categories(var, categories, target.span)
        self.vars[node.id] = replace(var, family=spec.name, categories=categories)

    def _set_categories(self, var: Variable, dim, span: Span):
        if var.categories is not None and var.categories != dim:
            raise VmpCheckError(f"{var.name} is used for values in {var.categories} and "
                                f"in {dim}; integer data can range over one dim only", span)
        return dim

    def _define_latent(self, node, role, spec, event, categories):
        chain = self.chains.get(node.id)
        if chain is not None and node.id in self.vars:
            return self._second_piece(chain, node, spec, event, categories)
        if spec.name not in LATENT_FAMILIES:
            raise VmpCheckError(f"{spec.name} can only be a likelihood of data, and "
                                f"{node.id} is not declared as data", node.span,
                                hint=f"declare `data {node.id}[...]: int`, or choose a "
                                     "latent family: " + ", ".join(LATENT_FAMILIES))
        # a chain's first piece z[0] defines the whole array: outer plates, then T
        plates = tuple(p.dim for p in self.plates) + ((chain.dim,) if chain else ())
        self.vars[node.id] = Variable(node.id, role, plates, event, spec.name, spec.dtype,
                                      categories, node.span)

    def _second_piece(self, chain, node, spec, event, categories):
        """A chain's transition must describe elements like its first piece's."""
        first = self.vars[node.id]
        if (first.family, first.event, first.categories) != (spec.name, event, categories):
            over = f" over {categories}" if categories else ""
            first_over = f" over {first.categories}" if first.categories else ""
            raise VmpCheckError(
                f"{node.id}[0] is a {first.family} of shape {fmt_shape(first.event)}"
                f"{first_over}, but {node.id}[{chain.index}] is a {spec.name} of shape "
                f"{fmt_shape(event)}{over}", node.span,
                hint="both pieces of a chain must have the same family and shape")

    def _settle_params(self):
        """A param's leading axes that its uses index are its plates (model.py)."""
        for name, var in list(self.vars.items()):
            if var.role == "param":
                leading = min(self.param_uses.get(name, [0]))
                self.vars[name] = replace(var, plates=var.event[:leading],
                                          event=var.event[leading:])

    # ------------------------------------------------------------ env for Typer
    def resolve(self, node: ast.Name) -> Ty:
        name = node.id
        for plate in reversed(self.plates):
            if plate.index == name:
                return Ty((), "int", plate.dim)
        if name == self.current and not self.reads_itself:
            raise VmpCheckError(f"{name} appears in its own distribution", node.span)
        role = self.decls.get(name, (None,))[0]
        if self.constant_of and role not in (None, "dim", "hyper"):
            raise VmpCheckError(f"{self.constant_of} refers to {self.describe(name)}; it "
                                "must be a constant", node.span,
                                hint="use numbers, dims, earlier hypers and zeros/ones/eye")
        if name in self.dims:
            return Ty((), "int")
        if name not in self.vars:
            self._undefined(node)
        var = self.vars[name]
        return Ty(var.shape, var.dtype, var.categories, frozenset({name}))

    def _undefined(self, node: ast.Name):
        name = node.id
        if name in self.decls:
            role, span = self.decls[name]
            verb = "given its distribution" if role in ("latent", "point") else "declared"
            raise VmpCheckError(f"{name} is used before it is {verb} on line {span.line}",
                                node.span, hint="move that line above this one")
        if name in self.plate_sites:
            self._outside_plate(node)
        known = list(self.decls) + [p.index for p in self.plates]
        raise VmpCheckError(f"unknown name '{name}'", node.span,
                            hint=did_you_mean(name, known) or
                            "declare it with dim, data, hyper or param, or give it a `~`")

    def lag(self, name: str, index: ast.BinOp) -> Ty:
        """``t - k`` indexing ``name`` (language/chains.py)."""
        return lag_type(self, name, index)

    def note_index(self, name: str, leading: int):
        if name in self.vars and self.vars[name].role == "param":
            self.param_uses.setdefault(name, []).append(leading)

    def note_categories(self, index, dim):
        name = index.id if isinstance(index, ast.Name) else index.base.id
        var = self.vars.get(name)
        if var is None or var.role != "data":
            raise VmpCheckError(f"cannot index by {self.describe(name)}", index.span,
                                hint="an index is a plate index, integer data "
                                     "or a Categorical latent")
        self.vars[name] = replace(var, categories=dim)
        return dim

    def describe(self, name: str) -> str:
        if any(p.index == name for p in self.plates):
            return f"the plate index {name}"
        var = self.vars.get(name)
        if var is None:
            return f"{name} ({self._a(self.decls.get(name, ('dim',))[0])})"
        if var.role in _ROLE_WORDS:
            return f"{name} (a {var.family} {_ROLE_WORDS[var.role]})"
        if var.role == "data":
            return f"{name} ({'integer' if var.dtype == 'int' else 'real'} data)"
        return f"{name} (a {var.role})"

    def is_random(self, refs) -> bool:
        return any(self.vars[r].role in ("latent", "point", "param") for r in refs)

    def is_dim(self, name: str) -> bool:
        return name in self.dims

    def same_size(self, a, b) -> bool:
        """Equal sizes; or a fixed size (a literal's length) and a dim whose
        default is that size, which fixes the dim to it (checked at fit time)."""
        if a == b:
            return True
        fixed, named = (a, b) if isinstance(a, int) else (b, a)
        default = self.dims.get(named) if isinstance(named, str) else None
        if not (isinstance(fixed, int) and isinstance(default, ast.Num)
                and default.value == fixed):
            return False
        self.literal_dims[named] = fixed
        return True

    def same_shape(self, a: tuple, b: tuple) -> bool:
        return len(a) == len(b) and all(self.same_size(x, y) for x, y in zip(a, b))
