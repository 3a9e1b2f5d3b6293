"""Chunked sweeps (vmpdsl/chunked.py): ``fit(data, chunk_size=n)`` is the
in-memory fit computed one row block at a time.

Oracle: the in-memory fit of the same data, seed and options — the ELBO
trace and every global posterior agree to 1e-10 (relative), with blocks that
do not divide the rows, from memory maps and from ``.npy`` files; the row
latents' posterior too with ``keep_local=True``.  With default options too:
a mixture's k-means start on a sample of the rows and the delete/merge moves
after the climb (chunk_starts.py) are the in-memory fit's, on data where the
start decides the answer and a move is kept."""
import warnings

import numpy as np
import pytest

import vmpdsl
from vmpdsl.compiler import compile_source

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


# LDA's plain sweep (θ a sum over row blocks); its default, each document's
# θ and z iterated per sweep in blocks of whole documents: test_chunked_groups.py
OPTIONS = {"lda": {"local_iters": 1}}


def both(name, data, chunk_size, **options):
    """(in-memory fit, chunked fit) of the same data, seed and options
    (chunked fits fit every row: collapse=False)."""
    model = vmpdsl.load(f"models/{name}.vmp")
    options = dict(OPTIONS.get(name, {}), **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        memory = model.fit(dict(data), seed=4, collapse=False, **options)
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
    memory = model.fit(dict(data), seed=0, max_iter=25, tol=0)
    for given in (str(tmp_path / "x.npy"), np.load(tmp_path / "x.npy", mmap_mode="r")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            chunked = model.fit({"x": given, "K": 3}, seed=0, max_iter=25, tol=0, chunk_size=30)
        assert_same(memory, chunked)


def separated_gmm(seed=0):
    """Four clusters far apart, fitted with K=6: from a random start (seed 0)
    the fit merges clusters (an ELBO 26 nats lower); from the k-means start a
    delete or merge move is kept after the climb."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0], [6, 0], [0, 6], [6, 6]])
    x = np.concatenate([rng.normal(c, 1, (50, 2)) for c in centers])
    return {"x": x[rng.permutation(len(x))], "K": 6}


def default_fit(model, data, **options):
    """The fit with default options, and whether it kept a move (the sweeps
    reported to the callback are more than the trace: the kept climb's)."""
    reported = []
    fit = model.fit(data, seed=0, callback=lambda i, elbo: reported.append(elbo), **options)
    return fit, len(reported) > len(fit.elbo)


@pytest.mark.parametrize("sample", [None, 60])
def test_default_chunked_gmm_is_the_default_in_memory_fit(tmp_path, monkeypatch, sample):
    """The k-means start on all rows, or (sample=60, in memory as above
    SAMPLE rows) on a sample drawn from the fit's generator, read from each
    kind of array; then the moves, evaluated over the blocks."""
    model = vmpdsl.load("models/gmm.vmp")
    if sample:
        monkeypatch.setattr(model._compiled.module, "SAMPLE", sample)
    data = separated_gmm()
    memory, moved = default_fit(model, dict(data))
    assert moved
    at_random = model.fit(dict(data), seed=0, init="random")
    assert at_random.elbo[-1] < memory.elbo[-1] - 10  # the start decides the answer
    np.save(tmp_path / "x.npy", data["x"])
    for given, chunk_size in [(data["x"], 37), (data["x"], 1000),
                              (str(tmp_path / "x.npy"), 45),
                              (np.load(tmp_path / "x.npy", mmap_mode="r"), 64)]:
        chunked, moved = default_fit(model, {"x": given, "K": 6}, chunk_size=chunk_size)
        assert moved
        assert_same(memory, chunked)
    held = model.fit(dict(data), seed=0, chunk_size=37, keep_local=True)
    assert_same(memory, held, ["z", "mu", "Lambda", "pi"])
    random = model.fit(dict(data), seed=0, init="random", chunk_size=37)
    assert_same(at_random, random)


def test_default_chunked_start_with_missing_rows(monkeypatch):
    """missing="skip": the rows in use (some observation) are found by a pass,
    the sample drawn among them; a row with none starts uniform."""
    model = vmpdsl.load("models/gmm.vmp")
    data = separated_gmm(1)
    data["x"][::7, 0] = np.nan
    data["x"][::11] = np.nan
    skipping = compile_source(model.checked.source, model.checked.filename, (), True,
                              False).module  # the module fit(missing="skip") compiles
    monkeypatch.setattr(skipping, "SAMPLE", 80)
    memory = model.fit(dict(data), seed=2, missing="skip")
    chunked = model.fit(dict(data), seed=2, missing="skip", chunk_size=33)
    assert_same(memory, chunked)


def test_lda_default_local_iters_is_no_longer_refused():
    """The model file fitted as in memory, with a chunk_size only: the
    default fit (each document's θ and z iterated with restarts), not an
    error asking for local_iters=1."""
    data = lda_data(np.random.default_rng(0))
    model = vmpdsl.load("models/lda.vmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        chunked = model.fit(dict(data), seed=1, chunk_size=30, max_iter=8)
        memory = model.fit(dict(data), seed=1, max_iter=8)
        plain = model.fit(dict(data), seed=1, max_iter=8, local_iters=1, collapse=False)
    np.testing.assert_allclose(chunked.elbo, memory.elbo, rtol=RTOL)
    assert abs(chunked.elbo[-1] - plain.elbo[-1]) > 1e-6 * abs(plain.elbo[-1])


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


def test_point_indicator_from_a_random_start_chunked():
    """gmm with z a point estimate (hard assignments) from init="random": on
    no rows its prior's coefficients are empty arrays, which once read as "no
    prior" and gave z a value without its K axis (a raw einsum ValueError)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-3, 1, (50, 2)), rng.normal(3, 1, (50, 2))])
    memory, chunked = both("gmm", {"x": x, "K": 3}, 30, point=["z"], init="random",
                           max_iter=20)
    assert_same(memory, chunked)
