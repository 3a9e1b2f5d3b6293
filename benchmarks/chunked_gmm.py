"""Chunked vs in-memory GMM sweeps (issue 13, item 3), D = 5, K = 8.

    .venv/bin/python benchmarks/chunked_gmm.py [--quick] [--big] [--save]

Every measurement runs in a fresh subprocess of this script (``--worker``),
reading the data from one ``.npy`` file:
- *in memory*: ``np.load`` (data in RAM), ``fit`` in memory;
- *chunked*: the same array in RAM, ``fit(chunk_size=…)``;
- *chunked from disk*: the ``.npy`` path, read block by block (vmpdsl/ondisk.py);
- *capped*: chunked from disk with the process's address space limited to
  4 GiB (``resource.setrlimit(RLIMIT_AS)`` before numpy loads).
Time per sweep = median of the intervals between the per-sweep callbacks after
the first (the start and the first sweep excluded), wall and CPU time; of 3
interleaved runs per fit the fastest is kept (the machine is shared).  Peak memory = the
process's peak resident set (VmHWM) minus its resident set just before
the data are loaded (after imports and compiling the model), as a multiple of
the data's bytes (N·D·8).  ``--big`` adds N = 10⁸ (4 GB on disk; skipped when
one sweep at 10⁷ extrapolates to more than 3 minutes).  ``--save`` merges the
figures into results.json and re-renders results.md; ``make bench`` runs this
through run.py.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
D, K, CAP = 5, 8, 4 * 2 ** 30


def worker(mode, path, chunk, sweeps, cap):
    """One fit in this process; prints its figures as JSON."""
    import resource
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import warnings
    import numpy as np
    sys.path.insert(0, ROOT)
    import vmpdsl
    model = vmpdsl.load(os.path.join(ROOT, "models", "gmm.vmp"))
    before = status_bytes("VmRSS")
    stamps, cpu = [time.perf_counter()], [time.process_time()]
    data = {"x": path if mode == "disk" else np.load(path), "K": K}
    options = {} if mode == "memory" else {"chunk_size": chunk}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit(data, seed=0, max_iter=sweeps, tol=0,
                        callback=lambda *_: (stamps.append(time.perf_counter()),
                                             cpu.append(time.process_time())), **options)
    steps = np.diff(stamps)
    print(json.dumps({"per_sweep_s": float(np.median(steps[1:])), "first_s": float(steps[0]),
                      "cpu_per_sweep_s": float(np.median(np.diff(cpu)[1:])),
                      "peak_growth_bytes": status_bytes("VmHWM") - before,
                      "elbo": fit.elbo.tolist()}))


def status_bytes(field):
    """VmRSS (resident now) or VmHWM (its peak) of this process.  Not
    ru_maxrss: after fork and exec it starts from the parent's peak."""
    with open("/proc/self/status") as fh:
        line = next(line for line in fh if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def run(mode, path, chunk, sweeps, cap=0):
    command = [sys.executable, os.path.abspath(__file__), "--worker", mode, path, str(chunk),
               str(sweeps), str(cap)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_data(path, N, block=1_000_000):
    """x[N, D] from K well-separated clusters, written block by block."""
    import numpy as np
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4, size=(K, D))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=float, shape=(N, D))
    for start in range(0, N, block):
        n = min(block, N - start)
        out[start:start + n] = centres[rng.integers(0, K, size=n)] + rng.normal(size=(n, D))
    out.flush()
    del out


def compare(folder, N, chunk, sweeps, rounds=3):
    """In memory vs chunked (in RAM and from disk) at one N, each the fastest of
    ``rounds`` runs."""
    import numpy as np
    path = os.path.join(folder, f"x{N}.npy")
    write_data(path, N)
    rows = {}
    for _ in range(rounds):  # interleaved, the fastest of each kept: the machine is shared
        for mode in ("memory", "chunked", "disk"):
            row = run(mode, path, chunk, sweeps)
            if mode not in rows or row.get("per_sweep_s", np.inf) < rows[mode].get("per_sweep_s", np.inf):
                rows[mode] = row
    data = N * D * 8
    for row in rows.values():
        if "error" not in row:
            row["peak_over_data"] = row["peak_growth_bytes"] / data
    reference = np.asarray(rows["memory"].get("elbo", np.nan))
    for mode in ("chunked", "disk"):
        if "elbo" in rows[mode] and "elbo" in rows["memory"]:
            rows[mode]["elbo_gap"] = float(np.max(np.abs(np.asarray(rows[mode]["elbo"])
                                                         - reference) / np.abs(reference)))
            rows[mode]["ratio"] = rows[mode]["per_sweep_s"] / rows["memory"]["per_sweep_s"]
            rows[mode]["cpu_ratio"] = (rows[mode]["cpu_per_sweep_s"]
                                       / rows["memory"]["cpu_per_sweep_s"])
    os.remove(path)
    return {"N": N, "chunk": chunk, "data_bytes": data, "rows": strip(rows)}


