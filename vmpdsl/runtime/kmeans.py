"""k-means++ starts of mixture indicators (copied verbatim into emitted
modules; numpy only).  derive/starts.py decides at compile time which
Categorical latents gate which real-valued data (``KMEANS_STARTS``); here
their responsibilities start as the hard labels of k-means on those rows:
D² seeding with greedy local trials (Arthur & Vassilvitskii 2007; as in
scikit-learn) and a few Lloyd steps, each O(N K D).  The columns are
standardized first, so that units do not decide which one separates the
clusters.  Duplicate rows merged into counts (``ROW_WEIGHTS``) weigh by their
count; a missing observation (``fit(missing="skip")``) sits at its column's
mean, and a row with none observed starts uniform.
"""
import numpy as np

# Lloyd steps after the seeding: VB refines the start, which need not be a
# converged k-means; the cap keeps the start's cost at a few sweeps'.
LLOYD_STEPS = 10
# Seedings tried, the lowest within-cluster sum of squares kept: one seeding
# may put two centers in one cluster and one between two (a k-means optimum).
RUNS = 4
# Rows the k-means runs see at most (a uniform sample); every row is then
# assigned to its nearest center once, so a large N costs one O(N K D) pass.
SAMPLE = 20000
# Each row's share of responsibility spread over all components: a component
# k-means leaves empty still sees every row (an EM M-step of a param without
# a prior, gmm_em's mu, is then defined).
SHARED = 0.01


def kmeans_start(name, params, data, rng):
    """Starting responsibilities of ``name`` (a row of KMEANS_STARTS): one-hot
    rows of the k-means labels of its gated data, in ``params``' shape."""
    probs = params["probs"]
    rows, K = int(np.prod(probs.shape[:-1])), probs.shape[-1]
    if rows == 0:
        return {"probs": np.full(probs.shape, 1.0 / K)}
    values, present, weight = kmeans_rows(name, data, rows)
    if not weight.sum() > 0 or values.shape[1] == 0:  # nothing observed to cluster
        return {"probs": np.full(probs.shape, 1.0 / K)}
    sample = _sample(weight, rng, SAMPLE)
    fitted = kmeans_centers(values[sample], present[sample], weight[sample], K, rng)
    return {"probs": kmeans_labels(fitted, values, present, weight).reshape(probs.shape)}


def kmeans_rows(name, data, rows):
    """(values, 1 where observed, weight) of the rows ``name`` gates: each
    row's weight its count (ROW_WEIGHTS), 0 where nothing is observed."""
    values, present = _gated_columns(dict(KMEANS_STARTS)[name], data, rows)
    counts = data.get(globals().get("ROW_WEIGHTS", {}).get(name), np.ones(rows))
    weight = np.asarray(counts, dtype=float)
    return values, present, weight.reshape(rows) * present.any(axis=1)


def kmeans_centers(values, present, weight, K, rng):
    """k-means on the sampled rows: (centers, column means, column scales),
    the columns standardized by the sample's own moments — so a chunked fit,
    which reads only the sample (vmpdsl/chunk_starts.py), gets these numbers."""
    mean, scale = _scaling(values, present, weight)
    X = _standardized(values, present, mean, scale)
    return _best_of(X, weight, K, rng, RUNS), mean, scale


def kmeans_labels(fitted, values, present, weight):
    """Each row's starting responsibilities: its nearest center's label
    (1 − SHARED of it), uniform for a row with nothing observed."""
    centers, mean, scale = fitted
    K = len(centers)
    X = _standardized(values, present, mean, scale)
    labels = np.argmin(_squared_distances(X, centers), axis=1)
    start = (1.0 - SHARED) * (labels[:, None] == np.arange(K)) + SHARED / K
    start[weight == 0] = 1.0 / K
    return start


def _sample(weight, rng, size):
    """The rows k-means runs on: all rows in use, or ``size`` of them at random."""
    rows = np.flatnonzero(weight > 0)
    return rows if len(rows) <= size else np.sort(rng.choice(rows, size, replace=False))


