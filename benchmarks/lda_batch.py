"""Batch VB for LDA: vmpdsl's default (the local inner loop) against
scikit-learn's batch LatentDirichletAllocation, on a corpus drawn from the
model (issue 13, item 2).  Run with BLAS single-threaded:

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/lda_batch.py [docs]

scikit-learn's solution is scored with our ELBO: its topic parameters
(``components_``, the Dirichlet parameters of q(φ)) held fixed, our local
block (θ, z) iterated to convergence — the same bound scikit-learn maximizes.
"""
import sys
import time

import numpy as np

import vmpdsl

ALPHA, ETA = 0.1, 0.05


def corpus(docs=2000, V=1000, K=20, length=150, seed=0):
    """Tokens (doc[t], word[t]) drawn from LDA, sorted by document."""
    rng = np.random.default_rng(seed)
    topics = rng.dirichlet(np.full(V, ETA), size=K)
    theta = rng.dirichlet(np.full(K, ALPHA), size=docs)
    lengths = np.maximum(rng.poisson(length, size=docs), 1)
    doc = np.repeat(np.arange(docs), lengths)
    words = []
    for d, n in enumerate(lengths):
        counts = rng.multinomial(n, theta[d] @ topics)
        words.append(np.repeat(np.arange(V), counts))
    return {"doc": doc, "word": np.concatenate(words), "Dc": docs, "V": V, "K": K}


def local_elbo(model, data, concentration, seed=0):
    """Our ELBO with q(φ) fixed at ``concentration``, the locals at their optimum."""
    module = model._compiled.module
    dim, bound = module.bind_data(dict(data))
    hyper = dict(module._hypers(dim), alpha=np.asarray(ALPHA), eta=np.asarray(ETA))
    K = module._constants(dim, bound, hyper)
    q, E = {}, {}
    module._initial_state(q, E, K, bound, hyper, dim, np.random.default_rng(seed),
                          {"phi": {"concentration": concentration}})
    block = [row for row in module.UPDATES if row[0] in module.LOCAL_BLOCK]
    module.local_block(q, E, K, bound, hyper, dim, block, 10000, 1e-10)
    return module.elbo_value(q, E, K, bound, hyper, dim)


def main(docs=2000):
    data = corpus(docs)
    print(f"{docs} docs, {data['doc'].size} tokens")
    model = vmpdsl.load("models/lda.vmp")
    start = time.perf_counter()
    fit = model.fit(dict(data), hypers={"alpha": ALPHA, "eta": ETA}, seed=0, max_iter=1000)
    ours = time.perf_counter() - start
    print(f"vmpdsl default: {ours:.1f} s, {fit.iterations} sweeps, ELBO {fit.elbo[-1]:.1f}")
    from scipy import sparse
    from sklearn.decomposition import LatentDirichletAllocation
    X = sparse.csr_matrix((np.ones(data["doc"].size), (data["doc"], data["word"])),
                          shape=(docs, data["V"]))
    for iters in (10, 50, 100):
        lda = LatentDirichletAllocation(data["K"], learning_method="batch", doc_topic_prior=ALPHA,
                                        topic_word_prior=ETA, max_iter=iters, random_state=0)
        start = time.perf_counter()
        lda.fit(X)
        theirs = time.perf_counter() - start
        value = local_elbo(model, data, lda.components_)
        gap = (fit.elbo[-1] - value) / abs(value)
        print(f"scikit-learn batch max_iter={iters}: {theirs:.1f} s, ELBO {value:.1f} "
              f"(ours higher by {100 * gap:.3f}% of it)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
