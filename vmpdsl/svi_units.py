"""The independent units of a data set and minibatches of them, for
stochastic VI (vmpdsl/svi.py).

A *unit* is what the local latents are plated over (derive/locality.py): a
row of the data (a mixture's ``z[n]`` with ``x[n]``), or a group of rows
given by an integer array (LDA's document ``d`` with ``θ[d]`` and the tokens
whose ``doc[t] = d``).  A minibatch is a sorted set of unit ids; it is bound
as the emitted module binds any data: the rows of its units (in their order
in the data), the arrays over the units sliced, the index array renumbered
0..|B|−1 and the unit dim set to |B|.  Arrays may be numpy memory maps or
``.npy`` paths (chunked.open_arrays): only a minibatch's rows are read (and
a group index array once, whole, to find each group's rows).
Also here: which models have such units (``check_model``) and the order of
the minibatches (``minibatch_order``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .chunked import open_arrays
from .derive.locality import group_plates, row_plates
from .errors import VmpDataError


def unit_plate(module, checked) -> tuple:
    """(unit plate, row plate, the index array of a group plate or None)."""
    rows = row_plates(checked)
    if len(rows) != 1:
        raise VmpDataError(f"method='svi' needs the data arrays to share one leading row axis "
                           f"(the rows a minibatch samples); model '{module.MODEL_NAME}' has "
                           f"{', '.join(sorted(map(str, rows))) or 'none'}")
    (plate,) = rows
    local_plates = {row[2][0] for row in module.LATENTS if row[2]}
    groups = {g: index for g, (index, _) in group_plates(checked).items() if g in local_plates}
    if len(groups) > 1:
        raise VmpDataError(f"method='svi': the local latents are plated over several groupings "
                           f"of the rows ({', '.join(sorted(groups))}); a minibatch needs one")
    if groups:
        (group, index), = groups.items()
        return group, plate, index
    return plate, plate, None


class Bound(NamedTuple):
    """A minibatch as the emitted module's functions take it."""
    dim: dict
    arrays: dict
    K: dict  # the module's constants
    rows: int  # its rows in the data (before duplicates are merged)
    units: int  # |B|


class Units:
    """The units of ``data`` (a dict of arrays, dims and ``.npy`` paths)."""

    def __init__(self, module, checked, data: dict):
        self.module = module
        self.unit, self.plate, self.index = unit_plate(module, checked)
        self.data = open_arrays(dict(data))
        spec = module.DATA_SPEC
        self.on_rows = [n for n, shape, *_ in spec if shape and shape[0] == self.plate]
        self.on_units = [n for n, shape, *_ in spec
                         if shape and shape[0] == self.unit and self.index is not None]
        self.renumber = [n for n, _, dtype, categories, family in spec
                         if n in self.on_rows and categories == self.unit and self.index]
        missing = [n for n in self.on_rows + self.on_units if n not in self.data]
        if missing:
            raise VmpDataError(f"the data has no array '{missing[0]}'")
        self.rows = int(np.shape(self.data[self.on_rows[0]])[0]) if self.on_rows else 0
        self.n = self.rows if self.index is None else self._groups()

    def _groups(self) -> int:
        """The number of groups; their rows as ``self.first`` (start of each
        group in ``self.order``, the rows sorted by group; None when sorted)."""
        if self.unit not in self.data:
            raise VmpDataError(f"method='svi' samples the groups '{self.unit}' of '{self.index}': "
                               f"give their number as the dim '{self.unit}'")
        n = self.data[self.unit]
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise VmpDataError(f"dim '{self.unit}' must be a positive whole number, got {n!r}")
        index = np.asarray(self.data[self.index])
        if index.dtype.kind not in "iu" or (index.size and (index.min() < 0 or index.max() >= n)):
            raise VmpDataError(f"'{self.index}' must hold whole numbers in 0..{n - 1} "
                               f"(its groups '{self.unit}')")
        self.order = None if np.all(index[1:] >= index[:-1]) else np.argsort(index, kind="stable")
        self.first = np.concatenate([[0], np.cumsum(np.bincount(index, minlength=n))])
        return int(n)

    def row_ids(self, ids: np.ndarray) -> np.ndarray:
        """The rows of the units ``ids`` (sorted), in their order in the data."""
        if self.index is None:
            return ids
        counts = self.first[ids + 1] - self.first[ids]
        offsets = np.repeat(self.first[ids] - np.cumsum(counts) + counts, counts)
        rows = offsets + np.arange(int(counts.sum()))
        return rows if self.order is None else np.sort(self.order[rows])

    def chunk(self, ids: np.ndarray) -> tuple:
        """(the data of the units ``ids``, its number of rows)."""
        ids = np.asarray(ids, dtype=np.intp)
        row_ids = self.row_ids(ids)
        rows = contiguous(row_ids)
        chunk = {}
        for name, value in self.data.items():
            if name in self.on_rows:
                value = np.asarray(value[rows])
                if name in self.renumber:
                    value = np.searchsorted(ids, value)
            elif name in self.on_units:
                value = np.asarray(value[contiguous(ids)])
            chunk[name] = value
        for dim, size in ((self.unit, ids.size), (self.plate, row_ids.size)):
            if dim in chunk:
                chunk[dim] = size
        return chunk, row_ids.size

    def bind(self, ids, hyper, collapse=True) -> Bound:
        """The units ``ids`` bound as the module binds data (duplicate rows
        merged with their counts, as the module's fit does, unless ``collapse``
        is False)."""
        chunk, rows = self.chunk(ids)
        module = self.module
        none = self.index is not None and not len(ids)
        if none:  # the module binds no groups as one whose rows are absent
            chunk.update({n: self.data[n][:1] for n in self.on_units}, **{self.unit: 1})
        try:
            dim, arrays = module.bind_data(chunk)
            if none:
                dim[self.unit] = 0
                arrays.update({n: arrays[n][:0] for n in self.on_units})
            if collapse:
                module.collapse_rows(dim, arrays, {})
            return Bound(dim, arrays, module._constants(dim, arrays, hyper), rows, len(ids))
        except module.DataError as err:
            where = f"{self.unit} {ids[0]}–{ids[-1]}: " if len(ids) else ""
            raise VmpDataError(f"{where}{err}") from None

    def sizes(self) -> dict:
        """The dims other than the units and rows (those every minibatch shares)."""
        chunk, _ = self.chunk(np.arange(min(1, self.n)))
        try:
            dim, _ = self.module.bind_data(chunk)
        except self.module.DataError as err:
            raise VmpDataError(str(err)) from None
        return {d: n for d, n in dim.items() if d not in (self.unit, self.plate)}

    def check_sizes(self, reference: dict, what: str):
        """A VmpDataError unless the dims are those of the training data."""
        for dim, n in self.sizes().items():
            if reference.get(dim, n) != n:
                raise VmpDataError(f"{what}: dim {dim} is {n}, but {reference[dim]} in the "
                                   f"data the globals were fitted to")

    def blocks(self, size: int):
        """Contiguous ranges of ``size`` units covering all of them."""
        for start in range(0, self.n, size):
            yield np.arange(start, min(start + size, self.n))


