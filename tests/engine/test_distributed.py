"""dask.distributed sweeps (vmpdsl/distributed.py): ``fit`` of dask arrays,
or of numpy data with ``client=`` and ``chunk_size=``, on a LocalCluster of
two process workers.

Oracle: the in-memory fit of the same data and seed — the ELBO trace and
every posterior parameter agree to 1e-10 (relative), for models whose sweep
is one round per block (GMM, LDA, logistic regression with its local bound)
and one of several rounds (the hierarchical model: each global reads the one
before); the row latents too with ``keep_local=True``.  The round structure
itself is checked against the emitted GMM's updates (z reads mu and pi)."""
import sys
import warnings

import numpy as np
import pytest

import vmpdsl
from test_chunked import (CASES, OPTIONS, assert_same, default_fit, gmm_data, lda_data,
                          separated_gmm)
from test_chunked_groups import corpus
from vmpdsl import cli

da = pytest.importorskip("dask.array", reason="the dask extra is not installed")
distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


@pytest.fixture(scope="module")
def client():
    try:
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           memory_limit="1GiB", dashboard_address=None)
    except Exception as err:  # noqa: BLE001 (a sandbox without sockets or processes)
        pytest.skip(f"distributed could not start a LocalCluster: {err}")
    with cluster, distributed.Client(cluster) as client:
        yield client


def logreg_data(rng):
    X = rng.normal(size=(90, 2))
    return {"X": X, "y": (X[:, 0] + rng.normal(size=90) > 0).astype(int)}


CASES = dict(CASES, logreg=logreg_data)


def as_dask(data, rows):
    return {k: da.from_array(v, chunks=(rows,) + np.shape(v)[1:]) if np.ndim(v) else v
            for k, v in data.items()}


def both(name, data, **options):
    """(in-memory fit, cluster fit) of the same data and seed."""
    model = vmpdsl.load(f"models/{name}.vmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        memory = model.fit({k: v.compute() if hasattr(v, "dask") else v
                            for k, v in data.items()}, seed=4, collapse=False, max_iter=10,
                           **OPTIONS.get(name, {}))
        cluster = model.fit(data, seed=4, max_iter=10, **OPTIONS.get(name, {}), **options)
    return memory, cluster


@pytest.mark.parametrize("name", ["gmm", "lda", "logreg", "hier"])
def test_cluster_fit_is_the_in_memory_fit(client, name):
    data = CASES[name](np.random.default_rng(len(name)))
    memory, cluster = both(name, as_dask(data, 80))  # the current Client by default
    assert_same(memory, cluster)


def test_numpy_data_with_client_and_row_latents_kept(client):
    data = gmm_data(np.random.default_rng(1))
    memory, cluster = both("gmm", data, client=client, chunk_size=100, keep_local=True)
    assert_same(memory, cluster, ["z", "mu", "Lambda", "pi"])


def test_default_cluster_gmm_is_the_default_in_memory_fit(client):
    """The k-means start (sample read from the dask array, labels on the
    workers) and a delete/merge move kept, as in memory (test_chunked)."""
    model = vmpdsl.load("models/gmm.vmp")
    data = separated_gmm()
    memory, moved = default_fit(model, dict(data))
    cluster, moved_too = default_fit(model, as_dask(data, 70))
    assert moved and moved_too
    assert_same(memory, cluster)


