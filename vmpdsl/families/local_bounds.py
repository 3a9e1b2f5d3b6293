"""The local variational parameters of link bounds (derive/links.py).

Each is a point (no entropy) per observation whose statistics are the
functions of it that the bound contains; its update is the closed-form
maximizer of the bound given the other factors.

JJ, Jaakkola–Jordan (PRML §10.6), for log σ(η) with ξ ≥ 0:
    log σ(η) ≥ log σ(ξ) + (η − ξ)/2 − λ(ξ)(η² − ξ²),   λ(ξ) = tanh(ξ/2) / (4ξ)
statistics  lam = λ(ξ),  c = log σ(ξ) − ξ/2 + λ(ξ) ξ².
The factor's coefficients are C_lam = −w E[η²] and C_c = w, so ξ² = −C_lam / C_c.

Böhning's bound with curvature ½I, for log softmax(η)_y, ψ ∈ R^C:
    lse(η) ≤ lse(ψ) + (η − ψ)ᵀ s(ψ) + ¼ ‖η − ψ‖²,       s = softmax
(the Hessian of lse is ⪯ ½(I − 11ᵀ/C) ⪯ ½I), so log p(y) ≥ ηᵀ(y + g) − ¼‖η‖² + c with
statistics  g = ψ/2 − s(ψ),  c = −lse(ψ) + ψᵀ s(ψ) − ¼‖ψ‖².
The coefficients are C_g = w E[η] and C_c = w, so ψ = C_g / C_c = E[η].
"""
import numpy as np
from scipy import special as sps

from .family import Family


def jj_check_params(params):
    return None  # a local parameter: any real ξ gives a valid bound


def jj_check_support(x):
    return None  # never observed


def softmaxbound_check_params(params):
    return None  # any ψ gives a valid bound


def softmaxbound_check_support(x):
    return None  # never observed


def jj_params_from_coeffs(coeffs):
    weight = np.asarray(coeffs["c"], dtype=float)
    square = np.maximum(-np.asarray(coeffs["lam"], dtype=float), 0.0)
    xi = np.sqrt(square / np.where(weight > 0, weight, 1.0))
    return {"value": np.where(weight > 0, xi, 0.0)}


def jj_point_expectations(value):
    xi = np.abs(np.asarray(value, dtype=float))
    small = xi < 1e-4  # tanh(ξ/2)/(4ξ) = 1/8 − ξ²/96 + O(ξ⁴)
    safe = np.where(small, 1.0, xi)
    lam = np.where(small, 0.125 - xi * xi / 96.0, np.tanh(safe / 2.0) / (4.0 * safe))
    return {"lam": lam, "c": -np.logaddexp(0.0, -xi) - xi / 2.0 + lam * xi * xi}


def jj_mode(params):
    return params["value"]


def softmaxbound_params_from_coeffs(coeffs):
    weight = np.asarray(coeffs["c"], dtype=float)[..., None]
    mean = np.asarray(coeffs["g"], dtype=float) / np.where(weight > 0, weight, 1.0)
    return {"value": np.where(weight > 0, mean, 0.0)}


def softmaxbound_point_expectations(value):
    psi = np.asarray(value, dtype=float)
    lse = sps.logsumexp(psi, axis=-1)
    s = np.exp(psi - lse[..., None])
    return {"g": psi / 2.0 - s,
            "c": -lse + np.sum(psi * s, axis=-1) - 0.25 * np.sum(psi * psi, axis=-1)}


def softmaxbound_mode(params):
    return params["value"]


JJ = Family(
    name="JJ", stats=("lam", "c"), param_names=("value",),
    event_rank={"lam": 0, "c": 0}, value_rank=0, posterior="JJ",
    params_from_coeffs=jj_params_from_coeffs, mode=jj_mode,
    point_expectations=jj_point_expectations,
    log_density=None, check_support=jj_check_support, check_params=jj_check_params,
)

SOFTMAX_BOUND = Family(
    name="SoftmaxBound", stats=("g", "c"), param_names=("value",),
    event_rank={"g": 1, "c": 0}, value_rank=1, posterior="SoftmaxBound",
    params_from_coeffs=softmaxbound_params_from_coeffs, mode=softmaxbound_mode,
    point_expectations=softmaxbound_point_expectations,
    log_density=None, check_support=softmaxbound_check_support,
    check_params=softmaxbound_check_params,
)
