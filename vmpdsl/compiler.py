"""The pipeline in one place: parse → check → derive → lower → emit → load.

Each stage is a pure function of the previous one's output.  Compiled models
are cached by model text, so loading the same model twice costs a dict lookup.
"""
from __future__ import annotations

import types
from dataclasses import dataclass, replace
from functools import lru_cache

from .derive.messages import Derivation, derive
from .emit.assemble import Assembled
from .emit.numpy_emit import emit
from .errors import Span, VmpCheckError, VmpError
from .language import check, parse
from .language.model import CheckedModel
from .lower import Program, lower


@dataclass(frozen=True)
class Compiled:
    """Every stage's output for one model text (see compile_source)."""
    model: CheckedModel
    derivation: Derivation
    program: Program
    code: str  # the module as one file (parts.pair(...) writes it as two)
    module: types.ModuleType
    parts: Assembled


def compile_source(source: str, filename: str | None = None, points: tuple = (),
                   missing: bool = False, mean_field: bool = False) -> Compiled:
    """Compile model text; ``points`` names latents to estimate as points (MAP);
    ``missing`` multiplies every likelihood by an observed-mask (missing="skip").
    Without masks, the factors of a plate whose duplicate rows may be merged
    carry count weights instead (derive/weights.py).  ``mean_field`` factorizes
    the joint blocks (derive/blocks.py) into one q per latent."""
    try:
        return _compile_cached(source, filename, tuple(sorted(set(points))), bool(missing),
                               bool(mean_field))
    except VmpError as err:
        raise err.with_source(source, filename) from None


@lru_cache(maxsize=64)
def _compile_cached(source: str, filename: str | None, points: tuple,
                    missing: bool = False, mean_field: bool = False) -> Compiled:
    from .printing import equations_text  # the module's docstring (no sympy)
    model = as_points(check(parse(source, filename)), points)
    if missing or mean_field:
        model = replace(model, missing=missing, mean_field=mean_field)
    require_unknowns(model)
    derivation = derive(model)
    program = lower(derivation)
    parts = emit(program, docstring_equations(derivation, equations_text))
    return Compiled(model, derivation, program, parts.text, load_module(parts.text, model.name),
                    parts)


def require_unknowns(model: CheckedModel):
    """A model with nothing to infer has no updates and no fit to run."""
    if not any(v.role in ("latent", "point", "param") for v in model.variables.values()):
        raise VmpCheckError(
            "the model has no unknown (latent, point or param) variable, so there is "
            "nothing to fit" if model.variables else "the model is empty: it declares "
            "no variables", Span(1, 1),
            hint="declare a latent with `name ~ Distribution(...)`")


def check_conjugacy(model: CheckedModel) -> Derivation:
    """Derive the messages of a checked model (no lowering, no emission): a
    factor that is not conjugate raises the located error ``equations`` and
    ``fit`` would (``vmpdsl check``'s conjugacy check)."""
    try:
        return derive(model)
    except VmpError as err:
        raise err.with_source(model.source, model.filename) from None


def docstring_equations(derivation, printer) -> str:
    """The printed equations for the module's docstring; a printer failure must
    not stop a fit, so it is reported in the docstring instead."""
    try:
        return printer(derivation)
    except Exception as err:  # noqa: BLE001 (the fit does not depend on the text)
        return f"(vmpdsl could not print these equations: {type(err).__name__}: {err})"


def as_points(model: CheckedModel, points: tuple) -> CheckedModel:
    """The model with the named latents estimated as points (keeping their priors)."""
    if not points:
        return model
    variables = dict(model.variables)
    for name in points:
        var = variables.get(name)
        if var is None or var.role not in ("latent", "point"):
            latents = ", ".join(v.name for v in model.variables.values()
                                if v.role in ("latent", "point"))
            raise VmpError(f"cannot estimate '{name}' as a point: it is not a latent "
                           f"variable of the model (latents: {latents or 'none'})")
        variables[name] = replace(var, role="point")
    return replace(model, variables=variables)


def load_module(code: str, name: str) -> types.ModuleType:
    """Execute emitted code (ours, printed from the program tree) as a module."""
    module = types.ModuleType(f"vmpdsl_generated_{name}")
    exec(compile(code, f"<vmpdsl:{name}>", "exec"), module.__dict__)
    return module
