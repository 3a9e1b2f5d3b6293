"""A chain block's q against brute force: forward–backward against enumeration
of every path (T = 6, K = 3), the information-form smoother against the joint
Gaussian of all elements; batches of sequences; the independent start."""
import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from vmpdsl.families.categorical_chain import (
    categoricalchain_entropy, categoricalchain_expectations, categoricalchain_params_from_coeffs,
    categoricalchain_smooth, categoricalchain_smooth_blocks, categoricalchain_viterbi)
from vmpdsl.families.gaussian_chain import (gaussianchain_expectations,
                                            gaussianchain_params_from_coeffs)


def categorical_coeffs(rng, T, K, batch=()):
    return {"onehot": rng.normal(size=batch + (T, K)),
            "prev_onehot": rng.normal(size=batch + (T, K)),
            "pair": rng.normal(size=batch + (T, K, K))}


def enumerate_chain(coeffs):
    """Every path's log potential: exact marginals, pair marginals, log Z, entropy, argmax."""
    node, prev, pair = coeffs["onehot"], coeffs["prev_onehot"], coeffs["pair"]
    T, K = node.shape
    paths = np.array(list(itertools.product(range(K), repeat=T)))
    t = np.arange(T)
    score = node[t, paths].sum(1) + prev[t[1:], paths[:, :-1]].sum(1) \
        + pair[t[1:], paths[:, :-1], paths[:, 1:]].sum(1)
    log_z = logsumexp(score)
    p = np.exp(score - log_z)
    probs = np.zeros((T, K))
    pairs = np.zeros((T, K, K))
    for path, weight in zip(paths, p):
        probs[t, path] += weight
        pairs[t[1:], path[:-1], path[1:]] += weight
    return probs, pairs, log_z, -np.sum(p * np.log(p)), paths[np.argmax(score)]


@pytest.mark.parametrize("seed", range(4))
def test_forward_backward_equals_enumeration(seed):
    rng = np.random.default_rng(seed)
    coeffs = categorical_coeffs(rng, T=6, K=3)
    coeffs["pair"][0] = rng.normal(size=(3, 3))  # pair[0] has no z[-1]: must be ignored
    probs, pairs, log_z, entropy, best = enumerate_chain(dict(coeffs, pair=np.where(
        np.arange(6)[:, None, None] > 0, coeffs["pair"], 0.0)))
    q = categoricalchain_params_from_coeffs(coeffs)
    np.testing.assert_allclose(q["probs"], probs, atol=1e-12)
    np.testing.assert_allclose(q["pair"], pairs, atol=1e-12)
    np.testing.assert_allclose(q["log_normalizer"], log_z, rtol=1e-12)
    np.testing.assert_allclose(q["entropy"], entropy, rtol=1e-10)
    np.testing.assert_array_equal(categoricalchain_viterbi(q), best)
    stats = categoricalchain_expectations(q)
    np.testing.assert_allclose(stats["prev_onehot"][1:], probs[:-1], atol=1e-12)


def test_sequences_in_a_batch_are_independent_chains():
    rng = np.random.default_rng(5)
    coeffs = categorical_coeffs(rng, T=5, K=2, batch=(3,))
    q = categoricalchain_params_from_coeffs(coeffs)
    for s in range(3):
        one = categoricalchain_params_from_coeffs({k: v[s] for k, v in coeffs.items()})
        for key in ("probs", "pair", "log_normalizer", "entropy"):
            np.testing.assert_allclose(q[key][s], one[key], atol=1e-13)


def test_shared_transition_takes_the_same_path_as_a_varying_one():
    rng = np.random.default_rng(6)
    coeffs = categorical_coeffs(rng, T=7, K=3)
    coeffs["pair"] = np.broadcast_to(rng.normal(size=(3, 3)), (7, 3, 3))
    shared = categoricalchain_params_from_coeffs(coeffs)
    varied = dict(coeffs, pair=coeffs["pair"] + np.arange(7)[:, None, None] * 1e-300)
    brute = enumerate_chain(coeffs)
    np.testing.assert_allclose(shared["probs"], brute[0], atol=1e-12)
    np.testing.assert_allclose(categoricalchain_params_from_coeffs(varied)["probs"],
                               brute[0], atol=1e-12)


def test_independent_start_has_product_pairs_and_summed_entropy():
    probs = np.random.default_rng(7).dirichlet(np.ones(3), size=4)
    stats = categoricalchain_expectations({"probs": probs})
    np.testing.assert_allclose(stats["pair"][2], np.outer(probs[1], probs[2]))
    assert categoricalchain_entropy({"probs": probs}) == pytest.approx(
        -np.sum(probs * np.log(probs)))


def gaussian_coeffs(rng, T, D, batch=()):
    def spd():
        B = rng.normal(size=batch + (T, D, D))
        return -(B @ np.swapaxes(B, -1, -2) + D * np.eye(D)) / 2
    return {"x": rng.normal(size=batch + (T, D)), "xx": spd(),
            "prev_x": rng.normal(size=batch + (T, D)), "prev_xx": 0.3 * spd(),
            "cross": 0.3 * rng.normal(size=batch + (T, D, D))}


def joint_gaussian(c):
    """The joint precision and linear term of all T·D elements, from the coefficients."""
    T, D = c["x"].shape
    J, h = np.zeros((T * D, T * D)), np.zeros(T * D)
    for t in range(T):
        s = slice(t * D, (t + 1) * D)
        h[s] += c["x"][t]
        J[s, s] -= c["xx"][t] + c["xx"][t].T
        if t:
            p = slice((t - 1) * D, t * D)
            h[p] += c["prev_x"][t]
            J[p, p] -= c["prev_xx"][t] + c["prev_xx"][t].T
            J[s, p] -= c["cross"][t]
            J[p, s] -= c["cross"][t].T
    return J, h


