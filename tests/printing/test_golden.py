"""The printed derivations of the seed models, fixed as text and checked by
hand against the textbooks, line by line (comments below).

The golden files are tests/printing/golden/<model>.txt.  After an intended
change of the printout, regenerate them all in one place with

    VMPDSL_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/printing/test_golden.py

and re-read the diff against the comments here.  ``load`` is the one place
that decides which form of a model is printed: gmm and normal_gamma are pinned
in their factorized (mean-field) form, q(mu) q(Lambda), the form PRML §10.1.3
analyses, by compiling them with mean_field=True; gmm_joint and
normal_gamma_joint are their default joint Normal–Wishart / Normal–Gamma
blocks (derive/blocks.py).
"""
import os
import re
from pathlib import Path

import pytest

import vmpdsl
from vmpdsl.compiler import compile_source

GOLDEN = Path(__file__).parent / "golden"
MODELS = Path(__file__).resolve().parents[2] / "models"


FACTORIZED = ("gmm", "normal_gamma")


def load(name: str):
    """The model as the golden text prints it (see the module docstring)."""
    if name.endswith("_joint"):
        return vmpdsl.load(MODELS / f"{name[:-len('_joint')]}.vmp")
    if name in FACTORIZED:
        path = MODELS / f"{name}.vmp"
        return vmpdsl.Model(compile_source(path.read_text(), str(path), mean_field=True))
    return vmpdsl.load(MODELS / f"{name}.vmp")


# gmm (PRML §10.2, with q(mu[k]) q(Lambda[k]) factorized):
#   α[k] = alpha0 + N[k]                           PRML (10.58)
#   ν[k] = nu0 + N[k] + 1                          (10.63) + 1 from mu[k]'s prior ½ log|β0 Λ|
#   W[k]⁻¹ = W0⁻¹ + beta0 E[(mu−m0)(mu−m0)ᵀ] + Σ_n r E[(x−mu)(x−mu)ᵀ]
#                                                  (10.62) before completing the square
#                                                  jointly; symmetric entry by entry
#   m[k] = (beta0 m0 + Σ_n r[n,k] x[n]) / (beta0 + N[k])    (10.61), N x̄ = Σ_n r x
#   S[k]⁻¹ = (beta0 + N[k]) E[Lambda[k]]           (10.60) β_k E[Λ_k]
#   log r[n,k] = E[log pi[k]] + ½ E[log|Lambda[k]|] − (D/2) log 2π
#                − ½ E[(x − mu)ᵀ Lambda (x − mu)] + const   (10.46)
#   where: r and N[k] (10.51); E[Λ] = ν W (10.65 needs it); E[log|Λ|] (10.65);
#   E[log π] (10.66); the squares multiplied out; E[μμᵀ] = m mᵀ + S.
# lda (Blei et al. 2003, §5.3 and A.4.2, tokens flattened):
#   λ[k,v] = eta + Σ_{t: word[t] = v} r[t,k]       the smoothed β update (A.4.2)
#   γ[d,k] = alpha + Σ_{t: doc[t] = d} r[t,k]       (7)
#   log r[t,k] = E[log theta[doc[t],k]] + E[log phi[k,word[t]]] + const    (6)
#   E[log θ] = ψ(γ) − ψ(Σ γ) (8); the same for phi with λ.
# linreg (PRML §10.3 with noise precision alpha for β, weight precision lambda):
#   a = a0 + N/2, b = b0 + ½ Σ_n E[(y − Xᵀw)²]    (10.95)-(10.96)-like, lecture notes
#   a_lambda = e0 + D/2, b_lambda = f0 + ½ tr E[w wᵀ] = f0 + ½ E[wᵀw]   (10.93)-(10.94)
#   m = S E[alpha] Xᵀy, S⁻¹ = E[lambda] I + E[alpha] XᵀX     (10.98)-(10.99) with Φ = X
#   where: E[(y − Xᵀw)²] = y² − 2 y Xᵀ E[w] + Xᵀ E[w wᵀ] X   (10.107)-like
# normal_gamma (PRML §10.1.3, λ0 = kappa0):
#   a = a0 + N/2 + ½                               (10.29) a_N = a0 + (N + 1)/2
#   b = b0 + ½ kappa0 E[(mu − mu0)²] + ½ Σ_n E[(x − mu)²]   (10.30)
#   m = (kappa0 mu0 + Σ_n x[n]) / (kappa0 + N)     (10.26) with N x̄ = Σ x
#   λ = (kappa0 + N) E[tau]                        (10.27)
# gmm_joint (PRML §10.2, the joint q(mu[k], Lambda[k]) = NormalWishart(m, β, ν, W)):
#   β[k] = beta0 + N[k]                            (10.60)
#   m[k] = (beta0 m0 + N[k] x̄[k]) / β[k]           (10.61)
#   W[k]⁻¹ = W0⁻¹ + N[k] S[k] + (beta0 N[k] / (beta0 + N[k])) (x̄[k] − m0)(x̄[k] − m0)ᵀ
#                                                  (10.62)
#   ν[k] = nu0 + N[k]                              (10.63)
#   where: x̄[k] = (1/N[k]) Σ_n r[n,k] x[n] (10.52), S[k] = (1/N[k]) Σ_n r[n,k]
#   (x[n] − x̄[k])(x[n] − x̄[k])ᵀ (10.53)
#   log r[n,k] = E[log pi[k]] + ½ E[log|Lambda[k]|] − (D/2) log 2π − ½ x[n]ᵀ E[Lambda[k]] x[n]
#                + x[n]ᵀ E[Lambda[k] mu[k]] − ½ E[mu[k]ᵀ Lambda[k] mu[k]] + const   (10.46),
#     the square of (10.64) multiplied out; where: E[Λμ] = ν W m, E[μᵀΛμ] = D/β + ν mᵀWm
#     (10.64), E[log|Λ|] (10.65), E[log π] (10.66).
# normal_gamma_joint (the conjugate posterior, PRML (2.154)-like; Murphy 2007 §3):
#   β = kappa0 + N                                 Murphy §3: κ_n = κ0 + n
#   m = (kappa0 mu0 + N x̄) / β                     μ_n = (κ0 μ0 + n x̄)/κ_n
#   a = a0 + N/2                                   α_n = α0 + n/2
#   b = b0 + ½ N S + kappa0 N (x̄ − mu0)² / (2 (kappa0 + N))
#                                                  β_n = β0 + ½ Σ (x_i − x̄)²
#                                                       + κ0 n (x̄ − μ0)² / (2 (κ0 + n))
#   where: x̄ = (1/N) Σ_n x[n], S = (1/N) Σ_n (x[n] − x̄)²  (N S = Σ (x − x̄)²)
SEEDS = ("gmm", "lda", "linreg", "normal_gamma", "gmm_joint", "normal_gamma_joint")


