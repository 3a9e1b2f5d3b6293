"""dask LocalCluster (2 process workers) vs in-process, GMM D = 5, K = 8
(issue 13): time per sweep at several N, the cluster's overhead per sweep,
and where the cluster starts to pay.

    .venv/bin/python benchmarks/dask_gmm.py [N ...]   # default 1e4 1e5 1e6 1e7

The data are drawn block by block from seeded generators, on the workers for
the cluster fit (nothing large leaves the client) and in the process for the
in-memory fit, so both fit the same numbers; their ELBO traces are compared.
Per-sweep time: the median interval between the fit's ELBO callbacks after
the first (a warm-up: the blocks are drawn and bound then).  ``overhead``: the
cluster's time per sweep minus half the in-process time (a perfect split over
two workers).  Writes the "dask" entry of results.json and re-renders
results.md (run.py calls ``measure`` in ``make bench``).
"""
import json
import os
import sys
import time
import warnings

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, os.environ.get("BENCH_BLAS_THREADS", "1"))  # as run.py

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
D, K, BLOCKS, SWEEPS = 5, 8, 4, 5


def block(i, rows):
    """Rows of block i: K clusters around centres drawn from seed 0."""
    centres = np.random.default_rng(0).normal(scale=4, size=(K, D))
    rng = np.random.default_rng([1, i])
    return centres[rng.integers(0, K, size=rows)] + rng.normal(size=(rows, D))


def block_rows(N):
    size = -(-N // BLOCKS)
    return [min(size, N - start) for start in range(0, N, size)]


def per_sweep(fit, cpu):
    """(fit, median wall seconds between ELBO callbacks after the first, CPU
    seconds per sweep: ``cpu()`` before and after, over the sweeps)."""
    stamps = []
    before = cpu()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = fit(lambda it, elbo: stamps.append(time.perf_counter()))
    return result, float(np.median(np.diff(stamps))), (cpu() - before) / result.iterations


def one_size(model, client, N):
    import dask
    import dask.array as da
    from distributed import wait
    rows = block_rows(N)
    options = dict(seed=0, max_iter=SWEEPS, tol=0)
    x = np.concatenate([block(i, n) for i, n in enumerate(rows)])
    memory, t_mem, c_mem = per_sweep(lambda cb: model.fit({"x": x, "K": K}, callback=cb,
                                                          **options), time.process_time)
    del x
    x = client.persist(da.concatenate([da.from_delayed(dask.delayed(block)(i, n), (n, D), float)
                                       for i, n in enumerate(rows)]))
    wait(x)
    def cluster_cpu():  # this process (client, scheduler) and the workers
        return time.process_time() + sum(client.run(time.process_time).values())
    cluster, t_dask, c_dask = per_sweep(lambda cb: model.fit({"x": x, "K": K}, client=client,
                                                             callback=cb, **options), cluster_cpu)
    gap = float(np.max(np.abs(cluster.elbo - memory.elbo) / np.abs(memory.elbo)))
    row = {"N": N, "blocks": len(rows), "in_process_s": t_mem, "dask_s": t_dask,
           "overhead_s": t_dask - t_mem / 2, "in_process_cpu_s": c_mem, "dask_cpu_s": c_dask,
           "elbo_gap": gap, "load": os.getloadavg()[0]}
    print(f"  N={N:>10,}: in-process {t_mem * 1e3:9.1f} ms/sweep ({c_mem * 1e3:.1f} ms CPU), "
          f"dask {t_dask * 1e3:9.1f} ms/sweep ({c_dask * 1e3:.1f} ms CPU), "
          f"ELBO traces agree to {gap:.1e}, load {row['load']:.1f}", flush=True)
    return row


def measure(sizes=SIZES):
    """The "dask" entry of results.json; None (with a note) without distributed."""
    sys.path.insert(0, ROOT)
    import vmpdsl
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("  dask row skipped: pip install 'vmpdsl[dask]'", flush=True)
        return None
    model = vmpdsl.load(os.path.join(ROOT, "models", "gmm.vmp"))
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        one_size(model, client, 2_000)  # warm-up: the workers import vmpdsl, run the module
        rows = [one_size(model, client, N) for N in sizes]
    return {"D": D, "K": K, "sweeps": SWEEPS, "rows": rows}


def markdown(entry) -> list:
    """The results.md section of the "dask" entry."""
    out = [f"## GMM on a dask LocalCluster (2 process workers, 1 thread each) vs in-process "
           f"(D={entry['D']}, K={entry['K']})", "",
           f"Wall: median time per sweep (sweep + ELBO) over sweeps 2–{entry['sweeps']}. "
           f"CPU: CPU seconds per sweep over the {entry['sweeps']}-sweep fit (dask: client, "
           "scheduler and both workers). The cluster fit sweeps "
           f"{entry['rows'][0]['blocks']} row blocks, one task per block per sweep. "
           "Overhead = dask wall − in-process wall / 2 (a perfect split over the 2 workers). "
           "Load = the machine's 1-minute load average during the row (2 cores, shared).", "",
           "| N | in-process wall | dask wall | speed-up | overhead per sweep "
           "| in-process CPU | dask CPU | ELBO traces agree to | load |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in entry["rows"]:
        out.append(f"| {r['N']:,} | {fmt(r['in_process_s'])} | {fmt(r['dask_s'])} "
                   f"| {r['in_process_s'] / r['dask_s']:.2f}× | {fmt(r['overhead_s'])} "
                   f"| {fmt(r['in_process_cpu_s'])} | {fmt(r['dask_cpu_s'])} "
                   f"| {r['elbo_gap']:.1e} | {r['load']:.1f} |")
    return out + [""]


def fmt(s):
    return f"{s * 1e3:.1f} ms" if abs(s) < 1 else f"{s:.2f} s"


def main(argv):
    entry = measure(tuple(int(float(a)) for a in argv) or SIZES)
    if entry is None:
        return
    path = os.path.join(HERE, "results.json")
    with open(path) as fh:
        results = json.load(fh)
    results["dask"] = entry
    with open(path, "w") as fh:
        json.dump(results, fh, indent=1, default=float)
    sys.path.insert(0, HERE)
    import run
    run.main(["--render"])


if __name__ == "__main__":
    main(sys.argv[1:])