def contiguous(ids: np.ndarray):
    """A slice for a contiguous run of row ids (a memory map reads it in one go)."""
    if ids.size and ids[-1] - ids[0] + 1 == ids.size:
        return slice(int(ids[0]), int(ids[-1]) + 1)
    return ids


def check_model(model, rotate=True, init=None):
    """The models a minibatch step fits: independent units, conjugate globals."""
    module, name = model._compiled.module, model.name
    unit, plate, _ = unit_plate(module, model.checked)
    locals_ = set(module.LOCAL_BLOCK)
    problems = []
    chains = [r[0] for r in module.LATENTS if r[0] in locals_ and r[1].endswith("Chain")]
    if chains or getattr(module, "SERIAL", ()):
        problems.append(f"its rows are not independent units ({', '.join(chains) or 'pairs'})")
    inner = [n for n, shape, *_ in module.DATA_SPEC if {unit, plate} & set(shape[1:])]
    inner += [r[0] for r in module.LATENTS if {unit, plate} & set(r[2][1:])]
    if inner:
        problems.append(f"'{inner[0]}' runs over the units on an inner axis")
    points = [r[0] for r in module.LATENTS if r[4] and r[0] not in locals_]
    if points:
        problems.append(f"{', '.join(points)} are point estimates (no natural parameters)")
    newton = {r.var for r in getattr(model._compiled.derivation, "nonconjugate", [])} - locals_
    if newton:
        problems.append(f"{', '.join(sorted(newton))} are updated by Newton steps, not a sum "
                        f"over units")
    if rotate and getattr(module, "ROTATIONS", ()):
        problems.append("its bilinear pairs' rotation step needs all rows (pass rotate=False)")
    if set(init or {}) & locals_:
        problems.append(f"init may give global latents only, not "
                        f"{', '.join(sorted(set(init) & locals_))}")
    if problems:
        raise VmpDataError(f"method='svi' cannot fit model '{name}': {'; '.join(problems)}")


def minibatch_order(n: int, batch_size: int, seed, passes: int):
    """The minibatches (sorted unit ids) of each pass: a permutation of the n
    units per pass, drawn from a generator spawned from ``seed``, cut into
    ``batch_size`` pieces."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    for _ in range(passes):
        order = rng.permutation(n)
        yield [np.sort(order[i:i + batch_size]) for i in range(0, n, batch_size)]


def validated_hypers(module, units, hypers, init):
    """The module's own checks of hypers, init and factor arguments (a fit on one unit)."""
    empty, _ = units.chunk(np.arange(1))
    try:
        return module.fit(empty, hypers=hypers, max_iter=0, init=init, collapse=False)["hypers"]
    except module.DataError as err:
        raise VmpDataError(str(err)) from None
