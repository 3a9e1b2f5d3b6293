"""Questions a fitted model answers about new data, part of every emitted
module (copied verbatim; numpy and scipy only): ``local`` (the local latents'
posterior with the globals fixed), ``predict`` and ``score`` (the posterior
predictive, integrated over q).  The model's shape for ``predict`` was fixed at
compile time in ``PREDICTIVE``; ``LOCAL_LATENTS`` names the local latents.
"""
import numpy as np
from scipy import special as sps


def _bind_new(result, new_data):
    """Bind new data; every dim other than the observation plates must keep
    the size it had in the fit."""
    if not isinstance(new_data, dict):
        raise DataError("new data must be a dict of arrays by name")
    observed = {shape[0] for _, shape, *_ in DATA_SPEC if shape and isinstance(shape[0], str)}
    observed |= {dims[-1] for _, dims, *_ in globals().get("SLICE_MASKS", ())}  # a chain's T
    data_dims = {d for _, shape, *_ in DATA_SPEC for d in shape if isinstance(d, str)}
    given = dict(new_data)
    for name, size in result["dims"].items():
        if name not in data_dims and name not in given:
            given[name] = size
    dim, data = bind_data(given)
    for name, size in result["dims"].items():
        if name not in observed and dim.get(name) != size:
            raise DataError(f"dim {name} is {dim.get(name)} in the new data but {size} "
                            f"in the fitted model; only the observation plate "
                            f"({', '.join(sorted(observed))}) may change")
    return dim, data


def fixed_state(result, dim, data, seed=0):
    """q, E, constants and hypers for new data: the fit's global posteriors,
    the local latents at their starting state."""
    names = set(LOCAL_LATENTS)
    hyper = dict(result["hypers"])
    K = _constants(dim, data, hyper)
    fixed = {name: params for name, params in result["posterior"].items() if name not in names}
    q, E = {}, {}
    _initial_state(q, E, K, data, hyper, dim, np.random.default_rng(seed), fixed)
    for name in fixed:
        q[name], E[name] = result["posterior"][name], result["expectations"][name]
    return q, E, K, hyper


def local(result, new_data, max_iter=500, tol=1e-12, seed=0):
    """The posterior of the local latents of new rows with the global posteriors
    of a fit (the dict ``fit`` returned) held fixed: for a mixture, the
    responsibilities of new points, in closed form."""
    names = list(LOCAL_LATENTS)
    if not names:
        raise DataError(f"model '{MODEL_NAME}' has no local latents (latents plated over "
                        f"the observation plate), so there is nothing to infer per new row")
    dim, data = _bind_new(result, new_data)
    q, E, K, hyper = fixed_state(result, dim, data, seed)
    rows = [row for row in UPDATES if row[0] in names]
    serial = any(row[0] in globals().get("SERIAL", ()) for row in rows)  # rows interact
    for _ in range(max_iter if len(rows) > 1 or serial else 1):
        change = 0.0
        for name, family, point, update, prior in rows:
            old = E[name]
            _set_state(q, E, name, family, point,
                       _posterior(name, family, update(E, K, data, hyper, dim)))
            change = max(change, max(float(np.max(np.abs(dense(E[name][s]) - dense(old[s])),
                                                  initial=0.0)) for s in old))
        if change <= tol:
            break
    updated = [row[0] for row in rows]  # a local joint block: its members' posteriors
    split = split_blocks({"posterior": {n: q[n] for n in updated},
                          "expectations": {n: E[n] for n in updated}})
    return {name: split["posterior"][name] for name in names}


QUAD_NODES = 128


def predict(result, new_data, samples=2000, seed=0):
    """The posterior predictive of new rows, integrated over q (never a plug-in
    of posterior means); the model's shape is fixed at compile time (PREDICTIVE)."""
    if PREDICTIVE is None:
        raise DataError(f"predict does not support model '{MODEL_NAME}'")
    kind, *args = PREDICTIVE  # its predictor: features.PREDICTORS
    return PREDICTORS[kind](result, new_data, samples, seed, *args)


def score(result, new_data, samples=2000, seed=0):
    """The log predictive density of each new row."""
    out = predict(result, new_data, samples, seed)
    if out.get("log_density") is None:
        raise DataError(f"score needs the observed variable '{out['observed']}' in the new data")
    return out["log_density"]


