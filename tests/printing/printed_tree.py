"""The printed tree, evaluated element by element in sympy.

The printer reads each update off ``collect`` (monomials and squares) and
``formulas`` (Ratio, Inverse, sums); the text is rendered from those nodes.
Evaluating the same nodes here, with the symbols of
``vmpdsl.derive.equations`` (``E[w.x][0]``, ``X[1,0]``), lets the tests compare
what is printed with the raw messages and with the textbooks.
"""
from itertools import product

import sympy

from vmpdsl.derive.equations import element_value
from vmpdsl.derive.statistics import Mono
from vmpdsl.printing.collect import Context, collect
from vmpdsl.printing.formulas import Inverse, Ratio, formulas
from vmpdsl.printing.squares import Square, expand
from vmpdsl.printing.textbook import Bar, BarMean


class Tree:
    """The printing form of one model, evaluable at small dim sizes."""

    def __init__(self, model, sizes: dict):
        self.derivation = model._compiled.derivation
        self.ctx = Context(self.derivation)
        self.forms = {f.update.name: f for f in collect(self.ctx)}
        self.sizes = sizes

    def size(self, dim) -> int:
        return self.sizes[dim] if isinstance(dim, str) else int(dim)

    def pieces(self, form, pieces: list, outputs=None):
        """A sum of monomials and squares as an array over ``outputs`` (by
        default the output labels the pieces carry, in the update's order)."""
        if outputs is None:
            carried = {l for p in pieces for m in (expand(p, self.ctx.model)[0]
                       if isinstance(p, Square) else [p]) for a in m.atoms for l in a.indices}
            outputs = tuple(l for l in form.outputs if l in carried)
        shape = tuple(self.size(self.ctx.dims[l]) for l in outputs)
        total = sympy.MutableDenseNDimArray.zeros(*shape) if shape else sympy.Integer(0)
        for piece in pieces:
            monos, dims = (expand(piece, self.ctx.model) if isinstance(piece, Square)
                           else ([piece], {}))
            for m in monos:
                total = self.add(total, m, outputs, {**self.ctx.dims, **dims})
        return total

    def add(self, total, m: Mono, outputs, dims):
        coeff = sympy.nsimplify(m.coeff) if not isinstance(m.coeff, float) else sympy.Float(m.coeff)
        for d in m.sizes:
            coeff *= self.size(d)
        labels = list(dict.fromkeys(list(outputs) + list(m.sums)))
        ranges = [range(self.size(dims[l])) for l in labels]
        for values in product(*ranges):
            at = dict(zip(labels, values))
            value = coeff
            for a in m.atoms:
                value *= element_value(a, at, self.ctx.model)
            if outputs:
                total[tuple(at[l] for l in outputs)] += value
            else:
                total += value
        return total

    def coefficient(self, name: str, stat: str, factor=None):
        form = self.forms[name]
        c = form.coefficients[stat]
        return self.pieces(form, c.total if factor is None else c.by_factor[factor],
                           form.stat_outputs[stat])

    def parameters(self, name: str) -> dict:
        """Each printed parameter formula, evaluated: {name: array or scalar}."""
        form = self.forms[name]
        values = formulas(form, self.ctx)
        out = {}
        for param, value in sorted(values, key=lambda pv: isinstance(pv[1], Inverse)):
            out[param] = self.value(form, value, out)
        return out

    def value(self, form, value, done: dict):
        if isinstance(value, Ratio):
            num, den = self.pieces(form, value.num), self.pieces(form, value.den)
            return elementwise(num, den, lambda a, b: a / b)
        if isinstance(value, Inverse):
            matrix = done["precision"] if value.matrix == ["S"] else self.pieces(form, value.matrix)
            times = self.pieces(form, value.times)
            return solve(matrix, times, value.before)
        if isinstance(value, Bar):
            return self.textbook(form, value)
        if hasattr(value, "pieces"):  # a block's W⁻¹ = (pieces) − β m mᵀ: the pieces
            return self.pieces(form, value.pieces)
        return self.pieces(form, value)

    def textbook(self, form, value):
        """PRML (10.61)/(10.62) as printed, from the definitions the "where"
        block prints: N = Σ_n w, x̄ = Σ_n w x / N, S = Σ_n w (x − x̄)(x − x̄)ᵀ / N."""
        p, plates = value.parts, tuple(value.plates)
        if p.scalar:
            return self.textbook_scalar(value, p, plates)
        e1, e2 = sorted(l for l in form.outputs if l not in plates)[-2:]
        w = self.pieces(form, [Mono(p.count.coeff, p.count.atoms)], (p.row,) + plates)
        x = self.pieces(form, [Mono(1, (p.x,))], (p.row, p.x.indices[1]))
        m0 = self.pieces(form, [Mono(1, (p.mean0,))], p.mean0.indices) if p.mean0 else None
        A = self.pieces(form, p.rest, plates + (e1, e2)) if p.rest else 0  # broadcast over k
        B = self.pieces(form, p.prior, plates)
        rows, out = x.shape[0], {}
        for index in product(*(range(self.size(self.ctx.dims[l])) for l in plates)):
            N = sum(w[(n,) + index] for n in range(rows))
            xs = [sympy.Matrix([x[n, i] for i in range(x.shape[1])]) for n in range(rows)]
            xbar = sum((w[(n,) + index] * xs[n] for n in range(rows)), sympy.zeros(len(xs[0]), 1)) / N
            S = sum(((xs[n] - xbar) * (xs[n] - xbar).T * w[(n,) + index] for n in range(rows)),
                    sympy.zeros(len(xs[0]))) / N
            b = B[index] if index else B
            mu0 = sympy.Matrix(list(m0)) if m0 is not None else sympy.zeros(len(xs[0]), 1)
            if isinstance(value, BarMean):
                out[index] = (b * mu0 + N * xbar) / (b + N)
            else:
                a = sympy.Matrix((A[index] if index else A).tolist()) if p.rest else 0
                out[index] = a + N * S + b * N / (b + N) * (xbar - mu0) * (xbar - mu0).T
        first = out[next(iter(out))]
        event = first.shape[:1] if isinstance(value, BarMean) else first.shape
        array = sympy.MutableDenseNDimArray.zeros(*(tuple(
            self.size(self.ctx.dims[l]) for l in plates) + event))
        for index, v in out.items():
            for inner in product(*map(range, event)):
                array[index + inner] = v[inner] if len(inner) == 2 else v[inner[0], 0]
        return array


    def textbook_scalar(self, value, p, plates):
        """The Normal–Gamma form as printed (Murphy 2007, §3):
        m = (B m0 + N x̄) / (B + N), b = A/2 + ½ N S + B N (x̄ − m0)² / (2 (B + N)),
        with x̄ = Σ_n w x / N and S = Σ_n w (x − x̄)² / N."""
        form = self.forms[value.name]
        w = self.pieces(form, [Mono(p.count.coeff, p.count.atoms)], (p.row,) + plates)
        x = self.pieces(form, [Mono(1, (p.x,))], (p.row,))
        m0 = self.pieces(form, [Mono(1, (p.mean0,))], ()) if p.mean0 else 0
        A = self.pieces(form, p.rest, plates) if p.rest else 0
        B = self.pieces(form, p.prior, plates)
        rows = x.shape[0]
        out = sympy.MutableDenseNDimArray.zeros(*(self.size(self.ctx.dims[l]) for l in plates)) \
            if plates else None
        for index in product(*(range(self.size(self.ctx.dims[l])) for l in plates)):
            N = sum(w[(n,) + index] for n in range(rows))
            xbar = sum(w[(n,) + index] * x[n] for n in range(rows)) / N
            S = sum(w[(n,) + index] * (x[n] - xbar) ** 2 for n in range(rows)) / N
            b = B[index] if index else B
            a = (A[index] if index else A) if p.rest else 0
            v = (b * m0 + N * xbar) / (b + N) if isinstance(value, BarMean) else \
                a / 2 + N * S / 2 + b * N * (xbar - m0) ** 2 / (2 * (b + N))
            if not plates:
                return v
            out[index] = v
        return out


