"""The stochastic block model of LANGUAGE.md (two gates by elements of one
categorical, B[z[i], z[j]], updated one element at a time): its reported ELBO
equals the hand-written mean-field ELBO (diagonal i = j exact), never
decreases, ends at a fixed point where no row of q(z) can be improved, and
recovers planted partitions (ARI ≥ 0.95)."""
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from beyond_cases import sbm_elbo, sim_sbm
from engine_cases import Run, example, quiet_fit
from test_engine_monotone import assert_monotone


def noisy_start(rng, z, K, share=0.4):
    """Responsibilities at the truth, with a share of the rows random."""
    probs = np.eye(K)[z] * 0.8 + 0.2 / K
    wrong = rng.random(len(z)) < share
    probs[wrong] = rng.dirichlet(np.ones(K), size=int(wrong.sum()))
    return probs


@pytest.mark.parametrize("V,K,seed", [(60, 3, 0), (50, 2, 1)])
def test_recovers_a_planted_partition_from_a_noisy_start(V, K, seed):
    rng = np.random.default_rng(seed)
    data, truth = sim_sbm(rng, V=V, K=K)
    start = noisy_start(rng, truth["z"], K)
    assert adjusted_rand_score(truth["z"], start.argmax(1)) < 0.8
    fit = quiet_fit(example("sbm"), data, init={"z": start}, max_iter=200, tol=1e-12, seed=seed)
    assert_monotone(fit.elbo)
    assert adjusted_rand_score(truth["z"], fit.mean("z").argmax(1)) >= 0.95
    assert fit.elbo[-1] == pytest.approx(sbm_elbo(data, fit.posterior), rel=1e-10)


def test_best_of_random_starts_recovers_and_every_start_is_monotone():
    data, truth = sim_sbm(np.random.default_rng(3), V=30, K=2)
    fits = [quiet_fit(example("sbm"), data, max_iter=80, tol=1e-10, seed=s) for s in range(4)]
    for fit in fits:
        assert_monotone(fit.elbo)
        assert fit.elbo[-1] == pytest.approx(sbm_elbo(data, fit.posterior), rel=1e-10)
    best = max(fits, key=lambda f: f.elbo[-1])
    assert adjusted_rand_score(truth["z"], best.mean("z").argmax(1)) >= 0.95


def test_the_final_state_is_a_fixed_point_and_no_row_can_improve():
    rng = np.random.default_rng(4)
    data, truth = sim_sbm(rng, V=30, K=2)
    fit = quiet_fit(example("sbm"), data, init={"z": noisy_start(rng, truth["z"], 2)},
                    max_iter=300, tol=0.0)
    again = quiet_fit(example("sbm"), data, init=fit.posterior, max_iter=1).posterior
    np.testing.assert_allclose(again["z"]["probs"], fit.posterior["z"]["probs"], atol=1e-8)
    np.testing.assert_allclose(again["B"]["a"], fit.posterior["B"]["a"], rtol=1e-8)
    run = Run(example("sbm"), data, init=fit.posterior)
    best = run.elbo()
    logits = np.log(np.maximum(fit.posterior["z"]["probs"], 1e-300))
    for i in rng.choice(30, size=6, replace=False):
        for _ in range(3):
            moved = logits.copy()
            moved[i] += 1e-3 * rng.normal(size=2)
            probs = np.exp(moved - moved.max(1, keepdims=True))
            run.set_params("z", "Categorical", {"probs": probs / probs.sum(1, keepdims=True)})
            assert run.elbo() <= best + 1e-9 * abs(best)


def test_one_element_gated_twice_is_exact():
    """B[z[i], z[i]]: [z_i = a][z_i = b] = δ_ab [z_i = a], a plain (not serial) update."""
    model = example_text("dim V, K\ndata A[V]: int\npi ~ Dirichlet(ones(K))\nfor k in K:\n"
                         "    for l in K:\n        B[k, l] ~ Beta(1.0, 1.0)\nfor i in V:\n"
                         "    z[i] ~ Categorical(pi)\n    A[i] ~ Bernoulli(B[z[i], z[i]])\n")
    assert "SERIAL =" not in model.code  # no serial update (an empty table is not emitted)
    data = {"A": np.random.default_rng(5).integers(0, 2, 20), "K": 2}
    assert_monotone(quiet_fit(model, data, max_iter=30, tol=0.0).elbo)


def example_text(text):
    from engine_cases import from_text
    return from_text(text)


def test_new_graphs_get_memberships_iterated_to_a_fixed_point():
    """local(): with pi and B fixed, the interacting rows are swept to a fixed
    point (one sweep is not one)."""
    rng = np.random.default_rng(6)
    data, truth = sim_sbm(rng, V=40, K=2, inside=0.45, outside=0.1)
    fit = quiet_fit(example("sbm"), data, init={"z": noisy_start(rng, truth["z"], 2)},
                    max_iter=300, tol=1e-13)
    probs = fit.local(data)["z"]["probs"]
    # B of two dense blocks is symmetric: the labels may come out swapped
    gaps = [np.max(np.abs(probs[:, perm] - fit.posterior["z"]["probs"]))
            for perm in ([0, 1], [1, 0])]
    assert min(gaps) < 1e-6


NESTED = """dim T, Dc, K
data doc[T]: int
data A[T, T]: int
pi ~ Dirichlet(ones(K))
for k in K:
    for l in K:
        B[k, l] ~ Beta(1.0, 1.0)
for d in Dc:
    z[d] ~ Categorical(pi)
for s in T:
    for t in T:
        A[s, t] ~ Bernoulli(B[z[doc[s]], z[doc[t]]])
"""


def test_pairs_through_integer_data_equal_enumeration():
    """Blocks of documents, B[z[doc[s]], z[doc[t]]]: two tokens of one document
    share one membership (the diagonal is doc[s] = doc[t], not s = t).  The
    expected log joint equals one computed by enumerating every joint
    membership of the three documents."""
    import itertools
    from scipy.special import digamma, gammaln
    rng = np.random.default_rng(8)
    data = {"doc": rng.integers(0, 3, 7), "A": rng.integers(0, 2, (7, 7)), "Dc": 3, "K": 2}
    fit = quiet_fit(example_text(NESTED), data, max_iter=5, tol=0.0, seed=1)
    assert_monotone(fit.elbo)
    run = Run(example_text(NESTED), data, init=fit.posterior)
    q = fit.posterior
    r, a, b = q["z"]["probs"], q["B"]["a"], q["B"]["b"]
    log_b, log_1mb = digamma(a) - digamma(a + b), digamma(b) - digamma(a + b)
    alpha = q["pi"]["concentration"]
    log_pi = digamma(alpha) - digamma(alpha.sum())
    expected = gammaln(2.0) + np.sum(r @ log_pi)  # Dirichlet(1) and Beta(1, 1) priors
    A = data["A"]
    for z in itertools.product(range(2), repeat=3):
        k = np.array(z)[data["doc"]]
        expected += np.prod(r[np.arange(3), z]) * np.sum(
            A * log_b[k[:, None], k[None, :]] + (1 - A) * log_1mb[k[:, None], k[None, :]])
    got = run.module._expected_log_joint(run.E, run.K, run.data, run.hyper, run.dim)
    assert got == pytest.approx(expected, rel=1e-12)
