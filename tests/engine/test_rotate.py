"""The rotation step of bilinear pairs (derive/rotations.py, runtime/rotate.py).

Oracles: the closed-form ELBO change of a rotation equals the change of the
ELBO computed from scratch on the rotated q (for the optimized R and for
arbitrary R); its gradient by R equals finite differences; the fit's ELBO
never falls; models without a pair are not touched.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_cases import MODELS, SIMULATORS, SUPPORTED, example, from_text, quiet_fit, sim_pca

PCA = example("pca")

# Both sides with an ARD precision; W's columns also index the data plate's rows.
BOTH_ARD = """model pca_ard2
dim N, D, K
data Y[N, D]
tau ~ Gamma(1e-3, 1e-3)
for k in K:
    alpha[k] ~ Gamma(1e-3, 1e-3)
    beta[k] ~ Gamma(2.0, 2.0)
for d in D:
    W[d] ~ MvNormal(zeros(K), diag(alpha))
for n in N:
    z[n] ~ MvNormal(zeros(K), diag(beta))
    for d in D:
        Y[n, d] ~ Normal(dot(z[n], W[d]), tau)
"""


def swept_state(model, data, sweeps, seed=0):
    """(module, q, E, K, arrays, hyper, dim) after ``sweeps`` sweeps without rotation."""
    module = model._compiled.module
    dim, arrays = module.bind_data(dict(data))
    hyper = module._hypers(dim)
    K = module._constants(dim, arrays, hyper)
    q, E = {}, {}
    module._initial_state(q, E, K, arrays, hyper, dim, np.random.default_rng(seed), {})
    module.climb(q, E, K, arrays, hyper, dim, sweeps, 0.0, None, False)
    return module, q, E, K, arrays, hyper, dim


def pca_data(N=60, noise=0.1, seed=0):
    return sim_pca(np.random.default_rng(seed), N=N, D=5, K=2, noise=noise)[0]


def test_pairs_are_found_at_compile_time():
    assert PCA._compiled.module.ROTATIONS == ((("W", "alpha"), ("z", None)),)
    assert from_text(BOTH_ARD)._compiled.module.ROTATIONS == ((("W", "alpha"), ("z", "beta")),)


@pytest.mark.parametrize("change", [
    ("mu[d] ~ Normal(0.0, 1e-3)", "mu[d] ~ Normal(dot(W[d], ones(K)), 1e-3)"),  # W elsewhere
    ("MvNormal(zeros(K), eye(K))", "MvNormal(ones(K), eye(K))"),     # a prior mean not 0
    ("alpha[k] ~ Gamma(a, b)", "alpha[k] ~ Gamma(a, b)\n    v[k] ~ Normal(0.0, alpha[k])"),
    # (alpha used elsewhere)
    ("W[d] ~ MvNormal", "point W[d] ~ MvNormal"),                     # no q(W) to rotate
])
def test_pairs_that_are_not_invariant_are_not_rotated(change):
    source = (PCA._compiled.model.source).replace(*change)
    assert source != PCA._compiled.model.source
    assert getattr(from_text(source)._compiled.module, "ROTATIONS", ()) == ()


@pytest.mark.parametrize("name", [n for n in SUPPORTED if n != "pca"])
def test_models_without_a_pair_are_unchanged(name):
    model = example(name)
    assert getattr(model._compiled.module, "ROTATIONS", ()) == ()
    assert "def rotate_pair" not in model.code
    data, _ = SIMULATORS[name](np.random.default_rng(1))
    on = quiet_fit(model, data, seed=0, max_iter=30)
    off = quiet_fit(model, data, seed=0, max_iter=30, rotate=False)
    np.testing.assert_allclose(on.elbo, off.elbo, rtol=1e-12, atol=0)


def random_rotation(rng, k):
    return np.eye(k) + 0.3 * rng.normal(size=(k, k))


@pytest.mark.parametrize("source", ["pca", BOTH_ARD])
def test_closed_form_change_equals_the_elbo_from_scratch(source):
    model = PCA if source == "pca" else from_text(source)
    module, q, E, K, data, hyper, dim = swept_state(model, pca_data(), 5)
    pair = module.ROTATIONS[0]
    rng = np.random.default_rng(3)
    for R in [random_rotation(rng, 2) for _ in range(3)]:
        # the ARD q(alpha) is optimal before: update it, as the step does after
        for side in pair:
            if side[1] is not None:
                module.transform_side(q, E, K, data, hyper, dim,
                                      module.rotation_side(q, E, K, data, hyper, dim, *side),
                                      np.eye(2))
        before = module.elbo_value(q, E, K, data, hyper, dim)
        sides = [module.rotation_side(q, E, K, data, hyper, dim, *side) for side in pair]
        objective = module.rotation_objective(*sides)
        predicted = objective(R)[0] - objective(np.eye(2))[0]
        for side, T in zip(sides, (np.linalg.inv(R).T, R)):
            module.transform_side(q, E, K, data, hyper, dim, side, T)
        after = module.elbo_value(q, E, K, data, hyper, dim)
        assert abs(after - before - predicted) <= 1e-10 * abs(after), (after - before, predicted)


def test_the_step_raises_the_elbo_by_what_it_reports():
    module, q, E, K, data, hyper, dim = swept_state(PCA, pca_data(), 20)
    before = module.elbo_value(q, E, K, data, hyper, dim)
    gain = module.rotate_pairs(q, E, K, data, hyper, dim)
    after = module.elbo_value(q, E, K, data, hyper, dim)
    assert gain > 0.0
    assert abs(after - before - gain) <= 1e-10 * abs(after)
    # at the rotated state, R = I is the optimum: a second step gains ~nothing
    assert module.rotate_pairs(q, E, K, data, hyper, dim) <= 1e-6 * gain


@pytest.mark.parametrize("source", ["pca", BOTH_ARD])
def test_gradient_by_R_equals_finite_differences(source):
    model = PCA if source == "pca" else from_text(source)
    module, q, E, K, data, hyper, dim = swept_state(model, pca_data(), 5)
    sides = [module.rotation_side(q, E, K, data, hyper, dim, *side)
             for side in module.ROTATIONS[0]]
    objective = module.rotation_objective(*sides)
    R = random_rotation(np.random.default_rng(4), 2)
    _, gradient = objective(R)
    h, numeric = 1e-6, np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            step = np.zeros((2, 2))
            step[i, j] = h
            numeric[i, j] = (objective(R + step)[0] - objective(R - step)[0]) / (2 * h)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 31), N=st.integers(2, 30), D=st.integers(1, 5),
       K=st.integers(1, 3), noise=st.floats(0.03, 3.0), ard2=st.booleans())
def test_the_elbo_never_falls_with_rotation(seed, N, D, K, noise, ard2):
    data, _ = sim_pca(np.random.default_rng(seed), N=N, D=D, K=min(K, D), noise=noise)
    data["K"] = K
    model = from_text(BOTH_ARD) if ard2 else PCA
    elbo = quiet_fit(model, data, seed=seed, max_iter=25).elbo
    assert np.all(np.diff(elbo) >= -1e-9 * np.abs(elbo[1:]))


def test_rotate_false_is_plain_coordinate_ascent():
    data = pca_data()
    on = quiet_fit(PCA, data, seed=0, max_iter=30)
    off = quiet_fit(PCA, data, seed=0, max_iter=30, rotate=False)
    assert on.elbo[-1] > off.elbo[-1]
    module, q, E, K, arrays, hyper, dim = swept_state(PCA, data, 30)
    np.testing.assert_allclose(off.elbo[-1], module.elbo_value(q, E, K, arrays, hyper, dim),
                               rtol=1e-12)


def test_cli_no_rotate(tmp_path, capsys):
    from vmpdsl import cli
    np.savez(tmp_path / "y.npz", Y=pca_data()["Y"])
    path = str(MODELS / "pca.vmp")
    finals = []
    for extra in ([], ["--no-rotate"]):
        assert cli.main(["fit", path, "--data", str(tmp_path / "y.npz"), "--set", "K=2",
                         "--max-iter", "20", "--quiet"] + extra) == 0
        finals.append(float(capsys.readouterr().out.split("ELBO ")[1].split()[0]))
    off = quiet_fit(PCA, pca_data(), seed=0, max_iter=20, rotate=False)
    assert finals[1] == pytest.approx(off.elbo[-1], abs=1e-6)  # printed to 6 decimals and finals[0] > finals[1]


def test_missing_observations_keep_the_step_exact():
    """Dropped factors of NaN observations leave the products' invariance intact."""
    data = pca_data(N=40)
    Y = data["Y"].copy()
    Y[np.random.default_rng(2).random(Y.shape) < 0.2] = np.nan
    data["Y"] = Y
    fit = quiet_fit(PCA, data, seed=0, max_iter=40, missing="skip")
    assert np.all(np.diff(fit.elbo) >= -1e-9 * np.abs(fit.elbo[1:]))
    off = quiet_fit(PCA, data, seed=0, max_iter=40, missing="skip", rotate=False)
    assert fit.elbo[-1] > off.elbo[-1]


@pytest.mark.parametrize("bad", ["no", 0, None])
def test_rotate_must_be_a_bool(bad):
    from vmpdsl.errors import VmpDataError
    with pytest.raises(VmpDataError, match="rotate must be True or False"):
        PCA.fit(pca_data(N=10), rotate=bad)
