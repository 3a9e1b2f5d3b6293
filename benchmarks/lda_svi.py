"""Stochastic VI for LDA (issue 13, item 5): vmpdsl's ``fit(method="svi")``
against scikit-learn's ``LatentDirichletAllocation(learning_method='online')``
at equal minibatch size, tau0 (``learning_offset``) and kappa
(``learning_decay``), on a corpus drawn from the model; part of ``make
bench`` (run.py, model ``lda_svi``), or on its own with BLAS single-threaded:

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/lda_svi.py [--quick]

Time per document = the time spent in minibatch steps / (documents × passes)
(vmpdsl: ``result["svi"]["step_seconds"]``, without its ELBO evaluations;
scikit-learn: ``fit`` with ``evaluate_every=-1``).  Held-out perplexity is
exp(−bound / tokens) on documents drawn from the same topics, both fits
scored by the same code: our held-out bound with q(φ) fixed at the fit's
topic parameters (scikit-learn's ``components_`` are its q(φ)'s Dirichlet
parameters) and each document's θ and z fitted to them (vmpdsl.svi's local
step).  scikit-learn's own ``perplexity`` adds its global KL term per token,
so it is higher; it is reported beside.
"""
import os
import sys
import time
import warnings

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import vmpdsl  # noqa: E402
from lda_batch import ALPHA, ETA, corpus  # noqa: E402  (corpus draws its topics first)
from vmpdsl.svi import Empty, Stepper, validated_hypers  # noqa: E402
from vmpdsl.svi_units import Units  # noqa: E402

FULL = dict(docs=5000, heldout=500, V=2000, K=20, length=200, batch=256, passes=1)
QUICK = dict(docs=500, heldout=100, V=500, K=10, length=100, batch=64, passes=1)
TAU0, KAPPA = 10.0, 0.7  # scikit-learn's defaults (learning_offset, learning_decay)


def split(data, docs):
    """The first ``docs`` documents, and the rest renumbered from 0."""
    cut = np.searchsorted(data["doc"], docs)
    train = dict(data, doc=data["doc"][:cut], word=data["word"][:cut], Dc=docs)
    held = dict(data, doc=data["doc"][cut:] - docs, word=data["word"][cut:],
                Dc=data["Dc"] - docs)
    return train, held


def counts(data):
    from scipy import sparse
    return sparse.csr_matrix((np.ones(data["doc"].size), (data["doc"], data["word"])),
                             shape=(data["Dc"], data["V"]))


def heldout_perplexity(model, held, concentration):
    """exp(−held-out bound / tokens) with q(φ) = Dirichlet(concentration)."""
    module = model._compiled.module
    units = Units(module, model.checked, held)
    hyper = validated_hypers(module, units, {"alpha": ALPHA, "eta": ETA}, None)
    step = Stepper(module, hyper, units.n, (TAU0, KAPPA),
                   init={"phi": {"concentration": concentration}})
    _, total, rows = step.bound(units, 256, Empty(step, units, True))
    return float(np.exp(-total / rows))


def run(quick=False):
    size = QUICK if quick else FULL
    data, held = split(corpus(size["docs"] + size["heldout"], size["V"], size["K"],
                              size["length"], seed=0), size["docs"])
    topics = np.random.default_rng(0).dirichlet(np.full(size["V"], ETA), size=size["K"])
    model = vmpdsl.load(os.path.join(os.path.dirname(HERE), "models", "lda.vmp"))
    passes, batch = size["passes"], size["batch"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        start = time.perf_counter()
        fit = model.fit(dict(data), hypers={"alpha": ALPHA, "eta": ETA}, method="svi",
                        batch_size=batch, learning_rate=(TAU0, KAPPA), max_iter=passes,
                        seed=0, heldout=dict(held))
        total = time.perf_counter() - start
    info = fit.result["svi"]
    ours = {"per_doc_s": info["step_seconds"] / (size["docs"] * passes), "total_s": total,
            "perplexity": heldout_perplexity(model, held, fit.posterior["phi"]["concentration"]),
            "own_perplexity": float(info["heldout_perplexity"][-1]), "elbo": float(fit.elbo[-1])}
    from sklearn.decomposition import LatentDirichletAllocation
    lda = LatentDirichletAllocation(size["K"], doc_topic_prior=ALPHA, topic_word_prior=ETA,
                                    learning_method="online", learning_offset=TAU0,
                                    learning_decay=KAPPA, batch_size=batch, max_iter=passes,
                                    total_samples=size["docs"], evaluate_every=-1, random_state=0)
    X = counts(data)
    start = time.perf_counter()
    lda.fit(X)
    seconds = time.perf_counter() - start
    theirs = {"per_doc_s": seconds / (size["docs"] * passes), "total_s": seconds,
              "perplexity": heldout_perplexity(model, held, lda.components_),
              "own_perplexity": float(lda.perplexity(counts(held)))}
    truth = heldout_perplexity(model, held, ETA + topics * data["doc"].size / size["K"])
    return {"sizes": dict(size, tokens=int(data["doc"].size), heldout_tokens=int(held["doc"].size),
                          tau0=TAU0, kappa=KAPPA),
            "vmpdsl": ours, "scikit-learn": theirs, "truth_perplexity": truth,
            "load": os.getloadavg()[0]}


def markdown(res):
    s = res["sizes"]
    head = (f"## LDA, stochastic VI (issue 13): {s['docs']} documents, {s['tokens']:,} tokens, "
            f"V={s['V']}, K={s['K']}; minibatches of {s['batch']} documents, tau0={s['tau0']:g}, "
            f"kappa={s['kappa']:g}, {s['passes']} pass(es); held out: {s['heldout']} documents, "
            f"{s['heldout_tokens']:,} tokens")
    rows = ["", head, "",
            "| implementation | time per document | ratio | held-out perplexity (same bound) "
            "| its own held-out figure | note |", "|---|---|---|---|---|---|"]
    base = res["vmpdsl"]["per_doc_s"]
    notes = {"vmpdsl": "fit(method='svi'); its own figure: result['svi']['heldout_perplexity']",
             "scikit-learn": "LatentDirichletAllocation(learning_method='online'); its own "
                             "figure: perplexity(), which adds the topics' KL term"}
    for name in ("vmpdsl", "scikit-learn"):
        r = res[name]
        rows.append(f"| {name} | {1e3 * r['per_doc_s']:.2f} ms | {r['per_doc_s'] / base:.2f}× "
                    f"| {r['perplexity']:.1f} | {r['own_perplexity']:.1f} | {notes[name]} |")
    rows += ["", f"Held-out perplexity of the true topics (q(φ) concentrated on them): "
                 f"{res['truth_perplexity']:.1f}. Measured on vmpdsl {res.get('commit', '?')}, "
                 f"load average {res.get('load', float('nan')):.1f} on {os.cpu_count()} cores "
                 f"(times are wall clock). Both local steps stop each document on its own "
                 f"(mean change of its γ below 1e-3, at most 100 iterations); vmpdsl's "
                 f"iterates all of a minibatch's documents at once in exp space "
                 f"(runtime/local_restart.py), scikit-learn's one document at a time, "
                 f"in Cython.", ""]
    return rows


if __name__ == "__main__":
    result = run("--quick" in sys.argv)
    print("\n".join(markdown(result)))
