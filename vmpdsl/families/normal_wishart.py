"""Joint block families: Normal–Wishart and Normal–Gamma (PRML §10.2, §2.3.6).

A mean μ whose prior precision is a multiple of a precision latent Λ
(``mu ~ MvNormal(m0, beta0 * Lambda)``, ``Lambda ~ Wishart``) has a joint q:

    q(μ, Λ) = N(μ | m, (βΛ)⁻¹) W(Λ | W, ν)                          (PRML 10.59)
    log q = −β/2 μᵀΛμ + β mᵀ(Λμ) − ½ tr((W⁻¹ + β m mᵀ) Λ) + (ν − D)/2 log|Λ| + c

so its statistics are xLx = μᵀΛμ, Lx = Λμ, L = Λ, logdet = log|Λ| (derive/blocks.py
rewrites the monomials into them) and the coefficients give the parameters:
β = −2 C_xLx, m = C_Lx / β, W⁻¹ = −2 C_L − β m mᵀ, ν = 2 C_logdet + D (10.60–10.63).
Normal–Gamma is the scalar case with Gamma(shape a, rate b): a = C_logdet + ½,
b = −C_L − β m²/2.  The entropy is H[q(Λ)] + E_Λ H[N(μ | m, (βΛ)⁻¹)] (10.77).

``marginals`` splits the joint into the members' posteriors for users: Λ's
marginal is exactly Wishart(W, ν) (Gamma(a, b)); μ's is a Student-t, so μ's
posterior holds the joint parameters (mean m, beta and the precision's) and
the t's moments as the contract names them (``cov`` and its inverse
``precision``; inf and 0 where the t has no variance), and
its expectations the marginal moments E[μ] = m, E[μμᵀ] = m mᵀ + W⁻¹ / (β (ν − D − 1))
(m² + b / (β (a − 1))), inf where the marginal has no variance (ν ≤ D + 1).
"""
import numpy as np
from scipy import special as sps

from ..runtime.helpers import (chol_inverse, chol_logdet, chol_lower, first_index, found_at,
                               joint_mean_problem, log_multigamma, missing_problem,
                               positive_problem, require_positive, spd_inverse, spd_problem,
                               symmetrize)
from .family import Family
from .gamma import gamma_check_params, gamma_entropy
from .mvnormal import mvnormal_log_density, mvnormal_sample
from .normal import normal_log_density
from .wishart import (wishart_check_params, wishart_entropy, wishart_expected_logdet,
                      wishart_log_density, wishart_sample)


# ------------------------------------------------------------ Normal–Wishart
def normalwishart_params_from_coeffs(coeffs):
    beta = require_positive(-2.0 * np.asarray(coeffs["xLx"], dtype=float), "Normal–Wishart beta")
    mean = np.asarray(coeffs["Lx"], dtype=float) / beta[..., None]
    c_l = np.asarray(coeffs["L"], dtype=float)
    dim = c_l.shape[-1]
    outer = beta[..., None, None] * mean[..., :, None] * mean[..., None, :]
    # Only the symmetric part of C_L pairs with the symmetric Λ, hence C + Cᵀ.
    scale = spd_inverse(-(c_l + np.swapaxes(c_l, -1, -2)) - outer, "Normal–Wishart inverse scale")
    df = 2.0 * np.asarray(coeffs["logdet"], dtype=float) + dim
    if not np.all(np.isfinite(df) & (df > dim - 1)):
        raise FloatingPointError(f"Normal–Wishart df must exceed D - 1 = {dim - 1}")
    batch = np.broadcast_shapes(beta.shape, df.shape, scale.shape[:-2])
    return {"mean": np.broadcast_to(mean, batch + (dim,)).copy(),
            "beta": np.broadcast_to(beta, batch).copy(),
            "df": np.broadcast_to(df, batch).copy(),
            "scale": np.broadcast_to(scale, batch + (dim, dim)).copy()}


def normalwishart_coeffs_from_params(params):
    mean, beta = np.asarray(params["mean"], dtype=float), np.asarray(params["beta"], dtype=float)
    dim = mean.shape[-1]
    outer = beta[..., None, None] * mean[..., :, None] * mean[..., None, :]
    return {"xLx": -0.5 * beta, "Lx": beta[..., None] * mean,
            "L": -0.5 * (spd_inverse(params["scale"], "Normal–Wishart scale") + outer),
            "logdet": 0.5 * (np.asarray(params["df"], dtype=float) - dim)}


