"""Stochastic VI (vmpdsl/svi.py): ``fit(method="svi")`` and ``OnlineVI``.

Oracles:
* batch VB is SVI with B = N and ρ = 1: with tau0 = 0 (ρ_1 = 1) and one
  local update, the globals after SVI's first step are those of the
  in-memory fit after two sweeps (1e-10), on GMM (rows) and LDA (documents);
  the second step (ρ_2 = 2^−κ) is the interpolation of the natural
  parameters of the fit's sweep-2 and sweep-3 globals (GMM: one local update
  is optimal, so the fresh local start does not matter);
* with a decaying step SVI reaches the batch fixed point: the hierarchical
  normal model (one optimum) and Beta–Bernoulli (the exact posterior);
* ``OnlineVI.partial_fit`` on the fit's minibatches gives the fit (1e-12);
* ``.npy`` paths give the in-memory SVI fit;
* the held-out bound of Beta–Bernoulli in closed form (digammas);
* bad learning rates, batch sizes and models: VmpDataError.
"""
import warnings

import numpy as np
import pytest
from scipy.special import digamma

import vmpdsl
from contract_data import SIMULATE
from vmpdsl.errors import VmpDataError
from vmpdsl.families.registry import FAMILIES
from vmpdsl.svi import minibatch_order

RTOL = 1e-10
KAPPA = 0.7


def gmm_data(rng, N=240):
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    return {"x": centres[rng.integers(0, 3, N)] + rng.normal(size=(N, 2)), "K": 3}


def lda_data(rng, docs=30, V=12):
    lengths = rng.integers(5, 15, size=docs)
    return {"doc": np.repeat(np.arange(docs), lengths),
            "word": rng.integers(0, V, size=lengths.sum()), "Dc": docs, "V": V, "K": 3}


def hier_data(rng, G=60):
    g = np.repeat(np.arange(G), 4)
    return {"y": rng.normal(2.0, 1.0, G)[g] + rng.normal(0, 0.5, g.size), "g": g, "G": G}


