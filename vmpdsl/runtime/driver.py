"""The model-independent core of every emitted module: the state of q,
its initialization (the sweep loop is in sweeps.py), and the merging of
duplicate rows (copied verbatim; numpy and scipy only).

It refers to the tables each emitted module defines: ``DATA_SPEC``,
``DIM_DEFAULTS``, ``HYPER_NAMES``, ``LATENTS``, ``INIT_ORDER``, ``UPDATES``,
``COLLAPSIBLE``, ``ROW_WEIGHTS`` (those two when not empty), to
``FAMILY_FUNCTIONS`` (tables.py) and the functions
``_hypers``, ``_constants`` and ``_expected_log_joint``; data checks are in
``checks.py``, the sweep loop in ``sweeps.py``, questions about new data in
``new_data.py``.
"""

import numpy as np
from scipy import sparse as spsparse


def _posterior(name, family, coeffs):
    try:
        return FAMILY_FUNCTIONS[family]["params_from_coeffs"](coeffs)
    except FloatingPointError as err:
        raise FitError(f"the update of {_q_name(name)} gave an invalid {family} "
                       f"distribution: {err}") from None


def _q_name(name):
    """'mu', or q(mu, tau) for a joint block (BLOCKS)."""
    members = _members(name)
    return f"q({', '.join(members)})" if len(members) > 1 else f"'{name}'"


def _members(name):
    """The latents a q covers: a joint block's members (BLOCKS), else the one."""
    return {row[0]: row[2] for row in globals().get("BLOCKS", ())}.get(name, (name,))


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
        try:
            E[name] = functions["point_expectations"](params["value"])
        except FloatingPointError as err:  # e.g. a Wishart M-step that is not SPD
            raise FitError(f"the point estimate of '{name}' is invalid: {err}") from None
    else:
        q[name] = params
        E[name] = functions["expectations"](params)


def _initial_state(q, E, K, data, hyper, dim, rng, init, start="random"):
    """Each latent starts at its prior (given its parents' starting moments),
    then its family's ``start`` breaks the symmetry of exchangeable components
    (Categorical: random responsibilities; plated Gaussians: a drawn mean);
    with ``start="kmeans"`` the mixture indicators of KMEANS_STARTS start from
    k-means on the data they gate (kmeans.py).  A
    point starts at the mode of that, a param (no prior) at a neutral value of
    its family; a latent named in ``init`` exactly as given."""
    latents = {row[0]: row for row in LATENTS}
    for name in INIT_ORDER:
        _, family, plates, shape, point = latents[name]
        shape = tuple(dim[d] if isinstance(d, str) else d for d in shape)
        functions = FAMILY_FUNCTIONS[family]
        coeffs = prior_coefficients(name, E, K, data, hyper, dim)
        if family in ("Categorical", "Dirichlet") and any(
                np.shape(c)[-1:] == (0,) for c in coeffs.values()):
            raise DataError(f"'{name}' is a {family} over 0 categories; the number of "
                            f"categories must be at least 1")
        # a param has no prior: all its coefficients are 0; a latent on no rows
        # (a fit in row blocks binds its globals on none) keeps its prior's shapes
        has_prior = any(np.size(c) == 0 or np.any(c) for c in coeffs.values())
        if has_prior or not point:
            try:
                params = _posterior(name, family, coeffs)
            except FitError as err:
                raise DataError(_prior_problem(name, str(err))) from None
        if name in init:
            given = _checked_init(name, family, point, init[name],
                                  params if has_prior or not point else None, shape)
            try:
                _set_state(q, E, name, family, point, given)
            except (FloatingPointError, np.linalg.LinAlgError, FitError) as err:
                raise DataError(f"init for '{name}': {err}") from None
            except (IndexError, ValueError) as err:  # broadcastable, but not as the family needs
                raise DataError(f"init for '{name}' does not fit its {family} shapes "
                                f"({', '.join(f'{k} {np.shape(v)}' for k, v in given.items())}): "
                                f"{err}") from None
            continue
        if point and not has_prior:
            _set_state(q, E, name, family, point, {"value": _neutral_value(family, shape)})
            continue
        if start == "kmeans" and name in dict(globals().get("KMEANS_STARTS", ())):
            params = FEATURES["KMEANS_STARTS.start"](name, params, data, rng)  # kmeans.py
        elif functions["start"] is not None:  # the family's symmetry-breaking start
            try:
                params = functions["start"](params, rng, bool(plates))
            except (FloatingPointError, np.linalg.LinAlgError) as err:  # W0 = 1e308 I
                raise DataError(_prior_problem(name, str(err))) from None
        if point and "value" not in params:
            try:
                params = {"value": functions["mode"](params)}
            except FloatingPointError:  # the prior has no interior mode: start at its mean
                params = {"value": _prior_mean(family, params, functions)}
        try:
            _set_state(q, E, name, family, point, params)
        except (FloatingPointError, np.linalg.LinAlgError, FitError) as err:  # W0 = 1e308 I
            raise DataError(_prior_problem(name, str(err))) from None


