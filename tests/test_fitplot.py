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
    x, probs, means, covs, weights = gaussian_mixture(fit, data)
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
