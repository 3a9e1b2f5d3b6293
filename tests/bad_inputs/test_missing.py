"""fit(missing="skip"): NaN observations drop their factors, which is exact in
VMP — the same posterior and ELBO as fitting without those observations."""
import os
import warnings

import numpy as np
import pytest

import vmpdsl
from vmpdsl.cli import main
from vmpdsl.errors import VmpDataError

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "models")
RNG = np.random.default_rng(16)


def model(name):
    return vmpdsl.load(os.path.join(MODELS, f"{name}.vmp"))


def fit(name, data, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return model(name).fit(data, **{"max_iter": 500, "tol": 1e-14, "seed": 0, **options})


def assert_same(a, b, skip=()):
    for name, q in b.posterior.items():
        if name in skip:
            continue
        for param, value in q.items():
            np.testing.assert_allclose(a.posterior[name][param], value, rtol=1e-10, atol=1e-10,
                                       err_msg=f"{name}.{param}")
    assert abs(a.elbo[-1] - b.elbo[-1]) <= 1e-10 * abs(b.elbo[-1])


def nan_rows(array, rows, cols=None):
    out = np.array(array, dtype=float)
    if cols is None:
        out[rows] = np.nan
    else:
        out[rows, cols] = np.nan
    return out


DROP = [2, 7, 11]


def test_normal_gamma():
    x = RNG.normal(1.0, 2.0, 40)
    assert_same(fit("normal_gamma", {"x": nan_rows(x, DROP)}, missing="skip"),
                fit("normal_gamma", {"x": np.delete(x, DROP)}))


def test_linreg_missing_responses():
    X = RNG.normal(size=(40, 3))
    y = X @ [1.0, -1.0, 2.0] + RNG.normal(size=40)
    assert_same(fit("linreg", {"X": X, "y": nan_rows(y, DROP)}, missing="skip"),
                fit("linreg", {"X": np.delete(X, DROP, 0), "y": np.delete(y, DROP)}))


def test_gmm_rows_with_a_nan_drop_their_indicator_too():
    x = np.r_[RNG.normal(size=(25, 2)) - 2, RNG.normal(size=(25, 2)) + 2]
    r = RNG.dirichlet(np.ones(2), 50)
    a = fit("gmm", {"x": nan_rows(x, DROP, 1), "K": 2}, missing="skip", init={"z": r})
    b = fit("gmm", {"x": np.delete(x, DROP, 0), "K": 2}, init={"z": np.delete(r, DROP, 0)})
    assert_same(a, b, skip=("z",))
    np.testing.assert_allclose(np.delete(a.posterior["z"]["probs"], DROP, 0),
                               b.posterior["z"]["probs"], atol=1e-10)


def test_coin_int_data():
    x = (RNG.random(30) < 0.4).astype(float)
    assert_same(fit("coin", {"x": nan_rows(x, DROP)}, missing="skip"),
                fit("coin", {"x": np.delete(x, DROP)}))


def test_poisson_mixture():
    c = np.r_[RNG.poisson(2, 20), RNG.poisson(15, 20)].astype(float)
    r = RNG.dirichlet(np.ones(2), 40)
    a = fit("poisson_mix", {"c": nan_rows(c, DROP), "K": 2}, missing="skip", init={"z": r})
    b = fit("poisson_mix", {"c": np.delete(c, DROP), "K": 2}, init={"z": np.delete(r, DROP, 0)})
    assert_same(a, b, skip=("z",))


def test_hier_with_its_group_index():
    g = RNG.integers(0, 3, 40)
    y = RNG.normal(size=40) + g
    assert_same(fit("hier", {"y": nan_rows(y, DROP), "g": g, "G": 3}, missing="skip"),
                fit("hier", {"y": np.delete(y, DROP), "g": np.delete(g, DROP), "G": 3}))


def test_pca_single_cells_are_dropped_not_rows():
    """Y[n, d] factors are per cell: a NaN cell drops one factor; the exact
    reference is the masked sum itself, so compare against a row removed when
    the whole row is NaN."""
    Y = RNG.normal(size=(30, 4))
    # the same number of sweeps from the same start: the exact statement (two
    # fits stopped by tol may stop one sweep apart on round-off)
    sweeps = dict(max_iter=150, tol=0.0)
    full_rows = fit("pca", {"Y": nan_rows(Y, DROP), "K": 2}, missing="skip", **sweeps,
                    init={"z": {"mean": np.zeros((30, 2)), "precision": np.broadcast_to(np.eye(2), (30, 2, 2))}})
    removed = fit("pca", {"Y": np.delete(Y, DROP, 0), "K": 2}, **sweeps,
                  init={"z": {"mean": np.zeros((27, 2)), "precision": np.broadcast_to(np.eye(2), (27, 2, 2))}})
    assert_same(full_rows, removed, skip=("z",))
    one_cell = fit("pca", {"Y": nan_rows(Y, [4], [2]), "K": 2}, missing="skip")
    assert np.all(np.isfinite(one_cell.elbo)) and np.all(np.diff(one_cell.elbo) > -1e-9)


def test_no_nan_gives_the_plain_fit():
    x = RNG.normal(size=20)
    assert_same(fit("normal_gamma", {"x": x}, missing="skip"), fit("normal_gamma", {"x": x}))


def test_nan_is_an_error_by_default():
    with pytest.raises(VmpDataError, match="non-finite value"):
        fit("normal_gamma", {"x": nan_rows(RNG.normal(size=9), [1])})


def test_cli_missing_skip(tmp_path, capsys):
    x = RNG.normal(size=30)
    np.savez(tmp_path / "x.npz", x=nan_rows(x, DROP))
    path = os.path.join(MODELS, "normal_gamma.vmp")
    assert main(["fit", path, "--data", str(tmp_path / "x.npz"), "--quiet"]) == 2
    assert "non-finite value" in capsys.readouterr().err
    assert main(["fit", path, "--data", str(tmp_path / "x.npz"), "--quiet",
                 "--missing", "skip", "--out", str(tmp_path / "f.npz")]) == 0
    saved = np.load(tmp_path / "f.npz")
    ref = fit("normal_gamma", {"x": np.delete(x, DROP)})
    np.testing.assert_allclose(saved["tau.shape"], ref.posterior["tau"]["shape"])
