"""The local block iterated per group, with a monotone restart (copied
verbatim into every emitted module; numpy and scipy.sparse).

Given the globals, the local latents of different groups do not interact
(derive/locality.py): a document's θ and its tokens' z touch only each other
and the topics.  So the ELBO is a constant plus one term per group, and the
block can be iterated per group:

* **Active set.**  A group whose locals stopped moving (by at most
  ``tol``) drops out; the others go on, on the sub-problem of their rows alone
  (the data, dims and constants of those groups: the same updates, fewer rows).
  A group's move is its rows' latents' when the block has both (z's
  responsibilities, not E[log θ], which swings by nats for a topic a document
  does not use when its tiny mass moves by 1e-3 tokens).
* **Restart.**  Iterated from their previous state, the locals stay in the
  basin they fell into under the early, random globals (each document locked
  to the topics it first took).  Batch VB for LDA (scikit-learn's E-step)
  restarts each document from a neutral state instead.  Here the restart is
  kept only where it raises the ELBO: the locals start at their priors (given
  the globals: θ at Dirichlet(α), so z follows the topics alone), are iterated
  to convergence, and each group takes the restarted state if its ELBO term is
  higher than its previous state's.  Then the block is iterated from that
  choice.  Every group's term only rises, so the sweep stays coordinate ascent.
  The restarts stop for the rest of the fit once a sweep's restarts gain at
  most RESTART_SHARE of the ELBO.

A group's gain from state A to state B is exact: change one latent at a time
(block order); a change of latent x alone moves the ELBO by
``<C_x, E_B[u_x] − E_A[u_x]> + H[q_B(x)] − H[q_A(x)]`` per row, with C_x its
update coefficients given the others (x's full conditional), times the row's
count weight; rows add up to their group.

``local_layout`` and ``_plain`` say whether this applies: every local latent
has one leading row or group plate, plain array parameters and statistics, a
conjugate update and no count weight but its rows' (otherwise the plain block
loop of local_loop.py runs).
"""
import numpy as np

# Re-bind the sub-problem when the active groups fall below this share of it.
SHRINK = 0.5


def local_layout(data, dim):
    """{'R': row plate, 'G': group plate (R when there are no groups), 'index':
    the group index array or None, 'plates': {local latent: its plate},
    'keys': {data key: R, G or None}} or None where per-group updates are not
    exact (see the module docstring)."""
    latents = {row[0]: row for row in LATENTS}
    plates = {name: latents[name][2][0] for name in LOCAL_BLOCK if latents[name][2]}
    if len(plates) != len(LOCAL_BLOCK) or len(set(plates.values())) > 2 \
            or any(latents[name][4] for name in plates) \
            or set(plates) & set(globals().get("SERIAL", ())) \
            or not globals().get("ELBO_SHORTCUT", True) or globals().get("SLICE_MASKS"):
        return None
    keys, groups = {}, []
    for name, shape, dtype, categories, family in DATA_SPEC:
        keys[name] = shape[0] if shape else None
        if dtype == "int" and len(shape) == 1 and categories in plates.values() \
                and categories != shape[0] and family is None:
            groups.append((categories, name, shape[0]))
    for name, (mask, *_) in {row[0]: row[1:] for row in globals().get("MASKS", ())}.items():
        keys[mask] = keys[name]
    for plate, weight, _, _ in globals().get("COLLAPSIBLE", ()):
        keys[weight] = plate
    if set(data) - set(keys) or len(groups) > 1:
        return None
    G, index, R = groups[0] if groups else (None, None, None)
    rows = set(plates.values()) - {G}
    if len(rows) > 1 or (R is not None and rows and rows != {R}):
        return None
    R = R or rows.pop()
    return {"R": R, "G": G or R, "index": index, "plates": plates,
            "keys": {k: (p if p in (R, G) else None) for k, p in keys.items()}}


def _group_of_rows(data, layout):
    """The group of each row of the row plate (each row its own without groups)."""
    return data[layout["index"]] if layout["index"] else None


