"""Evaluate a factor's arguments at given values of every variable, vectorized
over draws and over the factor's plates.

The posterior predictive (``predictive.py``) needs log p(x_n | θ) per row at
draws θ_s of the latents, for any model; the VMP machinery only gives sums of
expectations.  So the factor's argument expressions (LANGUAGE.md's
expressions: arithmetic, ``dot``, ``@``, ``sum``, ``diag``, ``zeros``,
``ones``, ``eye``, the links ``logistic``/``sigmoid``/``softmax``/``exp``,
indexing by plates, gathers by integer data and mixtures by a drawn
Categorical) are interpreted here with numpy.

A value is an array laid out as ``(draws, plate_1 … plate_m, event…)``:
axis 0 runs over draws (size 1 for data and constants), then one axis per
plate of the factor (size 1 where the value does not vary along it), then
the value's own event axes; ``Value.rank`` counts the event axes.  ``env``
maps each variable to its array ``(draws, *shape)`` (data and hypers with a
leading axis of 1), and dims to their sizes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special as sps

from .errors import VmpDataError, VmpError
from .language.ast import BinOp, Call, Index, Name, Neg, Num, Slice

LINKS = {"logistic": sps.expit, "sigmoid": sps.expit, "exp": np.exp}


@dataclass(frozen=True)
class Value:
    """An evaluated expression: the array and its number of event axes."""
    array: np.ndarray
    rank: int  # event axes


class Evaluator:
    """Evaluate expressions inside the plates ``plates`` (Plate records, outer first)."""

    def __init__(self, env: dict, dims: dict, plates: tuple):
        self.env, self.dims = env, dims
        self.axis = {p.index: 1 + i for i, p in enumerate(plates)}
        self.sizes = [dims[p.dim] for p in plates]

    def __call__(self, expr) -> Value:
        method = getattr(self, "eval_" + type(expr).__name__, None)
        if method is None:
            raise VmpError(f"cannot evaluate {type(expr).__name__} for prediction")
        return method(expr)

    # ------------------------------------------------------------ leaves
    def lift(self, array, rank: int) -> Value:
        """An array (draws, *value) with the plate axes inserted (size 1)."""
        array = np.asarray(array)
        return Value(array.reshape(array.shape[:1] + (1,) * len(self.sizes) + array.shape[1:]),
                     rank)

    def eval_Num(self, expr) -> Value:
        """A literal: a scalar."""
        return self.lift(np.array([expr.value], dtype=float), 0)

    def eval_Name(self, expr) -> Value:
        """A plate index, a variable (all of it as the event) or a dim size."""
        if expr.id in self.axis:  # a bare plate index
            axis = self.axis[expr.id]
            shape = [1] * (1 + len(self.sizes))
            shape[axis] = self.sizes[axis - 1]
            return Value(np.arange(shape[axis]).reshape(shape), 0)
        if expr.id in self.env:
            array = np.asarray(self.env[expr.id])
            return self.lift(array, array.ndim - 1)
        if expr.id in self.dims:
            return self.lift(np.array([float(self.dims[expr.id])]), 0)
        raise VmpDataError(f"prediction needs '{expr.id}' in the new data")

    def eval_Neg(self, expr) -> Value:
        """``-e``."""
        value = self(expr.operand)
        return Value(-value.array, value.rank)

    # ---------------------------------------------------------- indexing
    def eval_Index(self, expr) -> Value:
        """``base[i, …]``: plate indices, gathers and drawn categoricals become
        integer arrays over (draws, plates); slices keep their axis."""
        if not isinstance(expr.base, Name):
            raise VmpError("prediction can index only variables by name")
        if expr.base.id not in self.env:
            raise VmpDataError(f"prediction needs '{expr.base.id}' in the new data")
        raw = np.asarray(self.env[expr.base.id])
        picked = [j for j, i in enumerate(expr.indices) if not isinstance(i, Slice)]
        order = [0] + [1 + j for j in picked] + [a for a in range(1, raw.ndim)
                                                  if a - 1 not in picked]
        raw = raw.transpose(order)
        lead = 1 + len(self.sizes)
        draw = np.arange(raw.shape[0]).reshape((-1,) + (1,) * len(self.sizes))
        indices = [self.index_array(expr.indices[j], lead) for j in picked]
        result = raw[(draw, *indices)]
        return Value(result, result.ndim - lead)

    def index_array(self, index, lead: int) -> np.ndarray:
        """An index expression as integers over (draws, plates)."""
        value = self(index)
        if value.rank != 0:
            raise VmpError("an index must be a scalar per row")
        array = value.array
        if array.dtype.kind == "f":
            if not np.all(array == np.round(array)):
                raise VmpError("an index took a fractional value")
            array = array.astype(np.intp)
        return array.reshape(array.shape[:lead])

    # -------------------------------------------------------- arithmetic
    def eval_BinOp(self, expr) -> Value:
        """``+ - * /`` elementwise (a scalar broadcast over an event), ``@`` matrix product."""
        left, right = self(expr.left), self(expr.right)
        if expr.op == "@":
            return matmul(left, right)
        rank = max(left.rank, right.rank)
        a, b = pad(left, rank), pad(right, rank)
        ops = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}
        return Value(ops[expr.op](a, b), rank)

    def eval_Call(self, expr) -> Value:
        """The built-ins and the links."""
        name = expr.func
        if name in ("zeros", "ones", "eye"):
            sizes = [int(self.size_of(a)) for a in expr.args]
            make = {"zeros": np.zeros, "ones": np.ones,
                    "eye": lambda s: np.eye(s[0])}[name]
            array = make(sizes)
            return self.lift(array[None], array.ndim)
        args = [self(a) for a in expr.args]
        if name == "dot":
            a, b = args
            return Value(np.sum(a.array * b.array, axis=-1), a.rank - 1)
        if name == "sum":
            (a,) = args
            return Value(np.sum(a.array, axis=tuple(range(-a.rank, 0))) if a.rank else a.array, 0)
        if name == "diag":
            (a,) = args
            return Value(a.array[..., :, None] * np.eye(a.array.shape[-1]), 2)
        if name == "softmax":
            (a,) = args
            return Value(sps.softmax(a.array, axis=-1), a.rank)
        if name in LINKS:
            (a,) = args
            return Value(LINKS[name](a.array), a.rank)
        raise VmpError(f"cannot evaluate the function '{name}' for prediction")

    def size_of(self, arg) -> float:
        """The size argument of zeros/ones/eye."""
        if isinstance(arg, Num):
            return arg.value
        if isinstance(arg, Name) and arg.id in self.dims:
            return self.dims[arg.id]
        raise VmpError("zeros/ones/eye take a dim or a number")


def pad(value: Value, rank: int) -> np.ndarray:
    """The array with trailing axes so that its event broadcasts against ``rank`` axes."""
    return value.array.reshape(value.array.shape + (1,) * (rank - value.rank))


def matmul(left: Value, right: Value) -> Value:
    """``a @ b`` of a matrix with a vector or a matrix, over (draws, plates)."""
    if right.rank == 1:
        return Value(np.einsum("...ij,...j->...i", left.array, right.array), left.rank - 1)
    return Value(np.matmul(left.array, right.array), 2)

