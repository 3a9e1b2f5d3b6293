"""vmpdsl benchmarks: emitted code vs hand-written NumPy, scikit-learn and BayesPy.

    make bench                      # full sizes (issue 5), writes results.md / results.json
    .venv/bin/python benchmarks/chunked_gmm.py --big --save  # chunked GMM up to N = 1e8, merged in
    .venv/bin/python benchmarks/run.py --quick            # 10× smaller, a fast check
    .venv/bin/python benchmarks/run.py --models gmm,lda   # a subset (hmm: the HMM row)
    .venv/bin/python benchmarks/run.py --scaling          # + GMM N = 1e4, 1e5, 1e6 (D=10, K=20)
    .venv/bin/python benchmarks/run.py --no-dask          # without the dask LocalCluster row

Per model and implementation: per-iteration time (median over iterations after
a warm-up; an iteration is one sweep over every factor plus the ELBO/bound;
vmpdsl and its hand-written reference: the least over TIMING_ROUNDS fits
each, timed in turns),
time to converge (same relative tolerance, from the same start), compile time
(vmpdsl: first compile with the cache cleared, and a second load), peak
memory (tracemalloc peak during a short fit, and as a ratio to the data's
bytes), and each as a ratio to the vmpdsl emitted code in the same run. The
hand-written reference is checked against vmpdsl from the same start: the
ELBO traces must agree to 1e-6 (relative), or the bench stops with an error
(a reference that no longer follows vmpdsl's updates times something else).
PCA is compared with rotate=False (the reference has no rotation step); a
further row times vmpdsl's default fit, which rotates.
"""
import argparse
import json
import os
import platform
import sys
import time
import tracemalloc
import warnings

# BLAS threads: one by default, for every implementation alike (set before
# numpy loads).  On this shared 2-core machine multithreaded OpenBLAS spins on
# a busy core: one 50×50 Cholesky inverse measured 5 ms instead of 30 µs, which
# made small models' timings noise.  BENCH_BLAS_THREADS=2 make bench to change it.
BLAS_THREADS = os.environ.get("BENCH_BLAS_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, BLAS_THREADS)

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import vmpdsl  # noqa: E402
from vmpdsl.compiler import _compile_cached, compile_source  # noqa: E402

import lda_batch  # noqa: E402
import front_end  # noqa: E402
import lda_svi  # noqa: E402
import thirdparty as tp  # noqa: E402
from thirdparty import clock  # noqa: E402  (CPU time unless BENCH_CLOCK=wall)
from reference import gmm as ref_gmm, hier as ref_hier, hmm as ref_hmm, lda as ref_lda  # noqa: E402
from reference import gmm_mean_field as ref_gmm_mean_field  # noqa: E402
from reference import linreg as ref_linreg, pca as ref_pca  # noqa: E402

TOL = 1e-6
MAX_ITER = 200
AGREE = 1e-6
# fit() options of the vmpdsl row compared with the reference (see the docstring)
VMP_OPTIONS = {"pca": {"rotate": False}}


class Mismatch(RuntimeError):
    """A hand-written reference's ELBO trace does not follow vmpdsl's."""


def agreement(label, trace, reference):
    """The largest relative difference of two ELBO traces (over their common
    length); Mismatch when it exceeds AGREE."""
    n = min(len(trace), len(reference))
    agree = float(np.max(np.abs(trace[:n] - reference[:n]) / np.abs(reference[:n])))
    if not agree <= AGREE:
        raise Mismatch(f"{label}: the ELBO traces differ by {agree:.1e} (relative) > {AGREE:g}; "
                       f"the reference no longer follows vmpdsl's updates, order or start")
    return agree


# ---------------------------------------------------------------- data ----
def make_gmm(N, D, K, seed=1):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(K, D))
    x = centers[rng.integers(0, K, N)] + rng.normal(size=(N, D))
    r = np.random.default_rng(seed + 100)
    # the joint q(mu, Λ) is updated from q(z) first: the responsibilities are the start
    init = {"z": r.dirichlet(np.ones(K), N)}
    return {"x": x, "K": K}, init


