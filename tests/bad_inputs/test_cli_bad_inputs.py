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


# ------------------------------------------------ issue 15: the user's files
NG = os.path.join(ROOT, "models", "normal_gamma.vmp")
GMM = os.path.join(ROOT, "models", "gmm.vmp")
X = np.random.default_rng(15).normal(size=20)


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A directory with a model m.vmp, data d.npz (x) and new.npz."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.vmp").write_bytes(open(NG, "rb").read())
    np.savez(tmp_path / "d.npz", x=X)
    np.savez(tmp_path / "new.npz", x=X[:3])
    os.symlink("m.vmp", tmp_path / "link.py")
    return tmp_path


@pytest.mark.parametrize("argv, message", [
    ("compile m.vmp -o m.vmp", "refusing to write the module m.vmp: it is an input of this command (the model"),
    ("compile m.vmp -o ./sub/../m.vmp", "it is an input of this command (the model m.vmp)"),
    ("compile m.vmp -o link.py", "refusing to write the module link.py"),
    ("graph m.vmp -o m.vmp", "refusing to write the graph m.vmp"),
    ("fit m.vmp --data d.npz --out d.npz", "refusing to write --out d.npz: it is an input of this "
                                          "command (--data d.npz)"),
    ("fit m.vmp --data x=d.npz --plot d.npz", "refusing to write --plot d.npz"),
    ("fit m.vmp --data d.npz --out m.vmp", "refusing to write --out m.vmp"),
    ("fit m.vmp --data d.npz --out r.npz --plot r.npz", "--plot r.npz: it is the same file as --out"),
    ("predict m.vmp --data d.npz --new new.npz --out new.npz", "refusing to write --out new.npz"),
])
def test_an_output_is_never_an_input(work, capsys, argv, message):
    (work / "sub").mkdir()
    before = {p: p.read_bytes() for p in work.iterdir() if p.is_file()}
    assert main(argv.split()) == 2
    assert message in capsys.readouterr().err
    assert {p: p.read_bytes() for p in work.iterdir() if p.is_file()} == before


def test_the_runtime_beside_a_module_is_never_an_input(work, capsys):
    """compile -o x.py also writes x_runtime.py: that may not be the model."""
    (work / "x_runtime.py").write_bytes((work / "m.vmp").read_bytes())
    assert main(["compile", "x_runtime.py", "-o", "x.py"]) == 2
    assert "refusing to write its runtime x_runtime.py" in capsys.readouterr().err
    assert not (work / "x.py").exists()


@pytest.mark.parametrize("target, message", [
    (".", "cannot write .: it is a directory"),
    ("missing/m.py", "cannot write missing/m.py: the directory missing does not exist"),
    ("/dev/full", "cannot write /dev/full: No space left on device"),
])
def test_unwritable_outputs(work, capsys, target, message):
    if target == "/dev/full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    assert main(["compile", "m.vmp", "-o", target]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_outputs_are_written_atomically(work, capsys):
    """A write that fails leaves the old file and no temporary; one that
    succeeds replaces it whole, with the usual permissions."""
    (work / "r.txt").write_text("old")
    assert main(["fit", "m.vmp", "--data", "d.npz", "--quiet", "--out", "r.txt"]) == 2
    assert (work / "r.txt").read_text() == "old"
    assert main(["compile", "m.vmp", "-o", "m.py"]) == 0
    assert sorted(p.name for p in work.iterdir()) == ["d.npz", "link.py", "m.py", "m.vmp",
                                                      "m_runtime.py", "new.npz", "r.txt"]
    mask = os.umask(0)
    os.umask(mask)
    assert (work / "m.py").stat().st_mode & 0o777 == 0o666 & ~mask
    assert "def fit(" in (work / "m_runtime.py").read_text()
    assert (work / "m_runtime.py").stat().st_mode & 0o777 == 0o666 & ~mask


# -------------------------------------------------------- data files
def fit_means(argv, capsys):
    """E[mu], E[tau] of a normal–gamma fit through the CLI (--out json)."""
    import json
    assert main(argv + ["--quiet", "--out", "r.json"]) == 0, capsys.readouterr().err
    saved = json.load(open("r.json"))
    tau = np.array(saved["tau.shape"]) / np.array(saved["tau.rate"])
    return float(np.array(saved["mu.mean"])), float(tau)


def api_means(x, **options):
    import vmpdsl
    fit = vmpdsl.load(NG).fit({"x": x}, **options)
    return float(fit.mean("mu")), float(fit.mean("tau"))


def test_npz_member_bound_by_name(work, capsys):
    np.savez("ax.npz", a=np.ones(7), x=X)
    assert np.allclose(fit_means(["fit", "m.vmp", "--data", "x=ax.npz"], capsys), api_means(X),
                       rtol=1e-12)


def test_unused_npz_members_are_never_read(work, capsys):
    """An unused member whose bytes are garbage (as a 2 GiB member would be
    costly) does not matter: only the members the model takes are opened."""
    import zipfile
    np.savez("two.npz", x=X, big=np.zeros(1000))
    raw = open("two.npz", "rb").read()
    with zipfile.ZipFile("two.npz") as z:
        info = z.getinfo("big.npy")
    start = info.header_offset + 30 + len(info.filename) + 20
    open("two.npz", "wb").write(raw[:start] + b"\xff" * 200 + raw[start + 200:])
    assert np.allclose(fit_means(["fit", "m.vmp", "--data", "two.npz"], capsys), api_means(X),
                       rtol=1e-12)


def _corrupt(path):
    raw = bytearray(open("d.npz", "rb").read())
    raw[120:140] = b"\0" * 20
    open(path, "wb").write(bytes(raw))


