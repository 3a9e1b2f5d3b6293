"""The scikit-learn estimators: scikit-learn's own estimator checks, and
agreement with scikit-learn's BayesianRidge / GaussianMixture."""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.linear_model import BayesianRidge
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from eco_cases import faithful, regression
from vmpdsl.sklearn import VMPMixture, VMPRegressor

# check_array_api_input is skipped by scikit-learn itself unless SCIPY_ARRAY_API
# is set (the estimators compute with NumPy only).
SKIPPED = {"check_array_api_input"}


@pytest.mark.parametrize("estimator", [VMPRegressor(), VMPMixture(samples=100)],
                         ids=["regressor", "mixture"])
def test_scikit_learn_estimator_checks(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])) for r in results
              if r["status"] == "failed" or (r["status"] == "skipped"
                                             and r["check_name"] not in SKIPPED)]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 40


def test_regressor_agrees_with_bayesian_ridge_in_a_pipeline():
    X, y = regression(seed=3, n=200)
    ours = make_pipeline(StandardScaler(), VMPRegressor()).fit(X, y)
    ref = make_pipeline(StandardScaler(), BayesianRidge(tol=1e-10)).fit(X, y)
    np.testing.assert_allclose(ours.predict(X[:10]), ref.predict(X[:10]), atol=5e-3)
    mean, sd = ours[-1].predict(X[:3], return_std=True)
    assert np.all(sd > 0) and ours[-1].n_iter_ >= 1 and ours[-1].converged_
    scores = cross_val_score(VMPRegressor(), X, y, cv=3)
    assert np.all(scores > 0.9)  # R² of a well-specified linear model


def test_mixture_clusters_like_gaussian_mixture_and_tunes_hypers():
    x = faithful()
    ours = VMPMixture(n_components=2, samples=200).fit(x)
    ref = GaussianMixture(2, random_state=0).fit(x)
    agree = np.mean(ours.predict(x) == ref.predict(x))
    assert max(agree, 1 - agree) > 0.98
    proba = ours.predict_proba(x[:5])
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert abs(ours.score(x) - ref.score(x)) < 0.1  # log density per point
    assert ours.lower_bound_ == ours.fit_.elbo[-1]
    grid = GridSearchCV(VMPMixture(samples=50, max_iter=100),
                        {"n_components": [1, 2], "hypers": [None, {"alpha0": 0.1}]}, cv=2)
    assert grid.fit(x).best_params_["n_components"] == 2
    assert ours.set_params(hypers={"beta0": 2.0}).get_params()["hypers"] == {"beta0": 2.0}


def test_a_hierarchical_model_with_columns_mapped_to_arrays():
    """X's one column is the group index g (a 1-D int array of the model);
    the prediction for a known group is its exact predictive mean E[θ_g]."""
    from eco_cases import MODELS, hier_data
    data = hier_data(n=120)
    reg = VMPRegressor(model=str(MODELS / "hier.vmp"), X=["g"], dims={"G": 4})
    reg.fit(data["g"][:, None], data["y"])
    mean = reg.predict(np.array([[0], [3]]))
    np.testing.assert_allclose(mean, reg.fit_.posterior["theta"]["mean"][[0, 3]], rtol=1e-12)
    assert np.all(cross_val_score(reg, data["g"][:, None], data["y"], cv=3) > 0.5)