def _check_init_shapes(name, given, prior):
    """An init must fit the latent's shape (its prior's parameters show it)."""
    for key, value in given.items():
        if key in prior:
            want = np.shape(prior[key])
            try:
                fits = np.broadcast_shapes(np.shape(value), want) == want
            except ValueError:
                fits = False
            if not fits:
                raise DataError(f"init for '{name}': {key} must have shape {want}, "
                                f"got {np.shape(value)}")


def _checked_init(name, family, point, value, prior, shape):
    """A user's init checked: a point's value finite and broadcast to the
    latent's shape; a q's parameters those of its family (as the prior's show
    them), each broadcast to the prior's shape except the matrices of an
    MvNormal or Wishart (a covariance given once stays shared by the rows)."""
    if isinstance(value, dict) and any(row[0] == name for row in globals().get("BLOCKS", ())):
        # a fit's posterior also holds the mean's Student-t moments (cov,
        # precision: split_blocks); the block starts from its joint parameters
        value = {k: v for k, v in value.items() if k not in ("cov", "precision")}
    if not point and isinstance(value, dict):
        _check_init_keys(name, family, set(value), set(prior))
    given = _user_init(name, family, point, value)
    if point:
        if family == "Categorical" and prior is not None:  # a one-hot row per value
            shape = np.shape(prior["probs"])
        _check_init_shapes(name, given, {"value": np.empty(shape)})
        value = np.broadcast_to(given["value"], shape).copy()
        if not np.all(np.isfinite(value)):
            raise DataError(f"init for '{name}' must be finite (no NaN, inf or None)")
        if family == "Categorical" and not (np.all((value == 0) | (value == 1))
                                            and np.all(value.sum(-1) == 1)):
            raise DataError(f"init for '{name}' must be one-hot rows (a point Categorical)")
        return {"value": value}
    _check_init_shapes(name, given, prior)
    shared = ("cov", "precision", "scale") if family in ("MvNormal", "Wishart") else ()
    return {k: v if k in shared else np.broadcast_to(v, np.shape(prior[k])).copy()
            for k, v in given.items()}


def _check_init_keys(name, family, keys, wanted):
    """An init dict names exactly its family's parameters (an MvNormal's
    precision or cov: either one gives the other)."""
    keys = {str(k) for k in keys}
    either = {"cov", "precision"} if family == "MvNormal" and keys & {"cov", "precision"} \
        else set()
    unknown, missing = sorted(keys - wanted - either), sorted(wanted - keys - either)
    if unknown or missing:
        problems = ([f"unknown {', '.join(unknown)}"] if unknown else []) + \
            ([f"missing {', '.join(missing)}"] if missing else [])
        raise DataError(f"init for '{name}' must give the {family} parameters "
                        f"{', '.join(sorted(wanted))}: {'; '.join(problems)}")


