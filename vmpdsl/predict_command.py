"""The ``predict`` subcommand: fit on training data (or read a saved fit),
then answer for new rows.

    vmpdsl predict models/gmm.vmp --data train.npz --new new.npz [--set K=3]
                   [--point mu,Lambda] [--samples 2000] [--out pred.npz]
    vmpdsl predict --fit fit.npz --new new.npz       # a fit saved by fit --out

Without ``--fit``, ``predict`` fits first (same options as ``fit``); then it
calls ``Fit.predict`` / ``Fit.local`` on the new data (see ``vmpdsl.predict`` for what is computed and which models qualify).
Registered in ``cli.COMMANDS``; errors become exit codes there.
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np

from .api import load_fit
from .commands import brief, data_paths, fit_options, load_file, read_all
from .data_in import parse_setting
from .errors import VmpDataError
from .outputs import refuse_overwriting, write_atomically
from .predict import MC_SAMPLES

SHOWN_ROWS = 10


def predict_arguments(parser: argparse.ArgumentParser):
    """Arguments of ``vmpdsl predict``."""
    parser.add_argument("model", nargs="?", help="a .vmp model file (not with --fit)")
    parser.add_argument("--fit", dest="fit_file", metavar="FIT.npz",
                        help="a fit saved by 'vmpdsl fit --out FIT.npz' (no refitting)")
    parser.add_argument("--data", action="append", default=[],
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
    """``vmpdsl predict``: the predictive and local posteriors of new rows."""
    refuse_overwriting({"the model": args.model or [], "--fit": args.fit_file or [],
                        "--data": data_paths(args.data), "--new": data_paths(args.new)},
                       {"--out": args.out})
    if args.out and not args.out.endswith(".npz"):
        raise VmpDataError("--out must end in .npz")
    fit = saved_fit(args) if args.fit_file else fresh_fit(args)
    status = "converged" if fit.converged else "NOT converged (raise --max-iter)"
    print(f"fit {status} after {fit.iterations} iterations; ELBO {fit.elbo[-1]:.6f}")
    new = read_all(args.new, fit.model)
    result = fit.predict(new, samples=args.samples, seed=args.seed)
    observed = result["observed"]
    observed = observed if isinstance(observed, str) else ", ".join(observed)
    print(f"predictive of {observed}: {result.get('distribution') or result['method']}")
    saved = {}
    means = result.get("mean")
    means = means if isinstance(means, dict) else {observed: means} if means is not None else {}
    variances = result.get("var")
    variances = variances if isinstance(variances, dict) else {observed: variances}
    for name, mean in means.items():
        if mean is None:
            continue
        label = "" if len(means) == 1 else f"{name}."
        saved.update({f"{label}mean": mean, f"{label}var": variances[name]})
        print(f"  {label}mean: {brief(np.asarray(mean)[:SHOWN_ROWS])}")
        print(f"  {label}var:  {brief(np.asarray(variances[name])[:SHOWN_ROWS])}")
    if "responsibilities" in result:
        for name, params in fit.local(new).items():
            probs = params["probs"]
            saved[f"{name}.probs"] = probs
            print(f"  {name} (most probable component): {brief(probs.argmax(-1)[:SHOWN_ROWS])}")
        if "one_step" in result:  # a hidden Markov chain (runtime/chains.py)
            saved.update(one_step=result["one_step"], filtered=result["filtered"])
            print(f"  one-step-ahead log p(x_t | x_<t): {brief(result['one_step'][:SHOWN_ROWS])}")
    if result.get("log_density") is not None:
        dens = result["log_density"]
        saved["log_density"] = dens
        print(f"  log predictive density: total {dens.sum():.6f} over {dens.size} rows "
              f"(mean {dens.mean():.6f})")
    if args.out:
        write_atomically(args.out, lambda path: np.savez(path, **saved))
        print(f"wrote {args.out}")
    return 0


def saved_fit(args):
    """The fit in --fit FILE; a model, data or fit options alongside are refused."""
    if args.model or args.data or args.set or args.point:
        raise VmpDataError("--fit takes a saved fit: give no model, --data, --set or --point")
    return load_fit(args.fit_file)


def fresh_fit(args):
    """Fit the model to --data with the fit options (as ``vmpdsl fit`` does)."""
    if not args.model or not args.data:
        raise VmpDataError("predict needs a model and --data, or --fit FILE")
    model = load_file(args.model)
    data = read_all(args.data, model)
    hypers = {}
    for item in args.set:
        name, value = parse_setting(item)
        (data if name in model.checked.dims else hypers)[name] = value
    points = [p for p in args.point.split(",") if p]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return model.fit(data, hypers=hypers, max_iter=args.max_iter, tol=args.tol,
                         seed=args.seed, point=points or None, n_init=args.n_init,
                         init=None if args.init == "kmeans" else args.init,
                         rotate=args.rotate, mean_field=args.mean_field)
