"""Chunked fits of LDA with its default local loop (vmpdsl/chunk_groups.py):
each document's θ and z iterated per sweep with restarts, in row blocks cut
on document boundaries.

Oracle: the in-memory default fit of the same data and seed (duplicate
tokens merged as the in-memory fit merges them, or not with collapse=False)
— the ELBO trace, the sweep it stops at and every posterior (z per token
with keep_local=True) agree to 1e-10, with chunk sizes that would cut
documents, from memory, memory maps and ``.npy`` files.  Unsorted documents
are refused with what to do."""
import warnings

import numpy as np
import pytest

import vmpdsl
from test_chunked import RTOL, assert_same
from vmpdsl.chunk_groups import group_cuts


def corpus(seed=0, docs=30, V=25, K=3):
    """Documents drawn from the model (some empty, one long), sorted by document."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 30, size=docs)
    lengths[[4, docs - 1]] = 0
    lengths[7] = 90  # longer than the smaller chunks
    topics = rng.dirichlet(np.full(V, 0.2), size=K)
    theta = rng.dirichlet(np.full(K, 0.3), size=docs)
    doc = np.repeat(np.arange(docs), lengths)
    z = (rng.random(doc.size)[:, None] > np.cumsum(theta[doc], axis=1)).sum(1)
    word = (rng.random(doc.size)[:, None] > np.cumsum(topics[z], axis=1)).sum(1)
    return {"doc": doc, "word": np.minimum(word, V - 1), "Dc": docs, "V": V, "K": K}


def fits(data, chunk_size, **options):
    model = vmpdsl.load("models/lda.vmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        memory = model.fit(dict(data), seed=3, **options)
        chunked = model.fit(dict(data), seed=3, chunk_size=chunk_size, keep_local=True,
                            **options)
    return memory, chunked


@pytest.mark.parametrize("chunk_size", [23, 64, 10_000])
@pytest.mark.parametrize("collapse", [True, False])
def test_default_chunked_lda_is_the_default_in_memory_fit(chunk_size, collapse):
    data = corpus()
    # the in-memory default merges this corpus's duplicate tokens
    pairs = np.unique(np.stack([data["doc"], data["word"]], 1), axis=0)
    assert len(pairs) < 0.9 * data["doc"].size
    memory, chunked = fits(data, chunk_size, collapse=collapse)
    assert memory.converged and memory.iterations > 5
    assert_same(memory, chunked, ["phi", "theta", "z"])
    assert chunked.posterior["z"]["probs"].shape == (data["doc"].size, data["K"])
    assert chunked.options["collapse"] == collapse


def test_local_iters_given_and_a_fixed_number_of_sweeps():
    """local_iters=3 (the block's loop, shorter) and max_iter reached."""
    memory, chunked = fits(corpus(1), 40, local_iters=3, max_iter=12)
    assert not memory.converged
    assert_same(memory, chunked, ["phi", "theta", "z"])


def test_memory_maps_and_npy_files(tmp_path):
    data = corpus(2)
    for name in ("doc", "word"):
        np.save(tmp_path / f"{name}.npy", data[name])
    model = vmpdsl.load("models/lda.vmp")
    memory = model.fit(dict(data), seed=3)
    for kind in ("path", "map"):
        given = {n: (str(tmp_path / f"{n}.npy") if kind == "path" else
                     np.load(tmp_path / f"{n}.npy", mmap_mode="r")) for n in ("doc", "word")}
        chunked = model.fit(dict(data, **given), seed=3, chunk_size=37)
        assert_same(memory, chunked, ["phi", "theta"])


def test_blocks_hold_whole_documents():
    """A block ends at the last document boundary within chunk_size rows; a
    longer document is a block alone; every document is in one block."""
    doc = np.repeat(np.arange(8), [3, 0, 5, 12, 1, 4, 0, 2])
    starts, firsts = group_cuts((doc[a:a + 4] for a in range(0, doc.size, 4)), doc.size, 6,
                                "doc", 8)
    assert starts == [0, 3, 8, 20, 25, 27]
    assert firsts == [0, 2, 3, 4, 7, 8]
    for begin, end in zip(starts[:-1], starts[1:]):
        assert end - begin <= 6 or len(set(doc[begin:end])) == 1
        assert begin == 0 or doc[begin - 1] != doc[begin]


def test_unsorted_documents_are_refused_with_what_to_do():
    data = corpus()
    order = np.random.default_rng(0).permutation(data["doc"].size)
    shuffled = dict(data, doc=data["doc"][order], word=data["word"][order])
    with pytest.raises(vmpdsl.VmpError, match=r"sorted by 'doc'.*np\.argsort\(doc"):
        vmpdsl.load("models/lda.vmp").fit(shuffled, chunk_size=50)
    # sorted as the message says, the fit is the in-memory fit of the sorted data
    order = np.argsort(shuffled["doc"], kind="stable")
    again = dict(data, doc=shuffled["doc"][order], word=shuffled["word"][order])
    memory, chunked = fits(again, 50, max_iter=5)
    np.testing.assert_allclose(chunked.elbo, memory.elbo, rtol=RTOL)


def test_a_given_start_is_refused():
    data = corpus()
    phi = np.full((data["K"], data["V"]), 1.0)
    with pytest.raises(vmpdsl.VmpError, match="local_iters=1"):
        vmpdsl.load("models/lda.vmp").fit(data, chunk_size=50,
                                          init={"phi": {"concentration": phi}})


def test_cli_chunk_size_gives_the_in_memory_default(tmp_path, capsys):
    from vmpdsl import cli
    data = corpus()
    np.savez(tmp_path / "corpus.npz", doc=data["doc"], word=data["word"])
    args = ["fit", "models/lda.vmp", "--data", str(tmp_path / "corpus.npz"), "--set", "Dc=30",
            "--set", "V=25", "--set", "K=3", "--seed", "3", "--quiet", "--max-iter", "12"]
    assert cli.main(args) == 0
    alone = capsys.readouterr().out.splitlines()[0]
    assert cli.main(args + ["--chunk-size", "40"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == alone


def test_clustered_start_on_a_sample_of_the_documents(monkeypatch):
    """The default start clusters the documents (local_restart.gated_start);
    above CLUSTER_SAMPLE documents it draws the sample from the generator
    first: the chunked fit's draws are the in-memory fit's (chunk_groups.py)."""
    data = corpus(4, docs=40)
    model = vmpdsl.load("models/lda.vmp")
    monkeypatch.setattr(model._compiled.module, "CLUSTER_SAMPLE", 11)
    memory, chunked = fits(data, 30, max_iter=6)
    assert_same(memory, chunked, ["phi", "theta", "z"])
    monkeypatch.undo()  # the sample is drawn: a fit on all documents starts elsewhere
    assert np.abs(vmpdsl.load("models/lda.vmp").fit(dict(data), seed=3, max_iter=6).elbo
                  - memory.elbo).max() > 1e-6
