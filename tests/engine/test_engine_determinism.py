"""Same seed, same result (bit for bit); a different seed gives a different
random start on a mixture (so the seed is really used)."""
import numpy as np
import pytest

import vmpdsl
from engine_cases import MODELS, SIMULATORS, SUPPORTED, example, quiet_fit


def assert_same_posterior(a, b):
    assert a.keys() == b.keys()
    for latent in a:
        assert a[latent].keys() == b[latent].keys()
        for key in a[latent]:
            np.testing.assert_array_equal(a[latent][key], b[latent][key],
                                          err_msg=f"{latent}.{key}")


@pytest.mark.parametrize("name", SUPPORTED)
def test_same_seed_same_trace_and_posterior(name):
    data, _ = SIMULATORS[name](np.random.default_rng(21))
    model = example(name)
    first = quiet_fit(model, data, max_iter=25, tol=0.0, seed=1234)
    second = quiet_fit(model, data, max_iter=25, tol=0.0, seed=1234)
    np.testing.assert_array_equal(first.elbo, second.elbo)
    assert_same_posterior(first.posterior, second.posterior)
    # the same again through a freshly compiled copy of the model
    fresh = vmpdsl.load(str(MODELS / f"{name}.vmp"))
    assert fresh.code == model.code
    third = quiet_fit(fresh, data, max_iter=25, tol=0.0, seed=1234)
    np.testing.assert_array_equal(first.elbo, third.elbo)
    assert_same_posterior(first.posterior, third.posterior)


@pytest.mark.parametrize("name", ["gmm", "poisson_mix", "lda", "pca"])
def test_different_seeds_start_differently(name):
    data, _ = SIMULATORS[name](np.random.default_rng(22))
    model = example(name)
    traces = [quiet_fit(model, data, max_iter=3, tol=0.0, seed=s).elbo for s in range(4)]
    assert any(not np.array_equal(traces[0], t) for t in traces[1:])


def test_data_changed_in_place_between_fits_is_seen():
    """contract memoizes products by the identity of its operands; a second
    fit on the same array object, changed in place, must not reuse them."""
    rng = np.random.default_rng(5)
    y = rng.normal(size=(2000, 40))  # large enough for contract's memoized route
    model = example("pca")
    data = {"Y": y, "K": 3}
    quiet_fit(model, data, max_iter=3, tol=0.0, seed=0)
    y *= 3.0
    again = quiet_fit(model, data, max_iter=3, tol=0.0, seed=0)
    fresh = quiet_fit(model, {"Y": y.copy(), "K": 3}, max_iter=3, tol=0.0, seed=0)
    np.testing.assert_array_equal(again.elbo, fresh.elbo)


def test_a_broadcast_init_covariance_equals_its_copy():
    """A covariance given once for every row (a broadcast view) is inverted and
    checked once and stays shared; the fit is the one from a dense copy."""
    rng = np.random.default_rng(8)
    data, K = {"Y": rng.normal(size=(60, 5)), "K": 2}, 2
    shared = np.broadcast_to(0.5 * np.eye(K), (60, K, K))
    start = {"mean": rng.normal(size=(60, K))}
    model = example("pca")
    viewed = quiet_fit(model, data, max_iter=5, tol=0.0, seed=0, init={"z": dict(start, cov=shared)})
    copied = quiet_fit(model, data, max_iter=5, tol=0.0, seed=0,
                       init={"z": dict(start, cov=shared.copy())})
    np.testing.assert_allclose(viewed.elbo, copied.elbo, rtol=1e-12)