def quiet(fit, *args, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fit(*args, **options)


def close(a, b, rtol=RTOL):
    for name in b:
        for key, value in b[name].items():
            np.testing.assert_allclose(a[name][key], value, rtol=rtol,
                                       atol=rtol * np.max(np.abs(value)), err_msg=f"{name}.{key}")


def globals_of(fit, names):
    return {n: fit.posterior[n] for n in names}


@pytest.mark.parametrize("start", ["kmeans", "random"])
@pytest.mark.parametrize("name, make, names", [("gmm", gmm_data, ("mu", "Lambda", "pi")),
                                               ("lda", lda_data, ("phi",))])
def test_first_step_with_all_units_is_two_batch_sweeps(name, make, names, start):
    data = make(np.random.default_rng(1))
    model = vmpdsl.load(f"models/{name}.vmp")
    n = data["Dc"] if name == "lda" else len(data["x"])
    # the first minibatch starts as the batch fit does (a mixture's k-means
    # start by default, README), and SVI sweeps its locals plainly: batch
    # sweeps likewise
    svi = quiet(model.fit, dict(data), method="svi", batch_size=n, learning_rate=(0.0, KAPPA),
                max_iter=1, seed=3, local_iters=1, collapse=False, init=start)
    batch = quiet(model.fit, dict(data), max_iter=2, tol=0, seed=3, collapse=False,
                  local_iters=1, init=start)
    close(globals_of(svi, names), globals_of(batch, names))
    if name == "gmm":  # its locals (z) are one update from the globals: the ELBO too
        np.testing.assert_allclose(svi.elbo, batch.elbo[1:], rtol=RTOL)


def test_second_step_interpolates_natural_parameters():
    """λ_2 = (1 − ρ_2) λ(sweep 2) + ρ_2 λ(sweep 3), ρ_2 = 2^−κ."""
    data = gmm_data(np.random.default_rng(2))
    model = vmpdsl.load("models/gmm.vmp")
    svi = quiet(model.fit, dict(data), method="svi", batch_size=len(data["x"]),
                learning_rate=(0.0, KAPPA), max_iter=2, tol=0, seed=5)
    two, three = (quiet(model.fit, dict(data), max_iter=k, tol=0, seed=5) for k in (2, 3))
    rho = 2.0 ** -KAPPA
    NW = FAMILIES["NormalWishart"]
    def joint(fit):
        return {k: fit.posterior["mu"][k] for k in ("mean", "beta", "df", "scale")}
    old, new = NW.coeffs_from_params(joint(two)), NW.coeffs_from_params(joint(three))
    want = NW.params_from_coeffs({s: (1 - rho) * old[s] + rho * new[s] for s in old})
    close({"mu": joint(svi)}, {"mu": want})
    pi = ((1 - rho) * two.posterior["pi"]["concentration"]
          + rho * three.posterior["pi"]["concentration"])
    np.testing.assert_allclose(svi.posterior["pi"]["concentration"], pi, rtol=RTOL)
    assert svi.result["svi"]["steps"] == 2


def test_decaying_steps_reach_the_batch_fixed_point():
    """Hierarchical normal model, 60 groups as units, minibatches of 10: SVI's
    globals approach the batch optimum as ρ_t = (t + 1)^−0.7 decays.  The
    ELBO is second order in the globals' error, so a gap ≤ 1e-3 nats (of
    ~500) means ~1e-3 relative parameter error; after one pass the gap is
    ≥ 100× larger, so the tolerances are far below where SVI starts."""
    data = hier_data(np.random.default_rng(3))
    model = vmpdsl.load("models/hier.vmp")
    batch = quiet(model.fit, dict(data), tol=1e-14, max_iter=5000)
    svi = quiet(model.fit, dict(data), method="svi", batch_size=10, learning_rate=(1.0, KAPPA),
                max_iter=40, tol=0, seed=0, elbo_every=1)
    gaps = batch.elbo[-1] - svi.elbo
    assert 0 <= gaps[-1] <= 1e-3, gaps[-1]  # the batch optimum is the maximum
    assert gaps[0] >= 100 * gaps[-1]
    close(globals_of(svi, ("mu", "tau", "sigma")), globals_of(batch, ("mu", "tau", "sigma")),
          rtol=2e-3)


def test_mixture_fixed_point_is_where_svi_stays():
    """GMM (random z per minibatch, many optima): started at a batch fixed
    point, SVI's noise around it dies out as ρ_t decays — after one pass the
    ELBO is ~1 nat below, after 20 passes < 5e-3 (measured 2e-3), and the
    globals agree to 1% (measured 2e-3)."""
    data = gmm_data(np.random.default_rng(5))
    model = vmpdsl.load("models/gmm.vmp")
    batch = quiet(model.fit, dict(data), seed=0, tol=1e-14, max_iter=3000)
    mu = batch.posterior["mu"]
    init = {"mu": {k: mu[k] for k in ("mean", "beta", "df", "scale")},
            "pi": batch.posterior["pi"]}
    svi = quiet(model.fit, dict(data), method="svi", batch_size=40, learning_rate=(1.0, KAPPA),
                max_iter=20, tol=0, seed=0, init=init)
    gaps = batch.elbo[-1] - svi.elbo
    assert 0 <= gaps[-1] <= 5e-3 and gaps[0] >= 100 * gaps[-1], gaps
    close(globals_of(svi, ("mu", "Lambda", "pi")), globals_of(batch, ("mu", "Lambda", "pi")),
          rtol=1e-2)


def test_coin_reaches_the_exact_posterior_and_heldout_bound():
    """Beta–Bernoulli: the batch posterior is Beta(1 + n1, 1 + n0); the
    held-out bound of x_h under q is Σ_h E_q[log p(x_h | p)] in digammas."""
    rng = np.random.default_rng(4)
    x, held = ((rng.random(n) < 0.3).astype(int) for n in (400, 50))
    model = vmpdsl.load("models/coin.vmp")
    fit = quiet(model.fit, {"x": x}, method="svi", batch_size=40, learning_rate=(1.0, 0.9),
                max_iter=30, tol=0, seed=1, heldout={"x": held})
    a, b = 1 + x.sum(), 1 + (1 - x).sum()
    q = fit.posterior["p"]
    np.testing.assert_allclose([q["a"], q["b"]], [a, b], rtol=2e-3)
    a, b = q["a"], q["b"]
    ones, zeros = held.sum(), (1 - held).sum()
    bound = ones * (digamma(a) - digamma(a + b)) + zeros * (digamma(b) - digamma(a + b))
    info = fit.result["svi"]
    np.testing.assert_allclose(info["heldout_elbo"][-1], bound, rtol=1e-12)
    np.testing.assert_allclose(info["heldout_perplexity"][-1], np.exp(-bound / held.size),
                               rtol=1e-12)


def minibatch(data, name, ids):
    """The units ``ids`` as a data dict of their own (documents renumbered)."""
    if name == "gmm":
        return {"x": data["x"][ids], "K": data["K"]}
    rows = np.isin(data["doc"], ids)
    return dict(data, doc=np.searchsorted(ids, data["doc"][rows]), word=data["word"][rows],
                Dc=len(ids))


@pytest.mark.parametrize("name, make", [("gmm", gmm_data), ("lda", lda_data)])
def test_partial_fit_matches_fit(name, make):
    data = make(np.random.default_rng(6))
    model = vmpdsl.load(f"models/{name}.vmp")
    n = data["Dc"] if name == "lda" else len(data["x"])
    fit = quiet(model.fit, dict(data), method="svi", batch_size=7, learning_rate=(2.0, 0.8),
                max_iter=2, tol=0, seed=8)
    online = vmpdsl.OnlineVI(model, n, learning_rate=(2.0, 0.8), seed=8)
    for batches in minibatch_order(n, 7, 8, 2):
        for ids in batches:
            online.partial_fit(minibatch(data, name, ids))
    assert online.steps == fit.result["svi"]["steps"] == 2 * -(-n // 7)
    close(online.fit_.posterior, fit.posterior, rtol=1e-12)
    np.testing.assert_allclose(online.elbo(data, block=7), fit.elbo[-1], rtol=1e-12)


def test_npy_paths_give_the_in_memory_fit(tmp_path):
    data = lda_data(np.random.default_rng(7))
    for key in ("doc", "word"):
        np.save(tmp_path / f"{key}.npy", data[key])
    on_disk = dict(data, doc=str(tmp_path / "doc.npy"), word=str(tmp_path / "word.npy"))
    model = vmpdsl.load("models/lda.vmp")
    options = dict(method="svi", batch_size=4, max_iter=2, seed=1, tol=0)
    memory, disk = (quiet(model.fit, d, **options) for d in (dict(data), on_disk))
    close(disk.posterior, memory.posterior, rtol=1e-14)
    np.testing.assert_allclose(disk.elbo, memory.elbo, rtol=1e-14)


@pytest.mark.parametrize("options, message", [
    (dict(learning_rate=(1.0, 0.5)), "kappa must be in"),
    (dict(learning_rate=(1.0, 1.01)), "kappa must be in"),
    (dict(learning_rate=(-0.1, 0.7)), "tau0 must be"),
    (dict(learning_rate=0.7), "pair"),
    (dict(batch_size=0), "positive whole number"),
    (dict(batch_size=1.5), "positive whole number"),
    (dict(batch_size=241), "more than the 240 units"),
    (dict(batch_size=None), "needs batch_size"),
    (dict(method="sgd"), "method must be"),
    (dict(n_init=2), "does not take n_init"),
    (dict(elbo_every=0), "elbo_every"),
    (dict(init={"z": np.full((240, 3), 1 / 3)}), "global latents only"),
    (dict(heldout={"x": np.zeros((5, 3))}), "heldout: dim D is 3, but 2"),
])
def test_bad_values_are_errors(options, message):
    data = gmm_data(np.random.default_rng(0))
    args = dict(method="svi", batch_size=20, max_iter=1)
    args.update(options)
    with pytest.raises(VmpDataError, match=message):
        vmpdsl.load("models/gmm.vmp").fit(data, **args)


@pytest.mark.parametrize("name, message", [("hmm", "not independent"),
                                           ("lgssm", "one leading row axis"),
                                           ("sbm", "not independent"),
                                           ("pca", "rotate=False"),
                                           ("linreg_em", "point estimates")])
def test_models_without_independent_units_are_refused(name, message):
    with pytest.raises(VmpDataError, match=message):
        vmpdsl.OnlineVI(f"models/{name}.vmp", 10)


def test_partial_fit_checks_its_minibatch():
    online = vmpdsl.OnlineVI("models/gmm.vmp", 5)
    with pytest.raises(VmpDataError, match="more than the 5"):
        online.partial_fit({"x": np.zeros((6, 2)), "K": 2})
    with pytest.raises(VmpDataError, match="partial_fit"):
        online.elbo({"x": np.zeros((6, 2)), "K": 2})
    online.partial_fit({"x": np.zeros((4, 2)), "K": 2})
    with pytest.raises(VmpDataError, match="minibatch: dim D is 3, but 2"):
        online.partial_fit({"x": np.zeros((4, 3)), "K": 2})


def test_cli_fits_by_svi_and_reports_the_heldout_bound(tmp_path, capsys):
    from vmpdsl.cli import main
    rng = np.random.default_rng(9)
    np.savez(tmp_path / "train.npz", x=gmm_data(rng)["x"])
    np.savez(tmp_path / "held.npz", x=gmm_data(rng, 40)["x"])
    args = ["fit", "models/gmm.vmp", "--data", str(tmp_path / "train.npz"), "--set", "K=3",
            "--quiet", "--seed", "2", "--max-iter", "2"]
    svi = ["--svi", "--batch-size", "30", "--tau0", "1", "--kappa", "0.9",
           "--heldout", str(tmp_path / "held.npz")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert main(args + svi) == 0
    out = capsys.readouterr().out
    fit = quiet(vmpdsl.load("models/gmm.vmp").fit, {"x": np.load(tmp_path / "train.npz")["x"],
                                                    "K": 3}, method="svi", batch_size=30,
                learning_rate=(1, 0.9), max_iter=2, seed=2,
                heldout={"x": np.load(tmp_path / "held.npz")["x"]})
    assert f"after 2 passes; ELBO {fit.elbo[-1]:.6f}" in out
    assert f"perplexity {fit.result['svi']['heldout_perplexity'][-1]:.4f}" in out
    for bad, message in ((["--svi", "--batch-size", "0"], "batch_size must be"),
                         (["--svi"], "needs batch_size"),
                         (["--batch-size", "5"], "--svi fits only"),
                         (["--svi", "--batch-size", "5", "--kappa", "0.5"], "kappa"),
                         (["--svi", "--batch-size", "5", "--tau0", "-2"], "tau0")):
        assert main(args + bad) == 2
        assert message in capsys.readouterr().err


def test_tokens_in_any_order_give_the_same_fit():
    """Documents' tokens need not be contiguous: a minibatch gathers each
    document's rows (merged into distinct (doc, word) rows with counts, in
    sorted order, so the fit cannot tell the orders apart)."""
    data = lda_data(np.random.default_rng(10))
    order = np.random.default_rng(11).permutation(data["doc"].size)
    shuffled = dict(data, doc=data["doc"][order], word=data["word"][order])
    model = vmpdsl.load("models/lda.vmp")
    options = dict(method="svi", batch_size=8, max_iter=2, seed=2, tol=0)
    sorted_fit, shuffled_fit = (quiet(model.fit, d, **options) for d in (dict(data), shuffled))
    close(shuffled_fit.posterior, sorted_fit.posterior, rtol=1e-12)
    np.testing.assert_allclose(shuffled_fit.elbo, sorted_fit.elbo, rtol=1e-12)


def test_mixture_svi_starts_from_kmeans_on_the_first_minibatch():
    """Four clusters far apart, K=6 (the chunked tests' case where a random
    start merges clusters): from the default start (k-means on the first
    minibatch's rows) SVI ends within 10 nats of the default batch fit (measured
    4–8 over seeds 0–3); from init="random", 80–180 nats below it (its first
    step puts every component at the data's mean).  OnlineVI starts alike
    (test_partial_fit_matches_fit)."""
    from test_chunked import separated_gmm
    data = separated_gmm(0)
    model = vmpdsl.load("models/gmm.vmp")
    batch = quiet(model.fit, dict(data), seed=0).elbo[-1]
    options = dict(method="svi", batch_size=40, max_iter=30, seed=1)
    kmeans = quiet(model.fit, dict(data), **options)
    random = quiet(model.fit, dict(data), init="random", **options)
    assert batch - 10 < kmeans.elbo[-1] <= batch
    assert random.elbo[-1] < batch - 50


def test_full_data_elbo_is_exact_over_blocks():
    """ELBO(∅) + Σ_blocks (ELBO(block) − ELBO(∅)) over blocks of 7 rows equals
    the ELBO on all rows at once (GMM: one update fits z exactly)."""
    data = gmm_data(np.random.default_rng(12))
    model = vmpdsl.load("models/gmm.vmp")
    online = vmpdsl.OnlineVI(model, len(data["x"]), seed=1)
    for start in range(0, 60, 20):
        online.partial_fit({"x": data["x"][start:start + 20], "K": 3})
    whole = online.elbo(data, block=len(data["x"]))
    np.testing.assert_allclose(online.elbo(data, block=7), whole, rtol=1e-12)
    # the held-out bound leaves out ELBO(∅) = −KL(q(globals) ‖ prior) ≤ 0
    assert online.heldout(data, block=7)[0] > whole


REFUSED = {"gmm_em": "point estimates", "linreg_em": "point estimates",
           "lda_eb": "Newton steps", "poisson_reg": "Newton steps", "pumps": "Newton steps",
           "hmm": "not independent", "sbm": "not independent", "lgssm": "one leading row axis"}


@pytest.mark.parametrize("name", sorted(SIMULATE))
def test_every_model_fits_by_svi_or_is_refused(name):
    """On data simulated from each contract model, two passes of SVI give a
    finite ELBO and the globals' posterior, or a VmpDataError says why not."""
    data, _ = SIMULATE[name](np.random.default_rng(0))
    model = vmpdsl.load(f"models/{name}.vmp")
    units = data.get("Dc", data.get("G"))
    units = units if units is not None else len(next(v for v in data.values() if np.ndim(v)))
    options = dict(method="svi", batch_size=max(1, units // 3), max_iter=2, seed=0,
                   rotate=False)
    if name in REFUSED:
        with pytest.raises(VmpDataError, match=REFUSED[name]):
            model.fit(data, **options)
        return
    fit = quiet(model.fit, data, **options)
    assert np.all(np.isfinite(fit.elbo)) and len(fit.elbo) == 2
    local = set(model._compiled.module.LOCAL_BLOCK)
    assert fit.posterior and not local & set(fit.posterior)
