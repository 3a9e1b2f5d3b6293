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


@pytest.mark.parametrize("rows, shared", [((6,), True), ((6,), False), ((2, 3), True)],
                         ids=["shared", "distinct", "grid-shared"])
@pytest.mark.parametrize("updated", [True, False], ids=["updated", "given"])
def test_mvnormal_entropy_total_is_the_sum_of_the_rows_entropies(rows, shared, updated):
    """MvNormal's entropy_total: each distinct row's entropy times the rows
    sharing it, from the update's remembered log-determinant or factored anew."""
    family = get_family("MvNormal")
    a = rng.normal(size=rows + (3, 3)) if not shared else rng.normal(size=(3, 3))
    precision = a @ np.swapaxes(a, -1, -2) + 3.0 * np.eye(3)
    coeffs = {"x": rng.normal(size=rows + (3,)),
              "xx": np.broadcast_to(-0.5 * precision, rows + (3, 3))}
    params = family.params_from_coeffs(coeffs)
    if not updated:  # a user's q: no remembered log-determinant
        params = {k: np.array(v) for k, v in params.items()}
    total = family.entropy_total(params)
    np.testing.assert_allclose(total, np.sum(family.entropy(params)), rtol=1e-13)
    _, logdet = np.linalg.slogdet(np.broadcast_to(precision, rows + (3, 3)))
    np.testing.assert_allclose(total, np.sum(0.5 * (3 * (1 + np.log(2 * np.pi)) - logdet)),
                               rtol=1e-12)
