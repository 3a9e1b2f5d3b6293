"""Wishart(df, scale V) over SPD D×D matrices, E[Λ] = df·V.

log p(Λ) = (ν − D − 1)/2 log|Λ| − ½ tr(V⁻¹Λ) − ν D/2 log 2 − ν/2 log|V| − log Γ_D(ν/2)
statistics x = Λ (D, D), logdet = log|Λ|; coefficients C_x = −V⁻¹/2,
C_logdet = (ν − D − 1)/2.
"""
import numpy as np
from scipy import special as sps

from ..runtime.helpers import (chol_inverse, chol_logdet, chol_lower, first_index, found_at,
                      log_multigamma, spd_inverse, spd_problem, symmetrize)
from .family import Family


def wishart_params_from_coeffs(coeffs):
    c_x = np.asarray(coeffs["x"], dtype=float)
    dim = c_x.shape[-1]
    df = 2.0 * np.asarray(coeffs["logdet"], dtype=float) + dim + 1.0
    if not np.all(np.isfinite(df) & (df > dim - 1)):
        raise FloatingPointError(f"Wishart df must exceed D - 1 = {dim - 1}; "
                                 f"{found_at(df, ~(df > dim - 1))}")
    # Only the symmetric part of C_x pairs with the symmetric Λ, hence C + Cᵀ.
    scale = spd_inverse(-(c_x + np.swapaxes(c_x, -1, -2)), "Wishart inverse scale")
    batch = np.broadcast_shapes(df.shape, scale.shape[:-2])
    return {"df": np.broadcast_to(df, batch).copy(),
            "scale": np.broadcast_to(scale, batch + (dim, dim)).copy()}


def wishart_coeffs_from_params(params):
    df = np.asarray(params["df"], dtype=float)
    dim = np.shape(params["scale"])[-1]
    return {"x": -0.5 * spd_inverse(params["scale"], "Wishart scale"),
            "logdet": 0.5 * (df - dim - 1.0)}


def wishart_expected_logdet(df, scale):
    """E[log|Λ|] = Σ_i ψ((ν − i)/2) + D log 2 + log|V|, i = 0..D−1."""
    dim = scale.shape[-1]
    half = 0.5 * (np.expand_dims(df, -1) - np.arange(dim))
    return (np.sum(sps.digamma(half), axis=-1) + dim * np.log(2.0)
            + chol_logdet(chol_lower(scale, "Wishart scale")))


def wishart_expectations(params):
    df = np.asarray(params["df"], dtype=float)
    scale = np.asarray(params["scale"], dtype=float)
    return {"x": df[..., None, None] * scale, "logdet": wishart_expected_logdet(df, scale)}


def wishart_log_normalizer(df, scale):
    """ν D/2 log 2 + ν/2 log|V| + log Γ_D(ν/2)."""
    dim = scale.shape[-1]
    logdet = chol_logdet(chol_lower(scale, "Wishart scale"))
    return 0.5 * df * (dim * np.log(2.0) + logdet) + log_multigamma(0.5 * df, dim)


def wishart_entropy(params):
    # H = −E[log p] with E[tr(V⁻¹Λ)] = ν D.
    df = np.asarray(params["df"], dtype=float)
    scale = np.asarray(params["scale"], dtype=float)
    dim = scale.shape[-1]
    return (wishart_log_normalizer(df, scale) + 0.5 * df * dim
            - 0.5 * (df - dim - 1.0) * wishart_expected_logdet(df, scale))


def wishart_mode(params):
    df = np.asarray(params["df"], dtype=float)
    scale = np.asarray(params["scale"], dtype=float)
    dim = scale.shape[-1]
    if not np.all(df > dim + 1):
        raise FloatingPointError(f"Wishart mode needs df > D + 1 = {dim + 1}; "
                                 f"{found_at(df, ~(df > dim + 1))}")
    return (df - dim - 1.0)[..., None, None] * scale


