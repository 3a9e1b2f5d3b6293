"""Save → load → predict equals the original; pickling; the CLI's fit file."""
import multiprocessing
import pickle

import numpy as np
import pytest

import vmpdsl
from eco_cases import MODELS, blr_fit, faithful, gmm_fit, hier_fit, regression
from vmpdsl.cli import main
from vmpdsl.errors import VmpDataError


def same_tree(a, b):
    if isinstance(a, dict):
        assert set(a) == set(b)
        return all(same_tree(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return a.dtype == np.asarray(b).dtype and np.array_equal(a, b)
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("get", [gmm_fit, blr_fit, hier_fit], ids=["gmm", "blr", "hier"])
def test_save_load_round_trips_and_predicts_the_same(get, tmp_path):
    fit = get()
    path = fit.save(tmp_path / "fit.npz")
    back = vmpdsl.load_fit(path)
    assert same_tree(fit.result, back.result)
    assert back.options == fit.options and back.model.checked.source == fit.model.checked.source
    new = {"x": faithful()[:7]} if get is gmm_fit else \
        {"X": regression(seed=5, n=6)[0], "y": regression(seed=5, n=6)[1]} if get is blr_fit \
        else {"y": np.array([0.1, 2.0]), "g": np.array([0, 3])}
    a, b = fit.predict(new), back.predict(new)
    np.testing.assert_allclose(b["log_density"], a["log_density"], rtol=1e-12, atol=0)


def test_the_file_has_no_pickles_and_reads_with_plain_numpy(tmp_path):
    fit = gmm_fit()
    fit.save(tmp_path / "fit.npz")
    with np.load(tmp_path / "fit.npz", allow_pickle=False) as archive:
        assert np.array_equal(archive["elbo"], fit.elbo)
        assert np.array_equal(archive["pi.concentration"], fit.posterior["pi"]["concentration"])


def test_points_and_missing_masks_survive(tmp_path):
    x = faithful()[:60].copy()
    x[3, 1] = np.nan
    fit = vmpdsl.load(str(MODELS / "gmm.vmp")).fit({"x": x, "K": 2}, point=["mu"],
                                                  missing="skip", seed=1)
    back = vmpdsl.load_fit(fit.save(tmp_path / "f.npz"))
    assert back.model.checked.variables["mu"].role == "point" and back.model.checked.missing
    assert same_tree(fit.result, back.result)


def test_bad_files_are_user_errors(tmp_path):
    np.savez(tmp_path / "plain.npz", x=np.ones(3))
    with pytest.raises(VmpDataError, match="not a vmpdsl fit file"):
        vmpdsl.load_fit(tmp_path / "plain.npz")
    with pytest.raises(VmpDataError, match="no such fit file"):
        vmpdsl.load_fit(tmp_path / "none.npz")
    with pytest.raises(VmpDataError, match=".npz"):
        gmm_fit().save(tmp_path / "fit.pkl")


def test_model_and_fit_pickle():
    fit = blr_fit()
    back = pickle.loads(pickle.dumps(fit))
    assert same_tree(fit.result, back.result) and back.data is not None
    model = pickle.loads(pickle.dumps(fit.model))
    assert model.code == fit.model.code
    assert "blr" in repr(model) and "converged" in repr(fit) and "0x" not in repr(fit)


def _fit_in_worker(seed):
    X, y = regression(seed)
    return vmpdsl.load(str(MODELS / "linreg.vmp")).fit({"X": X, "y": y})


def test_a_worker_process_returns_a_fit():
    with multiprocessing.get_context("fork").Pool(1) as pool:
        fit = pool.map(_fit_in_worker, [2])[0]
    assert fit.converged and fit.predict({"X": np.ones((1, 2))})["mean"].shape == (1,)


def test_cli_out_then_predict_from_the_file(tmp_path, capsys):
    np.savez(tmp_path / "x.npz", x=faithful())
    np.savez(tmp_path / "new.npz", x=faithful()[:5])
    assert main(["fit", str(MODELS / "gmm.vmp"), "--data", str(tmp_path / "x.npz"),
                 "--set", "K=3", "--quiet", "--out", str(tmp_path / "f.npz")]) == 0
    assert main(["predict", "--fit", str(tmp_path / "f.npz"), "--new", str(tmp_path / "new.npz"),
                 "--out", str(tmp_path / "p.npz")]) == 0
    fit = vmpdsl.load_fit(tmp_path / "f.npz")
    saved = np.load(tmp_path / "p.npz")
    np.testing.assert_allclose(saved["log_density"], fit.predict({"x": faithful()[:5]})[
        "log_density"], rtol=1e-12)
    capsys.readouterr()
    assert main(["fit", str(MODELS / "gmm.vmp"), "--data", str(tmp_path / "x.npz"),
                 "--set", "K=3", "--out", str(tmp_path / "x.npz")]) == 2
    assert "it is an input" in capsys.readouterr().err
    assert np.load(tmp_path / "x.npz")["x"].shape == (272, 2)  # untouched


def test_data_is_saved_only_when_asked(tmp_path):
    fit = hier_fit()
    assert vmpdsl.load_fit(fit.save(tmp_path / "a.npz")).data is None
    back = vmpdsl.load_fit(fit.save(tmp_path / "b.npz", data=True))
    assert same_tree(fit.data, back.data)
