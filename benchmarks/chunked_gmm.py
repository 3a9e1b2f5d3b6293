"""Chunked vs in-memory GMM sweeps (issue 13, item 3): time per sweep and the
peak memory traced by tracemalloc during the fit, from a .npy memory map.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/chunked_gmm.py [N] [chunk]
"""
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np

import vmpdsl


def measure(fit):
    tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = fit()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds / result.iterations, peak


def main(N=1_000_000, chunk=100_000, D=5, K=8, sweeps=5):
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4, size=(K, D))
    x = centres[rng.integers(0, K, size=N)] + rng.normal(size=(N, D))
    model = vmpdsl.load("models/gmm.vmp")
    options = dict(seed=0, max_iter=sweeps, tol=0)
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/x.npy"
        np.save(path, x)
        del x
        memory, t_mem, p_mem = measure(lambda: model.fit({"x": np.load(path), "K": K}, **options))
        chunked, t_chk, p_chk = measure(lambda: model.fit({"x": path, "K": K}, chunk_size=chunk,
                                                          **options))
    data = N * D * 8
    gap = np.max(np.abs(chunked.elbo - memory.elbo) / np.abs(memory.elbo))
    print(f"GMM N={N}, D={D}, K={K}, chunk {chunk}: data {data / 2**20:.0f} MiB")
    print(f"in memory: {t_mem:.3f} s/sweep, peak {p_mem / 2**20:.0f} MiB ({p_mem / data:.2f}x data)")
    print(f"chunked:   {t_chk:.3f} s/sweep, peak {p_chk / 2**20:.0f} MiB ({p_chk / data:.2f}x data"
          f" held; the data stays on disk)")
    print(f"cost ratio {t_chk / t_mem:.2f}x; ELBO traces agree to {gap:.1e}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
