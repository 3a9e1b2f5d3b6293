"""Joint blocks (derive/blocks.py): which pairs form one, and exactness where
the joint q is the exact posterior (a Normal–Gamma per group, gathered)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.special import gammaln

import vmpdsl
from vmpdsl.compiler import compile_source

from engine_cases import quiet_fit

GROUPS = """
model groups
dim N, G
data x[N]
data g[N]: int
hyper a0 = 2.0, b0 = 1.5, kappa0 = 0.5, mu0 = 0.3
for k in G:
    tau[k] ~ Gamma(a0, b0)
    mu[k] ~ Normal(mu0, kappa0 * tau[k])
for n in N:
    x[n] ~ Normal(mu[g[n]], tau[g[n]])
"""


def updates(source, **options):
    derivation = compile_source(source, **options).derivation
    return {u.name: (u.family, u.members) for u in derivation.updates}


def test_gmm_and_normal_gamma_get_one_joint_factor_unless_mean_field():
    gmm = open("models/gmm.vmp").read()
    assert updates(gmm)["mu"] == ("NormalWishart", ("mu", "Lambda"))
    assert "Lambda" not in updates(gmm)
    assert updates(gmm, mean_field=True)["Lambda"] == ("Wishart", ())
    assert updates(gmm, points=("mu",))["Lambda"] == ("Wishart", ())  # no block with a point
    ng = open("models/normal_gamma.vmp").read()
    assert updates(ng)["mu"] == ("NormalGamma", ("mu", "tau"))


@pytest.mark.parametrize("extra,why", [
    ("data y[N, D]\nfor n in N:\n    y[n] ~ MvNormal(mu, eye(D))\n", "mu used without Lambda"),
    ("nu ~ MvNormal(zeros(D), Lambda)\n", "Lambda shared by two means"),
])
def test_pairs_that_are_not_a_normal_wishart_stay_factorized(extra, why):
    source = ("model m\ndim N, D\ndata x[N, D]\nLambda ~ Wishart(D, eye(D))\n"
              "mu ~ MvNormal(zeros(D), 2.0 * Lambda)\nfor n in N:\n"
              "    x[n] ~ MvNormal(mu, Lambda)\n")
    assert updates(source)["mu"] == ("NormalWishart", ("mu", "Lambda"))
    found = updates(source + extra)
    assert found["mu"] == ("MvNormal", ()) and found["Lambda"] == ("Wishart", ()), why


def test_joint_atoms_only_where_the_contraction_is_the_block_statistic():
    from vmpdsl.derive.blocks import joint_atom
    from vmpdsl.derive.terms import Atom, Term
    lam, mu = Atom("L", "x", ("k", "i", "j")), Atom("m", "x", ("k", "j"))
    assert joint_atom(Term(1, (lam, mu, Atom("d", "value", ("i",)))), "m", "L", 1) == \
        Atom("m", "Lx", ("k", "i"))  # Σ_ij d_i Λ_ij μ_j = dᵀ(Λμ)
    both = Term(1, (lam, Atom("m", "xx", ("k", "j", "i"))))
    assert joint_atom(both, "m", "L", 1) == Atom("m", "xLx", ("k",))
    # Σ_ij d_i Λ_ij μ_i μ_j is not a function of μᵀΛμ; Σ_j Λ_ij μ_j d_j not of Λμ
    assert joint_atom(Term(1, both.atoms + (Atom("d", "value", ("i",)),)), "m", "L", 1) is None
    assert joint_atom(Term(1, (lam, mu, Atom("d", "value", ("j",)))), "m", "L", 1) is None
    assert joint_atom(Term(1, (Atom("L", "logdet", ("k",)), mu)), "m", "L", 1) is None


def group_evidence(x, g, G, a0, b0, kappa0, mu0):
    """Σ_k log p(x_k) of independent Normal–Gamma groups (Murphy 2007 §3)."""
    total = 0.0
    for k in range(G):
        xs = x[g == k]
        n = len(xs)
        xbar = xs.mean() if n else 0.0
        beta, a = kappa0 + n, a0 + n / 2
        b = b0 + 0.5 * np.sum((xs - xbar) ** 2) + kappa0 * n * (xbar - mu0) ** 2 / (2 * beta)
        total += (gammaln(a) - gammaln(a0) + a0 * np.log(b0) - a * np.log(b)
                  + 0.5 * np.log(kappa0 / beta) - n / 2 * np.log(2 * np.pi))
    return total


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), G=st.integers(1, 4), N=st.integers(1, 30))
def test_gathered_normal_gamma_groups_are_exact_in_one_sweep(seed, G, N):
    """Each group's q(mu[k], tau[k]) is its exact posterior (an empty group keeps
    its prior) and the ELBO is the sum of the groups' log evidences."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, G, N)
    x = rng.normal(size=G)[g] + 0.5 * rng.standard_normal(N)
    fit = quiet_fit(vmpdsl.load(GROUPS), {"x": x, "g": g, "G": G}, max_iter=2, tol=0.0)
    want = group_evidence(x, g, G, a0=2.0, b0=1.5, kappa0=0.5, mu0=0.3)
    np.testing.assert_allclose(fit.elbo, want, rtol=1e-10, atol=1e-9)