def elementwise(a, b, f):
    if not hasattr(a, "shape") or not a.shape:
        return f(a, b)
    out = sympy.MutableDenseNDimArray.zeros(*a.shape)
    for index in product(*map(range, a.shape)):
        out[index] = f(a[index], b[index[:len(b.shape)]] if hasattr(b, "shape") and b.shape
                       else b)
    return out


def solve(matrix, times, before: bool):
    """inv(matrix) @ times per plate row (times: a vector, or a scalar multiplying)."""
    plates = matrix.shape[:-2]
    out = []
    for index in product(*map(range, plates)):
        M = sympy.Matrix(matrix[index].tolist()) if index else sympy.Matrix(matrix.tolist())
        t = times[index] if index and hasattr(times, "shape") and times.shape else times
        if hasattr(t, "shape") and t.shape:
            out.append((M.inv() * sympy.Matrix(list(t))))
        else:
            out.append(M.inv() * t)
    return out if plates else out[0]


def matrix(array, *index) -> sympy.Matrix:
    sub = array[index] if index else array
    return sympy.Matrix(sub.tolist())


def zero(expr) -> bool:
    """expr == 0 exactly, allowing only float round-off in numeric constants."""
    expr = sympy.expand(expr)
    small = {f: 0 for f in expr.atoms(sympy.Float) if abs(f) < 1e-12}
    return sympy.simplify(expr.xreplace(small)) == 0
