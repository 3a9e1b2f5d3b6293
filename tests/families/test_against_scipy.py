"""Densities, entropies and expectations against scipy.stats (independent answers)."""
import numpy as np
import pytest

from family_cases import (CASES, LATENT_CASES, LOG_PARTITION, RANK, SCIPY, STATS, ids,
                          scipy_draws, scipy_logp, HAND_COEFFS)
from vmpdsl.families import get_family


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_log_density_matches_scipy(case):
    # One batched call on (points,) + batch values against scipy per element.
    n = 6
    draws = [scipy_draws(case, index, n, seed=10 + i) for i, index in enumerate(np.ndindex(case.batch))]
    ours_x = np.stack([d[0] for d in draws], axis=1).reshape((n,) + case.batch + draws[0][0].shape[1:])
    ours = get_family(case.family).log_density(ours_x, case.params)
    assert ours.shape == (n,) + case.batch
    for (_, raw), index in zip(draws, np.ndindex(case.batch)):
        frozen = SCIPY[case.family](case.element(index))
        expected = [scipy_logp(frozen, raw[j]) for j in range(n)]
        np.testing.assert_allclose(ours[(slice(None),) + index], expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", LATENT_CASES, ids=ids(LATENT_CASES))
def test_entropy_matches_scipy(case):
    ours = get_family(case.family).entropy(case.params)
    assert np.shape(ours) == case.batch
    for index in np.ndindex(case.batch):
        expected = float(SCIPY[case.family](case.element(index)).entropy())
        np.testing.assert_allclose(np.asarray(ours)[index], expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", LATENT_CASES, ids=ids(LATENT_CASES))
def test_expectations_match_monte_carlo(case):
    n = 100_000
    expected = get_family(case.family).expectations(case.params)
    assert set(expected) == set(RANK[case.family])
    for i, index in enumerate(np.ndindex(case.batch)):
        values, _ = scipy_draws(case, index, n, seed=100 + i)
        for stat, samples in STATS[case.family](values, case.element(index)).items():
            mc, se = samples.mean(axis=0), samples.std(axis=0) / np.sqrt(n)
            ours = np.broadcast_to(expected[stat], case.batch + mc.shape)[index]
            assert np.all(np.abs(ours - mc) <= 6 * se + 1e-9), (stat, ours, mc, se)


def _unbatched(cases):
    return [case for case in cases if case.batch == ()]


@pytest.mark.parametrize("case", _unbatched(LATENT_CASES), ids=ids(_unbatched(LATENT_CASES)))
def test_expectations_are_gradient_of_log_partition(case):
    coeffs = {k: np.array(v, float) for k, v in HAND_COEFFS[case.family](case.params).items()}
    partition = LOG_PARTITION[case.family]
    ours = get_family(case.family).expectations(case.params)
    for stat, value in coeffs.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            step = 1e-6 * max(1.0, abs(value[index]))
            up = {**coeffs, stat: value.copy()}
            down = {**coeffs, stat: value.copy()}
            up[stat][index] += step
            down[stat][index] -= step
            grad[index] = (partition(up) - partition(down)) / (2 * step)
        np.testing.assert_allclose(ours[stat], grad, rtol=1e-6, atol=1e-6, err_msg=stat)


@pytest.mark.parametrize("case", LATENT_CASES, ids=ids(LATENT_CASES))
def test_point_expectations_are_the_statistics(case):
    family = get_family(case.family)
    values, _ = scipy_draws(case, next(np.ndindex(case.batch)), 4, seed=7)
    if case.family == "Categorical":   # a Categorical point value is a probability vector
        point = np.eye(case.params["probs"].shape[-1])[values]
    else:
        point = values
    ours = family.point_expectations(point)
    for stat, expected in STATS[case.family](values, case.element(next(np.ndindex(case.batch)))).items():
        np.testing.assert_allclose(ours[stat], expected, rtol=1e-12, err_msg=stat)
    assert set(ours) == set(RANK[case.family])