def make_linreg(N, D, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    y = X @ rng.normal(size=D) + 0.5 * rng.normal(size=N)
    return {"X": X, "y": y}, {"w": {"mean": np.zeros(D), "cov": np.eye(D)}}


def make_lda(Dc, V, K, tokens, seed=3):
    rng = np.random.default_rng(seed)
    phi = rng.dirichlet(0.05 * np.ones(V), K)
    theta = rng.dirichlet(0.1 * np.ones(K), Dc)
    lengths = rng.poisson(tokens / Dc, Dc)
    doc = np.repeat(np.arange(Dc), lengths)
    cum = np.cumsum(theta[doc], axis=1)
    z = np.minimum((rng.random(doc.size)[:, None] > cum).sum(1), K - 1)
    word = np.empty(doc.size, dtype=np.intp)
    for k in range(K):
        idx = np.flatnonzero(z == k)
        word[idx] = rng.choice(V, size=idx.size, p=phi[k])
    r = np.random.default_rng(seed + 100)
    init = {"z": r.dirichlet(np.ones(K), doc.size)}
    return {"doc": doc, "word": word, "Dc": Dc, "V": V, "K": K}, init


def make_pca(N, D, K, seed=4):
    rng = np.random.default_rng(seed)
    Y = (rng.normal(size=(N, K)) @ rng.normal(size=(K, D)) + rng.normal(size=D)
         + 0.3 * rng.normal(size=(N, D)))
    r = np.random.default_rng(seed + 100)
    # one covariance for every row, given as a broadcast view (as a user would)
    init = {"W": {"mean": r.normal(size=(D, K)), "cov": np.broadcast_to(np.eye(K), (D, K, K))},
            "mu": {"mean": r.normal(size=D), "precision": np.ones(D)},
            "z": {"mean": r.normal(size=(N, K)), "cov": np.broadcast_to(np.eye(K), (N, K, K))}}
    return {"Y": Y, "K": K}, init


def make_hier(N, G, seed=5):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, G, N)
    y = (2.0 * rng.normal(size=G))[g] + rng.normal(size=N)
    r = np.random.default_rng(seed + 100)
    init = {"mu": {"mean": np.array(0.0), "precision": np.array(1e-4)},
            "tau": {"shape": np.array(1.0), "rate": np.array(1.0)},
            "sigma": {"shape": np.array(1.0), "rate": np.array(1.0)},
            "theta": {"mean": r.normal(size=G), "precision": np.ones(G)}}
    return {"y": y, "g": g, "G": G}, init


def make_hmm(T, K, D, seed=6):
    rng = np.random.default_rng(seed)
    A = np.full((K, K), 0.05 / (K - 1)) + np.eye(K) * (0.95 - 0.05 / (K - 1))
    z = np.empty(T, dtype=np.intp)
    z[0] = 0
    u = rng.random(T)
    cum = np.cumsum(A, 1)
    for t in range(1, T):
        z[t] = min(np.searchsorted(cum[z[t - 1]], u[t]), K - 1)
    x = rng.normal(scale=3.0, size=(K, D))[z] + rng.normal(size=(T, D))
    r = np.random.default_rng(seed + 100)
    init = {"z": r.dirichlet(np.ones(K), T),
            "mu": {"mean": x[r.choice(T, K, replace=False)],
                   "cov": np.broadcast_to(np.eye(D) / D, (K, D, D)).copy()}}
    return {"x": x, "K": K}, init