def wishart_point_expectations(value):
    value = np.asarray(value, dtype=float)
    chol = chol_lower(value, "Wishart point value")
    # singular to rounding (an EM component on fewer points than dimensions):
    # whether Cholesky fails then is the luck of the last bit, so say it always
    eig = np.linalg.eigvalsh(value) if value.size else np.ones(1)
    if np.any(eig[..., 0] <= np.finfo(float).eps * eig[..., -1]):
        raise FloatingPointError("Wishart point value is not positive definite "
                                 "(singular to rounding)")
    return {"x": value, "logdet": chol_logdet(chol)}


def wishart_sample(params, rng):
    # Bartlett: Λ = L A Aᵀ Lᵀ, A lower triangular, A_ii² ~ χ²(ν − i), A_ij ~ N(0, 1).
    df = np.asarray(params["df"], dtype=float)
    chol = chol_lower(params["scale"], "Wishart scale")
    dim = chol.shape[-1]
    batch = np.broadcast_shapes(df.shape, chol.shape[:-2])
    lower = np.tril(rng.standard_normal(batch + (dim, dim)), -1)
    diag = np.sqrt(rng.chisquare(np.expand_dims(df, -1) - np.arange(dim), batch + (dim,)))
    factor = chol @ (lower + diag[..., None] * np.eye(dim))
    return symmetrize(factor @ np.swapaxes(factor, -1, -2))


def wishart_log_density(x, params):
    df = np.asarray(params["df"], dtype=float)
    scale = np.asarray(params["scale"], dtype=float)
    dim = scale.shape[-1]
    logdet_x = chol_logdet(chol_lower(x, "Wishart value"))
    trace = np.sum(spd_inverse(scale, "Wishart scale") * x, axis=(-1, -2))
    return (0.5 * (df - dim - 1.0) * logdet_x - 0.5 * trace
            - wishart_log_normalizer(df, scale))


def wishart_check_support(x):
    return spd_problem(x, "Wishart observations")


def wishart_check_params(params):
    problem = spd_problem(params["scale"], "Wishart scale")
    if problem is not None:
        return problem
    df = np.asarray(params["df"], dtype=float)
    dim = np.shape(params["scale"])[-1]
    bad = ~(np.isfinite(df) & (df > dim - 1))
    if np.any(bad):
        return f"Wishart df must exceed D - 1 = {dim - 1}; {found_at(df, bad)}"
    return None



def wishart_marginal(params):
    # Λ_ij has mean ν V_ij and variance ν (V_ij² + V_ii V_jj); a diagonal
    # element is V_ii χ²_ν = Gamma(ν/2, scale 2 V_ii); off the diagonal no
    # closed-form quantiles (NaN: the summary takes them from draws).
    from scipy import stats
    df = np.asarray(params["df"], dtype=float)[..., None, None]
    scale = np.asarray(params["scale"], dtype=float)
    diag = np.diagonal(scale, axis1=-2, axis2=-1)
    var = df * (scale ** 2 + diag[..., :, None] * diag[..., None, :])
    on_diag = np.eye(scale.shape[-1], dtype=bool)

    def ppf(prob):
        exact = stats.gamma(df[..., 0] / 2.0, scale=2.0 * diag).ppf(prob)
        out = np.full(scale.shape, np.nan)
        out[..., on_diag] = exact
        return out
    return {"mean": df * scale, "sd": np.sqrt(var), "ppf": ppf}


WISHART = Family(
    name="Wishart", stats=("x", "logdet"), param_names=("df", "scale"),
    event_rank={"x": 2, "logdet": 0}, value_rank=2, posterior="Wishart",
    params_from_coeffs=wishart_params_from_coeffs,
    coeffs_from_params=wishart_coeffs_from_params,
    expectations=wishart_expectations, entropy=wishart_entropy, mode=wishart_mode,
    point_expectations=wishart_point_expectations, sample=wishart_sample,
    log_density=wishart_log_density, check_support=wishart_check_support,
    check_params=wishart_check_params,
    helpers=(first_index, found_at, spd_problem, symmetrize, chol_lower, chol_logdet,
             chol_inverse, spd_inverse, log_multigamma),
    internals=(wishart_expected_logdet, wishart_log_normalizer),
    marginal=wishart_marginal,
)
