"""The local / global split (derive/locality.py) and the local inner loop
(runtime/local_loop.py, ``fit(local_iters=n)``).

Oracles: the split of every message to a global into a row statistic times
the global operands gives back the message (random arrays, einsum); our ELBO
at scikit-learn's LDA solution (its topics fixed, our local block iterated to
convergence) equals scikit-learn's own bound; with the inner loop the ELBO
never falls and the locals end at a coordinate optimum (one more update moves
nothing); ``local_iters=1`` is the plain sweep."""
import string
import warnings

import numpy as np
import pytest

import vmpdsl
from vmpdsl.derive.locality import local_block, local_plates, split_rows, statistics
from vmpdsl.lower import Contraction, Operand

ALPHA, ETA = 0.1, 0.05


def load(name):
    return vmpdsl.load(f"models/{name}.vmp")


@pytest.mark.parametrize("name, block", [("gmm", ("z",)), ("lda", ("theta", "z")),
                                         ("hier", ("theta",)), ("linreg", ()),
                                         ("pca", ("z",))])
def test_local_block(name, block):
    model = load(name)
    assert local_block(model._compiled.program) == block
    assert model._compiled.module.LOCAL_BLOCK == block


def evaluate(c, arrays, sizes):
    """coeff × Π sizes × einsum; output labels no operand carries broadcast."""
    dims, letters = dict(c.label_dims), {}
    for label in [l for o in c.operands for l in o.labels] + list(c.out):
        letters.setdefault(label, string.ascii_letters[len(letters)])
    carried = [l for l in c.out if any(l in o.labels for o in c.operands)]
    spec = ",".join("".join(letters[l] for l in o.labels) for o in c.operands)
    spec += "->" + "".join(letters[l] for l in carried)
    value = np.einsum(spec, *[arrays[o] for o in c.operands]) if c.operands else np.array(1.0)
    value = value.reshape([sizes.get(dims[l], dims[l]) if l in carried else 1 for l in c.out])
    return float(c.coeff) * np.prod([sizes.get(s, s) for s in c.sizes]) * value


def random_operands(c, sizes, rng):
    dims = dict(c.label_dims)
    return {o: rng.normal(size=[sizes.get(dims[l], dims[l]) for l in o.labels])
            for o in c.operands}


@pytest.mark.parametrize("name", ["gmm", "lda", "hier", "pca", "logreg", "linreg"])
def test_row_statistics_give_back_the_messages(name):
    """S = Σ_rows (row operands), then S times the global operands, is the message."""
    program = load(name)._compiled.program
    rng = np.random.default_rng(0)
    sizes = {d: int(rng.integers(2, 5)) for d in program.model.dims}
    plates, block = local_plates(program.model), set(local_block(program))
    hoisted = {h.name: h.contraction for h in program.hoisted}
    checked = 0
    for step in program.steps:
        for c in (c for stat in step.stats for c in stat.contractions):
            split = split_rows(c, plates, block, hoisted)
            if split is None or step.name in block:
                continue
            inner, rest = split
            arrays = random_operands(c, sizes, rng)
            held = Operand("hoisted", "@S", "value", inner.out)
            outer = Contraction(c.coeff, tuple(s for s in c.sizes if s not in plates),
                                (held,) + rest, c.out, c.label_dims)
            arrays[held] = evaluate(inner, arrays, sizes)
            np.testing.assert_allclose(evaluate(outer, arrays, sizes),
                                       evaluate(c, arrays, sizes), rtol=1e-12)
            checked += 1
    assert checked == len(statistics(program)) > 0


def test_equations_list_the_statistics():
    text = load("lda").equations()
    assert "local: theta, z" in text and "global: phi" in text
    assert "q(phi): Σ_{t: word[t] = v} r[t,k]" in text  # in the updates' notation
    text = load("linreg").equations()
    assert "local: none" in text and "q(w): Xᵀy,  XᵀX" in text
    text = load("gmm").equations()  # statistics named as in the updates, no internals
    assert "global: mu, Lambda, pi" in text and \
        "q(mu, Lambda): Σ_n r[n,k] x[n] x[n]ᵀ,  Σ_n r[n,k] x[n],  N[k]" in text
    text = load("lgssm").equations()  # covariates A, C have no rows
    assert "rows: T\n" in text and "q(R): T,  yᵀy,  Σ_t y[t] E[x[t]]ᵀ,  Σ_t E[x[t] x[t]ᵀ]" in text


# ---------------------------------------------------------------- LDA
def corpus(docs, V=30, K=4, length=40, seed=0):
    rng = np.random.default_rng(seed)
    topics = rng.dirichlet(np.full(V, ETA), size=K)
    theta = rng.dirichlet(np.full(K, ALPHA), size=docs)
    lengths = np.maximum(rng.poisson(length, size=docs), 1)
    words = [np.repeat(np.arange(V), rng.multinomial(n, theta[d] @ topics))
             for d, n in enumerate(lengths)]
    return {"doc": np.repeat(np.arange(docs), lengths), "word": np.concatenate(words),
            "Dc": docs, "V": V, "K": K}


