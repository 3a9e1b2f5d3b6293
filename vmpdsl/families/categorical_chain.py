"""Chain blocks: one q over every element of a Markov chain (derive/chains.py).

A chain latent's q is exact given the rest of the model: it is the chain whose
log potentials are the VMP coefficients of its statistics,

    log q(z) = Σ_t <C_onehot[t], [z_t]> + Σ_{t≥1} <C_pair[t], [z_{t-1}] [z_t]ᵀ> − log Z,

(``C_prev_onehot[t]`` belongs to element t−1), so its marginals, pairwise
marginals and log normalizer come from forward–backward (CategoricalChain) or
from a Kalman filter and RTS smoother in information form (GaussianChain).
The time axis is the last plate axis (-2 for a Categorical's onehot, -2 for a
Gaussian's x); leading axes are independent sequences.  The ELBO share of a
chain just updated is log Z (``bound_share``); its entropy is log Z − <C, E[u]>.

An element with no potential at all (no node term, no edge in or out: the
padding after a sequence's last observation, whose factors are masked; see
runtime/chains.py) is not part of the model: its uniform (Categorical)
or standard normal (Gaussian) stand-in is independent of the rest and its
log-normalizer and entropy terms are taken out again.

A q given without its pairwise part (a user's ``init``, or the random start:
probabilities per element) is the chain with independent elements: its
pairwise expectations are products of marginals, its entropy a sum.
"""
import numpy as np

from ..runtime.helpers import first_index, found_at, simplex_problem
from .family import Family


# ------------------------------------------------------------ categorical chain
def categoricalchain_potentials(coeffs):
    """Node (…, T, K) and edge (…, T, K, K) log potentials from the coefficients;
    the edge at t couples z_{t-1} (rows) and z_t (columns); edge[…, 0] is unused."""
    node = np.array(coeffs["onehot"], dtype=float)
    prev = np.asarray(coeffs.get("prev_onehot", 0.0), dtype=float)
    if np.ndim(prev):
        node[..., :-1, :] += np.broadcast_to(prev, node.shape)[..., 1:, :]
    edge = np.broadcast_to(np.asarray(coeffs.get("pair", 0.0), dtype=float),
                           node.shape + node.shape[-1:])
    return node, edge


def categoricalchain_absent(node, edge):
    """Elements with no potential (node, edge in, edge out all zero), (…, T)."""
    free = np.all(node == 0, -1) & np.all(edge == 0, (-2, -1))
    free[..., :-1] &= np.all(edge[..., 1:, :, :] == 0, (-2, -1))
    return free


def categoricalchain_forward(phi, psi):
    """Scaled forward pass: filtered α̂ (…, T, K) and the scales c (…, T).
    ``psi`` (…, T−1, K, K) holds the step matrices exp(edge); with length 1
    along that axis, one matrix serves every step."""
    if phi.ndim == 2:
        return categoricalchain_forward_one(phi, psi)
    alpha = np.empty_like(phi)
    scale = np.empty(phi.shape[:-1])
    a = phi[..., 0, :]
    for t in range(phi.shape[-2]):
        if t:
            m = psi[..., min(t - 1, psi.shape[-3] - 1), :, :]
            a = (a[..., None, :] @ m)[..., 0, :] * phi[..., t, :]
        c = a.sum(-1)
        a = a / c[..., None]
        alpha[..., t, :] = a
        scale[..., t] = c
    return alpha, scale


def categoricalchain_forward_one(phi, psi):
    """The forward pass of one sequence: vector–matrix products, the hot loop."""
    T, K = phi.shape
    alpha, scale, ones = np.empty((T, K)), np.empty(T), np.ones(K)
    a = phi[0] * 1.0
    shared = psi.shape[0] == 1
    m = psi[0] if T > 1 else None
    for t in range(T):
        if t:
            a = a @ (m if shared else psi[t - 1])
            a *= phi[t]
        c = a @ ones
        a /= c
        alpha[t] = a
        scale[t] = c
    return alpha, scale


