"""Fit.to_arviz: dims after the plates, the ELBO trace, the data; ArviZ's
summary agrees with the exact marginals of q."""
import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")
az = pytest.importorskip("arviz")

from eco_cases import gmm_fit, hier_fit


def test_posterior_dims_data_and_elbo():
    fit = gmm_fit()
    data = fit.to_arviz(draws=500, seed=0)
    post = data.posterior
    assert post["mu"].dims == ("chain", "draw", "K", "D")
    assert post["Lambda"].dims == ("chain", "draw", "K", "D", "D_1")
    assert post.sizes["draw"] == 500 and post.sizes["K"] == 3
    np.testing.assert_array_equal(data.sample_stats["elbo"].values.ravel(), fit.elbo)
    np.testing.assert_array_equal(data.observed_data["x"].values, fit.data["x"])


def test_az_summary_and_plot_posterior_work():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    fit = hier_fit()
    data = fit.to_arviz(draws=4000, seed=1)
    table = az.summary(data, var_names=["theta"], kind="stats")
    q = fit.posterior["theta"]
    sd = 1 / np.sqrt(q["precision"])
    # 4000 independent draws: the mean is within 4 standard errors
    assert np.all(np.abs(table["mean"].values - q["mean"]) < 4 * sd / np.sqrt(4000) + 1e-3)
    assert "g" in data.constant_data and "y" in data.observed_data
    axes = az.plot_posterior(data, var_names=["mu", "tau"])
    assert np.size(axes) == 2


def test_log_likelihood_per_draw_and_loo():
    from scipy import stats
    fit = hier_fit()
    data = fit.to_arviz(draws=300, seed=2)
    post = data.posterior
    theta = post["theta"].values[0][:, fit.data["g"]]  # (draws, N)
    ref = stats.norm.logpdf(fit.data["y"], theta, 1 / np.sqrt(post["sigma"].values[0])[:, None])
    np.testing.assert_allclose(data.log_likelihood["y"].values[0], ref, rtol=1e-12)
    assert data.log_likelihood["y"].dims == ("chain", "draw", "N")
    assert np.isfinite(az.loo(data).elpd_loo)
