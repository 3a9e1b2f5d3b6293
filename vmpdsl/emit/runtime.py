"""The model-independent core of every emitted module: the state of q,
its initialization and the coordinate-ascent loop (copied verbatim; numpy only).

It refers to the tables each emitted module defines: ``DATA_SPEC``,
``DIM_DEFAULTS``, ``HYPER_NAMES``, ``LATENTS``, ``INIT_ORDER``, ``UPDATES``,
``FAMILY_FUNCTIONS`` and the functions ``_hypers``, ``_constants`` and
``_expected_log_joint``; data checks are in ``checks.py``, questions about
new data in ``new_data.py``.
"""
import warnings

import numpy as np


def _posterior(name, family, coeffs):
    try:
        return FAMILY_FUNCTIONS[family]["params_from_coeffs"](coeffs)
    except FloatingPointError as err:
        raise FitError(f"the update of '{name}' gave an invalid {family} "
                       f"distribution: {err}") from None


def _set_state(q, E, name, family, point, params):
    """Store a latent's q (or a point's value) and the expectations it implies."""
    functions = FAMILY_FUNCTIONS[family]
    if point:
        if "value" not in params:
            try:
                params = {"value": functions["mode"](params)}
            except FloatingPointError as err:
                raise FitError(f"the point estimate of '{name}' does not exist: {err}") from None
        q[name] = params
        E[name] = functions["point_expectations"](params["value"])
    else:
        q[name] = params
        E[name] = functions["expectations"](params)


def _initial_state(q, E, K, data, hyper, dim, rng, init):
    """Each latent starts at its prior (given its parents' starting moments);
    Categorical latents start from random responsibilities and plated Gaussians
    from a draw, so that symmetric components separate.  A param (no prior)
    starts at a neutral value of its family."""
    latents = {row[0]: row for row in LATENTS}
    updates = {row[0]: row for row in UPDATES}
    for name in INIT_ORDER:
        _, family, plates, shape, point = latents[name]
        shape = tuple(dim[d] if isinstance(d, str) else d for d in shape)
        functions = FAMILY_FUNCTIONS[family]
        coeffs = updates[name][4](E, K, data, hyper, dim)
        if family in ("Categorical", "Dirichlet") and any(
                np.shape(c)[-1:] == (0,) for c in coeffs.values()):
            raise DataError(f"'{name}' is a {family} over 0 categories; the number of "
                            f"categories must be at least 1")
        has_prior = any(np.any(c) for c in coeffs.values())
        if has_prior or not point:
            try:
                params = _posterior(name, family, coeffs)
            except FitError as err:
                raise DataError(_prior_problem(name, str(err))) from None
        if name in init:
            _set_state(q, E, name, family, point, _user_init(name, family, point, init[name]))
            continue
        if point and not has_prior:
            _set_state(q, E, name, family, point, {"value": _neutral_value(family, shape)})
            continue
        if family == "Categorical":
            probs = params["probs"]
            params = {"probs": rng.dirichlet(np.ones(probs.shape[-1]), size=probs.shape[:-1])}
        elif family in ("Normal", "MvNormal") and plates:
            params = dict(params, mean=functions["sample"](params, rng))
            if point:
                params = {"value": params["mean"]}
        if point and "value" not in params:
            try:
                params = {"value": functions["mode"](params)}
            except FloatingPointError:  # the prior has no interior mode: start at its mean
                params = {"value": _prior_mean(family, params, functions)}
        _set_state(q, E, name, family, point, params)


def _prior_problem(name, problem):
    """A sentence for a prior that is not a distribution at the starting state,
    naming its line and the hypers it uses."""
    problem = problem.split(" distribution: ", 1)[-1]
    for variable, role, dist, line, args in FACTOR_ARGS:
        if variable == name and role in ("latent", "point"):
            used = [h for _, hypers, _ in args for h in hypers]
            uses = (f"; check the hyperparameter{'s' if len(used) > 1 else ''} "
                    f"{', '.join(used)}") if used else ""
            return (f"the prior of '{name}' (line {line}: {dist}) is not a valid "
                    f"distribution: {problem}{uses}")
    return f"the prior of '{name}' is not a valid distribution: {problem}"


def _neutral_value(family, shape):
    if family == "Wishart":
        return np.broadcast_to(np.eye(shape[-1]), shape).copy()
    if family == "Dirichlet":
        return np.full(shape, 1.0 / shape[-1])
    if family == "Beta":
        return np.full(shape, 0.5)
    if family == "Gamma":
        return np.ones(shape)
    return np.zeros(shape)


def _prior_mean(family, params, functions):
    if family == "Dirichlet":
        alpha = params["concentration"]
        return alpha / alpha.sum(-1, keepdims=True)
    if family == "Beta":
        return params["a"] / (params["a"] + params["b"])
    return functions["expectations"](params)["x"]


