"""The runtime's tables that follow from the model's names (copied verbatim;
numpy only).

An emitted model names each latent's family (``LATENTS``), its factors'
(``FACTOR_ARGS``) and its data's (``DATA_SPEC``), and defines ``update_<v>``
and ``prior_<v>`` per latent; the tables the runtime reads of those are
resolved here by naming convention rather than written out by the emitter:

* ``FAMILY_FUNCTIONS[family][field]`` is the family function
  ``<family>_<field>`` (every family module names its functions so), None
  where the family has none; ``ARGUMENT_CHECKS[dist]`` and
  ``SUPPORT_CHECKS[family]`` are its ``check_params`` and ``check_support``.
  The trimmer (emit/assemble.py) keeps ``<family>_<field>`` of the model's
  families wherever kept code names ``field`` as a string.
* ``UPDATES`` (the model's last line, ``updates_in_order``): (name, family,
  point, update, prior) per latent in sweep order, its functions found by
  their names ``update_<v>`` and ``prior_<v>``.

A model's table that is empty is not emitted: its readers take the default
(``globals().get("SERIAL", ())``).
"""
import numpy as np


class FamilyFunctions(dict):
    """family → {field → function}, or with ``field`` family → that function;
    each looked up by name on first use (see the module docstring)."""

    def __init__(self, field=None):
        super().__init__()
        self.field = field

    def __missing__(self, family):
        if not isinstance(family, str):
            return None  # data without a distribution has no checks
        prefix = family.lower() + "_"
        found = globals().get(prefix + self.field) if self.field else _FamilyFields(prefix)
        self[family] = found
        return found

    def get(self, family, default=None):
        found = self[family]
        return default if found is None else found


class _FamilyFields(dict):
    def __init__(self, prefix):
        super().__init__()
        self.prefix = prefix

    def __missing__(self, field):
        found = self[field] = globals().get(self.prefix + field)
        return found


FAMILY_FUNCTIONS = FamilyFunctions()
ARGUMENT_CHECKS = FamilyFunctions("check_params")
SUPPORT_CHECKS = FamilyFunctions("check_support")


def updates_in_order(latents):
    """UPDATES: (name, family, point, update, prior) for each latent in sweep
    order; a latent given by name has its functions named ``update_<name>``
    and ``prior_<name>``, one whose names the code could not take (a clash,
    a name Python would change) is given as (name, update, prior)."""
    rows = {row[0]: row for row in LATENTS}
    table = []
    for latent in latents:
        name, update, prior = latent if isinstance(latent, tuple) else (
            latent, globals()[f"update_{latent}"], globals()[f"prior_{latent}"])
        table.append((name, rows[name][1], rows[name][4], update, prior))
    return tuple(table)


def prior_coefficients(name, E, K, data, hyper, dim):
    """The prior factor's message to q(name) (its ``prior_<name>``), each
    coefficient at the full shape of its statistic (ARRAY_SHAPES): the start
    of q(name)."""
    prior = next(row[4] for row in UPDATES if row[0] == name)
    shapes = dict(ARRAY_SHAPES)
    return {stat: np.broadcast_to(c, tuple(dim[d] if isinstance(d, str) else d
                                            for d in shapes[f"E[{stat}] of '{name}'"]))
            for stat, c in prior(E, K, data, hyper, dim).items()}
