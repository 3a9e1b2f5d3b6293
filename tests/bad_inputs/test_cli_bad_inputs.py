"""The command line never shows a traceback: corpus cases through
``vmpdsl.cli.main`` and a subprocess exit with code 2 and the same message."""
import os
import subprocess
import sys

import numpy as np
import pytest

from corpus import CASES, MARKER, Err
from vmpdsl.cli import main

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def cli_form(case, where):
    """argv for a case whose data and options the CLI can express, else None."""
    if not isinstance(case.data, dict) or set(case.options) - {"hypers", "missing"} \
            or not isinstance(case.options.get("hypers", {}), dict) \
            or case.options.get("missing", "skip") not in ("error", "skip"):
        return None
    arrays, sets = {}, []
    for name, value in case.data.items():
        if np.ma.isMaskedArray(value) or hasattr(value, "to_numpy"):
            return None  # an .npz keeps neither a mask nor pandas' missing values
        try:
            value = np.asarray(value)
        except ValueError:
            return None
        if value.dtype.kind not in "biuf":
            return None
        if value.ndim == 0:
            if value.dtype.kind not in "iu":
                return None
            sets.append(f"{name}={value.item()}")
        else:
            arrays[name] = value
    for name, value in (case.options.get("hypers") or {}).items():
        if np.ndim(value) != 0 or isinstance(value, str):
            return None
        sets.append(f"{name}={float(value)!r}")
    if "\n" in case.model:
        path = where / f"{case.id}.vmp"
        path.write_text(case.model, encoding="utf-8")
    else:
        path = os.path.join(ROOT, "models", f"{case.model}.vmp")
    np.savez(where / f"{case.id}.npz", **arrays)
    argv = ["fit", str(path), "--data", str(where / f"{case.id}.npz"), "--quiet"]
    argv += [a for s in sets for a in ("--set", s)]
    if case.options.get("missing"):
        argv += ["--missing", case.options["missing"]]
    return argv


ERRORS = [c for c in CASES if isinstance(c.expect, Err)]


@pytest.mark.parametrize("case", ERRORS, ids=[c.id for c in ERRORS])
def test_cli_exit_2_without_traceback(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = cli_form(case, tmp_path)
    if argv is None:
        pytest.skip("not expressible on the command line")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    # the message is the API's (file names aside)
    assert all(part in err for part in case.expect.parts if "line" not in part), err
    assert not (tmp_path / MARKER).exists()


def test_enough_cases_run_through_the_cli(tmp_path):
    assert sum(cli_form(c, tmp_path) is not None for c in ERRORS) >= 25


SUBPROCESS = ["syntax", "breakout-multiline-string", "hyper-concentration-zero",
              "binomial-more-than-trials", "zero-components"]


@pytest.mark.parametrize("which", SUBPROCESS)
def test_subprocess_exit_2(which, tmp_path):
    if which == "syntax":
        (tmp_path / "m.vmp").write_text("dim N\nmu ~ Normal(0.0 +, 1.0)\n")
        argv = ["check", str(tmp_path / "m.vmp")]
    else:
        argv = cli_form(next(c for c in CASES if c.id == which), tmp_path)
    run = subprocess.run([sys.executable, "-m", "vmpdsl", *argv], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and run.stderr.strip()
    assert not (tmp_path / MARKER).exists()


def test_pickled_npz_is_refused(tmp_path, capsys):
    np.savez(tmp_path / "p.npz", x=np.array([{"a": 1}, None], dtype=object))
    assert main(["fit", os.path.join(ROOT, "models", "normal_gamma.vmp"),
                 "--data", str(tmp_path / "p.npz")]) == 2
    assert "pickled arrays are refused" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    ("x\n1.0\nabc\n2.0\n", "'abc' is not a number"),
    ("x\n1.0\n\n,\n", "2 cells, expected 1"),
    ("x\n1.0\n2.0,3.0\n", "2 cells, expected 1"),
    ("", "the file is empty"),
    ("x\n1.0\n1e999\n", "non-finite value"),
    ("x\n1.0\nnan\n", "non-finite value"),
])
def test_bad_csv(tmp_path, capsys, content, message):
    (tmp_path / "x.csv").write_text(content)
    assert main(["fit", os.path.join(ROOT, "models", "normal_gamma.vmp"),
                 "--data", str(tmp_path / "x.csv"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_option_values(tmp_path, capsys):
    path = os.path.join(ROOT, "models", "normal_gamma.vmp")
    np.savez(tmp_path / "x.npz", x=np.arange(5.0))
    assert main(["fit", path, "--data", str(tmp_path / "x.npz"), "--set", "a0=abc"]) == 2
    assert main(["fit", path, "--data", str(tmp_path / "x.npz"), "--missing", "drop"]) == 2
    assert main(["fit", path, "--data", str(tmp_path / "x.npz"), "--max-iter", "0"]) == 2
    assert "Traceback" not in capsys.readouterr().err