def _to_groups(values, name, data, dim, layout):
    """Per-row values of a local latent summed into its groups."""
    if layout["plates"][name] == layout["G"]:
        return values
    rows = _group_of_rows(data, layout)
    return values if rows is None else np.bincount(rows, weights=values,
                                                   minlength=dim[layout["G"]])


def _row_bound(coeffs, state, family, weight):
    """<C, E[u]> + H[q] per row of a latent (times its count weight)."""
    q_x, E_x = state
    rows = np.shape(next(iter(E_x.values())))[0]
    value = np.asarray(FAMILY_FUNCTIONS[family]["entropy"](q_x), dtype=float).reshape(rows, -1)
    value = value.sum(axis=1)
    for stat, c in coeffs.items():
        value = value + (np.broadcast_to(c, np.shape(E_x[stat])) * E_x[stat]).reshape(rows, -1).sum(1)
    return value if weight is None else value * weight


def group_gains(q, E, K, data, hyper, dim, block, old, new, layout):
    """Per group, ELBO(new locals) − ELBO(old locals) with the globals fixed:
    one latent changed at a time, in block order (module docstring)."""
    gains = np.zeros(dim[layout["G"]])
    for name, state in old.items():
        q[name], E[name] = state
    for name, family, point, update, prior in block:
        coeffs = update(E, K, data, hyper, dim)
        weight = data.get(globals().get("ROW_WEIGHTS", {}).get(name))
        change = (_row_bound(coeffs, new[name], family, weight)
                  - _row_bound(coeffs, old[name], family, weight))
        gains += _to_groups(change, name, data, dim, layout)
        q[name], E[name] = new[name]
    return gains


def _rows_of(name, groups, data, layout):
    """A local latent's rows (a boolean mask) that belong to the chosen groups."""
    if layout["plates"][name] == layout["G"]:
        return groups
    rows = _group_of_rows(data, layout)
    return groups if rows is None else groups[rows]


def _choose(q, E, block, old, new, take, data, layout):
    """Each group's locals from ``new`` where ``take``, else from ``old``."""
    for name, family, point, update, prior in block:
        rows = _rows_of(name, take, data, layout)
        params = {}
        for key, value in new[name][0].items():
            mask = rows.reshape(rows.shape + (1,) * (np.ndim(value) - 1))
            params[key] = np.where(mask, value, old[name][0][key])
        _set_state(q, E, name, family, point, params)


def _plain(q, E, names, dim, layout):
    """Every parameter and statistic of the locals is an array over their plate."""
    for name in names:
        rows = dim[layout["plates"][name]]
        for table in (q[name], E[name]):
            if not all(isinstance(v, np.ndarray) and v.ndim and v.shape[0] == rows
                       for v in table.values()):
                return False
    return True


def _states(q, E, names):
    return {name: (q[name], E[name]) for name in names}


class _Sub:
    """The sub-problem of some groups: their rows of the data, the dims and
    constants bound to them, and their rows of each local latent's q."""

    def __init__(self, data, dim, hyper, layout, groups):
        G, R, index = layout["G"], layout["R"], layout["index"]
        self.groups = groups  # indices into the full group plate
        if index:
            chosen = np.zeros(dim[G], dtype=bool)
            chosen[groups] = True
            self.rows = np.flatnonzero(chosen[data[index]])
        else:
            self.rows = groups
        take = {R: self.rows, G: groups}
        self.data = {k: (v[take[layout["keys"][k]]] if layout["keys"][k] else v)
                     for k, v in data.items()}
        if index:  # group numbers within the sub-problem
            position = np.zeros(dim[G], dtype=data[index].dtype)
            position[groups] = np.arange(groups.size)
            self.data[index] = position[self.data[index]]
        self.dim = dict(dim, **{G: groups.size, R: self.rows.size})
        self.K = _constants(self.dim, self.data, hyper)
        self.take = {name: take[plate] for name, plate in layout["plates"].items()}

    def state(self, q, E, names):
        """The sub-problem's rows of each local latent (globals shared)."""
        q, E = dict(q), dict(E)
        for name in names:
            rows = self.take[name]
            q[name] = {k: v[rows] for k, v in q[name].items()}
            E[name] = {k: v[rows] for k, v in E[name].items()}
        return q, E

    def put(self, q, E, sub_q, sub_E, names):
        """Write the sub-problem's locals back into the full q and E."""
        for name in names:
            rows = self.take[name]
            for full, part in ((q, sub_q), (E, sub_E)):
                merged = {}
                for k, v in full[name].items():
                    merged[k] = np.array(v, copy=True)
                    merged[k][rows] = part[name][k]
                full[name] = merged


