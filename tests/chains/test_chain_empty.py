"""A chain with no observations left (T = 0, or S = 0 sequences) under
missing="skip" is the fit of the prior alone, the same as without the switch,
for a categorical (HMM) and a Gaussian (LGSSM) chain; never a traceback."""
import numpy as np
import pytest

from chain_cases import HMM_SEQUENCES, model, quiet_fit

import vmpdsl

CASES = {
    "hmm T=0": (lambda: model("hmm"), {"x": np.zeros((0, 2)), "K": 2}),
    "hmm S=0": (lambda: vmpdsl.load(HMM_SEQUENCES), {"x": np.zeros((0, 4, 2)), "K": 2}),
    "hmm T=0, S=2": (lambda: vmpdsl.load(HMM_SEQUENCES), {"x": np.zeros((2, 0, 2)), "K": 2}),
    "lgssm T=0": (lambda: model("lgssm"), {"y": np.zeros((0, 2)), "A": np.eye(2),
                                           "C": np.ones((2, 2))}),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_empty_chain_under_skip_is_the_prior_fit(case):
    make, data = CASES[case]
    m = make()
    plain = quiet_fit(m, data, seed=0, max_iter=5)
    skipped = quiet_fit(m, data, seed=0, max_iter=5, missing="skip")
    np.testing.assert_allclose(skipped.elbo, plain.elbo, atol=1e-12)
    assert abs(plain.elbo[-1]) < 1e-9  # the prior's fit: KL(q || prior) = 0
    for name, params in plain.posterior.items():
        for key, value in params.items():
            np.testing.assert_allclose(skipped.posterior[name][key], value, err_msg=key)