@pytest.mark.parametrize("make, message", [
    (lambda p: np.savez(p), "the archive holds no arrays"),
    (lambda p: open(p, "wb").close(), "not an .npz archive (numpy's zip of .npy arrays); the file is empty"),
    (lambda p: open(p, "w").write("x\n1.0\n"), "not an .npz archive"),
    (lambda p: np.save(open(p, "wb"), X), "not an .npz archive"),
    (lambda p: open(p, "wb").write(open("d.npz", "rb").read()[:150]), "not an .npz archive"),
    (_corrupt, "the archive is damaged or truncated"),
    (lambda p: np.savez(p, x=np.array([{"a": 1}, None], dtype=object)),
     "cannot read member 'x': it holds Python objects (pickled arrays are refused)"),
    (lambda p: np.savez(p, a=X, b=X), "bad.npz has no member 'x' (it holds a, b)"),
])
def test_bad_npz(work, capsys, make, message):
    make("bad.npz")
    assert main(["fit", "m.vmp", "--data", "x=bad.npz", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err


@pytest.mark.parametrize("content, message", [
    ("x,x\n1,2\n3,4\n", "the column name x appears more than once"),
    ("x\n1_000\n2\n", "x.csv:2: '1_000' is not a number"),
    ("x\n\u0661\u0662\n2\n", "is not a number"),
    ("0\n1\n2\n", "could be a header of column numbers (as pandas writes) or a row of data"),
    ("x\n1.0\n\n2.0\n", None),  # a blank line is not a row
    ("x\n1.0\n,\n", "x.csv:3: 2 cells, expected 1"),
    ("x\n1.0\n\"\"\n2.0\n", "'x' has a non-finite value (NaN or inf) at index (1,)"),
])
def test_csv_cells(work, capsys, content, message):
    (work / "x.csv").write_text(content, encoding="utf-8")
    code = main(["fit", "m.vmp", "--data", "x.csv", "--quiet"])
    err = capsys.readouterr().err
    assert (code, message is None or message in err) == (0 if message is None else 2, True), err


def test_csv_header_bom_quotes_and_pandas_column_numbers(work, capsys):
    pd = pytest.importorskip("pandas")
    (work / "q.csv").write_text("\ufeff\"junk\",\"x\"\n" + "".join(f"\"1,5\",\"{v!r}\"\n" for v in X.tolist()),
                                encoding="utf-8")
    assert np.allclose(fit_means(["fit", "m.vmp", "--data", "q.csv"], capsys), api_means(X),
                       rtol=1e-12)
    pd.DataFrame(X).to_csv("p.csv", index=False)  # header "0": the model's one data array
    assert np.allclose(fit_means(["fit", "m.vmp", "--data", "p.csv"], capsys), api_means(X),
                       rtol=1e-12)


def test_csv_empty_cells_are_missing(work, capsys):
    (work / "e.csv").write_text("x\n" + "".join("\n" if i in (2, 5) else f"{v!r}\n"
                                                for i, v in enumerate(X.tolist())).replace("\n\n", "\n\"\"\n"))
    got = fit_means(["fit", "m.vmp", "--data", "e.csv", "--missing", "skip"], capsys)
    assert np.allclose(got, api_means(np.delete(X, [2, 5])), rtol=1e-10)


def test_standardize_with_missing_skip_is_nan_aware(work, capsys):
    x = 5 * X + 3
    x[[4, 9]] = np.nan
    np.savez("nan.npz", x=x)
    kept = x[np.isfinite(x)]
    expected = api_means((kept - kept.mean()) / kept.std())
    got = fit_means(["fit", "m.vmp", "--data", "nan.npz", "--standardize", "--missing", "skip"],
                    capsys)
    assert np.allclose(got, expected, rtol=1e-10)


def test_array_hypers_on_the_command_line(work, capsys):
    import json
    import vmpdsl
    xy = np.random.default_rng(3).normal(size=(30, 2))
    np.savez("g.npz", x=xy)
    argv = ["fit", GMM, "--data", "g.npz", "--set", "K=2", "--set", "m0=0.5,-0.5",
            "--set", "W0=2,0.5;0.5,1", "--quiet", "--out", "g.json"]
    assert main(argv) == 0, capsys.readouterr().err
    fit = vmpdsl.load(GMM).fit({"x": xy, "K": 2}, seed=0, hypers={
        "m0": np.array([0.5, -0.5]), "W0": np.array([[2, 0.5], [0.5, 1]])})
    assert np.allclose(json.load(open("g.json"))["mu.mean"], fit.posterior["mu"]["mean"],
                       rtol=1e-12)
    assert main(argv[:-2] + ["--set", "W0=1,0;0"]) == 2
    assert "the rows of a matrix must have equal lengths" in capsys.readouterr().err


def test_predict_samples_bounded(work, capsys):
    np.savez("g.npz", x=np.c_[X, X])
    assert main(["predict", GMM, "--data", "g.npz", "--new", "g.npz", "--set", "K=2",
                 "--samples", "1000000000000"]) == 2
    assert "samples must be a whole number from 1 to 100,000" in capsys.readouterr().err


def test_file_names_that_are_not_utf8(tmp_path):
    """A model path of arbitrary bytes is shown with escapes, never an internal error."""
    name = os.fsdecode(b"\xff.vmp")
    (tmp_path / name).write_text("\ufeff" + open(NG).read())
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    for argv, code in ((["check", name], 0), (["check", os.fsdecode(b"\xfe.vmp")], 2)):
        run = subprocess.run([sys.executable, "-m", "vmpdsl", *argv], capture_output=True,
                             text=True, cwd=tmp_path, timeout=120, env=env, errors="replace")
        assert run.returncode == code, run.stderr
        assert "\\udcf" in run.stdout + run.stderr and "internal error" not in run.stderr
