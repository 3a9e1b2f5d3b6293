"""Chunked sweeps without holding the row latents (vmpdsl/chunk_passes.py,
ondisk.py).

Oracles: the in-memory fit of the same data and seed (ELBO trace, sweep of
convergence and global posteriors to 1e-10) on models with local latents,
with missing="skip" masks, with two row latents that read each other (held
per block), and from .npy files read by rows; numpy's own reader for the
on-disk rows; and tracemalloc's count of the bytes a chunked fit allocates,
against the N × K responsibilities it must not build."""
import tracemalloc
import warnings

import numpy as np
import pytest

import vmpdsl
from vmpdsl.chunk_passes import segments, sweep_steps
from vmpdsl.ondisk import NpyRows

from test_chunked import assert_same  # ELBO trace, stop and posteriors to 1e-10


RMIX = """model rmix
dim N, K
data x[N]
hyper nu = 4.0
pi ~ Dirichlet(ones(K))
for k in K:
    mu[k] ~ Normal(0.0, 0.01)
tau ~ Gamma(1.0, 1.0)
for n in N:
    z[n] ~ Categorical(pi)
    lam[n] ~ Gamma(nu / 2, nu / 2)
    x[n] ~ Normal(mu[z[n]], tau * lam[n])
"""


def gmm_data(rng, n=221):
    x = np.concatenate([rng.normal(-2, 1, (n // 2, 2)), rng.normal(3, 0.5, (n - n // 2, 2))])
    return {"x": x, "K": 3}


def lda_data(rng, docs=12, V=15):
    lengths = rng.integers(5, 20, size=docs)
    return {"doc": np.repeat(np.arange(docs), lengths),
            "word": rng.integers(0, V, size=lengths.sum()), "Dc": docs, "V": V, "K": 3}


def with_nans(data, name, every):
    data = dict(data)
    data[name] = np.array(data[name], dtype=float)
    data[name].reshape(len(data[name]), -1)[::every, -1] = np.nan
    return data


def fits(model, data, chunk_size, **options):
    model = vmpdsl.load(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        memory = model.fit(dict(data), seed=4, collapse=False, **options)
        chunked = model.fit(dict(data), seed=4, chunk_size=chunk_size, **options)
    return memory, chunked


CASES = {
    "gmm": ("models/gmm.vmp", lambda rng: gmm_data(rng), {}),
    "lda": ("models/lda.vmp", lambda rng: lda_data(rng), {"local_iters": 1}),
    "gmm skip": ("models/gmm.vmp", lambda rng: with_nans(gmm_data(rng), "x", 7),
                 {"missing": "skip"}),
    "lda skip": ("models/lda.vmp", lambda rng: with_nans(lda_data(rng), "word", 9),
                 {"missing": "skip", "local_iters": 1}),
    "two row latents": (RMIX, lambda rng: {"x": np.r_[rng.standard_t(4, 80) - 3,
                                                     rng.standard_t(4, 70) + 3], "K": 2}, {}),
}


def more_cases(rng, N=120):
    X = rng.normal(size=(N, 3))
    return {
        "robust_reg": {"X": X, "y": X @ [1, -1, 2] + rng.standard_t(3, N)},
        "poisson_mix": {"c": np.r_[rng.poisson(2, N // 2), rng.poisson(9, N // 2)], "K": 2},
        "naive_bayes": {"label": rng.integers(0, 3, N), "x": rng.integers(0, 4, (N, 5)),
                        "C": 3, "V": 4},
        "softmax_reg": {"X": X, "y": rng.integers(0, 3, N), "C": 3},
        "hier_logit": {"X": X, "trials": rng.integers(1, 9, N), "hits": rng.integers(0, 2, N),
                       "g": rng.integers(0, 4, N), "G": 4},
    }


CASES.update({name: (f"models/{name}.vmp", lambda rng, name=name: more_cases(rng)[name], {})
              for name in more_cases(np.random.default_rng(0))})


def test_no_rows_scatter_gives_the_prior():
    """naive_bayes's constants scatter over the rows; on no rows (a chunked
    fit's u(∅)) the fit is the prior: ELBO 0 (the KL of q from itself)."""
    fit = vmpdsl.load("models/naive_bayes.vmp").fit(
        {"label": np.zeros(0, int), "x": np.zeros((0, 5), int), "C": 3, "V": 4})
    np.testing.assert_allclose(fit.posterior["pi"]["concentration"], np.ones(3))
    assert abs(fit.elbo[-1]) < 1e-12


@pytest.mark.parametrize("case", sorted(CASES))
def test_converged_chunked_fit_is_the_in_memory_fit(case):
    """Run to convergence: the sweep that stops is the same, so the row
    latents' recomputed changes agree with the held ones."""
    model, make, options = CASES[case]
    memory, chunked = fits(model, make(np.random.default_rng(7)), 23, max_iter=400, **options)
    assert memory.converged
    assert_same(memory, chunked)


def test_gmm_sweeps_in_one_pass_each():
    """z on a block, its ELBO part and the next sweep's mu and pi parts in one
    pass: the data are read max_iter + 1 times, z computed once a sweep."""
    module = vmpdsl.load("models/gmm.vmp")._compiled.module
    dim, arrays = module.bind_data({"x": np.zeros((0, 2)), "K": 2})
    hyper = module._hypers(dim)
    K = module._constants(dim, arrays, hyper)
    q, E = {}, {}
    module._initial_state(q, E, K, arrays, hyper, dim, np.random.default_rng(0), {})
    steps = sweep_steps(module, ["z"], (dim, arrays, K), hyper, E)
    passes = list(segments(steps, 5))
    assert len(passes) == 6
    assert [[s.kind for _, s in p] for p in passes[1:-1]] == [["local", "elbo", "global",
                                                               "global"]] * 4


def test_npy_rows_read_as_numpy_does(tmp_path):
    rng = np.random.default_rng(0)
    for array in (rng.normal(size=(37, 3, 2)), rng.integers(0, 9, size=41)):
        np.save(tmp_path / "a.npy", array)
        rows = NpyRows(tmp_path / "a.npy")
        assert rows.shape == array.shape and rows.dtype == array.dtype
        for start, stop in ((0, 10), (10, 37), (30, 100), (5, 5)):
            np.testing.assert_array_equal(rows[start:stop], array[start:stop])
        for picked in ([3, 4, 5, 9, 0, 4, -1], [], np.arange(37)[::-3]):
            np.testing.assert_array_equal(rows[np.array(picked, dtype=int)],
                                          array[np.array(picked, dtype=int)])
    np.save(tmp_path / "f.npy", np.asfortranarray(rng.normal(size=(5, 3))))
    with pytest.raises(ValueError):
        NpyRows(tmp_path / "f.npy")  # chunked.open_arrays maps it instead


def test_lda_from_npy_files_is_the_in_memory_fit(tmp_path):
    data = lda_data(np.random.default_rng(3))
    for name in ("doc", "word"):
        np.save(tmp_path / f"{name}.npy", data[name])
    on_disk = dict(data, doc=str(tmp_path / "doc.npy"), word=str(tmp_path / "word.npy"))
    model = vmpdsl.load("models/lda.vmp")
    memory = model.fit(dict(data), seed=1, max_iter=40, tol=0, collapse=False, local_iters=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        chunked = model.fit(on_disk, seed=1, max_iter=40, tol=0, chunk_size=31, local_iters=1)
    assert_same(memory, chunked)


def traced_peak(fit):
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fit()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_chunked_fit_does_not_hold_the_responsibilities(tmp_path):
    """GMM with N = 60,000, K = 8 from a .npy file: the N × K responsibilities
    are 3.8 MB; the sweeps in blocks of 2,000 allocate far less at their
    peak, while with keep_local=True they hold them (the measure sees them).
    The default k-means start adds what k-means on its sample of SAMPLE =
    20,000 rows costs (chunk_starts.py) and a few copies of the sample."""
    N, K = 60_000, 8
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 2)) + 4 * rng.integers(0, 3, (N, 1))
    np.save(tmp_path / "x.npy", x)
    model = vmpdsl.load("models/gmm.vmp")
    module = model._compiled.module
    data = {"x": str(tmp_path / "x.npy"), "K": K}
    responsibilities = N * K * 8
    traced_peak(lambda: model.fit(data, max_iter=1, chunk_size=2_000))  # compiles the plans
    lean = traced_peak(lambda: model.fit(data, seed=0, max_iter=2, chunk_size=2_000,
                                         init="random"))
    kept = traced_peak(lambda: model.fit(data, seed=0, max_iter=2, chunk_size=2_000,
                                         keep_local=True, init="random"))
    assert lean < responsibilities / 4
    assert kept > responsibilities
    sample = x[:module.SAMPLE]
    kmeans = traced_peak(lambda: module.kmeans_centers(
        sample, np.ones(sample.shape, bool), np.ones(len(sample)), K, np.random.default_rng(0)))
    started = traced_peak(lambda: model.fit(data, seed=0, max_iter=2, chunk_size=2_000))
    # the sample's read (a window of the file, the rows bound) holds a few
    # copies of the sample while k-means runs on it
    assert started < lean + kmeans + 8 * sample.nbytes


def test_models_whose_rows_are_linked_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(vmpdsl.VmpError, match="chain, a lag"):
        vmpdsl.load("models/hmm.vmp").fit({"x": rng.normal(size=(40, 2)), "K": 2},
                                          chunk_size=10)
    with pytest.raises(vmpdsl.VmpError, match="runs over the rows V on another axis"):
        vmpdsl.load("models/sbm.vmp").fit({"A": (rng.random((20, 20)) < 0.3).astype(int),
                                           "K": 2}, chunk_size=10)


def test_zarr_arrays_are_read_by_blocks(tmp_path):
    zarr = pytest.importorskip("zarr")
    data = gmm_data(np.random.default_rng(5))
    stored = zarr.open_array(str(tmp_path / "x.zarr"), mode="w", shape=data["x"].shape,
                             chunks=(40, 2), dtype=float)
    stored[:] = data["x"]
    memory, _ = fits("models/gmm.vmp", data, 50, max_iter=30, tol=0)
    model = vmpdsl.load("models/gmm.vmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for given in (str(tmp_path / "x.zarr"), stored):
            assert_same(memory, model.fit({"x": given, "K": 3}, seed=4, max_iter=30, tol=0,
                                          chunk_size=50))