def _group_change(before, E, names, data, dim, layout):
    """The largest move of each group's local expectations."""
    change = np.zeros(dim[layout["G"]])
    for name in names:
        if layout["index"] and layout["plates"][name] == layout["G"] and len(names) > 1:
            continue  # measured by its rows' latents (local_changes)
        for stat, old in before[name].items():
            rows = np.shape(old)[0]
            moved = np.abs(E[name][stat] - old).reshape(rows, -1).max(axis=1, initial=0.0)
            if layout["plates"][name] == layout["G"] or not layout["index"]:
                change = np.maximum(change, moved)
            else:
                np.maximum.at(change, data[layout["index"]], moved)
    return change


def iterate_groups(q, E, K, data, hyper, dim, block, iters, tol, layout):
    """The block's updates repeated (at most ``iters`` times) on the groups
    whose locals still move by more than ``tol``: the others drop out, and
    the sub-problem is re-bound when the moving groups fall below SHRINK of
    it.  Returns the group-passes made (the work done, in groups)."""
    names = [row[0] for row in block]
    sub, sq, sE, sK, sdata, sdim = None, q, E, K, data, dim
    work = 0
    for _ in range(iters):
        before = {name: sE[name] for name in names}
        for row in block:
            _update_latent(sq, sE, sK, sdata, hyper, sdim, row)
        work += sdim[layout["G"]]
        moving = _group_change(before, sE, names, sdata, sdim, layout) > tol
        if not moving.any():
            break
        if moving.sum() < SHRINK * moving.size:
            groups = (sub.groups if sub else np.arange(dim[layout["G"]]))[moving]
            if sub:
                sub.put(q, E, sq, sE, names)
            sub = _Sub(data, dim, hyper, layout, groups)
            (sq, sE), sK, sdata, sdim = sub.state(q, E, names), sub.K, sub.data, sub.dim
    if sub:
        sub.put(q, E, sq, sE, names)
        _MEMO.clear()  # products of the sub-problems' arrays: not needed again
    return work


def _prior_state(q, E, K, data, hyper, dim, names):
    """The local latents at their priors given the globals (INIT_ORDER)."""
    rows = {row[0]: row for row in UPDATES}
    for name in INIT_ORDER:
        if name in names:
            _, family, point, update, prior = rows[name]
            coeffs = prior_coefficients(name, E, K, data, hyper, dim)
            _set_state(q, E, name, family, point, _posterior(name, family, coeffs))




# The restarts stop for the rest of the fit once a sweep's restarts raise the
# ELBO by at most this share of it: each group has settled on its basin.
RESTART_SHARE = 1e-4


def restart_pays(gain, elbo):
    """Whether the next sweep restarts, after restarts that gained ``gain``
    (summed over all groups) in a sweep that followed the ELBO ``elbo``."""
    return bool(gain > RESTART_SHARE * abs(elbo))


def restarted_block(q, E, K, data, hyper, dim, block, iters, tol, layout, schedule):
    """The local step with the monotone restart (module docstring), while
    ``schedule['restart']``; returns the coefficients of the block's last
    update on all rows (the sweep's ELBO reuses them)."""
    names = [row[0] for row in block]
    if not _plain(q, E, names, dim, layout):
        return local_block(q, E, K, data, hyper, dim, block, iters, tol)
    gated = gated_dirichlet(q, E, K, data, hyper, dim, block, layout)
    iterate = iterate_gated if gated else iterate_groups
    if schedule.setdefault("restart", True):
        old = _states(q, E, names)
        _prior_state(q, E, K, data, hyper, dim, names)
        iterate(q, E, K, data, hyper, dim, block, iters, tol, layout)
        new = _states(q, E, names)
        gains = group_gains(q, E, K, data, hyper, dim, block, old, new, layout)
        _choose(q, E, block, old, new, gains > 0.0, data, layout)
        schedule["gain"] = float(np.sum(gains[gains > 0.0]))  # (chunks add theirs up)
        if "elbo" in schedule:  # (not after the first sweep: that is the start's)
            schedule["restart"] = restart_pays(schedule["gain"], schedule["elbo"])
    if gated:  # (returns z's last coefficients)
        return iterate_gated(q, E, K, data, hyper, dim, block, iters, tol, layout)
    iterate_groups(q, E, K, data, hyper, dim, block, iters, tol, layout)
    return _update_latent(q, E, K, data, hyper, dim, block[-1])



