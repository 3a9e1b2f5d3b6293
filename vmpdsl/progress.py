"""Progress of a fit: log records, printed lines with elapsed time, or a bar.

Every ``Model.fit`` reports to the logger ``vmpdsl.fit`` (a DEBUG record per
sweep, an INFO record at the end), so an application that configures logging
sees its fits.  ``verbose`` adds printing (to stderr): ``verbose=1`` the first
sweeps, then every tenth, with the ELBO, its change and the elapsed time;
``verbose=2`` every sweep.  The CLI prints the same lines on stdout, or a tqdm
bar (the optional ``progress`` extra) when stderr is a terminal.
"""
from __future__ import annotations

import logging
import sys
import time

from .errors import VmpDataError

LOGGER = logging.getLogger("vmpdsl.fit")


def fit_reporter(name: str, verbose=0, callback=None, stream=None):
    """A callback(iteration, elbo) for the emitted fit loop, and a function
    to call when the fit ends (``done(fit)``)."""
    if verbose is not None and not isinstance(verbose, (bool, int)):
        raise VmpDataError(f"verbose must be a bool or a whole number, got {verbose!r}")
    start, last = time.perf_counter(), {}
    out = stream or sys.stderr

    def report(iteration: int, elbo: float):
        change = elbo - last.get("elbo", float("nan"))
        last["elbo"] = elbo
        LOGGER.debug("%s: iteration %d, ELBO %.6f, change %.3e", name, iteration, elbo, change)
        if verbose and (verbose >= 2 or iteration <= 5 or iteration % 10 == 0):
            print(line(iteration, elbo, change, time.perf_counter() - start), file=out)
        if callback is not None:
            callback(iteration, elbo)

    def done(fit):
        status = "converged" if fit.converged else "not converged"
        LOGGER.info("%s: %s after %d iterations in %.2f s; ELBO %.6f", name, status,
                    fit.iterations, time.perf_counter() - start, fit.elbo[-1])
    return report, done


def line(iteration: int, elbo: float, change: float, elapsed: float) -> str:
    """One progress line."""
    return f"iter {iteration:5d}  ELBO {elbo:16.6f}  change {change: .3e}  {elapsed:8.2f} s"


def cli_progress(max_iter: int):
    """The CLI's callback: a tqdm bar on a terminal when tqdm is installed,
    else printed lines with the elapsed time; ``close()`` ends the bar."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is None or not sys.stderr.isatty():
        report, _ = fit_reporter("fit", verbose=1, stream=sys.stdout)
        return report, lambda: None
    bar = tqdm(total=max_iter, unit="sweep", leave=False)

    def update(iteration: int, elbo: float):
        bar.update(iteration - bar.n)
        bar.set_postfix_str(f"ELBO {elbo:.6f}")
    return update, bar.close
