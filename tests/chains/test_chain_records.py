"""A chain family's record names the parameters its posterior holds, in order
(the contract's MvNormal names for a Gaussian chain's marginals: mean, cov,
precision), so every reader of ``param_names`` sees what a fit returns."""
import numpy as np
import pytest

from chain_cases import model, quiet_fit, simulate_hmm, simulate_lgssm
from vmpdsl.families import FAMILIES


def hmm_fit():
    x, _ = simulate_hmm(np.random.default_rng(0), 12, K=2, D=2)
    return quiet_fit(model("hmm"), {"x": x, "K": 2}, seed=0, max_iter=3), "z", "CategoricalChain"


def lgssm_fit():
    data, _ = simulate_lgssm(np.random.default_rng(0), 12)
    return quiet_fit(model("lgssm"), data, seed=0, max_iter=3), "x", "GaussianChain"


@pytest.mark.parametrize("make", [hmm_fit, lgssm_fit], ids=["categorical", "gaussian"])
def test_chain_posterior_holds_exactly_its_param_names(make):
    fit, chain, family = make()
    assert tuple(fit.posterior[chain]) == FAMILIES[family].param_names
