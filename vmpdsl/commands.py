"""The engine's subcommands: ``equations``, ``compile`` and ``fit``.

Registered in ``cli.COMMANDS``; errors are turned into exit codes there.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .api import Fit, Model
from .compiler import compile_source
from .data_in import parse_setting, read_data, split_spec, standardized
from .emit.assemble import runtime_path
from .errors import VmpDataError, VmpError
from .language import read_source
from .outputs import refuse_overwriting, write_atomically


def load_file(path: str, mean_field: bool = False) -> Model:
    """Compile a .vmp file; a missing or unreadable file is a user error."""
    return Model(compile_source(read_source(path), path, mean_field=mean_field))


MEAN_FIELD_HELP = ("factorize joint blocks: q(mu) q(Lambda) instead of one "
                   "Normal–Wishart (Normal–Gamma) q(mu, Lambda)")


# ------------------------------------------------------------- equations
def equations_arguments(parser: argparse.ArgumentParser):
    """Arguments of ``vmpdsl equations``."""
    parser.add_argument("model", help="a .vmp model file")
    parser.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    parser.add_argument("--steps", action="store_true",
                        help="also show each factor's message, then their sum")
    parser.add_argument("--mean-field", action="store_true", help=MEAN_FIELD_HELP)


def run_equations(args) -> int:
    """``vmpdsl equations``: print the derived updates."""
    model = load_file(args.model, args.mean_field)
    print(model.equations("latex" if args.latex else "text", steps=args.steps))
    return 0


# --------------------------------------------------------------- compile
def compile_arguments(parser: argparse.ArgumentParser):
    """Arguments of ``vmpdsl compile``."""
    parser.add_argument("model", help="a .vmp model file")
    parser.add_argument("-o", "--output", required=True, help="the Python module to write")
    parser.add_argument("--mean-field", action="store_true", help=MEAN_FIELD_HELP)


def run_compile(args) -> int:
    """``vmpdsl compile``: write the standalone NumPy module, its generic runtime
    in a file beside it (README, "Layout of the emitted
    module"); to a device or pipe, as one text."""
    runtime = runtime_path(args.output)
    refuse_overwriting({"the model": args.model},
                       {"the module": args.output, "its runtime": runtime})
    model = load_file(args.model, args.mean_field)
    if runtime is None:
        write_atomically(args.output, lambda path: Path(path).write_text(model.code,
                                                                         encoding="utf-8"))
        print(f"wrote {args.output} (numpy + scipy only; call fit(data))")
        return 0
    main, rest = model.code_files(Path(runtime).name)

    def write(path):  # the runtime lands first: the module never runs without it
        Path(path).write_text(main, encoding="utf-8")
        write_atomically(runtime, lambda other: Path(other).write_text(rest, encoding="utf-8"))
    write_atomically(args.output, write)
    print(f"wrote {args.output} and its runtime {runtime} (numpy + scipy only; call fit(data))")
    return 0


# ------------------------------------------------------------------- fit
def fit_options(parser: argparse.ArgumentParser):
    """The options of a fit, shared by ``fit`` and ``predict``."""
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a hyperparameter or a dim size (e.g. --set K=6)")
    parser.add_argument("--point", default="", help="comma-separated latents to estimate as points")
    parser.add_argument("--mean-field", action="store_true", help=MEAN_FIELD_HELP)
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--tol", type=float, default=1e-8,
                        help="stop when a sweep changes the ELBO by at most TOL of its size "
                             "and the posteriors by at most sqrt(TOL) of theirs")
    parser.add_argument("--n-init", type=int, default=1,
                        help="fit from this many random starts and keep the best ELBO")
    parser.add_argument("--init", choices=("kmeans", "random"), default="kmeans",
                        help="how mixture indicators of real-valued data start: k-means++ "
                             "on the rows they gate (default) or random responsibilities")
    parser.add_argument("--no-rotate", dest="rotate", action="store_false",
                        help="no rotation step for bilinear pairs such as dot(W[d], z[n])")
    parser.add_argument("--seed", type=int, default=0)


def fit_arguments(parser: argparse.ArgumentParser):
    """Arguments of ``vmpdsl fit``."""
    parser.add_argument("model", help="a .vmp model file")
    parser.add_argument("--data", action="append", default=[], metavar="[NAME=]FILE",
                        help=".npz (arrays by name) or .csv (columns by name, or one "
                             "matrix); NAME=FILE binds a whole file to one array")
    fit_options(parser)
    parser.add_argument("--out", help="save the fit: .npz is the fit file (vmpdsl.load_fit, "
                                      "predict --fit); .json a flat export of the posterior")
    parser.add_argument("--standardize", action="store_true",
                        help="centre and scale every real data column to unit variance "
                             "first (the posterior is then in standardized units)")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the ELBO curve (and the clusters of a Gaussian mixture); "
                             "needs the plot extra, skipped with a note without it")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--chunk-size", type=int, default=None, metavar="N",
                        help="sweep the data N rows at a time (the same fit; see README)")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="sweep the --chunk-size blocks on the dask.distributed cluster "
                             "at ADDRESS (tcp://host:port; the dask extra; see README)")
    parser.add_argument("--missing", choices=("error", "skip"), default="error",
                        help="NaN observations: an error (default), or skip their factors "
                             "(exact: the posterior without those observations)")
    parser.add_argument("--svi", action="store_true",
                        help="stochastic VI: minibatches of --batch-size units; --max-iter "
                             "counts passes over the data (see README)")
    parser.add_argument("--batch-size", type=int, default=None, metavar="B",
                        help="units (rows, or groups such as documents) per SVI minibatch")
    parser.add_argument("--tau0", type=float, default=10.0,
                        help="SVI step size rho_t = (t + tau0)^-kappa: tau0 >= 0 (default 10)")
    parser.add_argument("--kappa", type=float, default=0.7,
                        help="SVI step size decay kappa in (0.5, 1] (default 0.7)")
    parser.add_argument("--elbo-every", type=int, default=1, metavar="P",
                        help="SVI: the full-data ELBO after every P passes (and the last)")
    parser.add_argument("--heldout", action="append", default=[], metavar="[NAME=]FILE",
                        help="SVI: held-out data (as --data): its bound and perplexity")


