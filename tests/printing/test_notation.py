"""Notation the printer owes a reader, in every model (models/ and the
LANGUAGE.md blocks), plain, --steps, --latex and mean-field: no internal
names (labels, weights, statistic keys like mu.L or E[z][n,k]), no Python
reprs; and the particular lines that used to leak: sbm's δ[k,l] on category
labels, the identity's inverse, a learned hyperparameter's heading, a chain's
pair statistic in its coefficient's letters."""
import re

import pytest

import vmpdsl
from vmpdsl.compiler import compile_source

from model_sources import all_models

INTERNAL = re.compile(r"@\w|#\d|\w\.(L|Lx|xLx|logdet|x|xx|log|log1m|onehot|pair)\b|"
                      r"E\[\w+\]\[|Σ_\{\w\}|array\(|np\.|Fraction|None|\b1⁻¹|1\^\{-1\}")


def printouts(text: str):
    model = vmpdsl.load(text)
    yield model.equations()
    yield model.equations(steps=True)
    yield model.equations().latex
    yield vmpdsl.Model(compile_source(text, "m.vmp", mean_field=True)).equations()


def quoted_source(line: str) -> bool:
    """--steps quotes the model's own line ('message from line 8: …'), and a
    link bound its factor (y[n] ~ Categorical(softmax(W @ X[n]))): the user's
    text, not a leak."""
    return "message from line" in line or " ~ " in line.split(":")[0]


@pytest.mark.parametrize("source", [s for _, s in all_models()], ids=[i for i, _ in all_models()])
def test_no_internal_names_or_reprs(source):
    for text in printouts(source):
        for line in str(text).splitlines():
            if not quoted_source(line):
                assert not INTERNAL.search(line), line


def test_delta_on_category_labels_is_an_indicator():
    text = vmpdsl.load("models/sbm.vmp").equations()
    assert "+ [k = l] Σ_i A[i,i] r[i,k] + 1" in text and " I " not in text
    assert r"+ [k = l] \sum_{i} A_{ii} r_{ik} + 1" in text.latex


def test_identity_scale_inverse_prints_as_identity():
    text = vmpdsl.load("models/lgssm.vmp").equations()
    assert "W_R⁻¹ = I + Σ_t E[(y[t] − C x[t])(y[t] − C x[t])ᵀ]" in text


@pytest.mark.parametrize("name, kind", [("lda_eb", "maximum likelihood"), ("pumps", "MAP estimate")])
def test_learned_hyperparameter_says_newton(name, kind):
    eq = vmpdsl.load(f"models/{name}.vmp").equations()
    assert f"alpha = argmax of E[log joint]   ({kind}, found by Newton's method in log alpha)" \
        in eq
    assert "mode of its" not in eq and "Newton's method in }\\log \\alpha" in eq.latex


def test_wishart_df_is_simplified_in_latex():
    path = "models/gmm.vmp"
    eq = vmpdsl.Model(compile_source(open(path).read(), path, mean_field=True)).equations()
    assert r"\nu_{k} &= \nu_{0} + N_{k} + 1 \\" in eq.latex


def test_chain_pair_statistic_uses_the_coefficients_letters():
    text = vmpdsl.load("models/hmm.vmp").equations(steps=True)
    assert "coefficient of [z[t-1] = k][z[t] = l]: [t ≥ 1] E[log A[k,l]]" in text
    assert "r[t,k] = q(z[t] = k), by forward-backward" in text


def test_gmm_block_reads_as_prml_10_60_to_10_63():
    """The printed text of the textbook form, with and without a prior mean
    (the values are checked in test_printed_symbolic.py)."""
    text = vmpdsl.load("models/gmm.vmp").equations()
    for line in ("  m[k] = (beta0 m0 + N[k] x̄[k]) / β[k]",
                 "  W[k]⁻¹ = W0⁻¹ + N[k] S[k] + (beta0 N[k] / (beta0 + N[k])) "
                 "(x̄[k] − m0)(x̄[k] − m0)ᵀ",
                 "  x̄[k] = (1 / N[k]) Σ_n r[n,k] x[n]",
                 "  S[k] = (1 / N[k]) Σ_n r[n,k] (x[n] − x̄[k])(x[n] − x̄[k])ᵀ"):
        assert line + "\n" in text
    zero = open("models/gmm.vmp").read().replace(", m0 = zeros(D)", "").replace(
        "MvNormal(m0, beta0", "MvNormal(zeros(D), beta0")
    text = vmpdsl.load(zero).equations()
    assert "  m[k] = N[k] x̄[k] / β[k]\n" in text
    assert "  W[k]⁻¹ = W0⁻¹ + N[k] S[k] + (beta0 N[k] / (beta0 + N[k])) x̄[k] x̄[k]ᵀ\n" in text


def test_lgssm_noise_scale_is_printed_symmetric():
    text = vmpdsl.load("models/lgssm.vmp").equations()
    assert ("W⁻¹ = I + Σ_t [t ≥ 1] E[x[t] x[t]ᵀ] − Σ_t [t ≥ 1] E[x[t] x[t-1]ᵀ] Aᵀ − Σ_t [t ≥ 1] "
            "A E[x[t-1] x[t]ᵀ] + Σ_t [t ≥ 1] A E[x[t-1] x[t-1]ᵀ] Aᵀ\n") in text


def test_numbers_print_as_short_as_the_model_wrote_them():
    """hier writes Normal(0.0, 1e-4): the precision prints 1e-4 (LaTeX 10^{-4}),
    not 0.0001; a number is printed exactly (it reads back as the same float)."""
    from vmpdsl.printing.style import Latex, Text
    text = str(vmpdsl.load("models/hier.vmp").equations())
    assert "  λ = G E[tau] + 1e-4\n" in text
    assert r"10^{-4}" in str(vmpdsl.load("models/hier.vmp").equations("latex"))
    for x in (1e-4, 0.5, 2.5e-7, 1e8, 0.1, 1 / 3, 123456.0, 6.02214076e23):
        printed = Text().decimal(x)
        assert float(printed) == x and len(printed) <= len(repr(x)), (x, printed)
