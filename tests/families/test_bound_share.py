"""A family's bound_share — the ELBO share Σ_s <C_s, E[u_s]> + H[q] of a latent
just updated to q from its coefficients C, which the ELBO takes at once for the
sweep's last latent — equals that sum computed the long way: the inner
products of C with q's expectations plus q's entropy."""
import numpy as np
import pytest

from vmpdsl.families.registry import get_family

rng = np.random.default_rng(3)
COEFFS = {
    "Gamma": {"x": -rng.uniform(0.1, 5.0, 6), "log": rng.uniform(-0.5, 40.0, 6)},
    "Normal": {"x": rng.normal(size=5) * 3, "xx": -rng.uniform(0.05, 8.0, 5)},
    "Dirichlet": {"log": rng.uniform(-0.7, 30.0, (4, 3))},
    "Categorical": {"onehot": rng.normal(size=(7, 4)) * 5},
}


@pytest.mark.parametrize("name", sorted(COEFFS))
def test_bound_share_is_the_inner_products_plus_the_entropy(name):
    family = get_family(name)
    coeffs = COEFFS[name]
    params = family.params_from_coeffs(coeffs)
    expectations = family.expectations(params)
    rank = family.event_rank
    long_way = family.entropy(params) + sum(
        np.sum(c * expectations[s], axis=tuple(range(-rank[s], 0))) if rank[s] else c * expectations[s]
        for s, c in coeffs.items())
    np.testing.assert_allclose(family.bound_share(coeffs, params), long_way, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("precision", [np.float64(2.5), rng.uniform(0.1, 9.0, 7),
                                       rng.uniform(0.1, 9.0, (3, 4)),
                                       np.broadcast_to(1.7, (6,))],
                         ids=["scalar", "rows", "grid", "broadcast"])
def test_entropy_total_is_the_sum_of_the_rows_entropies(precision):
    """A family's entropy_total (the ELBO's, without the rows' array) equals
    the sum of its per-row entropy, a broadcast row counted once per row."""
    from scipy import stats
    family = get_family("Normal")
    params = {"mean": np.zeros(np.shape(precision)), "precision": precision}
    total = family.entropy_total(params)
    np.testing.assert_allclose(total, np.sum(family.entropy(params)), rtol=1e-13)
    np.testing.assert_allclose(total, np.sum(stats.norm(0.0, 1.0 / np.sqrt(precision)).entropy()
                                             * np.ones(np.shape(precision))), rtol=1e-12)
