"""The optional fit picture: an ELBO curve and the mixture's clusters."""
import numpy as np
import pytest

import vmpdsl
from vmpdsl.fitplot import gaussian_mixture, plot_fit


def faithful_fit():
    x = np.loadtxt("models/data/faithful.csv", delimiter=",", skiprows=1)
    x = (x - x.mean(0)) / x.std(0)
    fit = vmpdsl.load("models/gmm.vmp").fit({"x": x, "K": 4}, hypers={"alpha0": 0.01}, seed=0)
    return fit, {"x": x}


def test_mixture_is_recognised_with_weights_that_sum_to_one():
    fit, data = faithful_fit()
    x, probs, means, covs, weights, labels = gaussian_mixture(fit, data)
    assert probs.shape == (272, 4) and means.shape == (4, 2) and covs.shape == (4, 2, 2)
    assert weights.sum() == pytest.approx(1.0)
    assert np.all(np.linalg.eigvalsh(covs) > 0)


def test_non_mixture_has_no_cluster_panel():
    rng = np.random.default_rng(0)
    fit = vmpdsl.load("models/coin.vmp").fit({"x": rng.integers(0, 2, 20)})
    assert gaussian_mixture(fit, {}) is None


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    fit, data = faithful_fit()
    path = plot_fit(fit, data, str(tmp_path / "fit.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_wide_data_is_shown_on_its_principal_axes():
    """D = 3: the projection keeps the data's two largest directions, and a
    projected covariance is Bᵀ Σ B (checked against the projected draws)."""
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(size=(80, 3)) * [3.0, 1.0, 0.1], rng.normal(size=(80, 3)) * 0.3 + 6]
    fit = vmpdsl.load("models/gmm.vmp").fit({"x": x, "K": 2}, seed=0)
    shown, probs, means, covs, weights, labels = gaussian_mixture(fit, {"x": x})
    assert shown.shape == (160, 2) and covs.shape == (2, 2, 2)
    assert "principal axis 1 of x" in labels[0]
    centred = x - x.mean(0)
    assert np.var(shown[:, 0]) == pytest.approx(np.linalg.svd(centred)[1][0] ** 2 / 160)


def test_posterior_densities_and_fit_plot_methods(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    fit, data = faithful_fit()
    path = fit.plot_posterior(str(tmp_path / "post.png"), draws=500)
    assert open(path, "rb").read(4) == b"\x89PNG"
    assert open(fit.plot(str(tmp_path / "fit.png")), "rb").read(4) == b"\x89PNG"