# -----------------------------------------------------------------------------
# The block of a Dirichlet over the groups and a Categorical over their rows
# that reads it at the group index (LDA's θ[d] and z[t] ~ Categorical(θ[doc[t]])),
# iterated in exp space as batch VB for LDA does (scikit-learn's E-step).
#
# With the globals fixed, z's coefficients are E[log θ][index[t]] + B[t] with B
# free of the locals, and θ's are F + Σ_{t in d} w_t r[t] with F free of them.
# So r[t] ∝ Θ[d] ⊙ b[t] with Θ = exp(E[log θ]) and b = exp(B), both shifted
# by their row maxima (a shift common to a token's K values cancels), and
#   γ[d] = F[d] + 1 + Θ[d] ⊙ Σ_{t in d} w_t b[t] / n_t,   n_t = <Θ[d], b[t]>:
# one exp of the T × K array b per call, then per iteration one exp and one
# digamma of the G × K array, and no T × K exp, log or max.  The same updates
# as the plain loop (equal to rounding, tests/engine/test_local_restart.py),
# so still coordinate ascent; a group stops when the mean change of its γ is at
# most ``tol`` (scikit-learn's rule), and the rows of the stopped groups drop
# out of the T × K products.

# Normalizers below this (the exp of both shifted factors all but vanishing
# for a token) would lose digits: the plain loop takes over.
_EXP_FLOOR = 1e-200


def _with_stat(E, name, stat, value):
    E = dict(E)
    E[name] = dict(E[name], **{stat: value})
    return E


def gated_dirichlet(q, E, K, data, hyper, dim, block, layout):
    """Memoized per block (the answer is the model's, not the data's): ``_gated``."""
    key = tuple(row[0] for row in block)
    if key not in _GATED:
        _GATED[key] = _gated(q, E, K, data, hyper, dim, block, layout)
    return _GATED[key]


_GATED = {}
# The groups whose rows the probe of ``_gated`` reads.
PROBE_GROUPS = 16