def _user_init(name, family, point, value):
    if point:
        if isinstance(value, dict):
            value = value.get("value")
        return {"value": np.asarray(value, dtype=float)}
    if family == "Categorical" and not isinstance(value, dict):
        value = {"probs": value}
    if not isinstance(value, dict):
        raise DataError(f"init for '{name}' must be a dict of its {family} parameters")
    params = {k: _numeric(f"{name}.{k}", v, "init ") for k, v in value.items()}
    check = FAMILY_FUNCTIONS[family]["check_params"]
    problem = check(params) if check and family == "MvNormal" and (
        "precision" in params or "cov" in params) else None
    if problem:
        raise DataError(f"init for '{name}': {problem}")
    if family == "MvNormal":
        if "cov" in params and "precision" not in params:
            params["precision"] = np.linalg.inv(params["cov"])
        if "precision" in params and "cov" not in params:
            params["cov"] = np.linalg.inv(params["precision"])
    check = FAMILY_FUNCTIONS[family]["check_params"]
    problem = check(params) if check else None
    if problem:
        raise DataError(f"init for '{name}': {problem}")
    return params


def elbo_value(q, E, K, data, hyper, dim, last_coeffs=None):
    """Σ_f E[log f] + Σ H[q] (points have no entropy: the EM / MAP objective).

    With ``last_coeffs`` (the coefficients the sweep's last update computed),
    the monomials holding that latent are <C_s, E[u_s]> and are not recomputed.
    """
    if last_coeffs is None:
        total = _expected_log_joint(E, K, data, hyper, dim)
    else:
        last = E[UPDATES[-1][0]]
        total = _expected_log_joint_rest(E, K, data, hyper, dim)
        total += sum(inner_product(c, last[stat]) for stat, c in last_coeffs.items())
    masks = globals().get("ENTROPY_MASKS", {})
    for name, family, plates, shape, point in LATENTS:
        if not point:
            entropy = FAMILY_FUNCTIONS[family]["entropy"](q[name])
            if name in masks and masks[name] in data:
                entropy = entropy * data[masks[name]]  # rows without observations
            total += float(np.sum(entropy))
    return total


def fit(data, hypers=None, max_iter=500, tol=1e-8, seed=None, init=None, callback=None,
        missing=None):
    """Fit the model by coordinate ascent on the ELBO (variational message passing).

    Returns a dict: posterior (standard parameters per latent), expectations,
    elbo (one value per sweep, non-decreasing), converged, iterations, dims, hypers.
    ``missing="skip"`` drops the factors of NaN observations (see bind_data).
    """
    dim, data = bind_data(data, missing)
    hyper = _hypers(dim)
    if hypers is not None and not isinstance(hypers, dict):
        raise DataError("hypers must be a dict of values by name")
    for name, value in (hypers or {}).items():
        if name not in HYPER_NAMES:
            raise DataError(f"unknown hyperparameter '{name}'; the model has "
                            f"{', '.join(HYPER_NAMES) or 'none'}")
        value = _numeric(name, value, "hyperparameter ")
        if value.shape != hyper[name].shape:
            raise DataError(f"hyperparameter '{name}' must have shape {hyper[name].shape}, "
                            f"got {value.shape}")
        if not np.all(np.isfinite(value)):
            raise DataError(f"hyperparameter '{name}' must be finite (no NaN or inf)")
        hyper[name] = value
    with np.errstate(divide="ignore", invalid="ignore"):  # probing invalid values is its job
        check_factor_arguments(dim, hyper, data)
    if init is not None and not isinstance(init, dict):
        raise DataError("init must be a dict of starting values by latent name")
    unknown = [str(n) for n in (init or {}) if n not in [row[0] for row in LATENTS]]
    if unknown:
        raise DataError(f"init names {', '.join(unknown)}, which "
                        f"{'is not a latent' if len(unknown) == 1 else 'are not latents'}; "
                        f"the latents are {', '.join(row[0] for row in LATENTS) or 'none'}")
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise DataError(f"seed must be a whole number or None, got {seed!r}") from None
    try:
        # an invalid hyper (log 0) gives inf here; the checks of the starting
        # state below name it, so numpy need not warn first
        with np.errstate(divide="ignore", invalid="ignore"):
            K = _constants(dim, data, hyper)
    except (np.linalg.LinAlgError, FloatingPointError) as err:
        raise DataError(f"the constants of the model (from the data and hypers) "
                        f"cannot be computed: {err}") from None
    q, E = {}, {}
    _initial_state(q, E, K, data, hyper, dim, rng, init or {})
    trace, converged = [], False
    for iteration in range(max_iter):
        for name, family, point, update, prior in UPDATES:
            coeffs = update(E, K, data, hyper, dim)
            _set_state(q, E, name, family, point, _posterior(name, family, coeffs))
        trace.append(elbo_value(q, E, K, data, hyper, dim, coeffs))
        if not np.isfinite(trace[-1]):
            raise FitError(f"the ELBO became {trace[-1]} at iteration {iteration + 1}")
        if callback is not None:
            callback(iteration + 1, trace[-1])
        if len(trace) > 1 and abs(trace[-1] - trace[-2]) <= tol * abs(trace[-1]):
            converged = True
            break
    if not converged and max_iter > 0:
        warnings.warn(f"{MODEL_NAME}: not converged after {max_iter} iterations "
                      f"(last ELBO change {trace[-1] - trace[-2] if len(trace) > 1 else float('nan'):.3g})",
                      RuntimeWarning, stacklevel=2)
    expectations = {name: {s: dense(v) for s, v in stats.items()} for name, stats in E.items()}
    return {"posterior": q, "expectations": expectations, "elbo": np.asarray(trace),
            "converged": converged, "iterations": len(trace), "dims": dim, "hypers": hyper}
