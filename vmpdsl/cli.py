"""The ``vmpdsl`` command.

Each subcommand is one function ``run(args) -> int`` plus one function that
adds its arguments, registered in ``COMMANDS``; adding a subcommand means
adding one entry.  ``main`` is the only place that turns errors into exit
codes: a ``VmpError`` (bad model, bad data, missing file) prints its message
with the caret context and exits 2; anything else is our bug and prints a
short "internal error" line (exit 3), never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Callable

from . import commands, predict_command
from .errors import VmpError
from .language import check, parse, read_source
from .language.model import CheckedModel
from .outputs import refuse_overwriting, write_atomically

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 2, 3


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, its argument adder and its runner."""
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def load_model_file(path: str) -> CheckedModel:
    """Parse and check a .vmp file; a missing or unreadable file is a user error."""
    return check(parse(read_source(path), filename=path))


# ---------------------------------------------------------------- check
def _check_arguments(parser: argparse.ArgumentParser):
    parser.add_argument("model", help="a .vmp model file")


def run_check(args: argparse.Namespace) -> int:
    """``vmpdsl check``: derive (the conjugacy check), then print the checked model's table."""
    from .compiler import check_conjugacy  # the derivation (not the emitter) decides
    model = load_model_file(args.model)
    check_conjugacy(model)
    print(summary(model))
    return EXIT_OK


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ")" if shape else "scalar"


def summary(model: CheckedModel) -> str:
    """A readable table: the model, its dims, one row per variable."""
    dims = ", ".join(name if default is None else f"{name} (default {_expr_text(default)})"
                     for name, default in model.dims.items())
    rows = [("variable", "role", "family", "shape", "plates", "values")]
    for var in model.variables.values():
        values = f"0..{var.categories}-1" if var.categories is not None else \
            ("int" if var.dtype == "int" else "")
        rows.append((var.name, var.role, var.family or "-", _fmt(var.shape),
                     ", ".join(map(str, var.plates)) or "-", values))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in rows]
    where = f" ({model.filename})" if model.filename else ""
    head = [f"model {model.name}{where}: ok", f"dims: {dims or '-'}",
            f"{len(model.variables)} variables, {len(model.factors)} factors"]
    return "\n".join(head + table)


def _expr_text(expr) -> str:
    """A default's source text (dims defaults are usually plain numbers)."""
    value = getattr(expr, "value", None)
    if value is not None and float(value).is_integer():
        return str(int(value))
    return str(value) if value is not None else "an expression"


# ---------------------------------------------------------------- graph
def _graph_arguments(parser: argparse.ArgumentParser):
    parser.add_argument("model", help="a .vmp model file")
    parser.add_argument("-o", "--output", required=True,
                        help="output file: .dot (no extra needed), .png, .svg or .pdf")


def run_graph(args: argparse.Namespace) -> int:
    """``vmpdsl graph``: write the factor graph."""
    from .graph import build_graph, write_graph  # networkx only when drawing

    refuse_overwriting({"the model": args.model}, {"the graph": args.output})
    model = load_model_file(args.model)
    graph = build_graph(model)
    write_atomically(args.output, lambda path: write_graph(graph, path))
    print(f"wrote {args.output}")
    return EXIT_OK


COMMANDS = {
    "check": Command("parse and check a model; print its variables", _check_arguments,
                     run_check),
    "graph": Command("draw the model's factor graph", _graph_arguments, run_graph),
    "equations": Command("print the derived variational updates", commands.equations_arguments,
                         commands.run_equations),
    "compile": Command("write a standalone NumPy module for the model",
                       commands.compile_arguments, commands.run_compile),
    "fit": Command("fit the model to data by variational message passing",
                   commands.fit_arguments, commands.run_fit),
    "predict": Command("fit, then give the posterior predictive and local posteriors of new rows",
                       predict_command.predict_arguments, predict_command.run_predict),
}


# ---------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per entry of ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="vmpdsl", description="Variational message passing from a model description.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        command.arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("vmpdsl")
    except Exception:  # running from a source tree that was never installed
        return "unknown"


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings for a user of the command: the message, not our source line."""
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 2 bad input, 3 internal error)."""
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is printable
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    warnings.showwarning = _show_warning
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse has printed usage or help
        return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
    try:
        return args.run(args)
    except VmpError as err:
        print(str(err), file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader went away (`vmpdsl equations m.vmp | head`)
        sys.stdout = open(os.devnull, "w")  # so the interpreter's final flush stays quiet
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the one boundary that must not show a traceback
        print(f"vmpdsl: internal error: {type(err).__name__}: {err}\n"
              "this is a bug in vmpdsl, not in your model; please report it",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