def _gated(q, E, K, data, hyper, dim, block, layout):
    """Whether the block is a Dirichlet θ over the groups followed by a
    Categorical z over the rows whose own factor reads θ at the group index,
    with the messages described above.  Found from the updates themselves:
    z's prior message must be E[log θ] gathered at the index, z's other
    messages must not move with θ, θ's messages must be its prior's and, from
    z, the weighted sum of r over each group's rows (each a linear map of the
    locals' statistics, so one generic probe decides)."""
    if layout is None or not layout["index"] or len(block) != 2:
        return False
    (theta, t_family, t_point, update_t, prior_t), (z, z_family, z_point, update_z, prior_z) \
        = block
    if (t_family, z_family) != ("Dirichlet", "Categorical") or t_point or z_point \
            or layout["plates"][theta] != layout["G"] or layout["plates"][z] != layout["R"]:
        return False
    if dim[layout["G"]] > PROBE_GROUPS and _plain(q, E, [theta, z], dim, layout):
        # the maps are the same on every group's rows: probe a few (the whole
        # corpus's T × K products cost a second)
        sub = _Sub(data, dim, hyper, layout, np.arange(PROBE_GROUPS))
        E, K, data, dim = sub.state(q, E, [theta, z])[1], sub.K, sub.data, sub.dim
    index = data[layout["index"]]
    weight = data.get(globals().get("ROW_WEIGHTS", {}).get(z))
    rows, groups = index.size, dim[layout["G"]]
    probe = np.random.default_rng(0)
    log_theta = -probe.random((groups, np.shape(E[theta]["log"])[-1]))
    r = probe.dirichlet(np.ones(log_theta.shape[-1]), size=rows)

    def close(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-9)
    try:
        E1 = _with_stat(_with_stat(E, theta, "log", log_theta), z, "onehot", r)
        E2 = _with_stat(_with_stat(E, theta, "log", 2.0 * log_theta - 1.0), z, "onehot",
                        np.zeros_like(r))
        c1, c2 = update_z(E1, K, data, hyper, dim), update_z(E2, K, data, hyper, dim)
        p1, p2 = prior_z(E1, K, data, hyper, dim), prior_z(E2, K, data, hyper, dim)
        t1, t2 = update_t(E1, K, data, hyper, dim), update_t(E2, K, data, hyper, dim)
        if set(c1) != {"onehot"} or set(p1) != {"onehot"} or set(t1) != {"log"}:
            return False
        own = np.broadcast_to(prior_t(E2, K, data, hyper, dim)["log"], np.shape(t2["log"]))
        grouped = _scatter_rows(index, groups, weight) @ r
        read = _reads_theta(index, weight, data)
        return bool(close(p1["onehot"], read[:, None] * log_theta[index])
                    and close(p2["onehot"], read[:, None] * (2.0 * log_theta - 1.0)[index])
                    and close(c1["onehot"] - p1["onehot"], c2["onehot"] - p2["onehot"])
                    and close(t2["log"], own) and close(t1["log"] - own, grouped))
    except (ValueError, IndexError, TypeError, KeyError):
        return False


def _reads_theta(index, weight, data):
    """How much of E[log θ] each row's z hears: all of it where the row weight
    is a count (collapsed rows), none where it is a 0/1 mask that is 0 (a
    missing observation's row, fit(missing="skip"), whose z is dropped)."""
    masked = weight is not None and any(
        data.get(mask) is weight for _, mask, _ in globals().get("MASKS", ()))
    return np.asarray(weight, dtype=float) if masked else np.ones(index.size)


def _scatter_rows(index, groups, weight):
    """The (groups × rows) matrix that sums each group's rows, times their weight."""
    return spsparse.csr_matrix((np.ones(index.size) if weight is None else weight,
                                (index, np.arange(index.size))), shape=(groups, index.size))


def iterate_gated(q, E, K, data, hyper, dim, block, iters, tol, layout):
    """The block (θ, z) updated ``iters`` times in exp space (above), each
    group until the mean change of its γ is at most ``tol``; returns the
    coefficients of z's last update."""
    (theta, family, point, _, prior_t), z_row = block
    z = z_row[0]
    index = data[layout["index"]]
    weight = data.get(globals().get("ROW_WEIGHTS", {}).get(z))
    groups = dim[layout["G"]]
    fixed = np.broadcast_to(prior_t(E, K, data, hyper, dim)["log"] + 1.0,
                            np.shape(E[theta]["log"]))
    active = np.arange(groups)
    rows, position, weights = _active_rows(index, active, weight, groups)
    # θ from the rows' r as they are (update_theta, as gated_dirichlet found it)
    gamma = fixed + spsparse.csc_matrix((weights, position, np.arange(rows.size + 1)),
                                        shape=(groups, rows.size)) @ E[z]["onehot"]
    _set_state(q, E, theta, family, point, {"concentration": gamma})
    gamma = np.array(gamma, dtype=float)
    log_theta = np.array(E[theta]["log"], dtype=float)
    rest, b = _messages_but_theta(E, K, data, hyper, dim, block, index)
    b_active, underflow = b, False
    scatter = _Scatter(position, weights, active.size)
    live = np.ones(groups, dtype=bool)  # per active group: not stopped yet
    for _ in range(iters - 1):
        part = log_theta[active]
        expd = np.exp(part - part.max(axis=-1, keepdims=True))
        norm = np.einsum("tk,tk->t", np.take(expd, position, axis=0), b_active)
        if norm.size and norm.min() < _EXP_FLOOR:
            underflow = True  # (the plain loop below takes over)
            break
        # Σ_{t in d} w_t b[t] / n_t
        new = fixed[active] + expd * scatter.sum(norm, b_active)
        # a stopped group keeps its γ (its pass here is discarded): each group's
        # course is its own, whatever groups share the arrays (a chunk's, chunked.py)
        moved = live & (np.abs(new - gamma[active]).mean(axis=1) > tol)
        going = active[live]
        gamma[going] = new[live]
        log_theta[going] = FAMILY_FUNCTIONS[family]["expectations"](
            {"concentration": new[live]})["log"]
        live = moved
        if not live.any():
            break
        if live.sum() < SHRINK * live.size:
            active, live = active[live], np.ones(int(live.sum()), dtype=bool)
            rows, position, weights = _active_rows(index, active, weight, groups)
            b_active = np.take(b, rows, axis=0)
            scatter = _Scatter(position, weights, active.size)
    _set_state(q, E, theta, family, point, {"concentration": gamma})
    read = _reads_theta(index, weight, data)
    coeffs = {"onehot": read[:, None] * np.take(E[theta]["log"], index, axis=0) + rest}
    _set_state(q, E, z, z_row[1], z_row[2], _posterior(z, z_row[1], coeffs))
    if underflow:
        iterate_groups(q, E, K, data, hyper, dim, block, iters, tol, layout)
        coeffs = _update_latent(q, E, K, data, hyper, dim, z_row)
    return coeffs