def categoricalchain_backward(phi, psi, scale):
    """Scaled backward pass: β̂ (…, T, K), with β̂_t = Σ ψ φ β̂_{t+1} / c_{t+1}."""
    weight = phi / scale[..., None]
    beta = np.empty_like(phi)
    b = np.ones(phi.shape[:-2] + phi.shape[-1:])
    beta[..., -1, :] = b
    shared = psi.shape[-3] == 1
    for t in range(phi.shape[-2] - 1, 0, -1):
        m = psi[..., 0 if shared else t - 1, :, :]
        b = (m @ (weight[..., t, :] * b)[..., None])[..., 0]
        beta[..., t - 1, :] = b
    return beta


def categoricalchain_smooth(phi, psi, pair):
    """Forward–backward, step by step: filtered α̂, marginals and log Σ α̃_{T−1}
    (the log normalizer of φ and ψ); the pair marginals of the steps t ≥ 1 are
    written into ``pair`` (…, T − 1, K, K)."""
    alpha, scale = categoricalchain_forward(phi, psi)
    beta = categoricalchain_backward(phi, psi, scale)
    np.multiply(alpha[..., :-1, :, None], psi, out=pair)
    pair *= (phi[..., 1:, :] * beta[..., 1:, :] / scale[..., 1:, None])[..., None, :]
    return alpha, alpha * beta, np.log(scale).sum(-1)


