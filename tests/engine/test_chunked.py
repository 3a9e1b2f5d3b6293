"""Chunked sweeps (vmpdsl/chunked.py): ``fit(data, chunk_size=n)`` is the
in-memory fit computed one row block at a time.

Oracle: the in-memory fit of the same data and seed — the ELBO trace and
every global posterior agree to 1e-10 (relative), with blocks that do not
divide the rows, from memory maps and from ``.npy`` files; the row latents'
posterior too with ``keep_local=True``."""
import warnings

import numpy as np
import pytest

import vmpdsl

RTOL = 1e-10


def gmm_data(rng):
    x = np.concatenate([rng.normal(-2, 1, (130, 2)), rng.normal(3, 0.5, (91, 2))])
    return {"x": x, "K": 3}


def lda_data(rng):
    docs, V = 12, 15
    lengths = rng.integers(5, 20, size=docs)
    return {"doc": np.repeat(np.arange(docs), lengths),
            "word": rng.integers(0, V, size=lengths.sum()), "Dc": docs, "V": V, "K": 3}


def linreg_data(rng):
    X = rng.normal(size=(157, 3))
    return {"X": X, "y": X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=157)}


def hier_data(rng):
    g = rng.integers(0, 4, size=120)
    return {"y": rng.normal(size=120) + g, "g": g, "G": 4}


CASES = {"gmm": gmm_data, "lda": lda_data, "linreg": linreg_data, "hier": hier_data}


def both(name, data, chunk_size, **options):
    model = vmpdsl.load(f"models/{name}.vmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # chunked sweeps update the locals once per sweep and start at random (README)
        memory = model.fit(dict(data), seed=4, collapse=False, local_iters=1, init="random",
                           **options)
        chunked = model.fit(dict(data), seed=4, chunk_size=chunk_size, **options)
    return memory, chunked


def assert_same(memory, chunked, names=None):
    np.testing.assert_allclose(chunked.elbo, memory.elbo, rtol=RTOL)
    assert chunked.iterations == memory.iterations
    assert chunked.converged == memory.converged
    for name in names or chunked.posterior:
        for key, value in chunked.posterior[name].items():
            # a joint block's empty component has an infinite marginal
            # variance: compare the finite entries with a scale-relative atol
            # (an atol of inf would accept anything) and the rest exactly
            value, other = np.asarray(value), np.asarray(memory.posterior[name][key])
            finite = np.isfinite(value)
            np.testing.assert_array_equal(finite, np.isfinite(other))
            np.testing.assert_array_equal(value[~finite], other[~finite])
            scale = np.max(np.abs(value[finite]), initial=0.0)
            np.testing.assert_allclose(value[finite], other[finite], rtol=RTOL,
                                       atol=RTOL * scale)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("chunk_size", [1000, 50, 17])
def test_chunked_fit_is_the_in_memory_fit(name, chunk_size):
    data = CASES[name](np.random.default_rng(len(name)))
    memory, chunked = both(name, data, chunk_size, max_iter=60)
    assert_same(memory, chunked)
    assert set(chunked.posterior) <= set(memory.posterior)


def test_row_latents_kept_only_if_asked():
    data = gmm_data(np.random.default_rng(1))
    memory, chunked = both("gmm", data, 40, max_iter=30, keep_local=True)
    assert_same(memory, chunked, ["z", "mu", "Lambda", "pi"])
    _, dropped = both("gmm", data, 40, max_iter=3)
    assert "z" not in dropped.posterior


def test_memory_maps_and_npy_files(tmp_path):
    data = gmm_data(np.random.default_rng(2))
    np.save(tmp_path / "x.npy", data["x"])
    model = vmpdsl.load("models/gmm.vmp")
    memory = model.fit(dict(data), seed=0, max_iter=25, tol=0, init="random")
    for given in (str(tmp_path / "x.npy"), np.load(tmp_path / "x.npy", mmap_mode="r")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            chunked = model.fit({"x": given, "K": 3}, seed=0, max_iter=25, tol=0, chunk_size=30)
        assert_same(memory, chunked)


def test_bad_row_in_a_block_names_its_rows():
    data = gmm_data(np.random.default_rng(3))
    data["x"][100, 1] = np.nan
    with pytest.raises(vmpdsl.VmpError, match="rows 100–149"):
        vmpdsl.load("models/gmm.vmp").fit(data, chunk_size=50)


@pytest.mark.parametrize("options, message", [
    ({"chunk_size": 0}, "chunk_size must be a positive"),
    ({"chunk_size": 10, "local_iters": 3}, "local_iters=1"),
    ({"chunk_size": 10, "n_init": 2}, "n_init=1"),
])
def test_chunked_options_checked(options, message):
    with pytest.raises(vmpdsl.VmpError, match=message):
        vmpdsl.load("models/gmm.vmp").fit(gmm_data(np.random.default_rng(0)), **options)


def test_models_whose_start_cannot_be_chunked_are_refused():
    rng = np.random.default_rng(0)
    data = {"Y": rng.normal(size=(20, 3)), "K": 2}
    with pytest.raises(vmpdsl.VmpError, match="rotation step"):
        vmpdsl.load("models/pca.vmp").fit(data, chunk_size=5)
    with pytest.raises(vmpdsl.VmpError, match="fit it in memory"):
        vmpdsl.load("models/pca.vmp").fit(data, chunk_size=5, rotate=False)


def test_newton_updated_globals_are_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    data = {"X": X, "y": rng.poisson(np.exp(X @ np.array([0.5, -0.3])))}
    with pytest.raises(vmpdsl.VmpError, match="Newton"):
        vmpdsl.load("models/poisson_reg.vmp").fit(data, chunk_size=10)


@pytest.mark.parametrize("name", ["gmm_em", "logreg"])
def test_points_and_local_bounds_chunked(name):
    rng = np.random.default_rng(5)
    if name == "gmm_em":  # two components for two clusters: no near-empty one whose
        data = dict(gmm_data(rng), K=2)  # mean amplifies rounding over the sweeps
    else:
        X = rng.normal(size=(90, 2))
        data = {"X": X, "y": (X[:, 0] + rng.normal(size=90) > 0).astype(int)}
    memory, chunked = both(name, data, 25, max_iter=40)
    assert_same(memory, chunked)
