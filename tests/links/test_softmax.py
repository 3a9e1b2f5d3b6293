"""The softmax link (Böhning's bound with curvature ½I): at the fixed point
ψ = E[η], so the posterior mean is the MAP of multinomial logistic regression,
which scikit-learn computes independently; the ELBO is a true lower bound."""
import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from link_cases import fit, softmax_data


def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def test_iris_posterior_mean_is_sklearns_map_and_accuracy_matches():
    X, y = iris()
    result = fit("softmax_reg", {"X": X, "y": y, "C": 3}, max_iter=5000, tol=1e-14)
    W = result.mean("W")
    # prior N(0, I) on each row ⇔ the L2 penalty ½‖W‖² of C = 1, no intercept
    sk = LogisticRegression(C=1.0, fit_intercept=False, max_iter=10000, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(W, sk.coef_, atol=1e-4)
    ours = np.mean(np.argmax(X @ W.T, axis=1) == y)
    assert abs(ours - sk.score(X, y)) <= 0.02


def test_iris_with_an_intercept_column_is_as_accurate_as_sklearn():
    X, y = iris()
    X1 = np.hstack([X, np.ones((len(X), 1))])
    result = fit("softmax_reg", {"X": X1, "y": y, "C": 3}, max_iter=3000, tol=1e-10)
    ours = np.mean(np.argmax(X1 @ result.mean("W").T, axis=1) == y)
    sk = LogisticRegression(C=1.0, max_iter=10000).fit(X, y)  # its intercept unpenalized
    assert abs(ours - sk.score(X, y)) <= 0.02


def test_softmax_elbo_is_below_the_exact_mean_field_elbo():
    data = softmax_data(np.random.default_rng(0), N=80, D=2, C=3)
    result = fit("softmax_reg", data, max_iter=2000, tol=1e-12)
    X, y = data["X"], data["y"]
    means, covs = result.mean("W"), result.posterior["W"]["cov"]
    rng = np.random.default_rng(1)
    draws = np.stack([rng.multivariate_normal(m, S, size=4000) for m, S in zip(means, covs)], 1)
    logits = np.einsum("scd,nd->snc", draws, X)
    loglik = (logits[:, np.arange(len(y)), y] - logsumexp(logits, axis=2)).sum(1)
    D = X.shape[1]
    rest = sum(-0.5 * D * np.log(2 * np.pi) - 0.5 * (m @ m + np.trace(S))
               + 0.5 * np.linalg.slogdet(2 * np.pi * np.e * S)[1] for m, S in zip(means, covs))
    exact, error = loglik.mean() + rest, loglik.std() / np.sqrt(len(loglik))
    assert result.elbo[-1] <= exact + 4 * error
    assert np.all(np.diff(result.elbo) >= -1e-9 * np.abs(result.elbo[1:]))
