"""Every lecture model fits from the command line (and `--point` turns the
Bayesian gmm into variational-Bayes EM)."""
import numpy as np
import pytest

from vmpdsl.cli import main

from lecture_cases import MODELS, mixture_data, regression_data

REGRESSIONS = ["linreg_known", "linreg_em", "linreg"]


@pytest.fixture
def files(tmp_path):
    X, y = regression_data(seed=0, n=40, d=3)
    x, _, _ = mixture_data(seed=0, n_per=30)
    rng = np.random.default_rng(0)
    paths = {"reg": tmp_path / "reg.npz", "mix": tmp_path / "mix.npz", "uni": tmp_path / "uni.npz"}
    np.savez(paths["reg"], X=X, y=y)
    np.savez(paths["mix"], x=x)
    np.savez(paths["uni"], x=1.0 + 0.5 * rng.standard_normal(50))
    return paths


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "ELBO" in out.out and "converged after" in out.out
    return out.out


@pytest.mark.parametrize("name", REGRESSIONS)
def test_regressions_fit_from_cli(name, files, capsys, tmp_path):
    out_file = tmp_path / f"{name}.npz"
    out = run(capsys, "fit", MODELS / f"{name}.vmp", "--data", files["reg"], "--quiet",
              "--out", out_file)
    assert "w" in out
    saved = np.load(out_file)
    assert saved["elbo"].ndim == 1 and np.all(np.isfinite(saved["elbo"]))


@pytest.mark.parametrize("name,extra", [
    ("gmm_em", []),
    ("gmm", []),
    ("gmm", ["--point", "mu,Lambda"]),
])
def test_mixtures_fit_from_cli(name, extra, files, capsys, tmp_path):
    out_file = tmp_path / "fit.npz"
    run(capsys, "fit", MODELS / f"{name}.vmp", "--data", files["mix"], "--set", "K=3",
        "--quiet", "--out", out_file, *extra)
    saved = np.load(out_file)
    if extra:  # mu and Lambda are point estimates: only their values are saved
        assert "mu.value" in saved.files and "Lambda.value" in saved.files
        assert "mu.mean" not in saved.files
    elbo = saved["elbo"]
    assert np.all(np.diff(elbo) >= -1e-9 * np.abs(elbo[1:]))


def test_normal_gamma_fits_from_cli(files, capsys):
    out = run(capsys, "fit", MODELS / "normal_gamma.vmp", "--data", files["uni"],
              "--set", "kappa0=2", "--quiet")
    assert "tau" in out and "mu" in out
