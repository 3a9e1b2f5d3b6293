"""How each q family is printed: one record per family, in one table.

A record names the family's parameters in the language's order, the letters
the textbooks give them (a, b for a Gamma; m, S for an MvNormal, printed
MvNormal(m, S⁻¹); ν, W for a Wishart; r for a Categorical), the functions that
read its parameters off the collected coefficients (``formulas``; one for a q,
one for a point estimate's mode) and the function that defines its
expectations in the "where" block.  A new family or block (a Normal–Wishart
pair, a chain) adds one record here and its functions beside the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import formulas as f
from . import links
from . import normal_wishart as nw
from . import where as w
from .sequences import chain_moments


@dataclass(frozen=True)
class FamilyPrinting:
    params: tuple  # standard parameter names, in the language's order
    letters: tuple  # their printed letters
    latent: Callable  # (form, ctx) -> [(param, value)] for a q
    point: Callable | None  # the same for a point estimate (its mode)
    moments: Callable | None  # the "where" lines of its expectations

    def __post_init__(self):
        assert len(self.params) == len(self.letters)


PRINTING = {
    "Normal": FamilyPrinting(("mean", "precision"), ("m", "λ"), f.normal, f.point_normal,
                             w.normal_moments),
    "MvNormal": FamilyPrinting(("mean", "precision"), ("m", "S"), f.mvnormal, f.point_mvnormal,
                               w.mvnormal_moments),
    "Gamma": FamilyPrinting(("shape", "rate"), ("a", "b"), f.gamma, f.point_gamma,
                            w.gamma_moments),
    "Wishart": FamilyPrinting(("df", "scale"), ("ν", "W"), f.wishart, f.point_wishart,
                              w.wishart_moments),
    "Dirichlet": FamilyPrinting(("concentration",), ("α",), f.dirichlet, f.point_dirichlet,
                                w.dirichlet_moments),
    "Categorical": FamilyPrinting(("probs",), ("r",), f.categorical, f.point_categorical,
                                  w.categorical_moments),
    "Beta": FamilyPrinting(("a", "b"), ("a", "b"), f.beta, f.point_beta, w.beta_moments),
    "Bernoulli": FamilyPrinting(("p",), ("p",), f.bernoulli, None, w.bernoulli_moments),
    # chain blocks (derive/chains.py): the smoother's potentials
    "CategoricalChain": FamilyPrinting(("probs",), ("r",), f.categorical_chain, None,
                                       chain_moments),
    "GaussianChain": FamilyPrinting(("mean", "cov"), ("m", "S"), f.gaussian_chain, None,
                                    chain_moments),
    # the local parameters of link bounds (points with closed-form updates)
    "JJ": FamilyPrinting(("value",), ("ξ",), None, links.jj, None),
    "SoftmaxBound": FamilyPrinting(("value",), ("ψ",), None, links.softmax_bound, None),
    # joint blocks q(mu, Lambda) (derive/blocks.py), keyed by the mean's name
    "NormalWishart": FamilyPrinting(("mean", "beta", "df", "scale"), ("m", "β", "ν", "W"),
                                    nw.normalwishart, None, nw.normalwishart_moments),
    "NormalGamma": FamilyPrinting(("mean", "beta", "shape", "rate"), ("m", "β", "a", "b"),
                                  nw.normalgamma, None, nw.normalgamma_moments),
}