def _prior_problem(name, problem):
    """A sentence for a prior that is not a distribution at the starting state,
    naming its line and the hypers it uses.  A joint block (BLOCKS) names the
    member's prior at fault when the problem is its precision's family
    ("Wishart scale ...": W0, the Wishart's line), else both members' priors."""
    problem = problem.split(" distribution: ", 1)[-1]
    rows = [row for row in FACTOR_ARGS
            if row[0] in _members(name) and row[1] in ("latent", "point")]
    if not rows:
        return f"the prior of '{name}' is not a valid distribution: {problem}"
    rows = _argument_at_fault(name, rows, problem) or rows
    used = [h for row in rows for _, hypers, _ in row[4] for h in hypers]
    uses = (f"; check the hyperparameter{'s' if len(used) > 1 else ''} "
            f"{', '.join(used)}") if used else ""
    if len(rows) == 1 and rows[0][0] != name:  # one member of a block
        uses += f" (the {rows[0][4][0][0]} of its prior, in the joint {_q_name(name)})"
    who = f"'{rows[0][0]}'" if len(rows) == 1 else _q_name(name)
    lines = ", ".join(f"line {line}: {dist}" for _, _, dist, line, _ in rows)
    return f"the prior of {who} ({lines}) is not a valid distribution: {problem}{uses}"


def _argument_at_fault(name, rows, problem):
    """[one member's row cut to the argument the problem names] in a joint
    block: "Wishart scale …" is the precision member's scale (W0), "Normal–Gamma
    beta …" the mean's prior precision (kappa0); None for other problems (a
    mean's "MvNormal precision …" there comes from the joint parameters)."""
    family, _, rest = problem.partition(" ")
    for variable, role, dist, line, args in rows if len(rows) > 1 else ():
        if variable == name:  # the block's own parameters: beta, mean
            own = family.startswith("Normal–") and rest.startswith(("beta", "mean"))
            wanted = ("precision" if rest.startswith("beta") else "mean") if own else None
        else:
            wanted = rest if family == dist else None
        for arg in args:
            if wanted and wanted.startswith((arg[0], "inverse " + arg[0])):
                return [(variable, role, dist, line, (arg,))]
    return None


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
        return {"value": _numeric(name, value, "init ")}
    if family in ("Categorical", "CategoricalChain") and not isinstance(value, dict):
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
            params["precision"] = _shared_inverse(params["cov"])
        if "precision" in params and "cov" not in params:
            params["cov"] = _shared_inverse(params["precision"])
    check = FAMILY_FUNCTIONS[family]["check_params"]
    problem = check(params) if check else None
    if problem:
        raise DataError(f"init for '{name}': {problem}")
    return params


def _shared_inverse(matrices):
    """Inverses of a batch of matrices, each distinct one inverted once: rows
    given one broadcast covariance keep sharing it (and E[x xᵀ] stays factored)."""
    matrices = np.asarray(matrices, dtype=float)
    return np.broadcast_to(np.linalg.inv(compact(matrices, 2)), matrices.shape)


