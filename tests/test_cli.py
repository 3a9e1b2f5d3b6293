"""The vmpdsl command: through main() and as a real process."""
import subprocess
import sys
from pathlib import Path

import pytest

from vmpdsl import cli

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "models").glob("*.vmp"))
BAD = "dim N\ndata y[N]\nfor n in N:\n    y[n] ~ Normal(mu, 1.0)\n"


@pytest.fixture
def bad_model(tmp_path):
    path = tmp_path / "bad.vmp"
    path.write_text(BAD)
    return path


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_check_prints_a_row_per_variable(path, capsys):
    assert cli.main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    model_name = path.stem
    assert out.startswith(f"model {model_name} ({path}): ok")
    rows = out.splitlines()[4:]
    assert rows and all(len(row.split()) >= 4 for row in rows)


def test_check_summary_shows_shapes_plates_and_categories(capsys):
    cli.main(["check", str(ROOT / "models" / "gmm.vmp")])
    out = capsys.readouterr().out
    assert "dims: N, K, D" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[4:]}
    assert rows["Lambda"] == ["Lambda", "latent", "Wishart", "(K,", "D,", "D)", "K"]
    assert rows["z"] == ["z", "latent", "Categorical", "(N)", "N", "0..K-1"]
    assert rows["alpha0"] == ["alpha0", "hyper", "-", "scalar", "-"]


def test_bad_model_exits_2_with_location_and_caret(bad_model, capsys):
    assert cli.main(["check", str(bad_model)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{bad_model}:4:19: model error: unknown name 'mu'")
    assert "\n                      ^^\n" in err
    assert "Traceback" not in err


def test_missing_file_and_bad_arguments_exit_2(tmp_path, capsys):
    assert cli.main(["check", str(tmp_path / "nope.vmp")]) == 2
    assert "no such model file" in capsys.readouterr().err
    assert cli.main(["frobnicate"]) == 2
    assert cli.main(["graph", str(MODELS[0])]) == 2  # -o is required
    assert cli.main(["--help"]) == 0


def test_graph_writes_dot(tmp_path, capsys):
    out = tmp_path / "gmm.dot"
    assert cli.main(["graph", str(ROOT / "models" / "gmm.vmp"), "-o", str(out)]) == 0
    assert out.read_text().startswith('digraph "gmm"')
    assert f"wrote {out}" in capsys.readouterr().out


def test_unexpected_exception_is_a_short_internal_error(monkeypatch, capsys):
    def explode(args):
        raise KeyError("boom")
    monkeypatch.setitem(cli.COMMANDS, "check",
                        cli.Command("check", cli.COMMANDS["check"].arguments, explode))
    assert cli.main(["check", str(MODELS[0])]) == 3
    err = capsys.readouterr().err
    assert err.startswith("vmpdsl: internal error: KeyError")
    assert "Traceback" not in err


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "vmpdsl", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_python_m_vmpdsl_bad_model_exits_2_without_traceback(bad_model, tmp_path):
    done = _run("check", str(bad_model), cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown name 'mu'" in done.stderr and "^" in done.stderr
    assert "Traceback" not in done.stderr


def test_python_m_vmpdsl_syntax_error_exits_2(tmp_path):
    path = tmp_path / "syntax.vmp"
    path.write_text("dim N\nfor n in N:\n    x[n] ~ Normal(0.0 +, 1.0)\n")
    done = _run("check", str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert "syntax error: expected an expression after '+'" in done.stderr
    assert "Traceback" not in done.stderr


def test_python_m_vmpdsl_check_and_graph(tmp_path):
    done = _run("check", str(ROOT / "models" / "lda.vmp"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "0..V-1" in done.stdout
    done = _run("graph", str(ROOT / "models" / "lda.vmp"), "-o", "lda.dot", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "lda.dot").is_file()