def test_an_exponential_precision_prior_forms_a_normal_gamma_block():
    """Exponential(b0) is Gamma(1, b0): the same exact posterior and evidence."""
    source = ("model e\ndim N\ndata x[N]\ntau ~ Exponential(2.0)\n"
              "mu ~ Normal(0.5, 3.0 * tau)\nfor n in N:\n    x[n] ~ Normal(mu, tau)\n")
    assert updates(source)["mu"] == ("NormalGamma", ("mu", "tau"))
    x = np.random.default_rng(1).normal(1.0, 0.5, 12)
    fit = quiet_fit(vmpdsl.load(source), {"x": x}, max_iter=2, tol=0.0)
    want = group_evidence(x, np.zeros(12, int), 1, a0=1.0, b0=2.0, kappa0=3.0, mu0=0.5)
    np.testing.assert_allclose(fit.elbo, want, rtol=1e-12)


def test_cli_mean_field_flag(tmp_path, capsys):
    from vmpdsl import cli
    np.savez(tmp_path / "x.npz", x=np.random.default_rng(0).normal(1.0, 2.0, 20))
    elbos = []
    for flags in ([], ["--mean-field"]):
        assert cli.main(["fit", "models/normal_gamma.vmp", "--data", str(tmp_path / "x.npz"),
                         "--quiet"] + flags) == 0
        line = capsys.readouterr().out.splitlines()[0]
        elbos.append(float(line.rsplit("ELBO ", 1)[1]))
    assert elbos[0] > elbos[1]  # the joint q is exact: its bound is the log evidence


def test_a_fits_posterior_restarts_the_joint_fit_where_it_stopped():
    """init=fit.posterior (the members' entries included) continues the fit:
    the block starts from its joint parameters, z from its responsibilities."""
    x = np.random.default_rng(0).normal(size=(40, 2))
    model = vmpdsl.load("models/gmm.vmp")
    first = quiet_fit(model, {"x": x, "K": 2}, seed=1, max_iter=20)
    again = quiet_fit(model, {"x": x, "K": 2}, init=first.posterior, max_iter=3)
    assert again.elbo[0] >= first.elbo[-1] - 1e-9 * abs(first.elbo[-1])