def elbo_value(q, E, K, data, hyper, dim, last_coeffs=None):
    """Σ_f E[log f] + Σ H[q] (points have no entropy: the EM / MAP objective).

    With ``last_coeffs`` (the coefficients the sweep's last update computed),
    the monomials holding that latent are <C_s, E[u_s]> and are not recomputed.
    """
    weights = globals().get("ROW_WEIGHTS", {})  # derive/weights.py
    shared = None  # a latent whose entropy is in its bound share already
    # a serial update's rows saw different states (serial.py); a non-conjugate
    # update's share is not <C, E[u]> + H (runtime/newton.py)
    serial_last = UPDATES[-1][0] in globals().get("SERIAL", ())
    if last_coeffs is None or serial_last or not globals().get("ELBO_SHORTCUT", True):
        total = _expected_log_joint(E, K, data, hyper, dim)
    else:
        name, family, point = UPDATES[-1][:3]
        total = _expected_log_joint_rest(E, K, data, hyper, dim)
        weight = data.get(weights.get(name))
        # (a 0/1 mask stayed in the latent's messages; weighting again is harmless, m·m = m)
        bound_share = FAMILY_FUNCTIONS[family]["bound_share"]
        if bound_share is not None and not point:  # Σ_s <C_s, E[u_s]> + H[q] at once
            share = bound_share(last_coeffs, q[name])
            share = share if weight is None else share * weight
            total += float(share if type(share) is np.float64 else np.add.reduce(share, axis=None))
            shared = name
        else:  # a count weight left this latent's own messages: it goes here
            total += sum(inner_product(c, E[name][stat], weight)
                         for stat, c in last_coeffs.items())
    for name, family, plates, shape, point in LATENTS:
        if not point and name != shared:
            functions = FAMILY_FUNCTIONS[family]
            if name in weights and weights[name] in data:  # masked or counted rows
                entropy = functions["entropy"](q[name]) * data[weights[name]]
            elif functions["entropy_total"] is not None:  # summed without the rows' array
                entropy = functions["entropy_total"](q[name])
            else:
                entropy = functions["entropy"](q[name])
            # (np.sum with less dispatch; a scalar's needs no reduction at all)
            total += float(entropy if type(entropy) is np.float64 else
                           np.add.reduce(entropy, axis=None))
    return total


# Merge duplicate rows only when that leaves at most this share of them.
COLLAPSE_SHARE = 0.9


def collapse_rows(dim, data, init):
    """Merge the duplicate rows of each collapsible plate (COLLAPSIBLE) into one
    row weighted by its count, in place of ``dim``, ``data`` and ``init``.  Exact:
    rows with equal data have equal factors, so equal q's at every fixed point
    (derive/weights.py).  A given ``init`` of the plate's latents becomes its
    per-group mean: the messages to the globals are linear in Σ_t E[u(z_t)], so
    when the globals are updated first, the first sweep is the uncollapsed one.
    Returns {plate: (latents, inverse index, rows)} for ``expand_rows``."""
    groups = {}
    for plate, weight, names, latents in globals().get("COLLAPSIBLE", ()):
        rows = dim[plate]
        given = {name: init[name] for name in latents if name in init}
        if rows == 0 or not all(_has_rows(v, rows) for v in given.values()):
            continue  # an init of another shape: _check_init_shapes reports it
        found = _distinct_rows([data[name] for name in names])
        if not worth_merging(found[2].size, rows):
            continue
        inverse, counts = merge_duplicates(dim, data, plate, weight, names, found)
        for name, value in given.items():
            init[name] = _group_mean(name, value, inverse, counts)
        groups[plate] = (latents, inverse, rows)
    return groups


def worth_merging(distinct, rows):
    """Whether ``rows`` rows with ``distinct`` distinct ones are merged: when
    that leaves at most COLLAPSE_SHARE of them (a fit in blocks of whole
    groups decides by the distinct rows of all its blocks, chunk_groups.py)."""
    return rows > 0 and not distinct > COLLAPSE_SHARE * rows


def merge_duplicates(dim, data, plate, weight, names, found):
    """The rows of ``plate`` in ``dim`` and ``data`` merged in place to their
    distinct ones ``found`` = (_distinct_rows: kept rows, inverse index,
    counts), each weighted by its count; returns (inverse index, counts)."""
    keep, inverse, counts = found
    for name in names:
        data[name] = data[name][keep]
    data[weight] = counts.astype(float)
    dim[plate] = counts.size
    return inverse, counts


def _has_rows(value, rows):
    values = value.values() if isinstance(value, dict) else [value]
    return all(np.ndim(v) >= 1 and np.shape(v)[0] == rows for v in values)


