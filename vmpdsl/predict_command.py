"""The ``predict`` subcommand: fit on training data, then answer for new rows.

    vmpdsl predict models/gmm.vmp --data train.npz --new new.npz [--set K=3]
                   [--point mu,Lambda] [--samples 2000] [--out pred.npz]

The CLI keeps no fitted state between runs, so ``predict`` fits first (same
options as ``fit``) and then calls ``Fit.predict`` / ``Fit.local`` on the new
data (see ``vmpdsl.predict`` for what is computed and which models qualify).
Registered in ``cli.COMMANDS``; errors become exit codes there.
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np

from .commands import brief, data_paths, fit_options, load_file, read_all
from .data_in import parse_setting
from .errors import VmpDataError
from .outputs import refuse_overwriting, write_atomically
from .predict import MC_SAMPLES

SHOWN_ROWS = 10


def predict_arguments(parser: argparse.ArgumentParser):
    parser.add_argument("model", help="a .vmp model file")
    parser.add_argument("--data", action="append", default=[], required=True,
                        metavar="[NAME=]FILE", help="training data (.npz or .csv), as for fit")
    parser.add_argument("--new", action="append", default=[], required=True,
                        metavar="[NAME=]FILE",
                        help="the new rows (.npz or .csv); regressions: the inputs, and "
                             "the outputs too to get their log predictive density")
    fit_options(parser)
    parser.add_argument("--samples", type=int, default=MC_SAMPLES,
                        help="Monte Carlo draws where the predictive has no closed form")
    parser.add_argument("--out", help="save the predictions (.npz)")


def run_predict(args) -> int:
    refuse_overwriting({"the model": args.model, "--data": data_paths(args.data),
                        "--new": data_paths(args.new)}, {"--out": args.out})
    if args.out and not args.out.endswith(".npz"):
        raise VmpDataError("--out must end in .npz")
    model = load_file(args.model)
    data, new = read_all(args.data, model), read_all(args.new, model)
    hypers = {}
    for item in args.set:
        name, value = parse_setting(item)
        (data if name in model.checked.dims else hypers)[name] = value
    points = [p for p in args.point.split(",") if p]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit(data, hypers=hypers, max_iter=args.max_iter, tol=args.tol,
                        seed=args.seed, point=points or None, n_init=args.n_init)
    status = "converged" if fit.converged else "NOT converged (raise --max-iter)"
    print(f"fit {status} after {fit.iterations} iterations; ELBO {fit.elbo[-1]:.6f}")
    result = fit.predict(new, samples=args.samples, seed=args.seed)
    saved = {}
    if "mean" in result:
        print(f"predictive of {result['observed']}: {result['distribution']}")
        saved.update(mean=result["mean"], var=result["var"])
        print(f"  mean: {brief(result['mean'][:SHOWN_ROWS])}")
        print(f"  var:  {brief(result['var'][:SHOWN_ROWS])}")
    else:
        print(f"predictive density of {', '.join(result['observed'])}: {result['method']}")
        for name, params in fit.local(new).items():
            probs = params["probs"]
            saved[f"{name}.probs"] = probs
            print(f"  {name} (most probable component): {brief(probs.argmax(-1)[:SHOWN_ROWS])}")
    if result.get("log_density") is not None:
        dens = result["log_density"]
        saved["log_density"] = dens
        print(f"  log predictive density: total {dens.sum():.6f} over {dens.size} rows "
              f"(mean {dens.mean():.6f})")
    if args.out:
        write_atomically(args.out, lambda path: np.savez(path, **saved))
        print(f"wrote {args.out}")
    return 0
