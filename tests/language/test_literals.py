"""Vector and matrix literals in hypers, division by constants, and their
shape checks against the literal's uses (LANGUAGE.md's coins model)."""
import numpy as np
import pytest

import vmpdsl
from vmpdsl.errors import VmpCheckError, VmpDataError

COINS = """dim N, K = 3
data x[N]: int
hyper a = [1.0, 5.0, 20.0], b = [20.0, 5.0, 1.0]
c ~ Categorical(ones(K) / K)
for k in K:
    p[k] ~ Beta(a[k], b[k])
for n in N:
    x[n] ~ Bernoulli(p[c])
"""
MATRIX = """dim N, D = 2
data x[N, D]
hyper W0 = [[1, 0], [0, 1]], m0 = [0.0, 0.0]
Lambda ~ Wishart(3.0, W0)
mu ~ MvNormal(m0, eye(D))
for n in N:
    x[n] ~ MvNormal(mu, Lambda)
"""


def test_vector_literals_and_division_by_a_dim():
    model = vmpdsl.load(COINS)
    x = np.ones(12, dtype=int)
    fit = model.fit({"x": x}, tol=1e-12)
    # the prior 1/K is exact: with hypers a, b the heads-favouring coin wins
    assert np.argmax(fit.posterior["c"]["probs"]) == 2
    np.testing.assert_allclose(fit.result["hypers"]["a"], [1.0, 5.0, 20.0])
    swapped = model.fit({"x": x}, hypers={"a": [20.0, 5.0, 1.0], "b": [1.0, 5.0, 20.0]})
    assert np.argmax(swapped.posterior["c"]["probs"]) == 0


def test_matrix_literal_fits_a_wishart_scale():
    fit = vmpdsl.load(MATRIX).fit({"x": np.random.default_rng(0).normal(size=(30, 2))})
    assert fit.posterior["Lambda"]["scale"].shape == (2, 2)


def test_a_dim_fixed_by_a_literal_refuses_another_size():
    with pytest.raises(VmpDataError, match="dim K is 4, but a literal hyper of length 3"):
        vmpdsl.load(COINS).fit({"x": np.ones(5, dtype=int), "K": 4})


@pytest.mark.parametrize("text,message", [
    (COINS.replace("[1.0, 5.0, 20.0]", "[1.0, 5.0]"), "axis 1 of a has size 2"),
    (MATRIX.replace("[[1, 0], [0, 1]]", "[[1, 0], [0]]"), "entries of this literal differ"),
    (COINS.replace("Bernoulli(p[c])", "Bernoulli(dot([0.5, 0.5, 0.5], p))"),
     "only be the value of a hyper"),
    (COINS.replace("dim N, K = 3", "dim N, K"), "axis 1 of a has size 3"),
], ids=["too-short", "ragged", "literal-in-a-factor", "dim-without-default"])
def test_literal_shapes_are_checked_against_their_use(text, message):
    with pytest.raises(VmpCheckError, match=message):
        vmpdsl.load(text)