def sizes(quick):
    s = 10 if quick else 1
    return {
        "gmm": dict(N=100_000 // s, D=5, K=8),
        "linreg": dict(N=100_000 // s, D=50),
        "lda": dict(Dc=2000 // s, V=1000, K=20, tokens=200_000 // s),
        "pca": dict(N=10_000 // s, D=50, K=10),
        "hier": dict(N=1_000_000 // s, G=1000 // s),
        "hmm": dict(T=100_000 // s, K=5, D=3),
    }


MAKERS = {"gmm": make_gmm, "linreg": make_linreg, "lda": make_lda, "pca": make_pca, "hier": make_hier,
          "hmm": make_hmm}
REFS = {"gmm": ref_gmm, "linreg": ref_linreg, "lda": ref_lda, "pca": ref_pca, "hier": ref_hier,
        "hmm": ref_hmm}


def data_bytes(data):
    return int(sum(np.asarray(v).nbytes for v in data.values() if np.ndim(v) > 0))


# ---------------------------------------------------------- measurement ----
def timed(run, max_iter, tol):
    """Run ``run(max_iter, tol, callback)``; (trace, stamps, wall seconds)."""
    trace, stamps = [], []

    def callback(it, elbo):
        stamps.append(clock())
        trace.append(elbo)

    t0 = clock()
    run(max_iter, tol, callback)
    return np.asarray(trace), np.asarray(stamps), clock() - t0


def per_iteration(stamps, warmup=2):
    gaps = np.diff(stamps)[warmup - 1:] if len(stamps) > warmup else np.diff(stamps)
    return float(np.median(gaps)) if len(gaps) else float("nan")


# Fits per implementation in the paired per-iteration timing (paired_per_iteration)
TIMING_ROUNDS = 9


def paired_per_iteration(runs, n_iter, rounds=TIMING_ROUNDS):
    """Per-iteration time of each of ``runs`` (label -> run) timed in turns:
    ``rounds`` fits of each, alternated (the order reversed every round), and
    per implementation the least of its fits' median iterations.  On a shared
    machine the load changes from one moment to the next and only ever adds
    time: timed once each, with a convergence run and a memory run between
    them, two implementations saw different loads, and a small model's ratio
    (hier: ~6 sweeps of ~50 µs) swung ±30% from run to run; the pooled median
    of 5 fits each still left PCA's at ±15% (sd), the least median ±3%.
    Every implementation gets the same fits, gaps and estimate."""
    medians = {label: [] for label in runs}
    order = list(runs)
    for r in range(rounds):
        for label in (order if r % 2 == 0 else order[::-1]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # (not converged in n_iter)
                _, stamps, _ = timed(runs[label], n_iter, 0.0)
            medians[label].append(per_iteration(stamps))
    return {label: float(np.nanmin(m)) if np.isfinite(m).any() else float("nan")
            for label, m in medians.items()}


def peak_memory(run, iters=3):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        run(iters, 0.0, None)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


CONVERGE_BUDGET_S = 60.0


def capped(per_iter_s, max_iter):
    """Iterations allowed for the convergence run: at most max_iter and about
    CONVERGE_BUDGET_S seconds (a capped run is marked as not converged)."""
    if not np.isfinite(per_iter_s) or per_iter_s <= 0:
        return max_iter
    return int(max(10, min(max_iter, CONVERGE_BUDGET_S / per_iter_s)))


def measure(run, n_iter, tol, max_iter, mem=True):
    """Per-iteration time, convergence time and peak memory of one implementation."""
    trace, stamps, _ = timed(run, n_iter, 0.0)
    out = {"per_iter_s": per_iteration(stamps), "trace": trace}
    cap = capped(out["per_iter_s"], max_iter)
    ctrace, _, wall = timed(run, cap, tol)
    out.update(converge_s=wall, converge_iters=len(ctrace), final_elbo=float(ctrace[-1]) if len(ctrace) else None,
               # stopped by itself before the cap (vmpdsl's test also waits for the
               # expectations to settle, so a flat ELBO at the cap is not a stop)
               converged=bool(1 < len(ctrace) < cap and abs(ctrace[-1] - ctrace[-2]) <= tol * abs(ctrace[-1])))
    if mem:
        out["peak_bytes"] = peak_memory(run)
    return out


def compile_times(path):
    _compile_cached.cache_clear()
    t0 = clock()
    model = vmpdsl.load(path)
    first = clock() - t0
    t0 = clock()
    vmpdsl.load(path)
    second = clock() - t0
    return model, first, second


# ------------------------------------------------------------- per model ----
def bench_model(name, cfg, n_iter, notes):
    data, init = MAKERS[name](**cfg)
    nbytes = data_bytes(data)
    model, c1, c2 = compile_times(os.path.join(ROOT, "models", f"{name}.vmp"))
    module = model._compiled.module
    rows = {}
    options = VMP_OPTIONS.get(name, {})

    def vmp_run(max_iter, tol, callback, **extra):  # one update per latent per sweep, as the references
        return module.fit(data, max_iter=max_iter, tol=tol, seed=0, init=init, callback=callback,
                          **dict(options, local_iters=1, **extra))

    def ref_run(max_iter, tol, callback):
        return REFS[name].fit(data, init, max_iter=max_iter, tol=tol, callback=callback)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rows["vmpdsl"] = measure(vmp_run, n_iter, TOL, MAX_ITER)
    rows["vmpdsl"].update(compile_first_s=c1, compile_second_s=c2)
    if options:
        rows["vmpdsl"]["note"] = ", ".join(f"{k}={v}" for k, v in options.items())
    rows["hand-written NumPy"] = measure(ref_run, n_iter, TOL, MAX_ITER)
    paired = paired_per_iteration({"vmpdsl": vmp_run, "hand-written NumPy": ref_run}, n_iter)
    for impl, per_iter in paired.items():  # the pair's ratio from the same moments
        rows[impl]["per_iter_s"] = per_iter
    b = rows["hand-written NumPy"]["trace"]
    agree = agreement(name, rows["vmpdsl"]["trace"], b)
    rows["hand-written NumPy"]["elbo_rel_diff"] = agree
    rows["hand-written NumPy"]["note"] = f"same updates, order and start; ELBO traces agree to {agree:.1e}"
    if name == "pca":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            row = rows["vmpdsl, rotate=True (default)"] = measure(
                lambda it, tol, cb: vmp_run(it, tol, cb, rotate=True), n_iter, TOL, MAX_ITER)
        row["note"] = (f"the default fit: a rotation step (L-BFGS over R, runtime/rotate.py) "
                       f"after each sweep; final ELBO {row['final_elbo']:.8g}")
    if name == "lda":
        doc, word = data["doc"], data["word"]
        pairs, inverse, counts = np.unique(doc * data["V"] + word, return_inverse=True, return_counts=True)
        pdata = dict(data, doc=pairs // data["V"], word=pairs % data["V"])
        pinit = {"z": np.zeros((pairs.size, data["K"]))}
        np.add.at(pinit["z"], inverse, init["z"])
        pinit["z"] /= counts[:, None]

        def pair_run(max_iter, tol, callback):
            return ref_lda.fit(pdata, pinit, max_iter=max_iter, tol=tol, callback=callback, weights=counts)

        row = measure(pair_run, n_iter, TOL, MAX_ITER)
        d = agreement("lda count matrix", row["trace"], b)
        row["note"] = (f"tokens collapsed to {pairs.size} distinct (doc, word) pairs with counts "
                       f"(exact for this model); ELBO agrees to {d:.1e}")
        rows["hand-written NumPy, count matrix"] = row
    if name == "gmm":
        mean_field_rows(data, init, rows, n_iter)
    third_party(name, data, init, rows, n_iter, notes)
    for impl, row in rows.items():
        row.pop("trace", None)
        if "peak_bytes" in row:
            row["peak_over_data"] = row["peak_bytes"] / nbytes
    base = rows["vmpdsl"]
    for impl, row in rows.items():
        for key in ("per_iter_s", "converge_s", "peak_bytes"):
            if row.get(key) is not None and base.get(key):
                row[f"{key}_over_vmpdsl"] = row[key] / base[key]
    return {"sizes": cfg, "data_bytes": nbytes, "rows": rows}


def mean_field_rows(data, init, rows, n_iter):
    """The factorized q(mu) q(Λ) (fit(mean_field=True)) against its own
    hand-written reference, from the same responsibilities."""
    source = open(os.path.join(ROOT, "models", "gmm.vmp")).read()
    module = compile_source(source, mean_field=True).module

    def vmp_run(max_iter, tol, callback):
        return module.fit(data, max_iter=max_iter, tol=tol, seed=0, init=init, callback=callback)

    def ref_run(max_iter, tol, callback):
        return ref_gmm_mean_field.fit(data, init, max_iter=max_iter, tol=tol, callback=callback)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        vmp = rows["vmpdsl, mean_field=True"] = measure(vmp_run, n_iter, TOL, MAX_ITER)
    ref = rows["hand-written NumPy, mean field"] = measure(ref_run, n_iter, TOL, MAX_ITER)
    agree = agreement("gmm mean field", vmp["trace"], ref["trace"])
    vmp["note"] = (f"factorized q(mu) q(Λ): final ELBO {vmp['final_elbo']:.8g}, the joint "
                   f"q's (vmpdsl row) {rows['vmpdsl']['final_elbo']:.8g}")
    ref["note"] = (f"the same factorized updates, order and start as the row above; ELBO "
                   f"traces agree to {agree:.1e}")


def third_party(name, data, init, rows, n_iter, notes):
    final = abs(rows["vmpdsl"]["final_elbo"] or 1.0)

    def attempt(label, fn, note):
        try:
            rows[label] = fn()
            rows[label]["note"] = note
        except tp.Skip as err:
            rows[label] = {"note": f"skipped: {err}"}
        except Exception as err:  # a third-party failure is a note, not an error
            rows[label] = {"note": f"failed: {type(err).__name__}: {str(err)[:120]}"}

    def from_runner(runner, mem=True):
        trace, stamps = runner(n_iter, 0.0)
        out = {"per_iter_s": per_iteration(stamps)}
        t0 = clock()
        ctrace, _ = runner(capped(out["per_iter_s"], MAX_ITER), TOL)
        out.update(converge_s=clock() - t0, converge_iters=len(ctrace),
                   converged=bool(len(ctrace) > 1 and abs(ctrace[-1] - ctrace[-2]) <= TOL * abs(ctrace[-1])))
        if mem:
            tracemalloc.start()
            try:
                runner(3, 0.0)
                out["peak_bytes"] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        return out

    if name == "gmm":
        x, K = data["x"], data["K"]
        attempt("scikit-learn BayesianGaussianMixture",
                lambda: from_runner(lambda it, tol: tp.sklearn_gmm(x, K, init["z"], it, tol * final)),
                "the same joint Normal–Wishart q(mu, Λ) (Bishop), priors and starting "
                "responsibilities; its own bound (without constants); stops on absolute bound "
                "change tol·|ELBO|")
        attempt("BayesPy", lambda: from_runner(lambda it, tol: tp.bayespy_gmm(x, K, init["z"], it, tol)),
                "not exact: q(mu) q(Λ) factorized (vmpdsl's mean_field=True) and mu's prior "
                "N(0, (β0 ν0 I)⁻¹) does not scale with Λ")
    elif name == "hmm":
        attempt("hmmlearn VariationalGaussianHMM",
                lambda: from_runner(lambda it, tol: tp.hmmlearn_vb_hmm(data["x"], data["K"], it,
                                                                       tol * final)),
                "not exact: joint Normal–Wishart q(mu, Λ) per state (mu's prior precision "
                "scales with Λ), its own k-means start; Cython forward–backward")
    elif name == "linreg":
        attempt("BayesPy", lambda: from_runner(lambda it, tol: tp.bayespy_linreg(data["X"], data["y"], it, tol)),
                "same priors and factorization; BayesPy's own start; BayesPy contracts the N×D data every sweep")
    elif name == "pca":
        attempt("BayesPy", lambda: from_runner(lambda it, tol: tp.bayespy_pca(data["Y"], data["K"], it, tol)),
                "same model and factorization (per-n q(z_n)); BayesPy's own random start")
    elif name == "lda":
        def lda_row():
            counts = tp.lda_counts(data["doc"], data["word"], data["Dc"], data["V"])
            trace, stamps, m = tp.sklearn_lda(counts, data["K"], n_iter, 0.1)
            out = {"per_iter_s": per_iteration(stamps)}
            perp = m.perplexity(counts)
            t0 = clock()
            cap = capped(out["per_iter_s"] * 2, MAX_ITER)
            _, cst, _ = tp.sklearn_lda(counts, data["K"], cap, TOL * perp * np.log(perp), evaluate=True)
            out.update(converge_s=clock() - t0, converge_iters=len(cst), converged=len(cst) < cap)
            tracemalloc.start()
            try:
                tp.sklearn_lda(counts, data["K"], 3, 0.1)
                out["peak_bytes"] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            return out
        attempt("scikit-learn LatentDirichletAllocation", lda_row,
                "not the same algorithm: per-document inner fixed point (≤100 passes) on the "
                "doc×word count matrix each iteration, own random start; convergence by "
                "perplexity change (evaluated every iteration, tol scaled to match)")


# -------------------------------------------------------------- scaling ----
def scaling(quick, n_iter):
    Ns = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    model = vmpdsl.load(os.path.join(ROOT, "models", "gmm.vmp"))
    out = []
    for N in Ns:
        data, init = make_gmm(N, 10, 20)
        row = {"N": N}
        for label, run in (
                ("vmpdsl", lambda it, tol, cb: model._compiled.module.fit(
                    data, max_iter=it, tol=tol, seed=0, init=init, callback=cb)),
                ("hand-written NumPy", lambda it, tol, cb: ref_gmm.fit(data, init, max_iter=it, tol=tol, callback=cb))):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                _, stamps, _ = timed(run, n_iter, 0.0)
            row[label] = per_iteration(stamps)
        out.append(row)
        print(f"  scaling N={N}: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in row.items() if k != "N"), flush=True)
    slopes = {}
    for label in ("vmpdsl", "hand-written NumPy"):
        slopes[label] = float(np.polyfit(np.log([r["N"] for r in out]), np.log([r[label] for r in out]), 1)[0])
    return {"D": 10, "K": 20, "rows": out, "slope": slopes}


# --------------------------------------------------------------- output ----
def fmt_t(s):
    if s is None or not np.isfinite(s):
        return "–"
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def fmt_r(r):
    return "–" if r is None else f"{r:.2f}×"


def fmt_b(b):
    return "–" if b is None else f"{b / 2 ** 20:.1f} MiB"


CLOCK_NOTES = {
    "wall": "Times are wall-clock.",
    "cpu": ("Times are CPU (process) time: BLAS runs one thread, so on an idle machine it "
            "equals wall time, and other load on a shared machine does not count "
            "(BENCH_CLOCK=wall for wall-clock)."),
}


def markdown(results):
    out = ["# vmpdsl benchmarks", "",
           f"Mode: {'quick (10× smaller)' if results['quick'] else 'full'}; "
           f"{results['machine']}; numpy {np.__version__}; vmpdsl {results.get('vmpdsl', '?')}. "
           f"Convergence: |ΔELBO| ≤ {TOL:g}·|ELBO|, at most {MAX_ITER} iterations. "
           f"{CLOCK_NOTES[results.get('clock', 'wall')]} "
           "Per-iteration time = median over iterations after a warm-up (one sweep + ELBO); vmpdsl and "
           f"the hand-written reference: the least of {TIMING_ROUNDS} fits' medians each, timed in turns. "
           "Ratios are to vmpdsl's emitted code in the same run (per-iteration / converge / peak memory). "
           "Peak memory = tracemalloc peak during a 3-iteration fit; ×data = peak / bytes of the data arrays.",
           ""]
    for name, res in results["models"].items():
        cfg = ", ".join(f"{k}={v}" for k, v in res["sizes"].items())
        commit = other_commit(res, results)
        out += [f"## {name} ({cfg}; data {fmt_b(res['data_bytes'])})"
                + (f" (measured on vmpdsl {commit})" if commit else ""), "",
                "| implementation | per iter | ratio | converge (iters) | ratio | compile first / cached | peak mem | ×data | ratio | note |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for impl, r in res["rows"].items():
            comp = (f"{fmt_t(r['compile_first_s'])} / {fmt_t(r['compile_second_s'])}"
                    if "compile_first_s" in r else "–")
            conv = (f"{fmt_t(r.get('converge_s'))} ({r['converge_iters']}{'' if r.get('converged') else ', not converged'})"
                    if "converge_iters" in r else "–")
            pod = r.get("peak_over_data")
            out.append(f"| {impl} | {fmt_t(r.get('per_iter_s'))} | {fmt_r(r.get('per_iter_s_over_vmpdsl'))} "
                       f"| {conv} | {fmt_r(r.get('converge_s_over_vmpdsl'))} | {comp} "
                       f"| {fmt_b(r.get('peak_bytes'))} | {'–' if pod is None else f'{pod:.2f}'} "
                       f"| {fmt_r(r.get('peak_bytes_over_vmpdsl'))} | {r.get('note', '')} |")
        out.append("")
    out += targets(results)

    def section(lines, entry):
        """A section's lines, followed by the commit it was measured on if not this run's."""
        commit = other_commit(entry, results)
        return lines + ([f"Measured on vmpdsl {commit}.", ""] if commit else [])

    if "lda_batch" in results:
        out += section(lda_batch.markdown(results["lda_batch"]), results["lda_batch"][0])
    if "front_end" in results:
        out += section(front_end.markdown(results["front_end"]), results["front_end"])
    if "lda_svi" in results:  # names its commit itself
        out += lda_svi.markdown(results["lda_svi"])
    if "chunked" in results:  # issue 13: benchmarks/chunked_gmm.py
        import chunked_gmm
        out += section(chunked_gmm.markdown(results["chunked"]), results["chunked"])
    if "scaling" in results:
        sc = results["scaling"]
        lines = [f"## GMM scaling (D={sc['D']}, K={sc['K']}), per-iteration time", "",
                 "| N | vmpdsl | hand-written NumPy | ratio |", "|---|---|---|---|"]
        lines += [f"| {r['N']:,} | {fmt_t(r['vmpdsl'])} | {fmt_t(r['hand-written NumPy'])} "
                  f"| {r['vmpdsl'] / r['hand-written NumPy']:.2f}× |" for r in sc["rows"]]
        lines += ["", "Log-log slope of time per iteration in N: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in sc["slope"].items()), ""]
        out += section(lines, sc)
    if results.get("dask"):
        import dask_gmm
        out += section(dask_gmm.markdown(results["dask"]), results["dask"])
    return "\n".join(out)


# Per-iteration time over the hand-written reference's (issue 10; 1.2× elsewhere)
REFERENCE_LIMIT = {"gmm": 1.0}


def targets(results):
    """The issues' targets as ratios from this run."""
    lines = ["## Targets (issues 5 and 10), from the sections above", "",
             "| target | model | measured | met |", "|---|---|---|---|"]

    def row(target, model, value, ok):
        lines.append(f"| {target} | {model} | {value} | {'yes' if ok else 'no'} |")

    for name, res in results["models"].items():
        rows = res["rows"]
        v = rows["vmpdsl"]
        h = rows.get("hand-written NumPy", {})
        if h.get("per_iter_s"):
            r, limit = v["per_iter_s"] / h["per_iter_s"], REFERENCE_LIMIT.get(name, 1.2)
            row(f"per iteration ≤ {limit:g}× hand-written", name, f"{r:.2f}×", r <= limit)
        for label, limit in (("scikit-learn BayesianGaussianMixture", 1.0),
                             ("scikit-learn LatentDirichletAllocation", None)):
            o = rows.get(label, {})
            if o.get("per_iter_s"):
                r = v["per_iter_s"] / o["per_iter_s"]
                row("per iteration ≤ 1.0× scikit-learn" if limit else "per iteration vs scikit-learn (report)",
                    name, f"{r:.2f}×", r <= (limit or np.inf))
        o = rows.get("BayesPy", {})
        if o.get("per_iter_s"):
            r = o["per_iter_s"] / v["per_iter_s"]
            row("≥ 10× faster than BayesPy per iteration", name, f"{r:.1f}× faster", r >= 10)
        row("compile < 1 s", name, fmt_t(v["compile_first_s"]), v["compile_first_s"] < 1)
        row("cached load < 50 ms", name, fmt_t(v["compile_second_s"]), v["compile_second_s"] < 0.05)
        row("peak memory ≤ 3× data", name, f"{v['peak_over_data']:.2f}× data", v["peak_over_data"] <= 3)
    lines.append("")
    return lines


def vmpdsl_version():
    """The vmpdsl commit measured (and whether its working tree had changes)."""
    import subprocess
    try:
        return subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or "unknown"
    except Exception:
        return "unknown"


def merged_into_previous(results, path):
    """``results`` (this run's header, nothing measured yet) over the sections of
    the results.json at ``path``, so that a run of some sections keeps the rest.
    A quick run never merges into a full one or the other way round."""
    try:
        with open(path) as fh:
            previous = json.load(fh)
    except FileNotFoundError:
        return results
    if previous.get("quick") != results["quick"]:
        sys.exit(f"bench: --merge: {path} holds a {'quick' if previous.get('quick') else 'full'} run; "
                 "merge only runs of the same mode")
    def tagged(section):  # a section from before sections named their commit
        if isinstance(section, list):  # lda_batch: one entry per corpus
            return [tagged(entry) for entry in section]
        if isinstance(section, dict) and "commit" not in section:
            return dict(section, commit=previous.get("vmpdsl"))
        return section

    for key, section in previous.items():
        if key not in results:
            results[key] = tagged(section)
    results["models"] = {name: tagged(entry) for name, entry in previous.get("models", {}).items()}
    return results


def other_commit(section, results):
    """The commit a merged section was measured on, if not this run's; else None."""
    commit = section.get("commit") if isinstance(section, dict) else None
    return None if commit in (None, results.get("vmpdsl")) else commit


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="10× smaller sizes, a fast check")
    p.add_argument("--models", default="gmm,linreg,lda,pca,hier,hmm,lda_batch,lda_svi,chunked",
                   help="comma-separated subset (lda_batch, lda_svi: benchmarks/lda_*.py; "
                        "chunked: benchmarks/chunked_gmm.py)")
    p.add_argument("--big", action="store_true", help="chunked: also GMM N = 1e8 (4 GB on disk)")
    p.add_argument("--scaling", action="store_true", help="also GMM N = 1e4, 1e5, 1e6 (D=10, K=20)")
    p.add_argument("--iters", type=int, default=None, help="iterations for the per-iteration timing")
    p.add_argument("--no-front-end", action="store_true",
                   help="skip the 10,000-line model's parse + check timing")
    p.add_argument("--no-dask", action="store_true",
                   help="skip the dask LocalCluster row (benchmarks/dask_gmm.py)")
    p.add_argument("--out", default=HERE, help="directory for results.md / results.json")
    p.add_argument("--render", action="store_true", help="only re-render results.md from results.json")
    p.add_argument("--merge", action="store_true",
                   help="keep the sections of the existing results.json that this run does not measure "
                        "(each section names the commit it was measured on)")
    args = p.parse_args(argv)
    if args.render:
        with open(os.path.join(args.out, "results.json")) as fh:
            md = markdown(json.load(fh))
        with open(os.path.join(args.out, "results.md"), "w") as fh:
            fh.write(md + "\n")
        print(md)
        return
    n_iter = args.iters or (20 if args.quick else 8)
    cfgs = sizes(args.quick)
    results = {"quick": args.quick, "machine": (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                          f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}"),
               "tol": TOL, "max_iter": MAX_ITER, "vmpdsl": vmpdsl_version(), "models": {},
               "clock": "wall" if clock is time.perf_counter else "cpu"}
    if args.merge:
        results = merged_into_previous(results, os.path.join(args.out, "results.json"))
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        if name == "lda_svi":  # stochastic VI vs scikit-learn online (issue 13)
            results["lda_svi"] = dict(lda_svi.run(args.quick), commit=results["vmpdsl"])
            continue
        if name == "lda_batch":  # batch VB with the local restarts vs scikit-learn batch
            # the 2000-document corpus (~300k tokens), and one of ≥ 1M tokens
            results["lda_batch"] = [dict(lda_batch.compare(docs), commit=results["vmpdsl"])
                                    for docs in ((200,) if args.quick else (2000, 7000))]
            continue
        if name == "chunked":  # chunked vs in-memory GMM, and from disk (issue 13)
            import chunked_gmm
            results["chunked"] = dict(chunked_gmm.bench(args.quick, args.big), commit=results["vmpdsl"])
            continue
        t0 = time.perf_counter()
        print(f"{name} {cfgs[name]} ...", flush=True)
        try:
            results["models"][name] = dict(bench_model(name, cfgs[name], n_iter, []), commit=results["vmpdsl"])
        except Mismatch as err:  # no table from a reference that times something else
            sys.exit(f"bench: {err}")
        for impl, r in results["models"][name]["rows"].items():
            print(f"  {impl:40s} per iter {fmt_t(r.get('per_iter_s')):>10s}  ratio {fmt_r(r.get('per_iter_s_over_vmpdsl')):>7s}"
                  f"  {r.get('note', '')[:90]}", flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.scaling:
        results["scaling"] = dict(scaling(args.quick, 4), commit=results["vmpdsl"])
    if not args.no_front_end:
        results["front_end"] = dict(front_end.measure(), commit=results["vmpdsl"])
    if not args.no_dask:  # benchmarks/dask_gmm.py: the dask LocalCluster row
        import dask_gmm
        print("dask LocalCluster vs in-process (GMM) ...", flush=True)
        results["dask"] = dict(dask_gmm.measure(dask_gmm.SIZES[:2] if args.quick else dask_gmm.SIZES),
                               commit=results["vmpdsl"])
    md = markdown(results)
    with open(os.path.join(args.out, "results.md"), "w") as fh:
        fh.write(md + "\n")
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump(results, fh, indent=1, default=float)
    print(md)


if __name__ == "__main__":
    main()