def capped(folder, Ns, chunk, big):
    """Chunked from disk under a 4 GiB address-space cap, N by N."""
    import numpy as np
    out = []
    for N in Ns:
        if N >= 10 ** 8 and not big:
            break
        if out and "per_sweep_s" in out[-1] and out[-1]["per_sweep_s"] * N / out[-1]["N"] > 180:
            out.append({"N": N, "skipped": "one sweep would take > 3 min"})
            break
        path = os.path.join(folder, f"x{N}.npy")
        write_data(path, N)
        row = run("disk", path, chunk, 3 if N >= 10 ** 8 else 4, CAP)
        os.remove(path)
        out.append(dict(strip({"r": row})["r"], N=N, data_bytes=N * D * 8))
        print(f"  capped N={N:.0e}: {out[-1]}", flush=True)
    timed = [r for r in out if "per_sweep_s" in r]
    slopes = {key: float(np.polyfit(np.log([r["N"] for r in timed]),
                                    np.log([r[key] for r in timed]), 1)[0])
              for key in ("per_sweep_s", "cpu_per_sweep_s")} if len(timed) > 1 else None
    return {"cap_bytes": CAP, "chunk": chunk, "rows": out, "slope": slopes}


def strip(rows):
    return {mode: {k: v for k, v in row.items() if k != "elbo"} for mode, row in rows.items()}


def bench(quick=False, big=False):
    """The figures for results.json (run.py's "chunked" entry)."""
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as folder:
        N = 100_000 if quick else 1_000_000
        result = {"compare": compare(folder, N, 10_000, 6 if quick else 8)}
        print(f"  chunked vs in memory: {result['compare']['rows']}", flush=True)
        Ns = [10 ** 5, 10 ** 6] if quick else [10 ** 6, 10 ** 7, 10 ** 8]
        result["capped"] = capped(folder, Ns, 100_000, big)
    return result


def markdown(result):
    c = result["compare"]
    data_mib = c["data_bytes"] / 2 ** 20
    out = [f"## Chunked sweeps (issue 13): GMM N={c['N']:,}, D={D}, K={K}, blocks of "
           f"{c['chunk']:,} rows; data {data_mib:.1f} MiB", "",
           "Each row is a fresh process (the fastest of 3 interleaved runs). Per sweep: median "
           "interval between sweeps after the first, wall and CPU time. Peak: VmHWM − resident "
           "set before loading the data, / data bytes.", "",
           "| fit | per sweep (wall) | ratio | per sweep (CPU) | ratio | peak growth | ×data "
           "| ELBO trace vs in memory |",
           "|---|---|---|---|---|---|---|---|"]
    labels = {"memory": "in memory", "chunked": "chunked, data in RAM",
              "disk": "chunked, .npy read by blocks"}
    for mode, row in c["rows"].items():
        if "error" in row:
            out.append(f"| {labels[mode]} | failed: {row['error']} | | | | | | |")
            continue
        gap = f"{row['elbo_gap']:.1e}" if "elbo_gap" in row else "–"
        out.append(f"| {labels[mode]} | {row['per_sweep_s']:.3f} s | {row.get('ratio', 1.0):.2f}× "
                   f"| {row['cpu_per_sweep_s']:.3f} s | {row.get('cpu_ratio', 1.0):.2f}× "
                   f"| {row['peak_growth_bytes'] / 2 ** 20:.1f} MiB | {row['peak_over_data']:.2f} "
                   f"| {gap} |")
    cap = result["capped"]
    out += ["", f"Chunked from an on-disk .npy under a {cap['cap_bytes'] / 2 ** 30:.0f} GiB "
            f"address-space cap (RLIMIT_AS), blocks of {cap['chunk']:,}:", "",
            "| N | data on disk | per sweep (wall) | per sweep (CPU) | first sweep (with the "
            "start) | peak growth |",
            "|---|---|---|---|---|---|"]
    for row in cap["rows"]:
        if "per_sweep_s" not in row:
            out.append(f"| {row['N']:.0e} | | {row.get('skipped') or row.get('error')} | | | |")
            continue
        out.append(f"| {row['N']:.0e} | {row['data_bytes'] / 2 ** 30:.2f} GiB "
                   f"| {row['per_sweep_s']:.2f} s | {row['cpu_per_sweep_s']:.2f} s "
                   f"| {row['first_s']:.2f} s "
                   f"| {row['peak_growth_bytes'] / 2 ** 20:.0f} MiB |")
    if cap["slope"] is not None:
        out += ["", f"Log-log slope of the time per sweep in N: {cap['slope']['per_sweep_s']:.2f} "
                f"(wall), {cap['slope']['cpu_per_sweep_s']:.2f} (CPU)"]
    if "note" in result:
        out += ["", result["note"]]
    return out + [""]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=5, metavar=("MODE", "PATH", "CHUNK", "SWEEPS", "CAP"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--big", action="store_true", help="also N = 1e8 (4 GB on disk)")
    parser.add_argument("--save", action="store_true", help="merge into results.json/.md")
    args = parser.parse_args()
    if args.worker:
        mode, path, chunk, sweeps, cap = args.worker
        return worker(mode, path, int(chunk), int(sweeps), int(cap))
    result = bench(args.quick, args.big)
    print("\n".join(markdown(result)))
    if args.save:
        sys.path.insert(0, HERE)
        import run as bench_run
        with open(os.path.join(HERE, "results.json")) as fh:
            results = json.load(fh)
        result["note"] = f"Measured on vmpdsl {bench_run.vmpdsl_version()}."
        results["chunked"] = result
        with open(os.path.join(HERE, "results.json"), "w") as fh:
            json.dump(results, fh, indent=1, default=float)
        bench_run.main(["--render"])


if __name__ == "__main__":
    main()