def locals_converged(model, data, concentration, restart=False):
    """Our ELBO with q(φ) fixed, the local block iterated to convergence (with
    ``restart``, also from the restart, each document keeping the better)."""
    m = model._compiled.module
    dim, bound = m.bind_data(dict(data))
    hyper = dict(m._hypers(dim), alpha=np.asarray(ALPHA), eta=np.asarray(ETA))
    K = m._constants(dim, bound, hyper)
    q, E = {}, {}
    m._initial_state(q, E, K, bound, hyper, dim, np.random.default_rng(0),
                     {"phi": {"concentration": concentration}})
    block = [row for row in m.UPDATES if row[0] in m.LOCAL_BLOCK]
    if restart:
        m.restarted_block(q, E, K, bound, hyper, dim, block, 5000, 1e-9,
                          m.local_layout(bound, dim), {})
    else:
        m.local_block(q, E, K, bound, hyper, dim, block, 5000, 1e-12)
    return m.elbo_value(q, E, K, bound, hyper, dim)


def test_our_elbo_at_sklearn_solution_is_its_bound():
    sklearn = pytest.importorskip("sklearn.decomposition")
    from scipy import sparse
    data = corpus(60)
    X = sparse.csr_matrix((np.ones(data["doc"].size), (data["doc"], data["word"])),
                          shape=(60, data["V"]))
    lda = sklearn.LatentDirichletAllocation(data["K"], learning_method="batch",
                                            doc_topic_prior=ALPHA, topic_word_prior=ETA,
                                            max_iter=5, random_state=0,
                                            max_doc_update_iter=5000,
                                            mean_change_tol=1e-12).fit(X)
    ours = locals_converged(load("lda"), data, lda.components_)
    assert ours == pytest.approx(lda.score(X), rel=1e-9)


@pytest.mark.parametrize("local_iters", [3, 40])
def test_inner_loop_is_monotone_and_ends_at_a_local_optimum(local_iters):
    model, data = load("lda"), corpus(40, seed=local_iters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit(dict(data), hypers={"alpha": ALPHA, "eta": ETA}, seed=1,
                        max_iter=40, local_iters=local_iters)
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))
    # the locals after the last sweep: one more pass over the block moves no
    # expectation by more than the inner tolerance (40 inner steps reach it)
    if local_iters == 40:
        m = model._compiled.module
        dim, bound = m.bind_data(dict(data))
        hyper = fit.result["hypers"]
        K = m._constants(dim, bound, hyper)
        q, E = dict(fit.posterior), dict(fit.result["expectations"])
        before = {name: E[name] for name in m.LOCAL_BLOCK}
        block = [row for row in m.UPDATES if row[0] in m.LOCAL_BLOCK]
        m.local_block(q, E, K, bound, hyper, dim, block, 1, 0.0)
        assert 0 < m._largest_change(before, E) <= m.LOCAL_TOL


def test_one_local_iteration_is_the_plain_sweep():
    """local_iters=1: each latent once per sweep, in UPDATES order (replayed
    here from the same start); LDA's default (restarts) is another trace."""
    model, data = load("lda"), corpus(20)
    options = dict(hypers={"alpha": ALPHA, "eta": ETA}, seed=3, max_iter=15, tol=0,
                   collapse=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        default = model.fit(dict(data), **options)
        one = model.fit(dict(data), local_iters=1, **options)
    m = model._compiled.module
    dim, bound = m.bind_data(dict(data))
    hyper = one.result["hypers"]
    K = m._constants(dim, bound, hyper)
    q, E = {}, {}
    m._initial_state(q, E, K, bound, hyper, dim, np.random.default_rng(3), {})
    replay = []
    for _ in range(15):
        for row in m.UPDATES:
            m._update_latent(q, E, K, bound, hyper, dim, row)
        replay.append(m.elbo_value(q, E, K, bound, hyper, dim))
    np.testing.assert_allclose(one.elbo, replay, rtol=1e-12)
    assert not np.allclose(default.elbo, one.elbo)
    gmm = load("gmm")  # a block of one latent: the default is the plain sweep
    x = np.random.default_rng(0).normal(size=(30, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(gmm.fit({"x": x, "K": 2}, seed=1, max_iter=5).elbo,
                                      gmm.fit({"x": x, "K": 2}, seed=1, max_iter=5,
                                              local_iters=1).elbo)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_local_iters_must_be_a_positive_whole_number(bad):
    with pytest.raises(vmpdsl.VmpError, match="local_iters"):
        load("lda").fit(corpus(5), local_iters=bad)