def _distinct_rows(columns):
    """(a row of each distinct row, the inverse index, the counts) of integer
    columns: one int64 key per row (mixed radix) when the value ranges allow,
    so that np.unique sorts numbers, not rows."""
    key, span = np.zeros(len(columns[0]), dtype=np.int64), 1
    for column in columns:
        low, size = int(column.min()), int(column.max()) - int(column.min()) + 1
        span *= size
        if span >= 2 ** 62:
            _, keep, inverse, counts = np.unique(np.stack(columns, 1), axis=0, return_index=True,
                                                 return_inverse=True, return_counts=True)
            return keep, inverse.reshape(-1), counts
        key = key * size + (column - low)
    _, keep, inverse, counts = np.unique(key, return_index=True, return_inverse=True,
                                         return_counts=True)
    return keep, inverse.reshape(-1), counts


def _group_mean(name, value, inverse, counts):
    if isinstance(value, dict):
        return {k: _group_mean(f"{name}.{k}", v, inverse, counts) for k, v in value.items()}
    value = _numeric(name, value, "init ")
    # the (groups × rows) averaging matrix: one sparse product, not np.add.at
    mean = spsparse.csr_matrix((1.0 / counts[inverse], (inverse, np.arange(inverse.size))),
                               shape=(counts.size, inverse.size))
    return (mean @ value.reshape(inverse.size, -1)).reshape((counts.size,) + value.shape[1:])


def expand_rows(result, groups):
    """The result of a collapsed fit per original row: the posterior and
    expectations of the plate's latents gathered back, its dim restored."""
    for plate, (latents, inverse, rows) in groups.items():
        merged = result["dims"][plate]
        result["dims"][plate] = rows
        gathered = {}  # by identity: a Categorical's probs are also its E[onehot]

        def per_row(v):
            if np.ndim(v) == 0 or np.shape(v)[0] != merged:
                return v
            if id(v) not in gathered:
                gathered[id(v)] = (v, np.take(v, inverse, axis=0))
            return gathered[id(v)][1]
        for name in latents:
            for part in ("posterior", "expectations"):
                result[part][name] = {k: per_row(v) for k, v in result[part][name].items()}
    return result


