"""Emit the serial update of a latent whose elements interact (pairs.py):
``_update_i`` runs ``serial._serial_update`` over the rows of its plates and
``_rows_i`` computes one row's coefficients, the contractions of the ordinary
update with every operand restricted to that row."""
from __future__ import annotations

from ..derive.expressions import EYE
from ..derive.pairs import interacting
from ..lower import Program
from .numpy_emit import contraction_text, dim_text, folded_key, key, split_constant, stat_shapes


def serial_steps(program: Program) -> set:
    """Indices of the steps whose latent reads its own other elements."""
    return {i for i, step in enumerate(program.steps)
            if interacting(program.derivation.update_of(step.name))}


def serial_update_function(index: int, step, program: Program, name: str, rows: str) -> list:
    """``name`` and ``rows``: the functions' names (model_functions.py)."""
    model = program.model
    var = model.variables[step.name]
    plates = tuple(var.plates)
    lines = [f"def {name}(E, K, data, hyper, dim):",
             f"    # q({step.name}): {step.family}, one element at a time (its elements interact)",
             f"    return _serial_update({key(step.name)}, {step.family!r}, {step.point!r}, "
             f"{rows}, {plates!r}, E, K, data, hyper, dim)", ""]
    return lines + rows_function(index, step, program, len(plates), rows)


def rows_function(index: int, step, program: Program, nrows: int, name: str) -> list:
    shapes = stat_shapes(step, program.model)
    lines = [f"def {name}(E, K, data, hyper, dim, row):", "    C = {"]
    for stat, shape in shapes.items():
        own = "".join(f"{dim_text(d)}, " for d in shape[nrows:])
        lines.append(f"        {stat!r}: np.zeros(({'1, ' * nrows}{own})),")
    lines.append("    }")
    rows = tuple(enumerate(range(nrows)))
    for stat in step.stats:
        constant, varying = split_constant(stat.contractions)
        if constant:
            lines.append(f"    C[{stat.stat!r}] += _at(K[{folded_key(index, stat.stat)}], "
                         f"{rows!r}, row)")
        for c in varying:
            lines.append(f"    C[{stat.stat!r}] += {contraction_text(c, row_wrap(c, nrows), '_row_contract')}")
    return lines + ["    return C", ""]


def row_wrap(c, nrows: int):
    """The operand printer restricting each operand to the target's row."""
    targets = c.out[:nrows]

    def wrap(o, text):
        axes = tuple((p, targets.index(l)) for p, l in enumerate(o.labels) if l in targets)
        if not axes or o.name == EYE:
            return text
        return f"_at({text}, {axes!r}, row)"
    return wrap
