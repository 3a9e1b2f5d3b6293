"""The local block iterated per group with monotone restarts
(runtime/local_restart.py), on LDA and on grouped mixtures written here.

Oracles: a group's gain (one latent changed at a time) summed over any set of
groups is the change of the module's own ELBO when those groups take the new
locals; a sub-problem's update is the full problem's update on its rows; the
ELBO never falls over hypothesis-drawn data; at convergence one more pass of
the block moves no local expectation beyond the inner tolerance, and nudging a
document's q(θ) lowers the ELBO (finite differences); on a small LDA corpus
the default fit ends within 0.1% of scikit-learn's batch solution, both scored
by our ELBO."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vmpdsl
from test_locality import ALPHA, ETA, locals_converged
from test_locality import corpus as lda_corpus

GROUPED_POISSON = """model grouped_poisson
dim N, K, G
data g[N]: int
data c[N]: int
for k in K:
    rate[k] ~ Gamma(1.0, 0.1)
for j in G:
    pi[j] ~ Dirichlet(0.5 * ones(K))
for n in N:
    z[n] ~ Categorical(pi[g[n]])
    c[n] ~ Poisson(rate[z[n]])
"""

GROUPED_NORMAL = """model grouped_normal
dim N, K, G
data g[N]: int
data x[N]
tau ~ Gamma(2.0, 1.0)
for k in K:
    mu[k] ~ Normal(0.0, 0.01)
for j in G:
    pi[j] ~ Dirichlet(0.3 * ones(K))
for n in N:
    z[n] ~ Categorical(pi[g[n]])
    x[n] ~ Normal(mu[z[n]], tau)