class _Scatter:
    """Σ_{t in d} w_t x[t] / n_t per group d: the (groups × rows) CSR matrix
    of the rows' groups, built once per active set (its values replaced per
    pass, not the matrix)."""

    def __init__(self, position, weights, groups):
        self.order = None if np.all(position[1:] >= position[:-1]) else \
            np.argsort(position, kind="stable")
        self.weights = weights if self.order is None else weights[self.order]
        indptr = np.concatenate(([0], np.cumsum(np.bincount(position, minlength=groups))))
        indices = np.arange(position.size) if self.order is None else self.order
        self.matrix = spsparse.csr_matrix((self.weights.copy(), indices, indptr),
                                          shape=(groups, position.size))

    def sum(self, norm, x):
        """Σ_{t in d} w_t x[t] / n_t (x C-ordered rows)."""
        np.divide(self.weights, norm if self.order is None else norm[self.order],
                  out=self.matrix.data)
        return self.matrix @ x


def _active_rows(index, active, weight, groups):
    """The rows of the active groups, their group's position among them, and
    their weights."""
    where = np.full(groups, -1, dtype=np.int64)
    where[active] = np.arange(active.size)
    position = where[index]
    rows = np.flatnonzero(position >= 0)
    return rows, position[rows], np.ones(rows.size) if weight is None else weight[rows]


def _messages_but_theta(E, K, data, hyper, dim, block, index):
    """z's coefficients but θ's (the rest, B above) and exp(B − its row
    maxima): once per state of the globals (the restart's pass and the main
    pass of a sweep share them)."""
    (theta, *_), z_row = block
    inputs = (index, K, hyper) + tuple(E[name] for name in sorted(E) if name not in LOCAL_BLOCK)
    hit = _MEMO.get(("gated rest", z_row[0]))
    if hit is not None and len(hit[0]) == len(inputs) and all(
            a is b for a, b in zip(hit[0], inputs)):
        return hit[1]
    # z's update with E[log θ] = 0: its prior message, read*E[log θ][index]
    # (as _gated found it), is then 0, and what is left is the rest
    rest = z_row[3](_with_stat(E, theta, "log", np.zeros(np.shape(E[theta]["log"]))),
                    K, data, hyper, dim)["onehot"]
    # (C order: the passes read it by rows; rest's products come out in F order)
    b = np.subtract(rest, rest.max(axis=-1, keepdims=True), order="C")
    np.exp(b, out=b)
    _MEMO[("gated rest", z_row[0])] = (inputs, (rest, b))
    return rest, b


