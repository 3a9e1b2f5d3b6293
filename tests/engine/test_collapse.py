"""Collapsed plates: duplicate rows of a plate whose data are all integers are
fitted once, weighted by their count (derive/weights.py, runtime.collapse_rows).

Oracles: from the same ``init``, the collapsed fit and the row-by-row fit
(``collapse=False``) give the same ELBO trace and the same posteriors; the
collapsed ELBO never decreases; tokens that share their data share their
q(z), which is the merged row's q gathered back; models whose plate is not
exchangeable or not integer are never collapsed."""
import warnings

import numpy as np
import pytest

import vmpdsl
from vmpdsl.compiler import compile_source
from vmpdsl.derive.weights import collapsible_plates
from vmpdsl.language import check, parse

RTOL = 1e-10


def module(name):
    return vmpdsl.load(f"models/{name}.vmp")._compiled.module


def fit_both(mod, data, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return (mod.fit(data, **options), mod.fit(data, collapse=False, **options))


def merged(mod, data, init=None):
    """The collapsed rows (dims, arrays, init) the fit runs on."""
    dim, arrays = mod.bind_data(data)
    init = dict(init or {})
    groups = mod.collapse_rows(dim, arrays, init)
    return dim, arrays, init, groups


def assert_same_fit(a, b):
    np.testing.assert_allclose(a["elbo"], b["elbo"], rtol=RTOL, atol=0)
    assert a["dims"] == b["dims"]
    for name, params in b["posterior"].items():
        for key, value in params.items():
            np.testing.assert_allclose(a["posterior"][name][key], value, rtol=RTOL, atol=1e-12,
                                       err_msg=f"{name}.{key}")
    for name, stats in b["expectations"].items():
        for key, value in stats.items():
            np.testing.assert_allclose(a["expectations"][name][key], value, rtol=RTOL,
                                       atol=1e-12, err_msg=f"E[{name}].{key}")


def lda_corpus(seed=0, docs=12, vocabulary=15, topics=3, tokens=900):
    """A small corpus with many repeated (doc, word) pairs, and a random init."""
    rng = np.random.default_rng(seed)
    phi = rng.dirichlet(0.3 * np.ones(vocabulary), topics)
    theta = rng.dirichlet(0.5 * np.ones(topics), docs)
    doc = rng.integers(0, docs, tokens)
    z = np.array([rng.choice(topics, p=theta[d]) for d in doc])
    word = np.array([rng.choice(vocabulary, p=phi[k]) for k in z])
    data = {"doc": doc, "word": word, "Dc": docs, "V": vocabulary, "K": topics}
    return data, {"z": rng.dirichlet(np.ones(topics), tokens)}


def test_lda_collapsed_equals_token_level():
    mod = module("lda")
    data, init = lda_corpus()
    dim, arrays, _, groups = merged(mod, data, init)
    pairs = np.unique(data["doc"] * data["V"] + data["word"]).size
    assert dim["T"] == pairs < 0.6 * len(data["doc"])  # the fit really runs on pairs
    assert arrays["@w0"].sum() == len(data["doc"])
    sizes = []
    real = mod.collapse_rows
    mod.collapse_rows = lambda dim, data, init: sizes.append(dim["T"]) or real(dim, data, init)
    try:
        a, b = fit_both(mod, data, init=init, max_iter=60, tol=0)
    finally:
        mod.collapse_rows = real
    assert sizes == [len(data["doc"])]  # called once: by the collapsed fit only
    assert len(a["elbo"]) == 60
    assert_same_fit(a, b)
    assert np.all(np.diff(a["elbo"]) >= -1e-9 * np.abs(a["elbo"][1:]))


def test_lda_init_as_parameters_and_seeded_start():
    mod = module("lda")
    data, init = lda_corpus(seed=1)
    a, b = fit_both(mod, data, init={"z": {"probs": init["z"]}}, max_iter=20, tol=0)
    assert_same_fit(a, b)
    # without an init the random start is drawn per merged row: still monotone
    # and still one q per token
    a = mod.fit(data, seed=0, max_iter=200, tol=1e-10)
    assert np.all(np.diff(a["elbo"]) >= -1e-9 * np.abs(a["elbo"][1:]))
    assert a["posterior"]["z"]["probs"].shape == (len(data["doc"]), data["K"])


def test_tokens_with_equal_data_share_the_merged_q():
    mod = module("lda")
    data, init = lda_corpus(seed=2)
    result = mod.fit(data, init=init, max_iter=30, tol=0)
    probs = result["posterior"]["z"]["probs"]
    dim, arrays, merged_init, groups = merged(mod, data, init)
    (_, inverse, rows), = groups.values()
    assert rows == len(data["doc"]) and inverse.shape == (rows,)
    # each merged row is one (doc, word) pair, and its init the mean of its tokens'
    np.testing.assert_array_equal(arrays["doc"][inverse], data["doc"])
    np.testing.assert_array_equal(arrays["word"][inverse], data["word"])
    for g in (0, 5, dim["T"] - 1):
        np.testing.assert_allclose(merged_init["z"][g], init["z"][inverse == g].mean(0),
                                   rtol=1e-13)
    key = data["doc"] * data["V"] + data["word"]
    for k in np.unique(key)[:20]:
        same = probs[key == k]
        assert np.array_equal(same, np.broadcast_to(same[0], same.shape))
    q_merged = {}
    for t, g in enumerate(inverse):
        q_merged.setdefault(g, probs[t])
        assert np.array_equal(probs[t], q_merged[g])


def test_poisson_mixture_and_coin_collapse():
    rng = np.random.default_rng(5)
    c = np.concatenate([rng.poisson(2.0, 150), rng.poisson(15.0, 150)])
    mod = module("poisson_mix")
    assert merged(mod, {"c": c, "K": 2})[0]["N"] < 0.3 * c.size
    init = {"z": rng.dirichlet(np.ones(2), c.size)}
    a, b = fit_both(mod, {"c": c, "K": 2}, init=init, max_iter=8, tol=0)
    assert_same_fit(a, b)

    x = rng.integers(0, 2, 500)
    mod = module("coin")
    assert merged(mod, {"x": x})[0]["N"] == 2
    a, b = fit_both(mod, {"x": x}, max_iter=5)
    assert_same_fit(a, b)
    np.testing.assert_allclose(a["posterior"]["p"]["a"], 1 + x.sum(), rtol=1e-12)


def test_new_data_questions_after_a_collapsed_fit():
    lda = vmpdsl.load("models/lda.vmp")
    data, init = lda_corpus(seed=3)
    fit = lda.fit(data, init=init, max_iter=50)
    new = {"doc": np.array([0, 0, 1]), "word": np.array([2, 2, 7])}
    probs = fit.local(new)["z"]["probs"]
    assert probs.shape == (3, data["K"]) and np.array_equal(probs[0], probs[1])

    rng = np.random.default_rng(6)
    c = np.concatenate([rng.poisson(2.0, 100), rng.poisson(15.0, 100)])
    mix = vmpdsl.load("models/poisson_mix.vmp")
    a = mix.fit({"c": c, "K": 2}, seed=0)
    b_result = mix._compiled.module.fit({"c": c, "K": 2}, seed=0, collapse=False)
    scores = a.score({"c": np.array([1, 2, 14])})
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    # the same mixture found either way (label order may differ)
    means = sorted(a.mean("rate"))
    other = b_result["posterior"]["rate"]
    np.testing.assert_allclose(means, sorted(other["shape"] / other["rate"]), rtol=1e-6)


def test_rows_that_barely_repeat_are_not_merged():
    mod = module("lda")
    data, init = lda_corpus(seed=4, docs=40, vocabulary=400, tokens=300)
    dim, arrays, _, groups = merged(mod, data, init)
    assert not groups and dim["T"] == 300 and np.all(arrays["@w0"] == 1)


def test_an_init_of_another_shape_is_an_error_either_way():
    mod = module("lda")
    data, init = lda_corpus(seed=5)
    for collapse in (True, False):
        with pytest.raises(mod.DataError, match=r"init for 'z': probs must have shape \(900, 3\)"):
            mod.fit(data, init={"z": init["z"][:10]}, max_iter=2, collapse=collapse)


COLLAPSIBLE_MODELS = {
    "lda": (("T", "@w0", ("doc", "word"), ("z",)),),
    "poisson_mix": (("N", "@w0", ("c",), ("z",)),),
    "coin": (("N", "@w0", ("x",), ()),),
    "gmm": (),  # real data
    "hier": (),  # real y beside the integer group index
    "linreg": (),
    "pca": (),
}


@pytest.mark.parametrize("name", sorted(COLLAPSIBLE_MODELS))
def test_which_example_plates_collapse(name):
    model = check(parse(open(f"models/{name}.vmp").read()))
    assert collapsible_plates(model) == COLLAPSIBLE_MODELS[name]


ROWS = """model m
dim N
data c[N]: int
for n in N:
    u[n] ~ Gamma(1.0, 1.0)
    c[n] ~ Poisson(u[n])
"""


@pytest.mark.parametrize("source, collapses", [
    (ROWS, True),
    (ROWS + "s ~ Normal(sum(u), 1.0)\n", False),  # a global reads the rows
    (ROWS.replace("data c[N]: int", "data c[N]: int\nhyper a = N")
     .replace("Gamma(1.0, 1.0)", "Gamma(a, 1.0)"), False),  # the size of N is used
    (ROWS.replace("data c[N]: int", "data c[N]: int\ndata y[N]")
     + "    y[n] ~ Normal(u[n], 1.0)\n", False),  # real data over N
    ("model m\ndim N\ndata c[N]: int\nparam r[N]\nfor n in N:\n    c[n] ~ Poisson(r[n])\n",
     False),  # a param per row
])
def test_collapsible_conditions(source, collapses):
    assert bool(collapsible_plates(check(parse(source)))) is collapses


def test_a_global_over_the_plate_prevents_collapsing():
    source = """model m
dim N, J
data c[N]: int
data y[J]: int
r ~ Gamma(1.0, 1.0)
p ~ Dirichlet(ones(N))
for n in N:
    c[n] ~ Poisson(r)
for j in J:
    y[j] ~ Categorical(p)
"""
    compiled = compile_source(source)
    # N sizes p's event: merging its rows would change the model; J's rows
    # (draws from p) are exchangeable
    assert compiled.module.COLLAPSIBLE == (("J", "@w0", ("y",), ()),)
    rng = np.random.default_rng(7)
    data = {"c": rng.poisson(3.0, 200), "y": rng.integers(0, 20, 150)}
    dim = merged(compiled.module, data)[0]
    assert dim["N"] == 200 and dim["J"] <= 20
    a, b = fit_both(compiled.module, data, max_iter=20)
    assert_same_fit(a, b)
    assert a["posterior"]["p"]["concentration"].shape == (200,)


def test_missing_data_masks_are_not_collapsed():
    compiled = compile_source(open("models/lda.vmp").read(), missing=True)
    assert getattr(compiled.module, "COLLAPSIBLE", ()) == ()  # (an empty table is not emitted)
    assert "data['@w0']" not in compiled.code
    # a masked one-hot is not hoisted into a dense tokens × words array (which
    # contract cannot build): LDA with missing words is LDA without them
    data, init = lda_corpus(seed=8)
    drop = [3, 10, 11, 400]
    word = data["word"].astype(float)
    word[drop] = np.nan
    masked = compiled.module.fit(dict(data, word=word), init=init, max_iter=30, tol=0,
                                 missing="skip")
    kept = {"doc": np.delete(data["doc"], drop), "word": np.delete(data["word"], drop)}
    plain = module("lda").fit(dict(data, **kept), init={"z": np.delete(init["z"], drop, 0)},
                              max_iter=30, tol=0)
    np.testing.assert_allclose(masked["elbo"], plain["elbo"], rtol=RTOL)
    for name in ("phi", "theta"):
        np.testing.assert_allclose(masked["posterior"][name]["concentration"],
                                   plain["posterior"][name]["concentration"], rtol=RTOL)


def test_the_api_passes_collapse_through():
    model = vmpdsl.load("models/lda.vmp")
    data, init = lda_corpus(seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        merged_fit = model.fit(data, init=init, max_iter=20, tol=0)
        plain_fit = model.fit(data, init=init, max_iter=20, tol=0, collapse=False)
    np.testing.assert_allclose(merged_fit.elbo, plain_fit.elbo, rtol=RTOL)
    calls = []
    real = model._compiled.module.collapse_rows
    model._compiled.module.collapse_rows = lambda *a: calls.append(1) or real(*a)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model.fit(data, init=init, max_iter=2, tol=0, collapse=False)
        assert not calls  # the row-by-row fit really ran
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model.fit(data, init=init, max_iter=2, tol=0)
        assert calls
    finally:
        model._compiled.module.collapse_rows = real