def _best_of(X, weight, K, rng, runs):
    """The centers of the best of ``runs`` k-means++ seedings and their Lloyd
    steps (the lowest weighted within-cluster sum of squares)."""
    best, kept = np.inf, None
    for _ in range(runs):
        centers = _seed(X, weight, K, rng)
        labels = _lloyd(X, weight, centers, LLOYD_STEPS)
        inertia = weight @ ((X - centers[labels]) ** 2).sum(axis=1)
        if inertia < best:
            best, kept = inertia, centers
    return kept


def _gated_columns(gated, data, rows):
    """(values, 1 where observed) of the gated arrays side by side: rows ×
    columns, each array's axes after the rows flattened into columns."""
    values, present = [], []
    for array, mask in gated:
        value = np.asarray(data[array], dtype=float)
        values.append(value.reshape(rows, -1))
        seen = np.ones(value.shape) if mask is None else np.broadcast_to(
            np.reshape(data[mask], np.shape(data[mask]) + (1,) * (value.ndim - np.ndim(data[mask]))),
            value.shape)
        present.append(np.asarray(seen, dtype=float).reshape(rows, -1))
    return np.concatenate(values, axis=1), np.concatenate(present, axis=1) > 0


def _scaling(values, present, weight):
    """Each column's weighted observed mean and sd (1 for a constant column)."""
    w = present * weight[:, None]
    mass = np.maximum(w.sum(axis=0), np.finfo(float).tiny)
    mean = (w * values).sum(axis=0) / mass
    sd = np.sqrt((w * np.where(present, values - mean, 0.0) ** 2).sum(axis=0) / mass)
    return mean, np.where(sd > 0, sd, 1.0)


def _standardized(values, present, mean, scale):
    """The columns centred and scaled; missing entries at 0, the mean."""
    return np.where(present, values - mean, 0.0) / scale


def _squared_distances(X, centers):
    """rows × centers squared distances (one matrix product)."""
    d = (X ** 2).sum(axis=1)[:, None] - 2.0 * X @ centers.T + (centers ** 2).sum(axis=1)
    return np.maximum(d, 0.0)


def _seed(X, weight, K, rng):
    """k-means++: each next center drawn ∝ weight · D² (the squared distance to
    the nearest center so far), the best of 2 + log K draws kept.  With fewer
    distinct rows than K the potential reaches 0: the rest repeat a row."""
    trials = 2 + int(np.log(K))
    centers = np.empty((K, X.shape[1]))
    centers[0] = X[rng.choice(len(X), p=weight / weight.sum())]
    closest = _squared_distances(X, centers[:1])[:, 0]
    for k in range(1, K):
        potential = weight * closest
        total = potential.sum()
        p = potential / total if total > 0 else weight / weight.sum()
        candidates = rng.choice(len(X), size=trials, p=p)
        distances = np.minimum(closest[:, None], _squared_distances(X, X[candidates]))
        best = int(np.argmin(weight @ distances))
        centers[k], closest = X[candidates[best]], distances[:, best]
    return centers