"""


def grouped_data(kind, groups, seed):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), rng.integers(1, 12, size=groups))
    k = rng.integers(0, 3, size=g.size)
    if kind == "poisson":
        return {"g": g, "c": rng.poisson(np.array([1.0, 6.0, 20.0])[k]), "K": 3, "G": groups}
    return {"g": g, "x": rng.normal(np.array([-3.0, 0.0, 4.0])[k], 0.7), "K": 3, "G": groups}


def models():
    return {"lda": (vmpdsl.load("models/lda.vmp"), lambda s: lda_corpus(12, seed=s)),
            "lda_eb": (vmpdsl.load("models/lda_eb.vmp"), lambda s: lda_corpus(12, seed=s)),
            "poisson": (vmpdsl.load(GROUPED_POISSON),
                        lambda s: grouped_data("poisson", 9, s)),
            "normal": (vmpdsl.load(GROUPED_NORMAL),
                       lambda s: grouped_data("normal", 9, s))}


MODELS = models()


def bound_state(model, data, seed=0):
    """(module, q, E, K, data, hyper, dim, block, layout) after a short fit."""
    m = model._compiled.module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit(dict(data), seed=seed, max_iter=2, collapse=False)
    dim, bound = m.bind_data(dict(data))
    hyper = fit.result["hypers"]
    K = m._constants(dim, bound, hyper)
    q, E = dict(fit.result["posterior"]), dict(fit.result["expectations"])
    block = [row for row in m.UPDATES if row[0] in m.LOCAL_BLOCK]
    return m, q, E, K, bound, hyper, dim, block, m.local_layout(bound, dim)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_layout_found(name):
    model, data = MODELS[name]
    m, *_, layout = bound_state(model, data(0))
    assert layout is not None and layout["index"] in ("doc", "g")
    assert set(layout["plates"]) == set(m.LOCAL_BLOCK)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_group_gains_are_the_elbo_changes(name):
    """Restarted locals against the current ones: the gains of any set of
    groups add up to the ELBO change when just those groups switch."""
    model, data = MODELS[name]
    m, q, E, K, bound, hyper, dim, block, layout = bound_state(model, data(1))
    names = [row[0] for row in block]
    old = m._states(q, E, names)
    m._prior_state(q, E, K, bound, hyper, dim, names)
    m.iterate_groups(q, E, K, bound, hyper, dim, block, 3, 0.0, layout)
    new = m._states(q, E, names)
    gains = m.group_gains(q, E, K, bound, hyper, dim, block, old, new, layout)
    assert np.any(np.abs(gains) > 1e-6)
    rng = np.random.default_rng(0)
    for take in (np.ones(gains.size, bool), rng.random(gains.size) < 0.5):
        m._choose(q, E, block, old, old, np.ones(gains.size, bool), bound, layout)
        before = m.elbo_value(q, E, K, bound, hyper, dim)
        m._choose(q, E, block, old, new, take, bound, layout)
        after = m.elbo_value(q, E, K, bound, hyper, dim)
        assert after - before == pytest.approx(gains[take].sum(), rel=1e-9, abs=1e-8)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sub_problem_updates_are_the_full_updates_on_its_rows(name):
    model, data = MODELS[name]
    m, q, E, K, bound, hyper, dim, block, layout = bound_state(model, data(2))
    groups = np.array([0, 3, 4, 7])
    sub = m._Sub(bound, dim, hyper, layout, groups)
    names = [row[0] for row in block]
    sub_q, sub_E = sub.state(q, E, names)
    for row in block:
        full = row[3](E, K, bound, hyper, dim)
        part = row[3](sub_E, sub.K, sub.data, hyper, sub.dim)
        for stat, value in part.items():
            np.testing.assert_allclose(value, np.asarray(full[stat])[sub.take[row[0]]],
                                       rtol=1e-12, atol=1e-12)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(MODELS)), seed=st.integers(0, 10_000),
       local_iters=st.sampled_from([None, 2, 6]))
def test_elbo_never_falls_with_restarts(name, seed, local_iters):
    model, data = MODELS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit(dict(data(seed)), seed=seed, max_iter=25, local_iters=local_iters)
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))


def test_converged_locals_are_a_coordinate_optimum():
    model, data = vmpdsl.load("models/lda.vmp"), lda_corpus(30, seed=4)
    fit = model.fit(dict(data), hypers={"alpha": ALPHA, "eta": ETA}, seed=0, max_iter=400)
    assert fit.converged
    m = model._compiled.module
    dim, bound = m.bind_data(dict(data))
    hyper = fit.result["hypers"]
    K = m._constants(dim, bound, hyper)
    q, E = dict(fit.result["posterior"]), dict(fit.result["expectations"])
    block = [row for row in m.UPDATES if row[0] in m.LOCAL_BLOCK]
    base = m.elbo_value(q, E, K, bound, hyper, dim)
    before = {name: E[name] for name in m.LOCAL_BLOCK}
    m.local_block(q, E, K, bound, hyper, dim, block, 1, 0.0)
    assert m._largest_change({"z": before["z"]}, E) <= m.LOCAL_TOL
    # finite differences: moving any document's q(θ) off its value lowers the ELBO
    q, E = dict(fit.result["posterior"]), dict(fit.result["expectations"])
    concentration = q["theta"]["concentration"]
    for d, k, step in [(0, 0, 1e-3), (5, 2, -1e-3), (17, 1, 1e-3)]:
        moved = concentration.copy()
        moved[d, k] *= 1 + step
        m._set_state(q, E, "theta", "Dirichlet", False, {"concentration": moved})
        assert m.elbo_value(q, E, K, bound, hyper, dim) < base + 1e-9 * abs(base)


@pytest.mark.parametrize("seed", [0, 3])
def test_default_reaches_sklearn_batch_optimum(seed):
    """Our default fit against scikit-learn's batch LDA run to its optimum
    (its own random start), its solution scored by our ELBO: its topics held,
    our local step to convergence (== its own bound, test_locality.py)."""
    sklearn = pytest.importorskip("sklearn.decomposition")
    from scipy import sparse
    model, data = vmpdsl.load("models/lda.vmp"), lda_corpus(60, seed=seed)
    X = sparse.csr_matrix((np.ones(data["doc"].size), (data["doc"], data["word"])),
                          shape=(60, data["V"]))
    lda = sklearn.LatentDirichletAllocation(data["K"], learning_method="batch",
                                            doc_topic_prior=ALPHA, topic_word_prior=ETA,
                                            max_iter=100, random_state=0).fit(X)
    theirs = locals_converged(model, data, lda.components_, restart=True)
    assert theirs == pytest.approx(lda.score(X), rel=1e-6)
    fit = model.fit(dict(data), hypers={"alpha": ALPHA, "eta": ETA}, seed=0)
    assert fit.converged and fit.elbo[-1] >= theirs - 1e-3 * abs(theirs)


TAGGED_LDA = """model tagged_lda
dim Dc, K, V, T
data doc[T]: int
data word[T]: int
data tag[T]: int
for k in K:
    phi[k] ~ Dirichlet(0.05 * ones(V))
for d in Dc:
    theta[d] ~ Dirichlet(0.1 * ones(K))
for t in T:
    z[t] ~ Categorical(theta[doc[t]])
    word[t] ~ Categorical(phi[z[t]])
    tag[t] ~ Categorical(theta[doc[t]])
