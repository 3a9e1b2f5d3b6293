"""The derived coefficients of the Jaakkola–Jordan model equal PRML §10.6,
element by element (sympy): for q(w), precision S⁻¹ = s0 I + 2 Σ_n λ(ξ_n) x_n x_nᵀ
and S⁻¹m = Σ_n (y_n − ½) x_n (10.156–10.157); for ξ_n, the coefficients of
λ(ξ_n) and c(ξ_n) are −E[η_n²] and 1, so ξ_n² = x_nᵀ E[wwᵀ] x_n (10.163)."""
import sympy
from sympy import Rational, Symbol

from vmpdsl.derive.equations import element_symbol, symbolic_coefficients

from link_cases import model

N, D = 3, 2


def X(n, i):
    return Symbol(f"X[{n},{i}]")


def test_logreg_coefficients_are_prml_updates():
    C = symbolic_coefficients(model("logreg")._compiled.derivation, "w", {"N": N, "D": D})
    lam = [element_symbol("ξ_y", "lam", (n,)) for n in range(N)]
    s0 = Symbol("s0")
    for i in range(D):
        mean_part = sum((Symbol(f"y[{n}]") - Rational(1, 2)) * X(n, i) for n in range(N))
        assert sympy.expand(C["x"][i] - mean_part) == 0
        for j in range(D):
            precision = s0 * int(i == j) + 2 * sum(lam[n] * X(n, i) * X(n, j) for n in range(N))
            assert sympy.expand(-(C["xx"][i, j] + C["xx"][j, i]) - precision) == 0


def test_logreg_local_parameter_update_is_prml():
    C = symbolic_coefficients(model("logreg")._compiled.derivation, "ξ_y", {"N": N, "D": D})
    for n in range(N):
        second = sum(X(n, i) * X(n, j) * element_symbol("w", "xx", (i, j))
                     for i in range(D) for j in range(D))
        assert sympy.expand(-C["lam"][n] / C["c"][n] - second) == 0
        assert C["c"][n] == 1