NW_SINGLE = """
model nw
dim N, D
data x[N, D]
hyper nu0 = 4.0, beta0 = 0.7, m0 = zeros(D), W0 = eye(D)
Lambda ~ Wishart(nu0, W0)
mu ~ MvNormal(m0, beta0 * Lambda)
for n in N:
    x[n] ~ MvNormal(mu, Lambda)
"""


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), N=st.integers(1, 25), D=st.integers(1, 3))
def test_a_normal_wishart_block_is_exact_in_one_sweep(seed, N, D):
    """log p(X) = −ND/2 log π + log Γ_D(ν_N/2) − log Γ_D(ν0/2) + ν0/2 log|W0⁻¹|
    − ν_N/2 log|W_N⁻¹| + D/2 log(β0/β_N)  (Murphy 2007, §8)."""
    from scipy.special import multigammaln
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D)) @ rng.normal(size=(D, D)) + rng.normal(size=D)
    A = rng.normal(size=(D, D))
    W0, m0, nu0, beta0 = np.linalg.inv(A @ A.T + D * np.eye(D)), rng.normal(size=D), D + 1.5, 0.7
    xbar = x.mean(0)
    S = (x - xbar).T @ (x - xbar)
    betaN, nuN = beta0 + N, nu0 + N
    WN_inv = np.linalg.inv(W0) + S + beta0 * N / betaN * np.outer(xbar - m0, xbar - m0)
    evidence = (-N * D / 2 * np.log(np.pi) + multigammaln(nuN / 2, D) - multigammaln(nu0 / 2, D)
                - nu0 / 2 * np.linalg.slogdet(W0)[1] - nuN / 2 * np.linalg.slogdet(WN_inv)[1]
                + D / 2 * np.log(beta0 / betaN))
    hypers = {"nu0": nu0, "beta0": beta0, "m0": m0, "W0": W0}
    fit = quiet_fit(vmpdsl.load(NW_SINGLE), {"x": x}, hypers=hypers, max_iter=2, tol=0.0)
    np.testing.assert_allclose(fit.elbo, evidence, rtol=1e-10)
    np.testing.assert_allclose(fit.posterior["mu"]["mean"], (beta0 * m0 + N * xbar) / betaN,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.linalg.inv(fit.posterior["Lambda"]["scale"]), WN_inv,
                               rtol=1e-9, atol=1e-10)


HIER_MEAN = """
model h
dim N, K, D
data x[N, D]
data g[N]: int
m0 ~ MvNormal(zeros(D), 0.1 * eye(D))
for k in K:
    Lambda[k] ~ Wishart(D, eye(D))
    mu[k] ~ MvNormal(m0, 2.0 * Lambda[k])
for n in N:
    x[n] ~ MvNormal(mu[g[n]], Lambda[g[n]])
"""


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), K=st.integers(1, 3))
def test_a_block_under_a_latent_mean_keeps_the_elbo_monotone(seed, K):
    """m0 latent: the block's messages to it are E[Λ] and E[Λμ]; m0's to the block E[m0]."""
    assert updates(HIER_MEAN)["mu"] == ("NormalWishart", ("mu", "Lambda"))
    rng = np.random.default_rng(seed)
    g = rng.integers(0, K, 40)
    x = 3 * rng.normal(size=(K, 2))[g] + rng.normal(size=(40, 2))
    elbo = quiet_fit(vmpdsl.load(HIER_MEAN), {"x": x, "g": g, "K": K}, max_iter=60,
                     tol=0.0, seed=seed).elbo
    assert np.all(np.diff(elbo) >= -1e-9 * np.abs(elbo[1:]))


def test_local_blocks_of_new_rows_are_split_into_their_members():
    """A block per row is local: local() on the training rows gives the fit's
    posteriors (each row's q(mu[n], tau[n]) depends on its own x[n] only)."""
    source = ("model r\ndim N\ndata x[N]\nfor n in N:\n    tau[n] ~ Gamma(2.0, 1.0)\n"
              "    mu[n] ~ Normal(0.0, 3.0 * tau[n])\n    x[n] ~ Normal(mu[n], tau[n])\n")
    x = np.random.default_rng(0).normal(size=10)
    fit = quiet_fit(vmpdsl.load(source), {"x": x}, max_iter=5)
    new = fit.local({"x": x[:3]})
    for name, key in (("mu", "mean"), ("mu", "beta"), ("tau", "shape"), ("tau", "rate")):
        np.testing.assert_allclose(new[name][key], fit.posterior[name][key][:3], rtol=1e-12)
