"""Like terms are combined once, at derivation: a monomial that the expansion
of a quadratic form produces twice (w·z·mu and mu·w·z) is computed and printed
once with the summed coefficient, and terms that cancel are gone.  That it
changes no number is the business of the exactness and lecture oracles."""
import pytest

from engine_cases import MODELS, example
from vmpdsl.derive.messages import like_term_key

NAMES = sorted(p.stem for p in MODELS.glob("*.vmp"))


@pytest.mark.parametrize("name", NAMES)
def test_no_two_terms_of_a_factor_are_alike(name):
    derivation = example(name)._compiled.derivation
    for factor in derivation.factors:
        keys = [like_term_key(t, factor.label_dims) for t in factor.terms]
        assert len(keys) == len(set(keys)), factor.factor
        assert all(t.coeff != 0 for t in factor.terms)


def _messages(name, variable, stat):
    update = example(name)._compiled.derivation.update_of(variable)
    return [sorted(a.var for a in m.term.atoms if a is not m.target)
            for m in update.messages[stat]]


def test_pca_cross_terms_become_one():
    # mean of q(W_d): E[tau] Σ_n (Y − mu) E[z]: one term with Y, one with mu
    assert sorted(_messages("pca", "W", "x")) == [["Y", "tau", "z"], ["mu", "tau", "z"]]


def test_hier_cancelling_log_terms_are_gone():
    # tau ~ Gamma(1.0, 1.0) (factor 1): a·log tau − log tau cancels at a = 1
    update = example("hier")._compiled.derivation.update_of("tau")
    assert not [m for m in update.messages.get("log", []) if m.factor == 1]