def categoricalchain_smooth_blocks(phi, psi, pair):
    """The same for one long sequence, by blocks of √T steps (categoricalchain_prefix):
    O(√T) Python steps instead of O(T).  Forward and backward vectors come
    with arbitrary positive scales, so marginals and pair marginals are
    normalized per step, which is exact."""
    T, K = phi.shape
    block = int(np.ceil(np.sqrt(T)))
    mats = np.empty((-(-T // block) * block, K, K))  # padded with identities
    mats[0], mats[1:T], mats[T:] = np.eye(K) * phi[0], psi * phi[1:, None, :], np.eye(K)
    alpha, log_norm = categoricalchain_prefix(mats, T, block)  # M_t = ψ_t diag(φ_t)
    mats[0], mats[1:T], mats[T:] = np.eye(K), np.swapaxes(psi[::-1], -1, -2), np.eye(K)
    mats[1:T] *= phi[:0:-1, :, None]  # backward: M_{T-1}ᵀ, …, M_1ᵀ
    beta = categoricalchain_prefix(mats, T, block)[0][::-1]
    del mats
    probs = alpha * beta
    probs /= probs.sum(-1, keepdims=True)
    np.multiply(alpha[:-1, :, None], psi, out=pair)
    pair *= (phi[1:] * beta[1:])[:, None, :]
    pair /= pair.sum((-2, -1), keepdims=True)
    return alpha, probs, log_norm[-1]


def categoricalchain_prefix(mats, n, block):
    """v_t = 1ᵀ mats[0] ⋯ mats[t] for t < n, as normalized vectors and log Σ v_t.
    ``mats`` holds whole blocks (padded past n); it is overwritten: within every
    block at once, by the running product of the block's matrices (scaled by
    their maxima); then the blocks are joined in order."""
    K = mats.shape[-1]
    count = mats.shape[0] // block
    runs = mats.reshape(count, block, K, K)
    logs = np.zeros((count, block))
    for j in range(block):
        if j:
            runs[:, j] = runs[:, j - 1] @ runs[:, j]
            logs[:, j] = logs[:, j - 1]
        top = runs[:, j].max((-2, -1))
        runs[:, j] /= top[:, None, None]
        logs[:, j] += np.log(top)
    starts, start_logs = np.empty((count, K)), np.empty(count)
    v, lv = np.full(K, 1.0 / K), np.log(K)
    for b in range(count):
        starts[b], start_logs[b] = v, lv
        w = v @ runs[b, -1]
        total = w.sum()
        v, lv = w / total, lv + np.log(total) + logs[b, -1]
    out = np.einsum("bk,bjkl->bjl", starts, runs).reshape(count * block, K)[:n]
    sums = out.sum(-1)
    log_norm = (start_logs[:, None] + logs).reshape(-1)[:n] + np.log(sums)
    return out / sums[:, None], log_norm


def categoricalchain_params_from_coeffs(coeffs):
    node, edge = categoricalchain_potentials(coeffs)
    if node.shape[-2] == 0:  # an empty chain (T = 0): nothing to infer
        zero = np.zeros(node.shape[:-2])
        return {"probs": node, "pair": np.asarray(edge), "log_normalizer": zero,
                "entropy": zero, "filtered": node, "node": node, "edge": np.asarray(edge)}
    if not (np.all(np.isfinite(node)) and np.all(np.isfinite(edge[..., 1:, :, :]))):
        raise FloatingPointError("CategoricalChain coefficients must be finite")
    top = node.max(-1)
    phi = np.exp(node - top[..., None])
    steps = edge[..., 1:, :, :]
    lift = steps.max((-2, -1)) if steps.size else np.zeros(steps.shape[:-2])
    shared = steps.shape[-3] > 1 and bool(np.all(steps == steps[..., :1, :, :]))
    # one step matrix for all steps when they are equal (a homogeneous chain)
    if shared:
        psi = np.exp(steps[..., :1, :, :] - lift[..., :1, None, None])
    else:
        psi = np.exp(steps - lift[..., None, None])
    pair = np.empty(edge.shape)
    pair[..., 0, :, :] = 0.0  # no z[-1]
    smooth = (categoricalchain_smooth_blocks if phi.ndim == 2 and phi.shape[0] >= 1024
              else categoricalchain_smooth)  # one long sequence: by blocks of √T
    alpha, probs, log_norm = smooth(phi, psi, pair[..., 1:, :, :])
    absent = np.sum(categoricalchain_absent(node, edge), -1) * np.log(node.shape[-1])
    log_z = log_norm + top.sum(-1) + lift.sum(-1) - absent
    expected = (np.einsum("...tk,...tk->...", node, probs)
                + np.einsum("...tjk,...tjk->...", steps, pair[..., 1:, :, :]))
    return {"probs": probs, "pair": pair, "log_normalizer": log_z,
            "entropy": log_z - expected, "filtered": alpha, "node": node,
            "edge": np.asarray(edge)}


def categoricalchain_coeffs_from_params(params):
    return {"onehot": params["node"], "pair": params["edge"],
            "prev_onehot": np.zeros_like(params["node"])}


def categoricalchain_expectations(params):
    probs = np.asarray(params["probs"], dtype=float)
    prev = np.zeros_like(probs)
    prev[..., 1:, :] = probs[..., :-1, :]
    pair = params.get("pair")
    if pair is None:  # independent elements: the pair marginal is a product
        pair = prev[..., :, :, None] * probs[..., :, None, :]
    return {"onehot": probs, "prev_onehot": prev, "pair": np.asarray(pair, dtype=float)}


def categoricalchain_entropy(params):
    if "entropy" in params:
        return np.asarray(params["entropy"], dtype=float)
    probs = np.asarray(params["probs"], dtype=float)
    return -np.einsum("...tk,...tk->...", probs, np.log(np.maximum(probs, 1e-300)))


def categoricalchain_bound_share(coeffs, params):
    # Σ_s <C_s, E[u_s]> + H[q] = log Z for q the chain the coefficients define
    return np.asarray(params["log_normalizer"], dtype=float)


def categoricalchain_mode(params):
    """The most probable path of q (Viterbi, max-product on its potentials), one-hot."""
    path = categoricalchain_viterbi(params)
    return (np.arange(params["probs"].shape[-1]) == path[..., None]).astype(float)


def categoricalchain_viterbi(params):
    node, edge = np.asarray(params["node"]), np.asarray(params["edge"])
    score = node[..., 0, :]
    back = np.zeros(node.shape, dtype=np.intp)
    for t in range(1, node.shape[-2]):
        total = score[..., :, None] + edge[..., t, :, :]
        back[..., t, :] = np.argmax(total, axis=-2)
        score = np.max(total, axis=-2) + node[..., t, :]
    path = np.zeros(node.shape[:-1], dtype=np.intp)
    path[..., -1] = np.argmax(score, axis=-1)
    for t in range(node.shape[-2] - 1, 0, -1):
        path[..., t - 1] = np.take_along_axis(back[..., t, :], path[..., t, None], -1)[..., 0]
    return path


def categoricalchain_point_expectations(value):
    return categoricalchain_expectations({"probs": value})


def categoricalchain_sample(params, rng):
    """A path drawn from q: z_0 from its marginal, then z_t given z_{t-1}."""
    stats = categoricalchain_expectations(params)
    probs, pair = stats["onehot"], stats["pair"]
    path = np.zeros(probs.shape[:-1], dtype=np.intp)
    weights = probs[..., 0, :]
    for t in range(probs.shape[-2]):
        if t:
            weights = np.take_along_axis(pair[..., t, :, :], path[..., t - 1, None, None], -2)[..., 0, :]
        cumulative = np.cumsum(weights, -1)
        u = rng.random(weights.shape[:-1]) * cumulative[..., -1]
        path[..., t] = np.minimum(np.sum(cumulative <= u[..., None], -1), weights.shape[-1] - 1)
    return path


def categoricalchain_start(params, rng, plated):
    # Random probabilities per element (independent elements): the states a
    # chain selects are exchangeable until the assignments differ.
    probs = params["probs"]
    return {"probs": rng.dirichlet(np.ones(probs.shape[-1]), size=probs.shape[:-1])}


def categoricalchain_log_density(x, params):
    """log q(path) = log q(z_0) + Σ_t log q(z_t | z_{t-1})."""
    stats = categoricalchain_expectations(params)
    x = np.asarray(x).astype(int)
    probs, pair = stats["onehot"], stats["pair"]
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.log(np.take_along_axis(probs[..., 0, :], x[..., :1], -1)[..., 0])
        for t in range(1, x.shape[-1]):
            joint = pair[..., t, :, :][..., x[..., t - 1], x[..., t]] if x.ndim == 1 else \
                np.take_along_axis(np.take_along_axis(pair[..., t, :, :], x[..., t - 1, None, None], -2)[..., 0, :],
                                   x[..., t, None], -1)[..., 0]
            marginal = np.take_along_axis(probs[..., t - 1, :], x[..., t - 1, None], -1)[..., 0]
            total = total + np.log(joint) - np.log(marginal)
    return total


def categoricalchain_check_support(x, categories):
    values = np.asarray(x, dtype=float)
    bad = ~(np.isfinite(values) & (values == np.floor(values)) & (values >= 0) & (values < categories))
    if np.any(bad):
        return f"chain states must be integers in 0 .. {categories - 1}; {found_at(x, bad)}"
    return None


def categoricalchain_check_params(params):
    return simplex_problem(params["probs"], "CategoricalChain probs", "non-negative vectors",
                           "row")


CATEGORICAL_CHAIN = Family(
    name="CategoricalChain", stats=("onehot", "prev_onehot", "pair"),
    param_names=("probs", "pair", "log_normalizer", "entropy", "filtered", "node", "edge"),
    event_rank={"onehot": 1, "prev_onehot": 1, "pair": 2}, value_rank=0,
    posterior="CategoricalChain",
    params_from_coeffs=categoricalchain_params_from_coeffs,
    coeffs_from_params=categoricalchain_coeffs_from_params,
    expectations=categoricalchain_expectations, entropy=categoricalchain_entropy,
    mode=categoricalchain_mode, point_expectations=categoricalchain_point_expectations,
    sample=categoricalchain_sample, log_density=categoricalchain_log_density,
    bound_share=categoricalchain_bound_share, start=categoricalchain_start, start_leads=True,
    check_support=categoricalchain_check_support,
    check_params=categoricalchain_check_params,
    helpers=(first_index, found_at, simplex_problem),
    internals=(categoricalchain_potentials, categoricalchain_absent, categoricalchain_forward,
               categoricalchain_forward_one, categoricalchain_backward, categoricalchain_smooth,
               categoricalchain_prefix, categoricalchain_smooth_blocks,
               categoricalchain_viterbi),
)
