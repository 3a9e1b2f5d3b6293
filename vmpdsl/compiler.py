"""The pipeline in one place: parse → check → derive → lower → emit → load.

Each stage is a pure function of the previous one's output.  Compiled models
are cached by model text, so loading the same model twice costs a dict lookup.
"""
from __future__ import annotations

import types
from dataclasses import dataclass
from functools import lru_cache

from .derive.equations import equations_text
from .derive.messages import Derivation, derive
from .emit.numpy_emit import emit
from .errors import VmpError
from .language import check, parse
from .language.model import CheckedModel
from .lower import Program, lower


@dataclass(frozen=True)
class Compiled:
    model: CheckedModel
    derivation: Derivation
    program: Program
    code: str
    module: types.ModuleType


def compile_source(source: str, filename: str | None = None) -> Compiled:
    try:
        return _compile_cached(source, filename)
    except VmpError as err:
        raise err.with_source(source, filename) from None


@lru_cache(maxsize=64)
def _compile_cached(source: str, filename: str | None) -> Compiled:
    model = check(parse(source, filename))
    derivation = derive(model)
    program = lower(derivation)
    code = emit(program, equations_text(derivation))
    return Compiled(model, derivation, program, code, load_module(code, model.name))


def load_module(code: str, name: str) -> types.ModuleType:
    """Execute emitted code (ours, printed from the program tree) as a module."""
    module = types.ModuleType(f"vmpdsl_generated_{name}")
    exec(compile(code, f"<vmpdsl:{name}>", "exec"), module.__dict__)
    return module