def run_fit(args) -> int:
    """``vmpdsl fit``: fit, print the summary, optionally save and plot."""
    # before the fit: a typo must not cost the fit, nor overwrite the model or data
    refuse_overwriting({"the model": args.model, "--data": data_paths(args.data),
                        "--heldout": data_paths(args.heldout)},
                       {"--out": args.out, "--plot": args.plot})
    model = load_file(args.model)
    data = read_all(args.data, model)
    if args.standardize:
        data = standardized(data, [v.name for v in model.checked.by_role("data")
                                   if v.dtype == "real"])
    hypers = {}
    for item in args.set:
        name, value = parse_setting(item)
        (data if name in model.checked.dims else hypers)[name] = value
    points = [p for p in args.point.split(",") if p]
    from .progress import cli_progress
    show, close = (None, lambda: None) if args.quiet else cli_progress(args.max_iter)
    from .distributed import connect
    if args.scheduler and args.chunk_size is None:
        raise VmpDataError("--scheduler needs --chunk-size N: the rows per block on the cluster")
    try:
        with connect(args.scheduler) as client:
            fit = model.fit(data, hypers=hypers, max_iter=args.max_iter, tol=args.tol,
                            seed=args.seed, point=points or None, n_init=args.n_init,
                            init=None if args.init == "kmeans" else args.init,
                            callback=show, missing=args.missing, rotate=args.rotate,
                            mean_field=args.mean_field, chunk_size=args.chunk_size,
                            client=client, **svi_options(args, model))
    finally:
        close()
    status = "converged" if fit.converged else "NOT converged (raise --max-iter)"
    print(f"{status} after {fit.iterations} {'passes' if args.svi else 'iterations'}; "
          f"ELBO {fit.elbo[-1]:.6f}")
    if "heldout_perplexity" in fit.result.get("svi", {}):
        info = fit.result["svi"]
        print(f"held-out bound {info['heldout_elbo'][-1]:.6f}; "
              f"perplexity {info['heldout_perplexity'][-1]:.4f}")
    if len(fit.start_elbos) > 1:
        print("final ELBO of each start: " + ", ".join(f"{e:.6f}" for e in fit.start_elbos))
    print(posterior_table(fit))
    if args.out:
        save_fit(fit, args.out)  # atomically (persist.atomic_write)
        print(f"wrote {args.out}")
    if args.plot:
        from .fitplot import plot_fit
        try:
            write_atomically(args.plot, lambda path: plot_fit(fit, data, path))
            print(f"wrote {args.plot}")
        except VmpError as err:  # the extra is optional: say so, do not fail the fit
            print(f"no plot: {err.message}")
    return 0


def svi_options(args, model: Model) -> dict:
    """The keyword arguments of ``--svi`` (an SVI option without it is an error)."""
    if not args.svi:
        given = [flag for flag, value in (("--batch-size", args.batch_size),
                                          ("--heldout", args.heldout)) if value]
        if given:
            raise VmpDataError(f"{', '.join(given)} applies to --svi fits only")
        return {}
    if args.heldout and args.standardize:  # it would need the training data's centres
        raise VmpDataError("--heldout with --standardize is not supported; standardize the "
                           "files first")
    return {"method": "svi", "batch_size": args.batch_size,
            "learning_rate": (args.tau0, args.kappa), "elbo_every": args.elbo_every,
            "heldout": read_all(args.heldout, model) if args.heldout else None}


def data_paths(specs: list) -> list:
    return [split_spec(spec)[1] for spec in specs]


def read_all(specs: list, model: Model) -> dict:
    """The arrays of every --data argument (only those the model uses)."""
    names = [v.name for v in model.checked.by_role("data")]
    data = {}
    for spec in specs:
        data.update(read_data(spec, names, list(model.checked.dims)))
    return data


def posterior_table(fit: Fit) -> str:
    """Mean, sd and 95% interval per element; per-row latents in one line each."""
    from .posterior import summary_text
    from .predict import local_names
    return summary_text(fit, tuple(local_names(fit.model.checked)))


def brief(array: np.ndarray) -> str:
    """A short text of an array: its values, or its range when it is long."""
    if array.size <= 12:
        return np.array2string(array, precision=4, suppress_small=True,
                               max_line_width=10_000).replace("\n", "")
    return f"min {array.min():.4g}, max {array.max():.4g}, mean {array.mean():.4g}"


def save_fit(fit: Fit, path: str):
    """.npz: the fit file (``Fit.save``); .json: the posterior and ELBO, flat."""
    if path.endswith(".npz"):
        fit.save(path)
        return
    flat = {"elbo": fit.elbo}
    for name, params in fit.posterior.items():
        for param, value in params.items():
            flat[f"{name}.{param}"] = np.asarray(value)
    if path.endswith(".json"):
        from .persist import atomic_write
        text = json.dumps({k: v.tolist() for k, v in flat.items()}, indent=1)
        atomic_write(Path(path), lambda f: f.write(text.encode("utf-8")))
    else:
        raise VmpDataError("--out must end in .npz or .json")