def fit(data, hypers=None, max_iter=500, tol=1e-8, seed=None, init=None, callback=None,
        missing=None, collapse=True, n_init=1, rotate=True, local_iters=None):
    """Fit the model by coordinate ascent on the ELBO (variational message passing).

    Returns a dict: posterior (standard parameters per latent), expectations,
    elbo (one value per sweep, non-decreasing), converged, iterations, dims,
    hypers, start_elbos (the final ELBO of each start).
    Each sweep updates every latent once, in the order UPDATES lists (from the
    data toward the priors); it stops when a sweep changes the ELBO by at most
    ``tol`` times its magnitude *and* moves no latent's expected statistics by
    more than sqrt(tol) of their scale, the changes of the last sweeps
    shrinking at a steady rate (sweeps.has_converged), or after
    ``max_iter`` sweeps with a RuntimeWarning.  ``n_init=k`` climbs from k
    starts (the latents in ``init`` as given in each, the random starts of
    the others drawn anew) and returns the one with the highest final ELBO.
    ``rotate=False`` turns off the rotation step of bilinear pairs (ROTATIONS).
    ``local_iters=n`` updates the local block (LOCAL_BLOCK) up to n times per
    sweep, before the globals, stopping when the locals stop moving, with
    per-group restarts kept where they raise the ELBO (local_loop.py,
    local_restart.py); default: AUTO_ITERS for a block over groups of rows
    (GATED_ITERS for LDA's shape), else 1.  With that default and no
    ``init``, LDA's shape of block starts from its groups clustered (the
    documents by their words: local_restart.gated_start); ``init="random"``
    keeps the rows' random start.
    ``missing="skip"`` drops the factors of NaN observations (see bind_data).
    Duplicate rows of a collapsible plate (COLLAPSIBLE: all its data integer,
    e.g. LDA's (doc, word) tokens) are fitted once with their count
    (collapse_rows), which gives the same fit; ``collapse=False`` fits every
    row.  The result is per row either way; with no ``init``, the random start
    of the plate's latents is drawn per distinct row.
    """
    if not isinstance(collapse, (bool, np.bool_)):  # collapse="no" is truthy
        raise DataError(f"collapse must be True or False, got {collapse!r}")
    dim, data = bind_data(data, missing)
    check_sizes(dim)
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
    start, init = (init, None) if isinstance(init, str) else ("kmeans", init)
    if start not in ("kmeans", "random") or init is not None and not isinstance(init, dict):
        raise DataError(f"init must be 'kmeans', 'random' or a dict of starting values by "
                        f"latent name, got {(start if init is None else init)!r}")
    init = _block_inits(init)
    unknown = [str(n) for n in (init or {}) if n not in _latent_names()]
    if unknown:
        raise DataError(f"init names {', '.join(unknown)}, which "
                        f"{'is not a latent' if len(unknown) == 1 else 'are not latents'}; "
                        f"the latents are {', '.join(_latent_names()) or 'none'}")
    if isinstance(n_init, bool) or not isinstance(n_init, (int, np.integer)) or n_init < 1:
        raise DataError(f"n_init must be a positive whole number, got {n_init!r}")
    if not isinstance(rotate, (bool, np.bool_)):
        raise DataError(f"rotate must be True or False, got {rotate!r}")
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise DataError(f"seed must be a whole number or None, got {seed!r}") from None
    init = dict(init or {})
    local_iters = default_local_iters(local_iters)
    groups = collapse_rows(dim, data, init) if collapse else {}
    try:
        # an invalid hyper (log 0) gives inf here; the checks of the starting
        # state below name it, so numpy need not warn first
        with np.errstate(divide="ignore", invalid="ignore"):
            K = _constants(dim, data, hyper)
    except (np.linalg.LinAlgError, FloatingPointError) as err:
        raise DataError(f"the constants of the model (from the data and hypers) "
                        f"cannot be computed: {err}") from None
    q, E, trace, converged, finals = fit_starts(K, data, hyper, dim, rng, init, n_init,
                                                max_iter, tol, callback, rotate,
                                                local_iters, start)
    expectations = {name: {s: dense(v) for s, v in stats.items()} for name, stats in E.items()}
    return expand_rows(split_blocks({"posterior": q, "expectations": expectations,
                                     "elbo": np.asarray(trace), "converged": converged,
                                     "iterations": len(trace), "dims": dim, "hypers": hyper,
                                     "start_elbos": np.asarray(finals)}), groups)


def _block_inits(init):
    """``init`` without the joint blocks' other members (BLOCKS): a block starts
    from init[block], its joint parameters (as a fit's posterior holds them),
    so a member given alone is an error."""
    init = dict(init or {})
    for block, family, members, params in globals().get("BLOCKS", ()):
        given = [m for m in members[1:] if m in init]
        if given and block not in init:
            raise DataError(f"init: {', '.join(members)} have one joint {family} q; give "
                            f"init['{block}'] with its parameters ({', '.join(params)}), "
                            f"or fit with mean_field=True")
        for member in given:
            del init[member]
    return init


def _latent_names():
    """The latents, a joint block's members in its place."""
    return [m for row in LATENTS for m in _members(row[0])]


def split_blocks(result):
    """Each joint block's posterior as its members' (derive/blocks.py): the
    first member's entry keeps the joint parameters (and the block's
    statistics, which new-data questions reuse) next to its marginal fields."""
    for name, family, members, _ in globals().get("BLOCKS", ()):
        if name not in result["posterior"]:
            continue  # not among the latents asked for (new_data.local)
        parts = FAMILY_FUNCTIONS[family]["marginals"](result["posterior"][name])
        parts[0][1].update(result["expectations"][name])
        for index, part in enumerate(("posterior", "expectations")):
            split = {member: pair[index] for member, pair in zip(members, parts)}
            result[part] = _replace_key(result[part], name, split)
    return result


def _replace_key(table, key, items):
    """``table`` with ``key`` replaced by ``items``, in its place."""
    out = {}
    for k, v in table.items():
        out.update(items if k == key else {k: v})
    return out
