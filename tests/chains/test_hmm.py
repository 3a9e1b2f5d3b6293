"""The hmm model of LANGUAGE.md against a hand-written VB-HMM (MacKay 1997;
Beal 2003 ch. 3) from the same start, sweep by sweep; monotone ELBO over
hypothesis-drawn data and hypers; several sequences as an outer plate."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.reference import hmm as reference
from chain_cases import HMM_SEQUENCES, model, quiet_fit, simulate_hmm

import vmpdsl


def start(rng, T, K, D):
    return {"z": rng.dirichlet(np.ones(K), size=T),
            "mu": {"mean": rng.normal(size=(K, D)), "cov": np.stack([0.5 * np.eye(D)] * K)}}


@pytest.mark.parametrize("seed, T, K, sweeps", [(0, 120, 3, 25), (1, 40, 2, 25), (2, 2, 3, 5)])
def test_hmm_equals_hand_written_vb_hmm_every_sweep(seed, T, K, sweeps):
    rng = np.random.default_rng(seed)
    x, _ = simulate_hmm(rng, T, K=3, D=2)
    init = start(rng, T, K, 2)
    fit = quiet_fit(model("hmm"), {"x": x, "K": K}, init=init, max_iter=sweeps, tol=0.0)
    ref = reference.fit({"x": x, "K": K}, init, max_iter=sweeps, tol=0.0)
    assert fit.iterations == len(ref["elbo"]) == sweeps
    np.testing.assert_allclose(fit.elbo, ref["elbo"], rtol=1e-10, atol=0)
    for name in ("pi0", "A"):
        np.testing.assert_allclose(fit.posterior[name]["concentration"],
                                   ref["posterior"][name]["concentration"], rtol=1e-10)
    np.testing.assert_allclose(fit.posterior["mu"]["mean"], ref["posterior"]["mu"]["mean"],
                               rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(fit.posterior["z"]["probs"], ref["posterior"]["z"]["probs"],
                               atol=1e-10)


def test_hmm_recovers_the_states_and_transitions():
    rng = np.random.default_rng(3)
    x, z = simulate_hmm(rng, 400, K=3, D=2, spread=4.0)
    fits = [quiet_fit(model("hmm"), {"x": x, "K": 3}, seed=seed, max_iter=300)
            for seed in range(3)]
    fit = max(fits, key=lambda f: f.elbo[-1])  # the best of three starts
    path = fit.viterbi("z")
    # states are identified up to a relabelling: match each to its majority truth
    agree = sum(np.max(np.bincount(z[path == k], minlength=3)) for k in range(3))
    assert agree / len(z) > 0.95
    assert np.all(fit.mean("A").diagonal()[np.unique(path)] > 0.7)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(T=st.integers(1, 25), K=st.integers(1, 3), D=st.integers(1, 2),
       alpha=st.floats(0.05, 10.0), seed=st.integers(0, 2 ** 16))
def test_hmm_elbo_never_decreases(T, K, D, alpha, seed):
    rng = np.random.default_rng(seed)
    x, _ = simulate_hmm(rng, T, K=2, D=D, spread=2.0)
    fit = quiet_fit(model("hmm"), {"x": x, "K": K}, hypers={"alpha": alpha}, seed=seed,
                    max_iter=30, tol=0.0)
    assert np.all(np.isfinite(fit.elbo))
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))


def test_sequences_as_an_outer_plate_equal_the_sum_of_separate_chains():
    """S sequences share pi0, A, mu, Lambda: one fit over z[s, t] equals a fit of
    the concatenation in which the chain restarts (the reference run on the
    sequences one by one gives the same statistics as the batch)."""
    rng = np.random.default_rng(4)
    xs = np.stack([simulate_hmm(rng, 30, K=2, D=2)[0] for _ in range(3)])
    m = vmpdsl.load(HMM_SEQUENCES)
    fit = quiet_fit(m, {"x": xs, "K": 2}, seed=0, max_iter=40, tol=0.0)
    assert fit.posterior["z"]["probs"].shape == (3, 30, 2)
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))
    # the first-state counts come from the 3 first elements, transitions from 3 × 29 pairs
    assert fit.posterior["pi0"]["concentration"].sum() == pytest.approx(2 * 1.0 + 3)
    assert fit.posterior["A"]["concentration"].sum() == pytest.approx(4 * 1.0 + 3 * 29)
    new = np.stack([simulate_hmm(rng, 12, K=2, D=2)[0] for _ in range(2)])  # other S and T
    probs = fit.local({"x": new})["z"]["probs"]
    assert probs.shape == (2, 12, 2) and np.allclose(probs.sum(-1), 1.0)


def test_sequences_of_different_lengths_padded_with_nan_equal_the_ragged_reference():
    """Padding after a sequence's last observation (NaN, missing="skip") ends the
    sequence there: the fit equals the hand-written VB-HMM on the ragged list."""
    rng = np.random.default_rng(8)
    lengths, T, K = [25, 9, 1, 17], 25, 2
    ragged = [simulate_hmm(rng, n, K=2, D=2)[0] for n in lengths]
    x = np.full((len(lengths), T, 2), np.nan)
    for s, seq in enumerate(ragged):
        x[s, :len(seq)] = seq
    x[0, 5] = np.nan  # a gap inside a sequence is an unobserved step, not an end
    probs = rng.dirichlet(np.ones(K), size=(len(lengths), T))
    mu = {"mean": rng.normal(size=(K, 2)), "cov": np.stack([0.5 * np.eye(2)] * K)}
    sweeps = 15
    fit = quiet_fit(vmpdsl.load(HMM_SEQUENCES), {"x": x, "K": K}, init={"z": probs, "mu": mu},
                    missing="skip", max_iter=sweeps, tol=0.0)
    ragged[0] = ragged[0].copy()
    ragged[0][5] = np.nan
    ref = reference.fit({"x": ragged, "K": K},
                        {"z": np.concatenate([p[:n] for p, n in zip(probs, lengths)]), "mu": mu},
                        max_iter=sweeps, tol=0.0)
    np.testing.assert_allclose(fit.elbo, ref["elbo"], rtol=1e-10)
    np.testing.assert_allclose(fit.posterior["A"]["concentration"],
                               ref["posterior"]["A"]["concentration"], rtol=1e-10)


def test_prediction_on_new_sequences_equals_enumeration_with_point_globals():
    """With every global a point (hmm EM), the one-step-ahead predictive, the
    filtered and the smoothed states of a new sequence are exact: equal to
    enumerating its K^T paths."""
    import itertools
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal
    rng = np.random.default_rng(9)
    x, _ = simulate_hmm(rng, 80, K=2, D=2, spread=4.0)
    fit = quiet_fit(model("hmm"), {"x": x, "K": 2}, seed=0, max_iter=100, hypers={"alpha": 2.0},
                    point=["pi0", "A", "Lambda", "mu"])
    new = x[:5] + 0.3
    out, local = fit.predict({"x": new}), fit.local({"x": new})["z"]
    g = {name: fit.posterior[name]["value"] for name in ("pi0", "A", "mu", "Lambda")}
    emit = np.array([[multivariate_normal(g["mu"][k], np.linalg.inv(g["Lambda"][k])).logpdf(v)
                      for k in range(2)] for v in new])
    paths = np.array(list(itertools.product(range(2), repeat=5)))
    score = np.log(g["pi0"][paths[:, 0]])[:, None] + emit[np.arange(5), paths].cumsum(1)
    score[:, 1:] += np.log(g["A"][paths[:, :-1], paths[:, 1:]]).cumsum(1)
    # each prefix z_0..t is shared by 2^(4-t) paths
    prefix = np.array([logsumexp(score[:, t]) - (4 - t) * np.log(2) for t in range(5)])
    np.testing.assert_allclose(out["one_step"], np.diff(prefix, prepend=0.0), rtol=1e-10)
    assert out["method"] == "exact"
    posterior = np.exp(score[:, -1] - logsumexp(score[:, -1]))
    smoothed = np.stack([np.bincount(paths[:, t], posterior, 2) for t in range(5)])
    np.testing.assert_allclose(local["probs"], smoothed, atol=1e-12)
    last = np.exp(score[:, 2] - logsumexp(score[:, 2]))  # p(z_2 | x_0..2), each prefix 8×
    np.testing.assert_allclose(out["filtered"][2], np.bincount(paths[:, 2], last, 2), atol=1e-12)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lengths=st.lists(st.integers(0, 12), min_size=1, max_size=4), K=st.integers(1, 3),
       seed=st.integers(0, 2 ** 16))
def test_padded_sequences_elbo_never_decreases(lengths, K, seed):
    rng = np.random.default_rng(seed)
    T = max(max(lengths), 1)
    x = np.full((len(lengths), T, 2), np.nan)
    for s, n in enumerate(lengths):
        x[s, :n] = simulate_hmm(rng, n, K=2, D=2)[0] if n else x[s, :0]
    if np.all(np.isnan(x)):
        x[0, 0] = 0.0
    fit = quiet_fit(vmpdsl.load(HMM_SEQUENCES), {"x": x, "K": K}, missing="skip", seed=seed,
                    max_iter=25, tol=0.0)
    assert np.all(np.isfinite(fit.elbo))
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))
