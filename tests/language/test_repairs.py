"""Errors for what stays unsupported name the line, the factor, the variable
and a repair that exists (vmpdsl/repairs.py): a gate for a switch, a
conjugate prior the variable lacks, a constant; never `point` where a point
would fail the same way, never an internal argument list."""
import pytest

import vmpdsl
from vmpdsl import repairs
from vmpdsl.errors import VmpConjugacyError

HEAD = "dim N, D\ndata y[N]: int\ndata r[N]\ndata X[N, D]\n"
CASES = [
    ("clinical-trial-switch",
     "p0 ~ Beta(1.0, 1.0)\np1 ~ Beta(1.0, 1.0)\ne ~ Bernoulli(0.5)\nfor n in N:\n"
     "    y[n] ~ Bernoulli(e * p1 + (1 - e) * p0)\n",
     9, ["Bernoulli factor", "'e'"], ["gate", "e ~ Categorical", "p[e]"]),
    ("link-out-of-place",
     "w ~ MvNormal(zeros(D), eye(D))\nfor n in N:\n    r[n] ~ Normal(exp(dot(X[n], w)), 1.0)\n",
     7, ["exp(dot(X[n], w))", "Normal factor of r (line 7)"],
     ["only as the whole of the rate of a Poisson"]),
    ("normal-prior-on-a-precision",
     "tau ~ Normal(1.0, 1.0)\nfor n in N:\n    r[n] ~ Normal(0.0, tau)\n",
     7, ["Normal factor", "'tau'", "log tau"], ["Gamma"]),
    ("product-of-probabilities",
     "p ~ Beta(1.0, 1.0)\nq ~ Beta(1.0, 1.0)\nfor n in N:\n    y[n] ~ Bernoulli(p * q)\n",
     8, ["Bernoulli factor", "'p'"], ["'p' alone", "Categorical"]),
    ("squared-square",
     "mu ~ Normal(0.0, 1.0)\nfor n in N:\n    r[n] ~ Normal(mu * mu, 1.0)\n",
     7, ["Normal factor", "'mu'"], ["linear in every random variable", "hyper or data"]),
    ("random-gamma-shape",
     "a ~ Gamma(1.0, 1.0)\nfor n in N:\n    r[n] ~ Gamma(a, 1.0)\n",
     7, ["the shape of this Gamma is 'a'"], ["param a", "hyper or a number"]),
]


@pytest.mark.parametrize("body,line,message,hint", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_error_names_line_factor_variable_and_a_repair(body, line, message, hint):
    with pytest.raises(VmpConjugacyError) as caught:
        vmpdsl.load(HEAD + body)
    err = caught.value
    assert err.span is not None and err.span.line == line
    for part in message:
        assert part in err.message, (part, err.message)
    for part in hint:
        assert part in err.hint, (part, err.hint)
    if "shape" not in err.message:  # a point keeps its statistics: no repair elsewhere
        assert "point" not in err.hint


def test_hints_name_the_links_of_the_language():
    assert "logistic(...) as the p of a Bernoulli" in repairs.nonlinear_call("sqrt")
    assert "softmax(...) as the probs of a Categorical" in repairs.for_statistic("t", "log", "")
