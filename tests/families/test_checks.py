"""Support and parameter checks: the catalogue of messages is the test table."""
import numpy as np
import pytest

from family_cases import spd
from vmpdsl.families import get_family

# (id, family, arguments, expected message or None)
SUPPORT = [
    ("normal-ok", "Normal", (np.array([0.1, -3.0]),), None),
    ("normal-nan", "Normal", (np.array([0.1, np.nan]),),
     "Normal observations must be finite real numbers; found nan at index (1,)"),
    ("mvnormal-ok", "MvNormal", (np.zeros((4, 2)),), None),
    ("mvnormal-scalar", "MvNormal", (np.array(1.0),), "MvNormal observations must be vectors"),
    ("gamma-ok", "Gamma", (np.array([0.5, 2.0]),), None),
    ("gamma-zero", "Gamma", (np.array([0.5, 0.0]),),
     "Gamma observations must be positive and finite; found 0.0 at index (1,)"),
    ("wishart-ok", "Wishart", (spd(2, 1, (3,)),), None),
    ("wishart-asymmetric", "Wishart", (np.array([[1.0, 0.5], [0.0, 1.0]]),),
     "Wishart observations must be symmetric"),
    ("wishart-indefinite", "Wishart", (np.stack([np.eye(2), np.diag([1.0, -1.0])]),),
     "Wishart observations must be positive definite; the matrix at batch index (1,)"),
    ("dirichlet-ok", "Dirichlet", (np.array([[0.2, 0.8], [1.0, 0.0]]),), None),
    ("dirichlet-sum", "Dirichlet", (np.array([[0.2, 0.8], [0.5, 0.6]]),),
     "Dirichlet observations must sum to 1; the vector at index (1,) does not"),
    ("categorical-ok", "Categorical", (np.array([0, 2, 1]), 3), None),
    ("categorical-too-large", "Categorical", (np.array([0, 3, 1]), 3),
     "Categorical observations must be integers in 0 .. 2; found 3 at index (1,)"),
    ("categorical-fraction", "Categorical", (np.array([0.5]), 3),
     "Categorical observations must be integers in 0 .. 2; found 0.5 at index (0,)"),
    ("beta-ok", "Beta", (np.array([0.3]),), None),
    ("beta-one", "Beta", (np.array([0.3, 1.0]),), "Beta observations must lie strictly between 0 and 1"),
    ("bernoulli-ok", "Bernoulli", (np.array([0, 1, 1]),), None),
    ("bernoulli-two", "Bernoulli", (np.array([[0, 1], [2, 1]]),),
     "Bernoulli observations must be 0 or 1; found 2 at index (1, 0)"),
    ("binomial-ok", "Binomial", (np.array([0, 5, 10]), 10), None),
    ("binomial-above-trials", "Binomial", (np.array([0, 11]), np.array([10, 10])),
     "Binomial counts must be integers between 0 and the number of trials; found 11 at index (1,)"),
    ("poisson-ok", "Poisson", (np.array([0, 3, 12]),), None),
    ("poisson-negative", "Poisson", (np.array([0, 1, 2, -1]),),
     "Poisson counts must be non-negative integers; found -1 at index (3,)"),
    ("poisson-scalar", "Poisson", (np.array(2.5),),
     "Poisson counts must be non-negative integers; found 2.5"),
    ("exponential-ok", "Exponential", (np.array([0.1]),), None),
    ("exponential-negative", "Exponential", (np.array([-0.1]),),
     "Exponential observations must be positive and finite; found -0.1 at index (0,)"),
]

PARAMS = [
    ("normal-ok", "Normal", {"mean": 0.0, "precision": 1e-4}, None),
    ("normal-precision", "Normal", {"mean": 0.0, "precision": -1.0},
     "Normal precision must be positive and finite; found -1.0"),
    ("mvnormal-ok", "MvNormal", {"mean": np.zeros(2), "precision": np.eye(2)}, None),
    ("mvnormal-not-spd", "MvNormal", {"mean": np.zeros(2), "precision": np.diag([1.0, 0.0])},
     "MvNormal precision must be positive definite"),
    ("mvnormal-size", "MvNormal", {"mean": np.zeros(3), "precision": np.eye(2)},
     "MvNormal precision is 2-dimensional but the mean has length 3"),
    ("gamma-ok", "Gamma", {"shape": 1e-2, "rate": 1e-4}, None),
    ("gamma-rate", "Gamma", {"shape": 1.0, "rate": 0.0}, "Gamma rate must be positive"),
    ("wishart-ok", "Wishart", {"df": 2.5, "scale": np.eye(3)}, None),
    ("wishart-df", "Wishart", {"df": 1.5, "scale": np.eye(3)},
     "Wishart df must exceed D - 1 = 2; found 1.5"),
    ("wishart-scale", "Wishart", {"df": 5.0, "scale": -np.eye(2)},
     "Wishart scale must be positive definite"),
    ("dirichlet-ok", "Dirichlet", {"concentration": np.full(3, 0.1)}, None),
    ("dirichlet-zero", "Dirichlet", {"concentration": np.array([1.0, 0.0])},
     "Dirichlet concentration must be positive and finite; found 0.0 at index (1,)"),
    ("dirichlet-scalar", "Dirichlet", {"concentration": 1.0}, "Dirichlet concentration must be a vector"),
    ("categorical-ok", "Categorical", {"probs": np.full((5, 4), 0.25)}, None),
    ("categorical-sum", "Categorical", {"probs": np.array([0.5, 0.6])},
     "Categorical probs must sum to 1"),
    ("beta-ok", "Beta", {"a": 1.0, "b": 1.0}, None),
    ("beta-a", "Beta", {"a": np.inf, "b": 1.0}, "Beta a must be positive and finite; found inf"),
    ("bernoulli-ok", "Bernoulli", {"p": 1.0}, None),
    ("bernoulli-p", "Bernoulli", {"p": 1.5}, "Bernoulli p must lie in [0, 1]; found 1.5"),
    ("binomial-ok", "Binomial", {"trials": 4, "p": 0.5}, None),
    ("binomial-trials", "Binomial", {"trials": 2.5, "p": 0.5},
     "Binomial trials must be non-negative integers; found 2.5"),
    ("poisson-ok", "Poisson", {"rate": 3.0}, None),
    ("poisson-rate", "Poisson", {"rate": -3.0}, "Poisson rate must be positive"),
    ("exponential-ok", "Exponential", {"rate": 3.0}, None),
    ("exponential-rate", "Exponential", {"rate": np.nan}, "Exponential rate must be positive"),
]


@pytest.mark.parametrize("family, args, message", [c[1:] for c in SUPPORT],
                         ids=[c[0] for c in SUPPORT])
def test_check_support(family, args, message):
    problem = get_family(family).check_support(*args)
    if message is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(message), problem


@pytest.mark.parametrize("family, params, message", [c[1:] for c in PARAMS],
                         ids=[c[0] for c in PARAMS])
def test_check_params(family, params, message):
    problem = get_family(family).check_params(params)
    if message is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(message), problem