def _predict_regression(result, new_data, samples, seed, y_name, x_name, w_name, prec, d_name):
    """y ~ Normal(xᵀw, α): mean xᵀE[w], variance xᵀΣx + E[1/α]; the density is
    Gaussian (α known or a point), Student-t (w a point), or under mean field
    q(w) q(α) the exact ∫ N(y | xᵀm, xᵀΣx + 1/α) q(α) dα by quadrature (exact:
    no draws, so ``samples`` and ``seed`` are unused)."""
    from scipy import stats
    if not isinstance(new_data, dict) or x_name not in new_data:
        raise DataError(f"predict needs the inputs '{x_name}' in the new data")
    D = result["dims"][d_name]
    X = _numeric(x_name, new_data[x_name])
    if X.ndim == 1 and X.shape[0] == D:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != D or not np.all(np.isfinite(X)):
        raise DataError(f"'{x_name}' must be a finite (rows, {D}) array, got shape {X.shape}")
    q_w = result["posterior"][w_name]
    if "value" in q_w:
        mean_w, cov_w = np.asarray(q_w["value"]), np.zeros((D, D))
    else:
        mean_w, cov_w = np.asarray(q_w["mean"]), np.asarray(q_w["cov"])
    mean = X @ mean_w
    spread = np.einsum("ni,ij,nj->n", X, cov_w, X)
    y = new_data.get(y_name)
    if y is not None:
        y = _numeric(y_name, y).reshape(-1)
        if y.shape != mean.shape or not np.all(np.isfinite(y)):
            raise DataError(f"'{y_name}' must be {mean.shape[0]} finite values to score")
    out = {"observed": y_name, "mean": mean}
    q_prec = None if not isinstance(prec, str) else result["posterior"].get(prec)
    if q_prec is None or "value" in q_prec:
        if not isinstance(prec, str):
            alpha = float(prec)
        elif q_prec is None:
            alpha = float(np.asarray(result["hypers"][prec]))
        else:
            alpha = float(q_prec["value"])
        out.update(var=spread + 1.0 / alpha, distribution="normal (exact)")
        if y is not None:
            out["log_density"] = stats.norm.logpdf(y, mean, np.sqrt(out["var"]))
        return out
    a, b = float(q_prec["shape"]), float(q_prec["rate"])
    out["var"] = spread + (b / (a - 1.0) if a > 1.0 else np.inf)
    if not np.any(spread > 0):
        out["distribution"] = f"student-t, df {2 * a:.6g} (exact)"
        out.update(df=2 * a, scale=np.full_like(mean, np.sqrt(b / a)))
        if y is not None:
            out["log_density"] = stats.t.logpdf(y, 2 * a, mean, np.sqrt(b / a))
        return out
    out["distribution"] = (f"normal-gamma scale mixture (not a Student-t under mean field); "
                           f"density by {QUAD_NODES}-node quadrature over q({prec})")
    if y is not None:
        out["log_density"] = _gamma_scale_mixture_logpdf(y, mean, spread, a, b)
    return out


def _gamma_scale_mixture_logpdf(y, mean, spread, a, b):
    """log ∫ N(y | mean, spread + 1/α) Gamma(α | a, b) dα by Gauss–Legendre in
    u = log α over the central 1 − 2·1e-15 of q(α) (a smooth integrand on a
    finite interval: the rule converges geometrically)."""
    from scipy import stats
    gamma = stats.gamma(a, scale=1.0 / b)
    lo, hi = np.log(gamma.ppf(1e-15)), np.log(gamma.isf(1e-15))
    nodes, weights = np.polynomial.legendre.leggauss(QUAD_NODES)
    u = lo + 0.5 * (hi - lo) * (nodes + 1.0)
    log_w = np.log(0.5 * (hi - lo) * weights) + gamma.logpdf(np.exp(u)) + u
    var = spread[:, None] + np.exp(-u)[None, :]
    logpdf = -0.5 * (np.log(2 * np.pi * var) + (y - mean)[:, None] ** 2 / var)
    return sps.logsumexp(logpdf + log_w[None, :], axis=1)


def _predict_mixture(result, new_data, samples, seed, z, weights):
    """p(x | q) = E_q[Σ_k π_k p(x | θ_k)]: Dirichlet weights by their mean
    (exact: the mixture is linear in them), points plugged in (exact), other
    random globals by Monte Carlo from q with the stated number of draws.
    log p(x | θ) is logsumexp_k of z's own update coefficients, which hold
    log π_k + log p(x | θ_k) with every constant."""
    dim, data = _bind_new(result, new_data)
    q, E, K, hyper = fixed_state(result, dim, data)
    update = next(row[3] for row in UPDATES if row[0] == z)
    rows = {row[0]: row for row in LATENTS}
    plug, random = {}, []
    for name, params in result["posterior"].items():
        if name not in rows:
            continue  # a block's member (BLOCKS): drawn with its block
        family, point = rows[name][1], rows[name][4]
        if name == z or point:
            continue  # points: E already holds their plug-in statistics
        if name == weights:
            mean = params["concentration"] / params["concentration"].sum(-1, keepdims=True)
            plug[name] = FAMILY_FUNCTIONS[family]["point_expectations"](mean)
        else:
            random.append((name, family, params))
    E = dict(E, **plug)
    observed = [spec[0] for spec in DATA_SPEC]
    responsibilities = local(result, new_data)[z]["probs"]
    if not random:
        log_density = sps.logsumexp(update(E, K, data, hyper, dim)["onehot"], axis=-1)
        return {"observed": observed, "log_density": log_density, "method": "exact",
                "samples": 0, "responsibilities": responsibilities}
    if not (isinstance(samples, (int, np.integer)) and samples >= 1):
        raise DataError(f"samples must be a positive whole number, got {samples!r}")
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(samples):
        E_s = dict(E)
        for name, family, params in random:
            E_s[name] = FAMILY_FUNCTIONS[family]["point_expectations"](
                FAMILY_FUNCTIONS[family]["sample"](params, rng))
        draws.append(sps.logsumexp(update(E_s, K, data, hyper, dim)["onehot"], axis=-1))
    log_density = sps.logsumexp(np.stack(draws), axis=0) - np.log(samples)
    sampled = ", ".join(m for name, *_ in random for m in _members(name))
    return {"observed": observed, "log_density": log_density,
            "method": f"monte carlo over q({sampled}), {samples} draws (seed {seed})",
            "samples": samples, "responsibilities": responsibilities}