@pytest.mark.parametrize("collapse", [True, False])
def test_default_cluster_lda_is_the_default_in_memory_fit(client, collapse):
    """LDA's default local loop (each document's θ and z with restarts) on
    the cluster: dask chunks of 70 rows, which cut documents, rechunked on
    document boundaries; duplicate tokens merged as in memory (or not)."""
    data = corpus()
    model = vmpdsl.load("models/lda.vmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        memory = model.fit(dict(data), seed=3, collapse=collapse, max_iter=25)
        cluster = model.fit(as_dask(data, 70), seed=3, keep_local=True, collapse=collapse,
                            max_iter=25)
    assert_same(memory, cluster, ["phi", "theta", "z"])


def test_default_lda_from_numpy_data_with_a_client(client):
    data = corpus(1)
    model = vmpdsl.load("models/lda.vmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        memory = model.fit(dict(data), seed=3, max_iter=10)
        cluster = model.fit(dict(data), seed=3, max_iter=10, client=client, chunk_size=90)
    assert_same(memory, cluster, ["phi", "theta"])


def test_a_gmm_sweep_is_one_round():
    """z reads the globals mu and pi; mu and pi read only z: after the first
    round, each round is [z; ELBO; mu, pi of the next sweep]."""
    from vmpdsl.distributed import rounds, update_reads
    model = vmpdsl.load("models/gmm.vmp")
    module = model._compiled.module
    reads = update_reads(model.code, module)
    assert [sorted(r) for r in reads] == [["z"], ["z"], ["mu", "pi"]]
    assert list(rounds(module, reads, ["z"], 3)) == [
        [("global", 0), ("global", 1)],
        [("local", 2), ("elbo", 0), ("global", 0), ("global", 1)],
        [("local", 2), ("elbo", 1), ("global", 0), ("global", 1)],
        [("local", 2), ("elbo", 2)]]


def test_an_update_that_passes_E_on_reads_everything():
    """A helper may read any latent from E: such an update ends its round
    before any pending global (reads None), never silently reading a stale one."""
    import ast
    from vmpdsl.distributed import e_reads
    tree = ast.parse("def u(E, K):\n    return E['a']['x'] + helper(E)\n"
                     "def v(E, K):\n    return E['a']['x'] * E['b']['log']\n")
    assert e_reads(tree.body[0]) is None
    assert e_reads(tree.body[1]) == {"a", "b"}


def test_cli_scheduler_gives_the_in_process_fit(client, capsys):
    args = ["fit", "models/gmm.vmp", "--data", "models/data/faithful.csv", "--standardize",
            "--set", "K=3", "--seed", "0", "--quiet", "--chunk-size", "100", "--max-iter", "8"]
    assert cli.main(args) == 0
    alone = capsys.readouterr().out.splitlines()[0]
    assert cli.main(args + ["--scheduler", client.scheduler.address]) == 0
    assert capsys.readouterr().out.splitlines()[0] == alone


def test_cli_scheduler_needs_a_chunk_size(capsys):
    args = ["fit", "models/gmm.vmp", "--data", "models/data/faithful.csv", "--set", "K=3",
            "--scheduler", "tcp://127.0.0.1:1"]
    assert cli.main(args) == 2
    assert "--scheduler needs --chunk-size" in capsys.readouterr().err


def test_bad_row_in_a_block_names_its_rows(client):
    data = gmm_data(np.random.default_rng(3))
    data["x"][100, 1] = np.nan
    with pytest.raises(vmpdsl.VmpError, match="rows 100–149"):
        vmpdsl.load("models/gmm.vmp").fit(as_dask(data, 50))


def bad_cases():
    x = da.from_array(gmm_data(np.random.default_rng(0))["x"], chunks=(50, 1))
    lda = lda_data(np.random.default_rng(0))
    return [
        ({"x": x, "K": 3}, {}, "split along axis 1"),
        ({"x": x[x[:, 0] > 0].rechunk({1: -1}), "K": 3}, {}, "unknown chunk sizes"),
        (dict(lda, doc=da.from_array(lda["doc"], chunks=40),
              word=da.from_array(lda["word"], chunks=30)), {}, "different row chunks"),
        (gmm_data(np.random.default_rng(0)), {"client": "tcp://x"}, "must be a dask"),
    ]


@pytest.mark.parametrize("case", range(4))
def test_bad_dask_input_is_a_clear_error(client, case):
    data, options, message = bad_cases()[case]
    name = "lda" if "doc" in data else "gmm"
    with pytest.raises(vmpdsl.VmpError, match=message):
        vmpdsl.load(f"models/{name}.vmp").fit(data, **options)


def test_numpy_data_with_a_client_needs_a_chunk_size(client):
    model = vmpdsl.load("models/gmm.vmp")
    with pytest.raises(vmpdsl.VmpError, match="needs chunk_size"):
        model.fit(gmm_data(np.random.default_rng(0)), client=client)
    with pytest.raises(vmpdsl.VmpError, match="method='vmp' only"):
        model.fit(gmm_data(np.random.default_rng(0)), client=client, method="svi",
                  batch_size=20)


def test_without_dask_or_a_client_the_error_says_what_to_do(client, monkeypatch):
    data = as_dask(gmm_data(np.random.default_rng(0)), 50)
    model = vmpdsl.load("models/gmm.vmp")

    def no_client():
        raise ValueError("No clients found")
    monkeypatch.setattr(distributed, "default_client", no_client)
    with pytest.raises(vmpdsl.VmpError, match="no dask.distributed Client"):
        model.fit(data)
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(vmpdsl.VmpError, match=r"pip install 'vmpdsl\[dask\]'"):
        model.fit(data)
