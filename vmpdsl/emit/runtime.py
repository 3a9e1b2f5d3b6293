"""The model-independent part of every emitted module: data binding,
initialization and the coordinate-ascent loop (copied verbatim; numpy only).

It refers to the tables each emitted module defines: ``DATA_SPEC``,
``DIM_DEFAULTS``, ``HYPER_NAMES``, ``LATENTS``, ``INIT_ORDER``, ``UPDATES``,
``FAMILY_FUNCTIONS`` and the functions ``_hypers``, ``_constants`` and
``_expected_log_joint``.
"""
import warnings

import numpy as np


def bind_data(data, missing=None):
    """Validate the data against DATA_SPEC and bind every dim's size.

    ``missing="skip"``: NaN in an observed array (the target of a ``~``) marks
    a missing observation; its factor is dropped through the array's mask
    (``arrays['@m0']``, 1 where observed; see MASKS).  An array that is not
    in the model is ignored with a warning."""
    if not isinstance(data, dict):
        raise DataError("data must be a dict of arrays by name")
    if missing not in (None, "error", "skip"):
        raise DataError(f"missing must be 'error' or 'skip', got {missing!r}")
    masks = {row[0]: row[1:] for row in globals().get("MASKS", ())}
    if missing == "skip" and not masks:
        raise DataError(f"model '{MODEL_NAME}' was compiled without missing-data masks "
                        f"(or observes nothing); compile it with missing=True")
    names = [s[0] for s in DATA_SPEC]
    extra = [str(n) for n in data if n not in names and n not in DIM_DEFAULTS]
    if extra:
        warnings.warn(f"{MODEL_NAME}: ignoring data the model does not use: "
                      f"{', '.join(extra)} (it has data {', '.join(names) or 'none'}"
                      f"{' and dims ' + ', '.join(DIM_DEFAULTS) if DIM_DEFAULTS else ''})",
                      UserWarning, stacklevel=3)
    dim, arrays = {}, {}
    for name, value in data.items():
        if name in DIM_DEFAULTS and name not in names:
            dim[name] = _size(name, value)
    for name, shape, dtype, categories, family in DATA_SPEC:
        if name not in data:
            raise DataError(f"the data has no array '{name}' (the model declares "
                            f"data {name}[{', '.join(map(str, shape))}])")
        value = data[name]
        if missing == "skip" and name in masks:
            value, arrays[masks[name][0]] = _masked(name, value, masks[name][1])
        arrays[name] = _array(name, value, shape, dtype)
        for axis, d in enumerate(shape):
            size = arrays[name].shape[axis]
            if isinstance(d, int):
                if size != d:
                    raise DataError(f"axis {axis} of '{name}' has size {size}, not {d}")
            elif dim.setdefault(d, size) != size:
                raise DataError(f"dim {d} is {dim[d]} elsewhere but axis {axis} of "
                                f"'{name}' has size {size}")
    for name, default in DIM_DEFAULTS.items():
        if name not in dim:
            if default is None:
                raise DataError(f"dim {name} is not fixed by any data array; give it "
                                f"with the data, e.g. {{'{name}': 3}}")
            dim[name] = int(default)
    for name, shape, dtype, categories, family in DATA_SPEC:
        _check_values(name, arrays[name], dtype, categories, family, dim)
    return dim, arrays


def _masked(name, value, plate_axes):
    """NaN observations → (the array with them filled by an observed value, the
    0/1 mask over the plate axes; an observation with any NaN is missing)."""
    array = _numeric(name, value)
    nan = np.isnan(array)
    if array.ndim > plate_axes:
        nan = np.any(nan, axis=tuple(range(plate_axes, array.ndim)))
    observed = array[np.isfinite(array)]
    fill = observed.flat[0] if observed.size else 0.0
    rows = np.broadcast_to(np.expand_dims(nan, tuple(range(nan.ndim, array.ndim))), array.shape)
    return np.where(rows, fill, array), (~nan).astype(float)