def _lloyd(X, weight, centers, steps):
    """Up to ``steps`` Lloyd steps (assign, then weighted means); a center
    that loses all its rows stays where it is.  Returns the labels."""
    labels = np.argmin(_squared_distances(X, centers), axis=1)
    for _ in range(steps):
        mass = np.bincount(labels, weight, minlength=len(centers))
        sums = np.stack([np.bincount(labels, weight * column, minlength=len(centers))
                         for column in X.T], axis=1)
        kept = mass > 0
        centers[kept] = sums[kept] / mass[kept, None]
        new = np.argmin(_squared_distances(X, centers), axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


# After the climb, the smallest component is tried without while it holds
# under half a share of the components in use: VB keeps a component on a few
# rows between clusters, or on part of a cluster that k-means' extra centers
# split, as a local optimum.  The cap bounds the extra climbs.
DELETE_TRIES = 3
# A merge of the two components sharing the most rows is tried too when they
# share this much: VB keeps two components on overlapping clusters that one
# component explains with a higher ELBO (as a random start finds).
MERGE_OVERLAP = 0.01


def delete_and_merge(q, E, data, init, trace, converged, climb_from):
    """The delete and merge moves: each KMEANS_STARTS latent's smallest
    component emptied (its rows' responsibilities renormalized over the
    others), else its two most overlapping components merged, and climbed
    again by ``climb_from(q, E)``; a move is kept only if that succeeds with a
    higher final ELBO, and the moves are tried again while one is kept.
    Returns the (trace, converged) of the climb kept (its trace starts from
    the deletion); updates q and E in place."""
    for name in move_latents(q, init):
        weight = data.get(globals().get("ROW_WEIGHTS", {}).get(name))

        def climb(plan, name=name):
            trial_q, trial_E = dict(q), dict(E)
            _set_state(trial_q, trial_E, name, "Categorical", False,
                       {"probs": moved(q[name]["probs"], plan)})
            again, settled = climb_from(trial_q, trial_E)
            return again, settled, lambda: (q.update(trial_q), E.update(trial_E))

        trace, converged = try_moves(lambda: move_sums(q[name]["probs"], weight), climb,
                                     trace, converged)
    return trace, converged


def move_latents(q, init):
    """The KMEANS_STARTS latents the moves apply to: not given by the user,
    not a point indicator (no share to move)."""
    return [name for name, _ in KMEANS_STARTS if name not in init and "probs" in q[name]]


def try_moves(sums, climb, trace, converged):
    """Up to DELETE_TRIES rounds of the moves of one latent: ``sums()`` gives
    its (mass, co-membership) over all rows (move_sums, summed over blocks in
    a chunked fit), ``climb(plan)`` climbs from the move applied row by row
    and returns (trace, converged, keep); ``keep()`` makes that state the
    fit's.  Returns the (trace, converged) kept."""
    for _ in range(DELETE_TRIES if trace else 0):
        mass, cross = sums()
        for plan in (_delete_plan(mass), _merge_plan(mass, cross)):
            if plan is None:
                continue
            try:
                again, settled, keep = climb(plan)
            except (FitError, FloatingPointError, np.linalg.LinAlgError):
                continue  # e.g. an EM M-step of an emptied component
            if again and again[-1] > trace[-1] + ROUNDING * abs(trace[-1]):
                keep()
                trace, converged = again, settled
                break
        else:
            break  # no move raised the ELBO
    return trace, converged


def move_sums(probs, weight):
    """(Σ_n w_n r_n, Σ_n w_n r_n r_nᵀ) of responsibilities ``probs``: the
    components' masses and co-memberships, sums over rows (so over blocks)."""
    rows = probs.reshape(-1, probs.shape[-1])
    weighted = rows if weight is None else rows * np.reshape(weight, (-1, 1))
    return weighted.sum(axis=0), weighted.T @ rows


def _merge_plan(mass, cross):
    """("merge", j, k): the two components that share the most rows (their
    overlap Σ_n r_nj r_nk / sqrt(m_j m_k) above MERGE_OVERLAP), or None."""
    overlap = cross / np.sqrt(np.outer(mass, mass) + np.finfo(float).tiny)
    np.fill_diagonal(overlap, 0.0)
    overlap[mass < 0.5] = 0.0
    overlap[:, mass < 0.5] = 0.0
    j, k = np.unravel_index(np.argmax(overlap), overlap.shape)
    return None if overlap[j, k] <= MERGE_OVERLAP else ("merge", int(j), int(k))


def _delete_plan(mass):
    """("delete", k): the smallest component, when it is in use (half a row
    or more) and under half its share of the components in use; else None."""
    in_use = mass >= 0.5
    if in_use.sum() < 2:
        return None
    smallest = int(np.argmin(np.where(in_use, mass, np.inf)))
    if mass[smallest] >= 0.5 * mass.sum() / in_use.sum():
        return None
    return ("delete", smallest)


def moved(probs, plan):
    """``probs`` after the move ``plan``, row by row: a deleted component's
    share renormalized over the others (uniform over them where it held all),
    or a merged pair's summed into the first."""
    rows = probs.reshape(-1, probs.shape[-1])
    kept = rows.copy()
    if plan[0] == "merge":
        _, j, k = plan
        kept[:, j] += kept[:, k]
        kept[:, k] = 0.0
        return kept.reshape(probs.shape)
    smallest = plan[1]
    kept[:, smallest] = 0.0
    total = kept.sum(axis=1, keepdims=True)
    spread = np.where(np.arange(rows.shape[1]) == smallest, 0.0, 1.0) / (rows.shape[1] - 1)
    return np.where(total > 0, kept / np.maximum(total, 1e-300), spread).reshape(probs.shape)