def gated_start(q, E, K, data, hyper, dim, rng, init, clustered=False):
    """The start of a gated block's fit, where one applies; returns whether
    it did.  A start given for the globals (``locals_first``) is followed by
    the locals fitted to it as batch VB for LDA does: each group's θ at a
    near-flat random concentration, Gamma(100, 1/100) per entry
    (scikit-learn's E-step start; at its prior, every document's choice among
    near-equal topics would follow the topics' noise alone, the same for all,
    and a topic could empty at once), z from it, then the block iterated to
    convergence.  With ``clustered`` and no ``init`` (fit's default start
    and inner loop), the globals start from the groups clustered first
    (``group_labels``: each group's rows all take its cluster, the globals are
    updated from that once, an M-step), then the same: a random start of the
    topics (the rows' random responsibilities, or scikit-learn's) leaves
    every topic a blend of all documents, and the fit ends in the basin the
    first sweeps pick, 0.1–1% of the ELBO apart between seeds."""
    block = [row for row in UPDATES if row[0] in LOCAL_BLOCK]
    layout = local_layout(data, dim) if len(block) == 2 else None
    wanted = locals_first(init) or (clustered and not init)
    if not wanted or not gated_dirichlet(q, E, K, data, hyper, dim, block, layout):
        return False
    if not locals_first(init):
        labels = group_labels(data, dim, layout, start_clusters(q, block), rng)
        if labels is None:
            return False
        label_rows(q, E, data, layout, block, labels)
        for row in UPDATES:
            if row[0] not in LOCAL_BLOCK:
                _update_latent(q, E, K, data, hyper, dim, row)
    concentration = start_draws(rng, np.shape(q[block[0][0]]["concentration"]))
    start_locals(q, E, K, data, hyper, dim, block, layout, concentration)
    return True


# gated_start's steps apart, for fits in blocks of whole groups (vmpdsl/chunk_groups.py):
# the features of each block's groups stacked, the generator handed along.

def start_clusters(q, block):
    """The clusters of the groups: one per category of the Dirichlet (θ's K)."""
    return np.shape(q[block[0][0]]["concentration"])[-1]


def label_rows(q, E, data, layout, block, labels):
    """Each row's categorical latent (z) one-hot at its group's label."""
    z = block[1]
    index = data[layout["index"]]
    probs = np.zeros(np.shape(q[z[0]]["probs"]))
    probs[np.arange(index.size), labels[index]] = 1.0
    _set_state(q, E, z[0], z[1], z[2], {"probs": probs})


def start_draws(rng, shape):
    """The groups' Dirichlet concentrations, Gamma(100, 1/100) per entry (one
    draw of all groups: a block of groups takes its rows of it)."""
    return rng.gamma(100.0, 0.01, shape)


def start_locals(q, E, K, data, hyper, dim, block, layout, concentration):
    """θ at ``concentration``, z from it, then the block iterated."""
    (theta, family, point, *_), z_row = block
    _set_state(q, E, theta, family, point, {"concentration": concentration})
    _update_latent(q, E, K, data, hyper, dim, z_row)
    iterate_gated(q, E, K, data, hyper, dim, block, GATED_ITERS, LOCAL_TOL, layout)


# k-means of the groups (gated_start): the best of CLUSTER_RUNS k-means++
# seedings and their Lloyd steps (at most CLUSTER_STEPS), on at most
# CLUSTER_SAMPLE groups drawn at random; every group then takes its nearest
# center.
CLUSTER_RUNS = 4
CLUSTER_STEPS = 10
CLUSTER_SAMPLE = 20000


def group_labels(data, dim, layout, clusters, rng):
    """A cluster per group: k-means of the groups' features (``_group_features``)
    into ``clusters`` (or None when the rows have no Categorical data)."""
    return cluster_groups(_group_features(data, dim, layout), clusters, rng)


def cluster_groups(Y, clusters, rng):
    """A cluster per row of the groups' features ``Y`` (``group_labels``), or
    None without features."""
    if Y is None:
        return None
    sample = np.arange(Y.shape[0])
    if sample.size > CLUSTER_SAMPLE:
        sample = np.sort(rng.choice(sample.size, CLUSTER_SAMPLE, replace=False))
    X, best = Y[sample], (np.inf, None)
    norms = np.asarray(X.multiply(X).sum(axis=1)).reshape(-1)  # (each row's |x|², once)
    for _ in range(CLUSTER_RUNS):
        centers = _lloyd_sparse(X, norms, _seed_sparse(X, norms, clusters, rng), CLUSTER_STEPS)
        inertia = _sparse_distances(X, norms, centers).min(axis=1).sum()
        if inertia < best[0]:
            best = (inertia, centers)
    norms = np.asarray(Y.multiply(Y).sum(axis=1)).reshape(-1)
    return np.argmin(_sparse_distances(Y, norms, best[1]), axis=1)