def normalwishart_expectations(params):
    mean, beta = np.asarray(params["mean"], dtype=float), np.asarray(params["beta"], dtype=float)
    df, scale = np.asarray(params["df"], dtype=float), np.asarray(params["scale"], dtype=float)
    lam = df[..., None, None] * scale
    lam_x = (lam @ mean[..., None])[..., 0]
    return {"xLx": mean.shape[-1] / beta + np.sum(mean * lam_x, axis=-1), "Lx": lam_x,
            "L": lam, "logdet": wishart_expected_logdet(df, scale)}


def normalwishart_entropy(params):
    beta, df = np.asarray(params["beta"], dtype=float), np.asarray(params["df"], dtype=float)
    scale = np.asarray(params["scale"], dtype=float)
    dim = scale.shape[-1]
    conditional = 0.5 * dim * (1.0 + np.log(2.0 * np.pi) - np.log(beta))
    return (wishart_entropy({"df": df, "scale": scale}) + conditional
            - 0.5 * wishart_expected_logdet(df, scale))


def normalwishart_mode(params):
    """The joint mode: μ = m, Λ = (ν − D) W (log q at μ = m is (ν − D)/2 log|Λ| − ½ tr(W⁻¹Λ))."""
    df, scale = np.asarray(params["df"], dtype=float), np.asarray(params["scale"], dtype=float)
    dim = scale.shape[-1]
    if not np.all(df > dim):
        raise FloatingPointError(f"Normal–Wishart mode needs df > D = {dim}")
    return {"mean": np.array(params["mean"], dtype=float),
            "precision": (df - dim)[..., None, None] * scale}


def normalwishart_sample(params, rng):
    lam = wishart_sample({"df": params["df"], "scale": params["scale"]}, rng)
    precision = np.asarray(params["beta"], dtype=float)[..., None, None] * lam
    return {"mean": mvnormal_sample({"mean": params["mean"], "precision": precision}, rng),
            "precision": lam}


def normalwishart_start(params, rng, plated):
    # Blocks indexed by a plate (mixture components) are exchangeable at their
    # prior: a mean drawn from the joint separates them.
    return dict(params, mean=normalwishart_sample(params, rng)["mean"]) if plated else params


def normalwishart_point_expectations(value):
    mu, lam = np.asarray(value["mean"], dtype=float), np.asarray(value["precision"], dtype=float)
    lam_x = (lam @ mu[..., None])[..., 0]
    return {"xLx": np.sum(mu * lam_x, axis=-1), "Lx": lam_x, "L": lam,
            "logdet": chol_logdet(chol_lower(lam, "Normal–Wishart precision"))}


def normalwishart_log_density(x, params):
    lam = np.asarray(x["precision"], dtype=float)
    precision = np.asarray(params["beta"], dtype=float)[..., None, None] * lam
    return (mvnormal_log_density(x["mean"], {"mean": params["mean"], "precision": precision})
            + wishart_log_density(lam, {"df": params["df"], "scale": params["scale"]}))


def normalwishart_check_support(x):
    return missing_problem(x, ("mean", "precision"), "a Normal–Wishart value")


def normalwishart_check_params(params):
    return (joint_mean_problem(params, ("mean", "beta", "df", "scale"), "Normal–Wishart")
            or wishart_check_params({"df": params["df"], "scale": params["scale"]}))


def normalwishart_marginals(params):
    """(q(μ), E[μ]), (q(Λ), E[Λ]): the members' posteriors implied by the joint."""
    mean, beta = np.asarray(params["mean"], dtype=float), np.asarray(params["beta"], dtype=float)
    df, scale = np.asarray(params["df"], dtype=float), np.asarray(params["scale"], dtype=float)
    dim = mean.shape[-1]
    spare = ((df - dim - 1.0) * beta)[..., None, None]
    cov = np.where(spare > 0, spd_inverse(scale, "Normal–Wishart scale")
                   / np.where(spare > 0, spare, 1.0), np.inf)
    outer = mean[..., :, None] * mean[..., None, :]
    # The Student-t's covariance L⁻¹ ν'/(ν' − 2) with ν' = ν − D + 1 and
    # L = ν' β W (PRML (10.71), (B.68)) is W⁻¹ / (β (ν − D − 1)), the cov above.
    precision = np.where(spare > 0, scale * np.where(spare > 0, spare, 1.0), 0.0)
    joint = {"mean": mean, "beta": beta, "df": df, "scale": scale,
             "cov": cov, "precision": precision}
    lam = {"df": df, "scale": scale}
    return ((joint, {"x": mean, "xx": outer + cov}),
            (lam, {"x": df[..., None, None] * scale,
                   "logdet": wishart_expected_logdet(df, scale)}))


