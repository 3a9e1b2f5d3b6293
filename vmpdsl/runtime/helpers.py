"""Numeric helpers shared by the family functions.

The code emitter copies these functions' source text verbatim into every
generated module (see ``families.registry.runtime_source``), so each one may use only
``np``, ``sps``, ``sla`` and the other helpers defined here: no closures, no
other globals, no package imports.  Batched SPD work goes through
``np.linalg`` (batched since forever) rather than ``scipy.linalg``, whose
batching is recent.
"""
import numpy as np
from scipy import special as sps  # noqa: F401  (part of the emitted header)
from scipy import linalg as sla  # noqa: F401  (part of the emitted header)

from .prelude import compact, remembered


def first_index(bad):
    """The index tuple of the first True entry of a boolean array."""
    return tuple(int(i) for i in np.argwhere(np.asarray(bad))[0])


def found_at(x, bad):
    """'found V at index I' for the first bad entry, to end a user message."""
    x = np.broadcast_to(np.asarray(x), np.shape(bad))
    index = first_index(bad)
    where = f" at index {index}" if index else ""
    return f"found {x[index].item()!r}{where}"


def positive_problem(value, what):
    """A sentence if any entry of ``value`` is not positive and finite, else None."""
    value = np.asarray(value, dtype=float)
    # the common case, all fine, at the cost of a comparison (NaN fails both)
    if value.ndim == 0 and 0.0 < float(value) < np.inf:
        return None
    # (the ufuncs' reduce directly: ndarray.min's Python wrapper costs as much again)
    if value.ndim and (value.size == 0 or (np.minimum.reduce(value, axis=None) > 0.0
                                           and np.maximum.reduce(value, axis=None) < np.inf)):
        return None
    bad = ~(np.isfinite(value) & (value > 0))
    if np.any(bad):
        return f"{what} must be positive and finite; {found_at(value, bad)}"
    return None


def missing_problem(params, names, what):
    """A sentence if ``params`` is not a dict holding every one of ``names``, else None."""
    missing = [k for k in names if not isinstance(params, dict) or k not in params]
    return f"{what} needs {', '.join(names)}; missing {', '.join(missing)}" if missing else None


def joint_mean_problem(params, names, what):
    """A sentence if a joint block's q (Normal–Wishart, Normal–Gamma) lacks one of
    ``names`` or has a beta ≤ 0 or a non-finite mean, else None (its precision
    part is its own family's check)."""
    problem = (missing_problem(params, names, f"a {what} q")
               or positive_problem(params["beta"], f"{what} beta"))
    if problem is None and not np.all(np.isfinite(params["mean"])):
        problem = f"{what} mean must be finite"
    return problem


def require_positive(value, what):
    """``value`` as a float array, a single number as a numpy scalar (whose
    arithmetic costs a fifth of a 0-d array's: a small model's sweep is made
    of such numbers); FloatingPointError when an entry is not positive and finite."""
    if type(value) is not np.ndarray or value.ndim == 0:
        if type(value) is not np.float64:  # (np.float64() of one costs as much as the test)
            value = np.float64(value)
        if 0.0 < value < np.inf:  # (NaN fails it)
            return value
    elif value.dtype.type is np.float64 and value.size and \
            np.minimum.reduce(value, axis=None) > 0.0 and np.maximum.reduce(value, axis=None) < np.inf:
        return value  # an array, all fine: positive_problem's first test, without its calls
    problem = positive_problem(value, what)
    if problem is not None:
        raise FloatingPointError(problem)
    return np.asarray(value, dtype=float)