def _group_features(data, dim, layout):
    """Per group, the square roots of its rows' category frequencies of each
    Categorical data array on the rows (a sparse groups × categories matrix:
    the Hellinger geometry, every group with rows at distance at most √2 per
    array from another; counts and 0/1 masks weigh the rows), or None."""
    index, groups = data[layout["index"]], dim[layout["G"]]
    weight = data.get(globals().get("ROW_WEIGHTS", {}).get(LOCAL_BLOCK[-1]))
    weight = np.ones(index.size) if weight is None else np.asarray(weight, dtype=float)
    parts = []
    for name, shape, dtype, categories, family in DATA_SPEC:
        if family != "Categorical" or dtype != "int" or len(shape) != 1 \
                or shape[0] != layout["R"] or name not in data:
            continue
        values = np.where(weight > 0, data[name], 0)  # (a missing row weighs 0)
        counts = spsparse.csr_matrix((weight, (index, values)),
                                     shape=(groups, dim[categories]))
        totals = np.asarray(counts.sum(axis=1)).reshape(-1)
        counts = spsparse.diags(1.0 / np.maximum(totals, np.finfo(float).tiny)) @ counts
        parts.append(counts.sqrt())
    return spsparse.hstack(parts, format="csr") if parts else None


def _sparse_distances(X, norms, centers):
    """rows × centers squared distances of sparse rows (their squared norms
    ``norms``) to dense centers."""
    d = norms[:, None] - 2.0 * (X @ centers.T) + (centers ** 2).sum(axis=1)
    return np.maximum(d, 0.0)


def _seed_sparse(X, norms, clusters, rng):
    """k-means++ on sparse rows (kmeans.py's seeding): each next center drawn
    ∝ D², the best of 2 + log k draws kept."""
    trials = 2 + int(np.log(clusters))
    chosen = [int(rng.integers(X.shape[0]))]
    closest = _sparse_distances(X, norms, X[chosen].toarray())[:, 0]
    for _ in range(1, clusters):
        total = closest.sum()
        p = closest / total if total > 0 else np.full(closest.size, 1.0 / closest.size)
        candidates = rng.choice(closest.size, size=trials, p=p)
        distances = np.minimum(closest[:, None],
                               _sparse_distances(X, norms, X[candidates].toarray()))
        best = int(np.argmin(distances.sum(axis=0)))
        chosen.append(int(candidates[best]))
        closest = distances[:, best]
    return X[chosen].toarray()


def _lloyd_sparse(X, norms, centers, steps):
    """Up to ``steps`` Lloyd steps; a center that loses its rows stays put."""
    labels = np.argmin(_sparse_distances(X, norms, centers), axis=1)
    for _ in range(steps):
        member = spsparse.csr_matrix((np.ones(labels.size), (labels, np.arange(labels.size))),
                                     shape=(centers.shape[0], labels.size))
        mass = np.bincount(labels, minlength=centers.shape[0])
        kept = mass > 0
        centers[kept] = (member @ X).toarray()[kept] / mass[kept, None]
        new = np.argmin(_sparse_distances(X, norms, centers), axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    return centers


def gated_loop(q, E, K, data, hyper, dim, block, iters, tol):
    """local_loop.block_to_convergence's gated case: ``iterate_gated`` on a
    block of rows (an SVI minibatch, a chunk), or None where the block is not
    gated."""
    layout = local_layout(data, dim) if len(block) == 2 else None
    if layout is not None and layout["index"] \
            and _plain(q, E, [row[0] for row in block], dim, layout) \
            and gated_dirichlet(q, E, K, data, hyper, dim, block, layout):
        return iterate_gated(q, E, K, data, hyper, dim, block, iters, tol, layout)
    return None