"""


def test_gated_blocks_are_found_from_the_updates():
    """The exp-space loop applies where z reads θ at the group index and θ
    hears only its prior and z; a θ that also explains observed tags (data
    counts in its update) is not such a block."""
    for name in MODELS:
        m, q, E, K, bound, hyper, dim, block, layout = bound_state(*_model_and_data(name))
        assert m._gated(q, E, K, bound, hyper, dim, block, layout)
    tagged = vmpdsl.load(TAGGED_LDA)
    data = lda_corpus(12, seed=0)
    data["tag"] = np.random.default_rng(0).integers(0, data["K"], size=data["doc"].size)
    m, q, E, K, bound, hyper, dim, block, layout = bound_state(tagged, data)
    assert layout is not None and not m._gated(q, E, K, bound, hyper, dim, block, layout)


def _model_and_data(name, seed=5):
    model, data = MODELS[name]
    return model, data(seed)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_exp_space_loop_is_the_plain_loop(name):
    """iterate_gated (no group stopping) against the plain block loop
    (local_block: θ's and z's own updates in turn), the same number of passes:
    the same q to rounding, the same ELBO."""
    m, q0, E0, K, bound, hyper, dim, block, layout = bound_state(*_model_and_data(name))
    for iters in (1, 2, 9):
        q1, E1, q2, E2 = dict(q0), dict(E0), dict(q0), dict(E0)
        plain = m.local_block(q1, E1, K, bound, hyper, dim, block, iters, -1.0)
        fast = m.iterate_gated(q2, E2, K, bound, hyper, dim, block, iters, -1.0, layout)
        theta, z = (row[0] for row in block)
        np.testing.assert_allclose(q2[theta]["concentration"], q1[theta]["concentration"],
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(q2[z]["probs"], q1[z]["probs"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(fast["onehot"], plain["onehot"], rtol=1e-12, atol=1e-11)
        assert m.elbo_value(q2, E2, K, bound, hyper, dim, fast) == pytest.approx(
            m.elbo_value(q1, E1, K, bound, hyper, dim), rel=1e-12)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_exp_space_loop_never_lowers_the_elbo(name):
    """More passes of the exp-space loop (with its per-group stopping) from
    the same state never give a lower ELBO: each pass is coordinate ascent."""
    m, q0, E0, K, bound, hyper, dim, block, layout = bound_state(*_model_and_data(name, 7))
    values = []
    for iters in range(1, 12):
        q, E = dict(q0), dict(E0)
        coeffs = m.iterate_gated(q, E, K, bound, hyper, dim, block, iters, 1e-6, layout)
        values.append(m.elbo_value(q, E, K, bound, hyper, dim, coeffs))
    assert np.all(np.diff(values) >= -1e-10 * abs(values[-1]))


def test_a_given_global_is_followed_by_the_locals():
    """fit(init={'phi': …}) keeps the given topics as the start: the locals are
    fitted to them before the first global update, so topics from a converged
    fit start the next at that fit's ELBO (updated first from the locals'
    random start, they would be replaced by near-uniform topics)."""
    model, data = vmpdsl.load("models/lda.vmp"), lda_corpus(40, seed=2)
    hypers = {"alpha": ALPHA, "eta": ETA}
    done = model.fit(dict(data), hypers=hypers, seed=0)
    assert done.converged
    again = model.fit(dict(data), hypers=hypers, seed=1, max_iter=1,
                      init={"phi": done.result["posterior"]["phi"]})
    assert again.elbo[0] >= done.elbo[-1] - 1e-6 * abs(done.elbo[-1])


def _one_topic_corpus(docs=40, K=4, words=6, seed=0):
    """Each document drawn from one topic; the topics' vocabularies disjoint."""
    rng = np.random.default_rng(seed)
    topic = rng.permutation(np.arange(docs) % K)
    lengths = rng.integers(5, 30, size=docs)
    word = np.concatenate([topic[d] * words + rng.integers(0, words, size=n)
                           for d, n in enumerate(lengths)])
    return {"doc": np.repeat(np.arange(docs), lengths), "word": word, "Dc": docs,
            "V": K * words, "K": K}, topic


def test_groups_cluster_by_their_rows_categories():
    """group_labels (the default start's k-means of the documents) puts the
    documents of one topic together and apart from the others', also with
    duplicate tokens collapsed into counts."""
    model = vmpdsl.load("models/lda.vmp")
    m = model._compiled.module
    data, topic = _one_topic_corpus()
    for collapse in (False, True):
        dim, bound = m.bind_data(dict(data))
        if collapse:
            m.collapse_rows(dim, bound, {})
        labels = m.group_labels(bound, dim, m.local_layout(bound, dim), 4,
                                np.random.default_rng(1))
        pairs = np.equal.outer(labels, labels)
        np.testing.assert_array_equal(pairs, np.equal.outer(topic, topic))


def test_default_start_is_the_clustered_topics():
    """The default fit starts its topics from the documents' clusters (each
    true topic's vocabulary owned by one fitted topic after the first sweep);
    init="random" keeps the rows' random start, whose first topics are blends."""
    model = vmpdsl.load("models/lda.vmp")
    data, topic = _one_topic_corpus(seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fits = {start: model.fit(dict(data), seed=0, max_iter=1, init=start)
                for start in (None, "random")}
    for start, fit in fits.items():
        lam = fit.result["posterior"]["phi"]["concentration"]
        share = lam.reshape(4, 4, 6).sum(axis=2)  # fitted topic × true vocabulary
        share = share / share.sum(axis=1, keepdims=True)
        owned = np.sort(share.max(axis=1))
        if start is None:
            assert owned[0] > 0.95 and len(set(share.argmax(axis=1))) == 4
        else:
            assert owned[0] < 0.95