# -------------------------------------------------------------- Normal–Gamma
def normalgamma_params_from_coeffs(coeffs):
    beta = require_positive(-2.0 * np.asarray(coeffs["xLx"], dtype=float), "Normal–Gamma beta")
    mean = np.asarray(coeffs["Lx"], dtype=float) / beta
    shape = require_positive(np.asarray(coeffs["logdet"], dtype=float) + 0.5, "Normal–Gamma shape")
    rate = require_positive(-np.asarray(coeffs["L"], dtype=float) - 0.5 * beta * mean ** 2,
                            "Normal–Gamma rate")
    mean, beta, shape, rate = np.broadcast_arrays(mean, beta, shape, rate)
    return {"mean": mean.copy(), "beta": beta.copy(), "shape": shape.copy(), "rate": rate.copy()}


def normalgamma_coeffs_from_params(params):
    mean, beta = np.asarray(params["mean"], dtype=float), np.asarray(params["beta"], dtype=float)
    return {"xLx": -0.5 * beta, "Lx": beta * mean,
            "L": -np.asarray(params["rate"], dtype=float) - 0.5 * beta * mean ** 2,
            "logdet": np.asarray(params["shape"], dtype=float) - 0.5}


def normalgamma_expectations(params):
    mean, beta = np.asarray(params["mean"], dtype=float), np.asarray(params["beta"], dtype=float)
    shape, rate = np.asarray(params["shape"], dtype=float), np.asarray(params["rate"], dtype=float)
    tau = shape / rate
    return {"xLx": 1.0 / beta + tau * mean ** 2, "Lx": tau * mean, "L": tau,
            "logdet": sps.digamma(shape) - np.log(rate)}


def normalgamma_entropy(params):
    beta, shape = np.asarray(params["beta"], dtype=float), np.asarray(params["shape"], dtype=float)
    rate = np.asarray(params["rate"], dtype=float)
    conditional = 0.5 * (1.0 + np.log(2.0 * np.pi) - np.log(beta))
    return (gamma_entropy({"shape": shape, "rate": rate}) + conditional
            - 0.5 * (sps.digamma(shape) - np.log(rate)))


def normalgamma_mode(params):
    """The joint mode: μ = m, τ = (a − ½) / b."""
    shape = np.asarray(params["shape"], dtype=float)
    if not np.all(shape > 0.5):
        raise FloatingPointError("Normal–Gamma mode needs shape > 1/2")
    return {"mean": np.array(params["mean"], dtype=float),
            "precision": (shape - 0.5) / np.asarray(params["rate"], dtype=float)}


def normalgamma_sample(params, rng):
    tau = rng.gamma(params["shape"], 1.0 / np.asarray(params["rate"], dtype=float))
    sd = 1.0 / np.sqrt(np.asarray(params["beta"], dtype=float) * tau)
    return {"mean": params["mean"] + sd * rng.standard_normal(np.shape(tau)), "precision": tau}


def normalgamma_start(params, rng, plated):
    # as normalwishart_start
    return dict(params, mean=normalgamma_sample(params, rng)["mean"]) if plated else params


def normalgamma_point_expectations(value):
    mu, tau = np.asarray(value["mean"], dtype=float), np.asarray(value["precision"], dtype=float)
    return {"xLx": tau * mu ** 2, "Lx": tau * mu, "L": tau, "logdet": np.log(tau)}


def normalgamma_log_density(x, params):
    tau = np.asarray(x["precision"], dtype=float)
    shape, rate = np.asarray(params["shape"], dtype=float), np.asarray(params["rate"], dtype=float)
    log_gamma = shape * np.log(rate) - sps.gammaln(shape) + (shape - 1.0) * np.log(tau) - rate * tau
    return normal_log_density(x["mean"], {"mean": params["mean"],
                                          "precision": params["beta"] * tau}) + log_gamma


def normalgamma_check_support(x):
    return missing_problem(x, ("mean", "precision"), "a Normal–Gamma value")


def normalgamma_check_params(params):
    return (joint_mean_problem(params, ("mean", "beta", "shape", "rate"), "Normal–Gamma")
            or gamma_check_params({"shape": params["shape"], "rate": params["rate"]}))


