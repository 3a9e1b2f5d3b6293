"""Modes maximise the density; samples have the right statistics."""
import numpy as np
import pytest

from family_cases import LATENT_CASES, STATS, ids, spd
from vmpdsl.families import get_family


def _sym(dim, i, j):
    e = np.zeros((dim, dim))
    e[i, j] = e[j, i] = 1.0
    return e


def neighbours(family, mode, eps=1e-4):
    """Nearby points in the support, one per direction."""
    if family in ("Normal", "Beta"):
        return [mode + eps, mode - eps]
    if family == "Gamma":
        return [mode * (1 + eps), mode * (1 - eps)]
    if family == "MvNormal":
        return [mode + s * eps * e for e in np.eye(mode.shape[-1]) for s in (1, -1)]
    if family == "Dirichlet":
        k = mode.shape[-1]
        return [mode + eps * (np.eye(k)[i] - np.eye(k)[j])
                for i in range(k) for j in range(k) if i != j]
    if family == "Wishart":
        dim = mode.shape[-1]
        return [mode + s * eps * _sym(dim, i, j)
                for i in range(dim) for j in range(i + 1) for s in (1, -1)]
    raise AssertionError(family)


MODE_CASES = [
    ("normal", "Normal", {"mean": np.array(-0.7), "precision": np.array(3.0)}),
    ("mvnormal", "MvNormal", {"mean": np.array([1.0, -2.0]), "precision": spd(2, 8)}),
    ("gamma", "Gamma", {"shape": np.array(3.5), "rate": np.array(2.0)}),
    ("wishart", "Wishart", {"df": np.array(7.0), "scale": spd(3, 9) / 4}),
    ("dirichlet", "Dirichlet", {"concentration": np.array([1.5, 4.0, 2.5])}),
    ("beta", "Beta", {"a": np.array(3.0), "b": np.array(1.5)}),
]


@pytest.mark.parametrize("family, params", [c[1:] for c in MODE_CASES],
                         ids=[c[0] for c in MODE_CASES])
def test_mode_maximises_log_density(family, params):
    fam = get_family(family)
    mode = fam.mode(params)
    best = fam.log_density(mode, params)
    for point in neighbours(family, mode):
        assert fam.log_density(point, params) < best


@pytest.mark.parametrize("family, params", [
    ("Categorical", {"probs": np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])}),
    ("Bernoulli", {"p": np.array([0.2, 0.8])}),
], ids=["categorical", "bernoulli"])
def test_discrete_mode_is_the_most_probable_value(family, params):
    fam = get_family(family)
    mode = fam.mode(params)
    value = np.argmax(mode, axis=-1) if family == "Categorical" else mode
    support = range(3) if family == "Categorical" else (0, 1)
    best = fam.log_density(value, params)
    for other in support:
        assert np.all(best >= fam.log_density(np.full(best.shape, other), params))


NO_MODE = [
    ("gamma-shape-below-1", "Gamma", {"shape": np.array([2.0, 0.5]), "rate": np.ones(2)}),
    ("wishart-df-too-small", "Wishart", {"df": np.array(3.0), "scale": np.eye(2)}),
    ("dirichlet-boundary", "Dirichlet", {"concentration": np.array([2.0, 0.9])}),
    ("beta-boundary", "Beta", {"a": np.array(1.0), "b": np.array(3.0)}),
]


@pytest.mark.parametrize("family, params", [c[1:] for c in NO_MODE], ids=[c[0] for c in NO_MODE])
def test_mode_outside_the_interior_raises(family, params):
    with pytest.raises(FloatingPointError, match=f"{family} mode"):
        get_family(family).mode(params)


@pytest.mark.parametrize("case", LATENT_CASES, ids=ids(LATENT_CASES))
def test_samples_have_the_expected_statistics(case):
    # Broadcasting the parameters over a leading axis of n draws also checks batching.
    n = 40_000
    family = get_family(case.family)
    params = {k: np.broadcast_to(v, (n,) + np.shape(v)) for k, v in case.params.items()}
    draws = family.sample(params, np.random.default_rng(3))
    event = {"MvNormal": 1, "Wishart": 2, "Dirichlet": 1}.get(case.family, 0)
    assert draws.shape[:1 + len(case.batch)] == (n,) + case.batch
    assert draws.ndim == 1 + len(case.batch) + event
    expected = family.expectations(case.params)
    for stat, samples in STATS[case.family](draws, case.params).items():
        mc, se = samples.mean(axis=0), samples.std(axis=0) / np.sqrt(n)
        assert np.all(np.abs(expected[stat] - mc) <= 6 * se + 1e-9), (stat, expected[stat], mc)


def test_sampling_is_reproducible_with_a_seeded_generator():
    params = {"df": np.array(4.0), "scale": np.eye(2)}
    first = get_family("Wishart").sample(params, np.random.default_rng(11))
    again = get_family("Wishart").sample(params, np.random.default_rng(11))
    np.testing.assert_array_equal(first, again)
