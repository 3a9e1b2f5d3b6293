"""verbose= and logging for Python fits; the CLI's progress lines and the
predict command on a model without a dedicated predictive."""
import logging

import numpy as np

from eco_cases import MODELS, example, hier_data, hier_fit
from vmpdsl.cli import main


def test_verbose_prints_lines_with_elapsed_time(capsys):
    x = np.random.default_rng(0).normal(size=30)
    fit = example("normal_gamma").fit({"x": x}, verbose=2)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == fit.iterations  # verbose=2: one per sweep
    assert all(line.startswith("iter") and line.endswith(" s") for line in lines)
    example("normal_gamma").fit({"x": x})
    assert capsys.readouterr().err == ""  # silent by default


def test_every_fit_logs_to_vmpdsl_fit(caplog):
    with caplog.at_level(logging.DEBUG, logger="vmpdsl.fit"):
        fit = example("normal_gamma").fit({"x": np.arange(5.0)})
    sweeps = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(sweeps) == fit.iterations
    assert "converged after" in caplog.records[-1].getMessage()


def test_cli_progress_and_predict_from_a_saved_hier_fit(tmp_path, capsys):
    data = hier_data()
    np.savez(tmp_path / "train.npz", y=data["y"], g=data["g"])
    np.savez(tmp_path / "new.npz", y=np.array([0.5, 1.0]), g=np.array([1, 2]))
    assert main(["fit", str(MODELS / "hier.vmp"), "--data", str(tmp_path / "train.npz"),
                 "--set", "G=4", "--seed", "0", "--out", str(tmp_path / "h.npz")]) == 0
    out = capsys.readouterr().out
    assert "iter     1" in out and "theta[3]" in out and "97.5%" in out
    assert main(["predict", "--fit", str(tmp_path / "h.npz"), "--new", str(tmp_path / "new.npz"),
                 "--out", str(tmp_path / "p.npz")]) == 0
    assert "exact (normal-gamma scale mixture" in capsys.readouterr().out
    ref = hier_fit().score({"y": np.array([0.5, 1.0]), "g": np.array([1, 2])})
    np.testing.assert_allclose(np.load(tmp_path / "p.npz")["log_density"], ref, rtol=1e-9)
    assert main(["predict", "--fit", str(tmp_path / "h.npz"), str(MODELS / "hier.vmp"),
                 "--new", str(tmp_path / "new.npz")]) == 2


def test_cli_shows_a_bar_on_a_terminal(monkeypatch, capsys):
    import pytest
    pytest.importorskip("tqdm")
    import sys
    from vmpdsl.progress import cli_progress
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    update, close = cli_progress(50)
    for i in (1, 2, 3):
        update(i, -10.0 / i)
    close()
    err = capsys.readouterr().err
    assert "3/50" in err and "ELBO -3.333333" in err