@pytest.mark.parametrize("name", SEEDS)
def test_golden_text(name):
    text = str(load(name).equations()) + "\n"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("VMPDSL_REGENERATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_golden_steps_group_each_factor_then_the_sum():
    text = str(load("linreg").equations(steps=True))
    block = text.split("\n\n")[0].splitlines()
    assert block == [
        "q(alpha) = Gamma(a, b)",
        "  message from line 9: alpha ~ Gamma(a0, b0)",
        "    coefficient of log alpha: a0 − 1",
        "    coefficient of alpha: −b0",
        "  message from line 13: y[n] ~ Normal(dot(X[n], w), alpha)",
        "    coefficient of log alpha: N/2",
        "    coefficient of alpha: −½ Σ_n E[(y[n] − X[n]ᵀ w)²]",
        "  sum of the messages:",
        "    coefficient of log alpha: a0 + N/2 − 1",
        "    coefficient of alpha: −b0 − ½ Σ_n E[(y[n] − X[n]ᵀ w)²]",
        "  a = a0 + N/2",
        "  b = b0 + ½ Σ_n E[(y[n] − X[n]ᵀ w)²]",
    ]


def test_no_internals_or_decimals_leak():
    """No labels, weights or derived-constant names, no decimals the model
    does not write, in any model's printout."""
    for path in sorted(MODELS.glob("*.vmp")):
        text = str(vmpdsl.load(path).equations(steps=True))
        assert not re.search(r"@\w|#\d", text), path.name  # internal names and labels
        for leak in ("inv(", "lgamma1p", "0.918", "cov", "δ[", "0000"):
            assert leak not in text, (path.name, leak)


def test_readme_shows_the_printed_linreg():
    """The README's example printout is the current one."""
    readme = (MODELS.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("```\n", readme.index("prints what it derived")) + 4
    assert readme[start:readme.index("```", start)] == str(load("linreg").equations()) + "\n"
