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
    ("logistic-without-a-link",
     "w ~ MvNormal(zeros(D), eye(D))\nfor n in N:\n    y[n] ~ Bernoulli(sigmoid(dot(X[n], w)))\n",
     7, ["sigmoid(dot(X[n], w))", "Bernoulli factor of y (line 7)"], ["dot sum diag"]),
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
     7, ["the shape of this Gamma is 'a'"], ["hyper or a number"]),
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
    if not repairs.LEARNED_POINTS:
        assert "point" not in err.hint  # a point keeps the statistics: no repair


def test_links_named_in_hints_once_they_exist(monkeypatch):
    monkeypatch.setitem(repairs.LINKS, "logistic", "a Bernoulli or Binomial probability")
    assert "logistic(...) as a Bernoulli or Binomial probability" in repairs.nonlinear_call("exp")
    assert "logistic" in repairs.for_statistic("tau", "log", "log tau")