def spd_problem(matrix, what):
    """A sentence if ``matrix`` (..., D, D) is not a batch of finite SPD matrices."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
        return f"{what} must be a square matrix; got shape {matrix.shape}"
    matrix = compact(matrix, 2)  # a matrix broadcast along the batch is checked once
    if not np.all(np.isfinite(matrix)):
        return f"{what} must be finite; {found_at(matrix, ~np.isfinite(matrix))}"
    asym = np.abs(matrix - np.swapaxes(matrix, -1, -2))
    tol = 1e-8 * np.max(np.abs(matrix), axis=(-1, -2), keepdims=True) + 1e-300
    if np.any(asym > tol):
        index = first_index(np.any(asym > tol, axis=(-1, -2)))
        return f"{what} must be symmetric; the matrix at batch index {index} is not"
    smallest = np.linalg.eigvalsh(matrix)[..., 0]
    if np.any(smallest <= 0):
        index = first_index(smallest <= 0)
        return (f"{what} must be positive definite; the matrix at batch index {index} "
                f"has eigenvalue {smallest[index].item():.3g}")
    return None


def simplex_problem(values, what, noun, unit):
    """None for finite non-negative vectors summing to 1, else a sentence
    ("{what} must be {noun}; ..." or "... the {unit} at index ... does not")."""
    array = np.asarray(values, dtype=float)
    bad = ~(np.isfinite(array) & (array >= 0))
    if array.ndim < 1 or np.any(bad):
        return f"{what} must be {noun}; " + (found_at(values, bad) if np.any(bad) else "got a scalar")
    off = np.abs(np.sum(array, axis=-1) - 1.0) > 1e-6
    if np.any(off):
        return f"{what} must sum to 1; the {unit} at index {first_index(off)} does not"
    return None


def broadcast_view(array, shape):
    """``array`` broadcast to ``shape`` (a read-only view), or itself when it
    has that shape already (np.broadcast_to costs µs a sweep can feel)."""
    return array if array.shape == shape else np.broadcast_to(array, shape)


def last_axis_max(values):
    """The maximum over the last axis (kept as length 1).  Over a few
    categories, one pass per category: numpy reduces a short contiguous axis
    row by row (10⁴ rows of 8: 420 µs, against 50 µs this way)."""
    size = values.shape[-1]
    if not 0 < size <= 32 or (size >= 16 and values.ndim > 1 and values.flags.c_contiguous):
        # (C-ordered rows of 16 or more: the passes' strided reads cost 4× numpy's
        # reduction, 43 against 11 ms for LDA's 2·10⁵ × 20 responsibilities)
        return np.max(values, axis=-1, keepdims=True)
    top = values[..., :1].copy()
    for k in range(1, size):
        np.maximum(top, values[..., k:k + 1], out=top)
    return top


def symmetrize(matrix):
    """(A + Aᵀ)/2 over the last two axes: removes rounding asymmetry."""
    return 0.5 * (matrix + np.swapaxes(matrix, -1, -2))


def chol_lower(matrix, what):
    """Lower Cholesky factor of a batch of SPD matrices.

    Raises FloatingPointError naming ``what`` when one is not SPD, which the
    engine reports as a user error on the variable being updated.
    """
    matrix = np.asarray(matrix, dtype=float)
    if not np.isfinite(matrix).all():  # (the method: np.all's wrapper costs µs)
        raise FloatingPointError(f"{what} has non-finite entries")
    if matrix.ndim == 2 and matrix.size:  # one matrix: LAPACK directly, ~2× faster
        chol, info = sla.lapack.dpotrf(matrix, lower=1)  # (zero above the diagonal)
        if info != 0:
            raise FloatingPointError(f"{what} is not positive definite")
        return chol
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise FloatingPointError(f"{what} is not positive definite") from None


def chol_logdet(chol):
    """log det A from A's Cholesky factor: 2 Σ log diag L."""
    # (methods and the ufunc's reduce: np.sum's and np.diagonal's wrappers cost µs)
    return 2.0 * np.add.reduce(np.log(chol.diagonal(0, -2, -1)), axis=-1)


def spd_logdet(matrix, what):
    """log det of a batch of SPD matrices: the one an update noted for this
    very array (prelude's remember), else from a Cholesky factor."""
    known = remembered(matrix)
    return known if known is not None else chol_logdet(chol_lower(matrix, what))


def chol_inverse(chol):
    """A⁻¹ = L⁻ᵀ L⁻¹ from A's lower Cholesky factor L (exactly symmetric; L as
    chol_lower gives it, zero above the diagonal)."""
    if chol.ndim == 2:  # one matrix: LAPACK's potri is ~3× faster than a general solve
        # Lᵀ is the upper factor in Fortran order, so LAPACK needs no copy; it
        # fills the upper triangle and leaves Lᵀ's zeros below: mirror them up
        inverse, info = sla.lapack.dpotri(chol.T, lower=0)
        if info == 0:
            full = inverse + inverse.T
            np.fill_diagonal(full, np.diagonal(inverse))
            return full
    eye = np.broadcast_to(np.eye(chol.shape[-1]), chol.shape)
    linv = np.linalg.solve(chol, eye)
    return symmetrize(np.swapaxes(linv, -1, -2) @ linv)


def spd_inverse(matrix, what):
    """Inverse of a batch of SPD matrices via Cholesky; FloatingPointError if not SPD."""
    return chol_inverse(chol_lower(matrix, what))


def log_multigamma(a, dim):
    """log Γ_D(a) = D(D−1)/4 log π + Σ_j log Γ(a − j/2), vectorised over ``a``."""
    j = np.arange(dim)
    terms = sps.gammaln(np.expand_dims(np.asarray(a, dtype=float), -1) - 0.5 * j)
    return 0.25 * dim * (dim - 1) * np.log(np.pi) + np.sum(terms, axis=-1)
