"""Batch VB for LDA: vmpdsl's default fit (the local block iterated per
document in exp space, with monotone restarts: runtime/local_restart.py),
from its own start (the documents clustered) and from scikit-learn's (its initial topics, the document
loop first), against scikit-learn's batch LatentDirichletAllocation, on a
corpus drawn from the model (issue 13, item 2).  Part of ``make bench`` (run.py: the "LDA batch VB"
section of results.md); alone, with BLAS single-threaded:

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/lda_batch.py [docs] [seed ...] [--record]

Both solutions are scored with our ELBO: ours is the fit's last value;
scikit-learn's is its topics (``components_``, the Dirichlet parameters of
q(φ)) held fixed with our local step run to convergence (each document from
our random start and from the restart, the better kept) — the
bound scikit-learn maximizes.  Perplexity is exp(−ELBO / tokens).  "Time to
within 0.1%" is when our fit's ELBO trace first comes within 0.1% of
scikit-learn's ELBO.
"""
import sys
import time
import warnings

import numpy as np

import vmpdsl

ALPHA, ETA = 0.1, 0.05
SKLEARN_ITERS = (10, 100)  # its default max_iter, and run to its optimum


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
    m = model._compiled.module
    dim, bound = m.bind_data(dict(data))
    hyper = dict(m._hypers(dim), alpha=np.asarray(ALPHA), eta=np.asarray(ETA))
    K = m._constants(dim, bound, hyper)
    q, E = {}, {}
    m._initial_state(q, E, K, bound, hyper, dim, np.random.default_rng(seed),
                     {"phi": {"concentration": concentration}})
    block = [row for row in m.UPDATES if row[0] in m.LOCAL_BLOCK]
    m.restarted_block(q, E, K, bound, hyper, dim, block, 10_000, 1e-8,
                      m.local_layout(bound, dim), {})
    return m.elbo_value(q, E, K, bound, hyper, dim)


def sklearn_start(data, random_state=0):
    """scikit-learn's start of the topics (its ``components_``, q(φ)'s Dirichlet
    parameters, drawn Gamma(100, 1/100) from its random_state)."""
    return np.random.RandomState(random_state).gamma(100.0, 0.01, (data["K"], data["V"]))


def ours(model, data, init=None):
    """vmpdsl's default fit (from ``init``, e.g. {"phi": {"concentration": …}}:
    its document loop first): (seconds, ELBO trace, time stamps, sweeps, converged)."""
    start, stamps = time.perf_counter(), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit(dict(data), hypers={"alpha": ALPHA, "eta": ETA}, seed=0, max_iter=1000,
                        init=init,
                        callback=lambda i, e: stamps.append(time.perf_counter() - start))
    return time.perf_counter() - start, fit.elbo, np.array(stamps), fit.iterations, fit.converged


def sklearn(model, data, max_iter):
    """scikit-learn batch from its own random start: (seconds, our ELBO of its solution)."""
    from scipy import sparse
    from sklearn.decomposition import LatentDirichletAllocation
    X = sparse.csr_matrix((np.ones(data["doc"].size), (data["doc"], data["word"])),
                          shape=(data["Dc"], data["V"]))
    lda = LatentDirichletAllocation(data["K"], learning_method="batch", doc_topic_prior=ALPHA,
                                    topic_word_prior=ETA, max_iter=max_iter, random_state=0)
    start = time.perf_counter()
    lda.fit(X)
    return time.perf_counter() - start, local_elbo(model, data, lda.components_)


def compare(docs=2000, seed=0):
    """One corpus: our default fit and scikit-learn batch at SKLEARN_ITERS."""
    data = corpus(docs, seed=seed)
    tokens = data["doc"].size
    model = vmpdsl.load("models/lda.vmp")
    row = {"docs": docs, "seed": seed, "tokens": int(tokens), "sklearn": {}}
    runs = {"vmpdsl": None, "vmpdsl_sklearn_start": {"phi": {"concentration":
                                                              sklearn_start(data)}}}
    for key, init in runs.items():
        seconds, trace, stamps, sweeps, converged = ours(model, data, init)
        row[key] = {"s": seconds, "elbo": float(trace[-1]), "sweeps": int(sweeps),
                    "converged": bool(converged),
                    "perplexity": float(np.exp(-trace[-1] / tokens))}
        runs[key] = trace, stamps
    for max_iter in SKLEARN_ITERS:
        s, value = sklearn(model, data, max_iter)
        row["sklearn"][max_iter] = {"s": s, "elbo": value,
                                    "perplexity": float(np.exp(-value / tokens))}
        for key, (trace, stamps) in runs.items():
            reached = np.flatnonzero(trace >= value - 1e-3 * abs(value))
            suffix = key[len("vmpdsl"):]  # "" or "_sklearn_start"
            row["sklearn"][max_iter].update({
                f"ours{suffix}_minus_theirs_pct": 100 * (trace[-1] - value) / abs(value),
                f"ours{suffix}_within_0.1pct_s":
                    float(stamps[reached[0]]) if reached.size else None})
    return row


def markdown(rows):
    out = ["## LDA batch VB vs scikit-learn batch (issue 13)", "",
           "Corpus drawn from the model (V = 1000, K = 20, θ ~ Dir(0.1), topics ~ Dir(0.05), "
           "Poisson(150) lengths); both ELBOs by our ELBO (benchmarks/lda_batch.py).  "
           "\"From scikit-learn's start\": our default fit from its initial topics "
           "(random_state=0), the document loop first.", "",
           "| docs (seed) | tokens | implementation | time | ELBO | perplexity "
           "| ours − theirs (own start / its start) "
           "| ours within 0.1% after (own start / its start) |", "|---|---|---|---|---|---|---|---|"]

    def when(s):
        return "never" if s is None else f"{s:.1f} s"
    for r in rows:
        for key, label in (("vmpdsl", "vmpdsl default"),
                           ("vmpdsl_sklearn_start", "vmpdsl default, from scikit-learn's start")):
            if key not in r:
                continue
            v = r[key]
            out.append(f"| {r['docs']} ({r['seed']}) | {r['tokens']:,} | {label} "
                       f"({v['sweeps']} sweeps{'' if v['converged'] else ', not converged'}) "
                       f"| {v['s']:.1f} s | {v['elbo']:,.0f} | {v['perplexity']:.1f} | | |")
        for it, s in r["sklearn"].items():
            pct = " / ".join(f"{s[k]:+.3f}%" for k in ("ours_minus_theirs_pct",
                                                        "ours_sklearn_start_minus_theirs_pct")
                             if k in s)
            after = " / ".join(when(s[k]) for k in ("ours_within_0.1pct_s",
                                                    "ours_sklearn_start_within_0.1pct_s")
                               if k in s)
            out.append(f"| | | scikit-learn batch, max_iter={it} | {s['s']:.1f} s "
                       f"| {s['elbo']:,.0f} | {s['perplexity']:.1f} | {pct} | {after} |")
    return out + [""]


def main(argv):
    """Run, print, and with --record put the rows into results.json and
    re-render results.md (run.py --render) without rerunning the rest."""
    record = "--record" in argv
    argv = [a for a in argv if a != "--record"]
    docs = int(argv[0]) if argv else 2000
    rows = [compare(docs, int(seed)) for seed in (argv[1:] or [0])]
    print("\n".join(markdown(rows)), flush=True)
    if record:
        import json
        import os
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "results.json")) as fh:
            results = json.load(fh)
        results["lda_batch"] = rows
        with open(os.path.join(here, "results.json"), "w") as fh:
            json.dump(results, fh, indent=1, default=float)
        import run
        run.main(["--render"])
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