def _numeric(name, value, kind=""):
    """``value`` as a float array; refuses strings, complex numbers and objects."""
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "biuf":
            if raw.dtype.kind != "O":
                raise TypeError(raw.dtype)
            raw = np.asarray(value, dtype=float)
        return np.asarray(raw, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{kind}'{name}' must be an array of real numbers, got "
                        f"{_type_name(value)}") from None


def _type_name(value):
    try:
        return f"dtype {np.asarray(value).dtype}"
    except Exception:
        return type(value).__name__


def _size(name, value):
    try:
        size = np.asarray(value)
        whole = size.ndim == 0 and size.dtype.kind in "biuf" and float(size).is_integer()
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or size < 0:
        raise DataError(f"dim {name} must be a non-negative whole number, got {value!r}")
    return int(size)


def _array(name, value, shape, dtype):
    array = _numeric(name, value)
    if array.ndim != len(shape):
        axes = f"{len(shape)} ax{'i' if len(shape) == 1 else 'e'}s"
        raise DataError(f"'{name}' must have {axes} ({', '.join(map(str, shape))}), "
                        f"got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise DataError(f"'{name}' has a non-finite value (NaN or inf) at index {bad}")
    if dtype == "int":
        if not np.all(array == np.round(array)):
            raise DataError(f"'{name}' is declared int but has fractional values")
        return array.astype(np.intp)
    return array


def _check_values(name, array, dtype, categories, family, dim):
    if dtype == "int" and categories is not None:
        size = dim[categories] if isinstance(categories, str) else int(categories)
        if size < 1:
            raise DataError(f"'{name}' takes values in 0..{categories}-1 but {categories} = "
                            f"{size}; it must be at least 1")
        bad = (array < 0) | (array >= size)
        if np.any(bad):
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DataError(f"'{name}' indexes {categories} = {size} values but has "
                            f"{array[index]} at index {index}")
    checker = SUPPORT_CHECKS.get(family)
    if checker is not None and not (family == "Categorical"):
        # Binomial counts against their trials: here only >= 0 and whole;
        # check_factor_arguments compares them with the trials.
        problem = checker(array) if family != "Binomial" else checker(array, np.inf)
        if problem:
            raise DataError(f"'{name}': {problem}")


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


_PLACEHOLDERS = {"mean": 0.0, "precision": 1.0, "shape": 1.0, "rate": 1.0, "a": 1.0,
                 "b": 1.0, "p": 0.5, "trials": 0.0}


def _with_placeholders(dist, args, given, known):
    """``given`` completed with valid stand-ins for the other arguments, so that
    the family's check_params judges the given ones alone (``known``: every
    constant argument, for the event size)."""
    size = next((np.shape(v)[-1] for v in known.values() if np.ndim(v) >= 1), 1)
    params = dict(given)
    for arg, _, _ in args:
        if arg not in params:
            if dist in ("MvNormal", "Wishart") and arg in ("precision", "scale"):
                params[arg] = np.eye(size)
            elif dist == "MvNormal" and arg == "mean":
                params[arg] = np.zeros(size)
            elif arg == "df":
                params[arg] = size + 1.0
            else:
                params[arg] = _PLACEHOLDERS.get(arg, 1.0)
    return params


def check_factor_arguments(dim, hyper, data=None):
    """Before fitting: every factor argument that is a constant (hypers, dims,
    numbers) must be a valid parameter of its distribution (the families'
    check_params); the error names the hyperparameters, the argument and the
    factor.  Arguments with random variables are checked at initialization."""
    try:
        with np.errstate(all="ignore"):
            values = _factor_argument_values(dim, hyper)
    except (ValueError, TypeError, np.linalg.LinAlgError) as err:
        raise DataError(f"the hyperparameters do not evaluate: {err}") from None
    for (variable, role, dist, line, args), given in zip(FACTOR_ARGS, values):
        check = ARGUMENT_CHECKS.get(dist)
        what = "prior of" if role in ("latent", "point") else "likelihood of"
        for arg, hypers, constant in args:
            if not constant or check is None:
                continue
            problem = check(_with_placeholders(dist, args, {arg: given[arg]}, given))
            if problem:
                source = (f"hyperparameter{'s' if len(hypers) > 1 else ''} "
                          f"{', '.join(hypers)}" if hypers else "the constant")
                raise DataError(f"{source} gives the {arg} of the {dist} {what} '{variable}' "
                                f"(line {line}), which is invalid: {problem}")
        if dist == "Binomial" and data is not None and variable in data \
                and "trials" in given:
            problem = SUPPORT_CHECKS["Binomial"](data[variable], given["trials"])
            if problem:
                raise DataError(f"'{variable}': {problem} ({float(given['trials']):g} trials)")


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
        total += sum(float(np.sum(c * last[stat])) for stat, c in last_coeffs.items())
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
    return {"posterior": q, "expectations": E, "elbo": np.asarray(trace),
            "converged": converged, "iterations": len(trace), "dims": dim, "hypers": hyper}


# ------------------------------------------------------------- new data
def _bind_new(result, new_data):
    """Bind new data; every dim other than the observation plates must keep
    the size it had in the fit."""
    if not isinstance(new_data, dict):
        raise DataError("new data must be a dict of arrays by name")
    observed = {shape[0] for _, shape, *_ in DATA_SPEC if shape and isinstance(shape[0], str)}
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
    for _ in range(max_iter if len(rows) > 1 else 1):
        change = 0.0
        for name, family, point, update, prior in rows:
            old = E[name]
            _set_state(q, E, name, family, point,
                       _posterior(name, family, update(E, K, data, hyper, dim)))
            change = max(change, max(float(np.max(np.abs(E[name][s] - old[s]), initial=0.0))
                                     for s in old))
        if change <= tol:
            break
    return {name: q[name] for name in names}


QUAD_NODES = 128


def predict(result, new_data, samples=2000, seed=0):
    """The posterior predictive of new rows, integrated over q (never a plug-in
    of posterior means); the model's shape is fixed at compile time (PREDICTIVE)."""
    if PREDICTIVE is None:
        raise DataError(f"predict does not support model '{MODEL_NAME}'")
    if PREDICTIVE[0] == "regression":
        return _predict_regression(result, new_data, *PREDICTIVE[1:])
    return _predict_mixture(result, new_data, samples, seed, *PREDICTIVE[1:])


def score(result, new_data, samples=2000, seed=0):
    """The log predictive density of each new row."""
    out = predict(result, new_data, samples, seed)
    if out.get("log_density") is None:
        raise DataError(f"score needs the observed variable '{out['observed']}' in the new data")
    return out["log_density"]


def _predict_regression(result, new_data, y_name, x_name, w_name, prec, d_name):
    """y ~ Normal(xᵀw, α): mean xᵀE[w], variance xᵀΣx + E[1/α]; the density is
    Gaussian (α known or a point), Student-t (w a point), or under mean field
    q(w) q(α) the exact ∫ N(y | xᵀm, xᵀΣx + 1/α) q(α) dα by quadrature."""
    from scipy import stats
    if not isinstance(new_data, dict) or x_name not in new_data:
        raise DataError(f"predict needs the inputs '{x_name}' in the new data")
    D = result["dims"][d_name]
    X = np.asarray(new_data[x_name], dtype=float)
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
        y = np.asarray(y, dtype=float).reshape(-1)
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
    sampled = ", ".join(name for name, *_ in random)
    return {"observed": observed, "log_density": log_density,
            "method": f"monte carlo over q({sampled}), {samples} draws (seed {seed})",
            "samples": samples, "responsibilities": responsibilities}