@pytest.mark.parametrize("seed", range(3))
def test_information_smoother_equals_the_joint_gaussian(seed):
    rng = np.random.default_rng(seed)
    T, D = 5, 2
    coeffs = gaussian_coeffs(rng, T, D)
    J, h = joint_gaussian(coeffs)
    cov = np.linalg.inv(J)
    mean = cov @ h
    log_z = 0.5 * h @ mean - 0.5 * np.linalg.slogdet(J)[1] + 0.5 * T * D * np.log(2 * np.pi)
    entropy = 0.5 * T * D * (1 + np.log(2 * np.pi)) - 0.5 * np.linalg.slogdet(J)[1]
    q = gaussianchain_params_from_coeffs(coeffs)
    stats = gaussianchain_expectations(q)
    second = cov + np.outer(mean, mean)
    np.testing.assert_allclose(stats["x"].ravel(), mean, atol=1e-10)
    for t in range(T):
        s = slice(t * D, (t + 1) * D)
        np.testing.assert_allclose(stats["xx"][t], second[s, s], atol=1e-10)
        if t:
            p = slice((t - 1) * D, t * D)
            np.testing.assert_allclose(stats["cross"][t], second[s, p], atol=1e-10)
            np.testing.assert_allclose(stats["prev_xx"][t], second[p, p], atol=1e-10)
    assert q["log_normalizer"] == pytest.approx(log_z, rel=1e-11)
    assert q["entropy"] == pytest.approx(entropy, rel=1e-11)


@pytest.mark.parametrize("shared", [True, False])
def test_blockwise_smoother_equals_the_step_by_step_one(shared):
    """Long single sequences take the √T-block route (categoricalchain_prefix);
    it must give the step-by-step forward–backward's answer."""
    rng = np.random.default_rng(11)
    T, K = 1500, 4
    node = 3.0 * rng.normal(size=(T, K))
    phi = np.exp(node - node.max(-1, keepdims=True))
    edge = 2.0 * rng.normal(size=(1 if shared else T - 1, K, K))
    psi = np.exp(edge - edge.max((-2, -1), keepdims=True))
    pairs = np.empty((2, T - 1, K, K))
    steps = categoricalchain_smooth(phi, psi, pairs[0])
    blocks = categoricalchain_smooth_blocks(phi, psi, pairs[1])
    for one, other in zip(steps[:2], blocks[:2]):
        np.testing.assert_allclose(one, other, atol=1e-12)
    np.testing.assert_allclose(pairs[0], pairs[1], atol=1e-12)
    assert blocks[2] == pytest.approx(steps[2], rel=1e-13)


def perturbed_elbos(m, data, name, perturb, sweeps=6, seed=0, **kwargs):
    """The ELBO right after the chain's own update (on the fitted state) and
    with the chain's q moved to the chain of perturbed potentials, the rest fixed."""
    import warnings
    module = m._compiled.module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = module.fit(dict(data), max_iter=sweeps, tol=0.0, seed=seed, **kwargs)
    dim, bound = module.bind_data(dict(data))
    K = module._constants(dim, bound, result["hypers"])
    q, E = dict(result["posterior"]), dict(result["expectations"])
    family = dict((row[0], row[1]) for row in module.LATENTS)[name]
    functions = module.FAMILY_FUNCTIONS[family]
    update = next(row[3] for row in module.UPDATES if row[0] == name)
    q[name] = functions["params_from_coeffs"](update(E, K, bound, result["hypers"], dim))
    E[name] = functions["expectations"](q[name])
    base = module.elbo_value(q, E, K, bound, result["hypers"], dim)
    moved = []
    for params in perturb(q[name]):
        moved.append(module.elbo_value(dict(q, **{name: params}),
                                       dict(E, **{name: functions["expectations"](params)}),
                                       K, bound, result["hypers"], dim))
    return base, np.array(moved)


def test_chain_q_is_coordinate_optimal():
    """Right after the chain's update, moving its q to the chain of nearby
    potentials (node and edge, both signs) never raises the ELBO: its entropy
    and expectations are those of the optimum."""
    from chain_cases import model, simulate_hmm
    rng = np.random.default_rng(13)
    x, _ = simulate_hmm(rng, 30, K=2, D=2)

    def perturb(params):
        for scale in (1e-4, -1e-4, 1e-2):
            noise = rng.normal(size=params["node"].shape)
            edge = np.array(params["edge"]) + scale * rng.normal(size=params["edge"].shape)
            yield categoricalchain_params_from_coeffs(
                {"onehot": params["node"] + scale * noise, "pair": edge})
    base, moved = perturbed_elbos(model("hmm"), {"x": x, "K": 2}, "z", perturb)
    assert np.all(moved <= base + 1e-10 * abs(base))
    assert np.all(moved < base)  # strictly: the perturbations are not no-ops


def test_gaussian_chain_q_is_coordinate_optimal():
    """The same for the Gaussian chain of lgssm: its smoothed means shifted."""
    from chain_cases import model, simulate_lgssm
    rng = np.random.default_rng(14)
    data, _ = simulate_lgssm(rng, 20)
    m = model("lgssm")

    def perturb(params):
        for scale in (1e-4, -1e-4, 1e-2):
            mean = np.asarray(params["mean"])
            yield dict(params, mean=mean + scale * rng.normal(size=mean.shape))
    base, moved = perturbed_elbos(m, data, "x", perturb)
    assert np.all(moved <= base + 1e-10 * abs(base))
    assert np.all(moved < base)
