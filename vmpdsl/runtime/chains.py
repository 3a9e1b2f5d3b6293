"""Slice masks, part of every emitted module (copied verbatim; numpy only).

A sliced plate ``for t in T[1:]`` is the whole plate times a 0/1 mask
(derive/chains.py); ``SLICE_MASKS`` lists them as rows
``(key, dims, start, stop, sources)``: the mask is 1 for start ≤ t < stop
(``stop`` None: to the end; negative: from the end; positive: absolute, the
[0:1] of a chain's first element).  A chain's own masks span its plates
(outer dims, then T) and, when the model carries missing-data masks
(``fit(missing="skip")``), end each sequence at its last observation: the
``sources`` are the observed-masks of the data over the chain's plates, and a
sequence padded with trailing NaN has as many elements as it has steps up to
its last observed one.
"""
import numpy as np


def bind_slice_masks(dim, arrays):
    """Add every slice mask of SLICE_MASKS to the bound data ``arrays``."""
    for key, dims, start, stop, sources in globals().get("SLICE_MASKS", ()):
        size = dim[dims[-1]]
        t = np.arange(size)
        end = size if stop is None else (min(stop, size) if stop > 0 else size + stop)
        mask = ((t >= start) & (t < end)).astype(float)
        shape = tuple(dim[d] for d in dims)
        present = [arrays[s] for s in sources if s in arrays]
        if present:
            mask = mask * (t < sequence_lengths(present, len(dims))[..., None])
        arrays[key] = np.broadcast_to(mask, shape)


def sequence_lengths(masks, axes):
    """Each sequence's length: 1 + its last position observed in any mask
    (0 when none is); the masks' first ``axes`` axes are (sequences…, T)."""
    observed = np.zeros(masks[0].shape[:axes], dtype=bool)
    for mask in masks:
        extra = tuple(range(axes, np.ndim(mask)))
        observed |= np.any(mask > 0, axis=extra) if extra else mask > 0
    size = observed.shape[-1]
    if size == 0:  # T = 0: every sequence is empty (argmax has nothing to scan)
        return np.zeros(observed.shape[:-1], dtype=int)
    last = size - np.argmax(observed[..., ::-1], axis=-1)
    return np.where(observed.any(-1), last, 0)


def _predict_chain(result, new_data, samples, seed, z):
    """A hidden Markov chain's predictive for new sequences, integrated over q
    of the globals by Monte Carlo (exact when they are all points): per draw
    θ_s the forward pass gives log p(x_{≤t} | θ_s) and the filtered states
    p(z_t | x_{≤t}, θ_s); averaged over draws, the one-step-ahead predictive
    log p(x_t | x_{<t}) = log p̂(x_{≤t}) − log p̂(x_{<t}) and the filtered
    states weighted by p(x_{≤t} | θ_s)."""
    dim, data = _bind_new(result, new_data)
    q, E, K, hyper = fixed_state(result, dim, data)
    update = next(row[3] for row in UPDATES if row[0] == z)
    points = {row[0]: row[4] for row in LATENTS}
    random = [(name, FAMILY_FUNCTIONS[q_family(name)], params)
              for name, params in result["posterior"].items() if name != z and not points[name]]
    if not (isinstance(samples, (int, np.integer)) and samples >= 1):
        raise DataError(f"samples must be a positive whole number, got {samples!r}")
    draws = samples if random else 1
    rng = np.random.default_rng(seed)
    log_norm, filtered = None, None
    for _ in range(draws):
        E_s = dict(E)
        for name, functions, params in random:
            E_s[name] = functions["point_expectations"](functions["sample"](params, rng))
        cumulative, alpha = _chain_forward(update(E_s, K, data, hyper, dim))
        if log_norm is None:
            log_norm, filtered = cumulative, alpha
            continue
        total = np.logaddexp(log_norm, cumulative)
        filtered = (filtered * np.exp(log_norm - total)[..., None]
                    + alpha * np.exp(cumulative - total)[..., None])
        log_norm = total
    log_joint = log_norm - np.log(draws)  # log p̂(x_{≤t})
    one_step = np.diff(log_joint, axis=-1, prepend=0.0)
    sampled = ", ".join(name for name, *_ in random)
    return {"observed": [spec[0] for spec in DATA_SPEC], "log_density": log_joint[..., -1],
            "one_step": one_step, "filtered": filtered,
            "method": f"monte carlo over q({sampled}), {draws} draws (seed {seed})"
            if random else "exact", "samples": draws if random else 0}


def q_family(name):
    return next(row[1] for row in LATENTS if row[0] == name)


def _chain_forward(coeffs):
    """log p(x_{≤t}) for every t, and the filtered states, of one Categorical
    chain whose coefficients hold the full log densities (points plugged in)."""
    node, edge = categoricalchain_potentials(coeffs)
    top = node.max(-1)
    steps = edge[..., 1:, :, :]
    lift = steps.max((-2, -1)) if steps.size else np.zeros(steps.shape[:-2])
    psi = np.exp(steps - lift[..., None, None])
    alpha, scale = categoricalchain_forward(np.exp(node - top[..., None]), psi)
    step_log = np.log(scale) + top
    step_log[..., 1:] += lift
    return np.cumsum(step_log, -1), alpha
