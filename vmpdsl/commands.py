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
from .errors import VmpDataError, VmpError
from .language import read_source


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
    """``vmpdsl compile``: write the standalone NumPy module."""
    model = load_file(args.model, args.mean_field)
    Path(args.output).write_text(model.code, encoding="utf-8")
    print(f"wrote {args.output} (numpy + scipy only; call fit(data))")
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
    parser.add_argument("--missing", choices=("error", "skip"), default="error",
                        help="NaN observations: an error (default), or skip their factors "
                             "(exact: the posterior without those observations)")


def run_fit(args) -> int:
    """``vmpdsl fit``: fit, print the summary, optionally save and plot."""
    if args.out:  # before the fit: a typo must not cost the fit, nor overwrite data
        from .persist import refuse_inputs
        refuse_inputs(args.out, [args.model] + [s.partition("=")[2] or s for s in args.data])
    model = load_file(args.model)
    data_names = [v.name for v in model.checked.by_role("data")]
    data = {}
    for spec in args.data:
        data.update(read_data(spec, data_names))
    if args.standardize:
        data = standardized(data, model)
    hypers = {}
    for item in args.set:
        name, value = parse_setting(item)
        (data if name in model.checked.dims else hypers)[name] = value
    points = [p for p in args.point.split(",") if p]
    from .progress import cli_progress
    show, close = (None, lambda: None) if args.quiet else cli_progress(args.max_iter)
    try:
        fit = model.fit(data, hypers=hypers, max_iter=args.max_iter, tol=args.tol,
                        seed=args.seed, point=points or None, n_init=args.n_init,
                        callback=show, missing=args.missing, rotate=args.rotate,
                        mean_field=args.mean_field, chunk_size=args.chunk_size)
    finally:
        close()
    status = "converged" if fit.converged else "NOT converged (raise --max-iter)"
    print(f"{status} after {fit.iterations} iterations; ELBO {fit.elbo[-1]:.6f}")
    if len(fit.start_elbos) > 1:
        print("final ELBO of each start: " + ", ".join(f"{e:.6f}" for e in fit.start_elbos))
    print(posterior_table(fit))
    if args.out:
        save_fit(fit, args.out)
        print(f"wrote {args.out}")
    if args.plot:
        from .fitplot import plot_fit
        try:
            print(f"wrote {plot_fit(fit, data, args.plot)}")
        except VmpError as err:  # the extra is optional: say so, do not fail the fit
            print(f"no plot: {err.message}")
    return 0


def standardized(data: dict, model: Model) -> dict:
    """Real data arrays centred and scaled per column (integer data untouched)."""
    out = dict(data)
    for var in model.checked.by_role("data"):
        if var.dtype == "real" and var.name in data:
            x = np.asarray(data[var.name], dtype=float)
            scale = x.std(axis=0)
            out[var.name] = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    return out


def parse_setting(item: str) -> tuple:
    """``NAME=VALUE`` of ``--set`` → (name, int or float)."""
    name, sep, text = item.partition("=")
    if not sep or not name.strip():
        raise VmpDataError(f"--set takes NAME=VALUE, got {item!r}")
    try:
        value = float(text)
    except ValueError:
        raise VmpDataError(f"--set {name}: {text!r} is not a number") from None
    return name.strip(), int(value) if value.is_integer() and "." not in text else value


def read_data(spec: str, names: list) -> dict:
    """Arrays from one --data argument."""
    name, sep, path = spec.partition("=")
    if not sep:
        name, path = None, spec
    file = Path(path)
    if not file.is_file():
        raise VmpDataError(f"no such data file: {path}")
    if file.suffix == ".npz":
        try:
            with np.load(file, allow_pickle=False) as archive:
                arrays = {k: archive[k] for k in archive.files}
        except ValueError as err:
            raise VmpDataError(f"{path}: {err} (pickled arrays are refused)") from None
        return {name: next(iter(arrays.values()))} if name else arrays
    if file.suffix == ".csv":
        return read_csv(file, name, names)
    raise VmpDataError(f"{path}: data files must be .npz or .csv")


def read_csv(file: Path, name: str | None, names: list) -> dict:
    """Arrays from a CSV file: columns by name, or the whole table as one matrix."""
    lines = [l for l in file.read_text(encoding="utf-8").splitlines() if l.strip()]
    if not lines:
        raise VmpDataError(f"{file}: the file is empty")
    header = [h.strip() for h in lines[0].split(",")]
    has_header = any(not is_number(h) for h in header)
    rows = lines[1:] if has_header else lines
    table = []
    for number, line in enumerate(rows, start=2 if has_header else 1):
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(header):
            raise VmpDataError(f"{file}:{number}: {len(cells)} cells, expected {len(header)}")
        bad = next((c for c in cells if not is_number(c)), None)
        if bad is not None:
            raise VmpDataError(f"{file}:{number}: {bad!r} is not a number")
        table.append([float(c) for c in cells])
    matrix = np.array(table, dtype=float).reshape(len(table), len(header))
    if name:
        return {name: matrix[:, 0] if matrix.shape[1] == 1 else matrix}
    if has_header and any(h in names for h in header):
        return {h: matrix[:, i] for i, h in enumerate(header) if h in names}
    if len(names) == 1:
        return {names[0]: matrix}
    raise VmpDataError(f"{file}: its columns ({', '.join(header)}) name none of the model's "
                       f"data arrays ({', '.join(names)}); use --data NAME={file}")


def is_number(text: str) -> bool:
    """Whether ``float(text)`` succeeds."""
    try:
        float(text)
        return True
    except ValueError:
        return False


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