def normalgamma_marginals(params):
    """(q(μ), E[μ]), (q(τ), E[τ]): the members' posteriors implied by the joint."""
    mean, beta = np.asarray(params["mean"], dtype=float), np.asarray(params["beta"], dtype=float)
    shape, rate = np.asarray(params["shape"], dtype=float), np.asarray(params["rate"], dtype=float)
    spare = (shape - 1.0) * beta
    var = np.where(spare > 0, rate / np.where(spare > 0, spare, 1.0), np.inf)
    # The Student-t (2a dof, precision a β / b) has variance b / (β (a − 1)), the var above.
    precision = np.where(spare > 0, np.where(spare > 0, spare, 1.0) / rate, 0.0)
    joint = {"mean": mean, "beta": beta, "shape": shape, "rate": rate,
             "cov": var, "precision": precision}
    return ((joint, {"x": mean, "xx": mean ** 2 + var}),
            ({"shape": shape, "rate": rate},
             {"x": shape / rate, "log": sps.digamma(shape) - np.log(rate)}))


# Package-side (Fit.summary; may use scipy.stats): the mean's marginal per
# element, a Student-t (PRML (2.159) with the joint's parameters).  The
# precision's marginal is its own family's (Wishart, Gamma).
def normalwishart_marginal(params):
    dof = np.asarray(params["df"], dtype=float) - np.shape(params["scale"])[-1] + 1.0
    spread = np.diagonal(np.linalg.inv(params["scale"]), axis1=-2, axis2=-1)
    scale = np.sqrt(spread / (np.asarray(params["beta"])[..., None] * dof[..., None]))
    return student_t_marginal(dof[..., None], params["mean"], scale)


def normalgamma_marginal(params):
    shape = np.asarray(params["shape"], dtype=float)
    scale = np.sqrt(np.asarray(params["rate"]) / (shape * np.asarray(params["beta"])))
    return student_t_marginal(2.0 * shape, params["mean"], scale)


def student_t_marginal(dof, loc, scale):
    """A Student-t's mean, sd and quantiles, saying where the moments do not
    exist (an empty component's mean has dof ≤ 2): the mean is nan for dof ≤ 1
    (scipy says inf) and the sd inf for dof ≤ 2, never a finite stand-in."""
    from scipy import stats
    dist = stats.t(dof, loc, scale)
    loc, dof = np.broadcast_arrays(np.asarray(loc, dtype=float), np.asarray(dof, dtype=float))
    with np.errstate(invalid="ignore"):
        sd = np.where(dof > 2, dist.std(), np.inf)
    return {"mean": np.where(dof > 1, loc, np.nan), "sd": sd, "ppf": dist.ppf}


BLOCK_STATS = ("xLx", "Lx", "L", "logdet")

NORMALWISHART = Family(
    name="NormalWishart", stats=BLOCK_STATS, param_names=("mean", "beta", "df", "scale"),
    event_rank={"xLx": 0, "Lx": 1, "L": 2, "logdet": 0}, value_rank=1,
    posterior="NormalWishart", members=("MvNormal", "Wishart"),
    params_from_coeffs=normalwishart_params_from_coeffs,
    coeffs_from_params=normalwishart_coeffs_from_params,
    expectations=normalwishart_expectations, entropy=normalwishart_entropy,
    mode=normalwishart_mode,
    point_expectations=normalwishart_point_expectations, sample=normalwishart_sample,
    start=normalwishart_start,
    log_density=normalwishart_log_density, check_support=normalwishart_check_support,
    check_params=normalwishart_check_params, marginals=normalwishart_marginals,
    marginal=normalwishart_marginal,
    helpers=(first_index, found_at, positive_problem, missing_problem, joint_mean_problem,
             require_positive, spd_problem,
             symmetrize, chol_lower, chol_logdet, chol_inverse, spd_inverse, log_multigamma),
)

NORMALGAMMA = Family(
    name="NormalGamma", stats=BLOCK_STATS, param_names=("mean", "beta", "shape", "rate"),
    event_rank={"xLx": 0, "Lx": 0, "L": 0, "logdet": 0}, value_rank=0,
    posterior="NormalGamma", members=("Normal", "Gamma"),
    params_from_coeffs=normalgamma_params_from_coeffs,
    coeffs_from_params=normalgamma_coeffs_from_params,
    expectations=normalgamma_expectations, entropy=normalgamma_entropy,
    mode=normalgamma_mode,
    point_expectations=normalgamma_point_expectations, sample=normalgamma_sample,
    start=normalgamma_start,
    log_density=normalgamma_log_density, check_support=normalgamma_check_support,
    check_params=normalgamma_check_params, marginals=normalgamma_marginals,
    marginal=normalgamma_marginal,
    helpers=(first_index, found_at, positive_problem, missing_problem, joint_mean_problem,
             require_positive),
)
