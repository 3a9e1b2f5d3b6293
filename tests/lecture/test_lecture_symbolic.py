"""Textbook agreement, symbolically: the coefficients vmpdsl derives for each
q factor equal the lecture notes' coordinate-ascent updates (and Bishop PRML
§10.1.3 / §9.2 for the Normal–Gamma model and EM for the Gaussian mixture).

``symbolic_coefficients`` gives, element by element, C_s with
log q(v) = Σ_s <C_s, u_s(v)> + const.  Reading the standard parameters off:
Gamma shape = C_log + 1, rate = −C_x; (Mv)Normal precision = −2 C_xx,
mean = precision⁻¹ C_x; Wishart df = 2 C_logdet + D + 1, scale⁻¹ = −2 C_x;
Dirichlet concentration = C_log + 1; Categorical log-probabilities = C_onehot.
A point estimate's statistics are the same symbols (E[w.x], E[w.xx]); the
engine plugs E[w.xx] = w wᵀ in, so the tests substitute that where the notes
write the plug-in form.
"""
import pytest
import sympy
from sympy import Rational, Symbol

from vmpdsl.compiler import compile_source
from vmpdsl.derive.equations import element_symbol, symbolic_coefficients

from lecture_cases import model

N, D, K = 3, 2, 2


def coefficients(name, var, sizes, mean_field=False):
    compiled = model(name)._compiled
    if mean_field:  # q(mu) q(tau) instead of the joint block
        compiled = compile_source(compiled.model.source, mean_field=True)
    return symbolic_coefficients(compiled.derivation, var, sizes)


def zero(expr) -> bool:
    """expr == 0 exactly, allowing only float round-off in numeric constants
    (the engine writes log 2π as a float)."""
    expr = sympy.expand(expr)
    small = {f: 0 for f in expr.atoms(sympy.Float) if abs(f) < 1e-12}
    return sympy.simplify(expr.xreplace(small)) == 0


def matrix(array) -> sympy.Matrix:
    return sympy.Matrix(sympy.Array(array).tolist())


def E(var, stat, *index):
    return element_symbol(var, stat, index)


def data_X(n=N, d=D):
    return sympy.Matrix(n, d, lambda i, j: element_symbol("X", None, (i, j)))


def data_y(n=N):
    return sympy.Matrix(n, 1, lambda i, _: element_symbol("y", None, (i,)))


def w_moments(d=D):
    mean = sympy.Matrix(d, 1, lambda i, _: E("w", "x", i))
    second = sympy.Matrix(d, d, lambda i, j: E("w", "xx", i, j))
    return mean, second


def expected_sq_residual(X, y, w_mean, w_second):
    """E||y − X w||² = Σ_n y_n² − 2 y_n X_n·E[w] + X_nᵀ E[wwᵀ] X_n."""
    total = 0
    for n in range(X.rows):
        xn = X[n, :].T
        total += y[n] ** 2 - 2 * y[n] * (xn.T * w_mean)[0] + (xn.T * w_second * xn)[0]
    return total


# ------------------------------------------------------------------ linreg
def test_linreg_alpha_is_notes_gamma():
    C = coefficients("linreg", "alpha", {"N": N, "D": D})
    X, y = data_X(), data_y()
    mean, second = w_moments()
    assert zero(C["log"] + 1 - (Symbol("a0") + Rational(N, 2)))
    assert zero(-C["x"] - (Symbol("b0") + expected_sq_residual(X, y, mean, second) / 2))


def test_linreg_w_is_notes_gaussian():
    C = coefficients("linreg", "w", {"N": N, "D": D})
    X, y = data_X(), data_y()
    precision = -2 * matrix(C["xx"])
    notes = E("lambda", "x") * sympy.eye(D) + E("alpha", "x") * X.T * X
    assert all(zero(e) for e in (precision - notes))
    assert all(zero(e) for e in (matrix(C["x"]) - E("alpha", "x") * X.T * y))
    # hence mean = Σ C_x = E[α] Σ Xᵀy with Σ = precision⁻¹, as in the notes


def test_linreg_lambda_is_notes_gamma():
    C = coefficients("linreg", "lambda", {"N": N, "D": D})
    _, second = w_moments()
    assert zero(C["log"] + 1 - (Symbol("e0") + Rational(D, 2)))
    assert zero(-C["x"] - (Symbol("f0") + second.trace() / 2))


def test_linreg_known_w_is_exact_gaussian_posterior():
    C = coefficients("linreg_known", "w", {"N": N, "D": D})
    X, y = data_X(), data_y()
    alpha, lam = Symbol("alpha"), Symbol("lambda")
    assert all(zero(e) for e in (-2 * matrix(C["xx"]) - (lam * sympy.eye(D) + alpha * X.T * X)))
    assert all(zero(e) for e in (matrix(C["x"]) - alpha * X.T * y))


# --------------------------------------------------------------- linreg_em
def test_linreg_em_alpha_uses_the_point_w():
    C = coefficients("linreg_em", "alpha", {"N": N, "D": D})
    X, y = data_X(), data_y()
    w = sympy.Matrix(D, 1, lambda i, _: E("w", "x", i))
    plugin = {E("w", "xx", i, j): w[i] * w[j] for i in range(D) for j in range(D)}
    residual = y - X * w
    assert zero(C["log"] + 1 - (Symbol("a0") + Rational(N, 2)))
    assert zero(-C["x"].xreplace(plugin) - (Symbol("b0") + (residual.T * residual)[0] / 2))


def test_linreg_em_w_m_step_is_ridge_with_expected_noise_precision():
    C = coefficients("linreg_em", "w", {"N": N, "D": D})
    X, y = data_X(), data_y()
    lam, alpha = Symbol("lambda"), E("alpha", "x")
    precision = -2 * matrix(C["xx"])
    assert all(zero(e) for e in (precision - (lam * sympy.eye(D) + alpha * X.T * X)))
    # the point update is the mode of N(precision⁻¹ C_x, precision⁻¹): its mean
    m_step = precision.inv() * matrix(C["x"])
    notes = (lam * sympy.eye(D) + alpha * X.T * X).inv() * alpha * X.T * y
    assert all(zero(sympy.together(e)) for e in (m_step - notes))


# ------------------------------------------------------------ normal_gamma
def test_normal_gamma_mu_is_bishop_10_1_3():
    C = coefficients("normal_gamma", "mu", {"N": N}, mean_field=True)
    x = [element_symbol("x", None, (n,)) for n in range(N)]
    tau, kappa0, mu0 = E("tau", "x"), Symbol("kappa0"), Symbol("mu0")
    precision = -2 * C["xx"]
    assert zero(precision - (kappa0 + N) * tau)
    mean = C["x"] / precision
    xbar = sum(x) / N
    assert zero(sympy.together(mean - (kappa0 * mu0 + N * xbar) / (kappa0 + N)))


def test_normal_gamma_tau_is_bishop_10_1_3():
    C = coefficients("normal_gamma", "tau", {"N": N}, mean_field=True)
    x = [element_symbol("x", None, (n,)) for n in range(N)]
    m1, m2 = E("mu", "x"), E("mu", "xx")
    a0, b0, kappa0, mu0 = (Symbol(s) for s in ("a0", "b0", "kappa0", "mu0"))
    # a_N = a0 + (N + 1)/2: the prior on mu, Normal(mu0, kappa0 tau), adds ½
    assert zero(C["log"] + 1 - (a0 + Rational(N + 1, 2)))
    # b_N = b0 + ½ E[Σ (x_n − μ)² + κ0 (μ − μ0)²]
    expected = sum(xn ** 2 - 2 * xn * m1 + m2 for xn in x) + kappa0 * (m2 - 2 * mu0 * m1 + mu0 ** 2)
    assert zero(-C["x"] - (b0 + expected / 2))


def test_joint_normal_gamma_is_the_conjugate_posterior():
    """The Normal–Gamma block's coefficients (log q = C_xLx τμ² + C_Lx τμ + C_L τ
    + C_logdet log τ) give the conjugate posterior (PRML (2.154) generalized;
    Murphy 2007 §3): β = κ0 + N, m = (κ0 μ0 + Σx)/β, a = a0 + N/2,
    b = b0 + ½(Σx² + κ0 μ0² − β m²)."""
    C = coefficients("normal_gamma", "mu", {"N": N})
    x = [element_symbol("x", None, (n,)) for n in range(N)]
    a0, b0, kappa0, mu0 = (Symbol(s) for s in ("a0", "b0", "kappa0", "mu0"))
    beta = -2 * C["xLx"]
    assert zero(beta - (kappa0 + N))
    m = C["Lx"] / beta
    assert zero(sympy.together(m - (kappa0 * mu0 + sum(x)) / (kappa0 + N)))
    assert zero(C["logdet"] + Rational(1, 2) - (a0 + Rational(N, 2)))
    b = -C["L"] - beta * m ** 2 / 2
    expected = b0 + (sum(xn ** 2 for xn in x) + kappa0 * mu0 ** 2 - (kappa0 + N) * m ** 2) / 2
    assert zero(sympy.together(b - expected))


def test_joint_gmm_is_prml_10_58_to_10_63():
    """The Normal–Wishart block of the mixture: β_k = β0 + N_k, β_k m_k = β0 m0 + N_k x̄_k,
    W_k⁻¹ + β_k m_k m_kᵀ = W0⁻¹ + β0 m0 m0ᵀ + Σ_n r_nk x_n x_nᵀ, ν_k = ν0 + N_k."""
    C = coefficients("gmm", "mu", {"N": N, "D": D, "K": K})
    constants = model("gmm")._compiled.derivation.constants.items.values()
    (inv,) = [c.name for c in constants if c.func == "inv"]
    inv_W0 = sympy.Matrix(D, D, lambda i, j: element_symbol(inv, None, (i, j)) / 2)
    r = [[E("z", "onehot", n, k) for k in range(K)] for n in range(N)]
    x = [[element_symbol("x", None, (n, i)) for i in range(D)] for n in range(N)]
    beta0, nu0 = Symbol("beta0"), Symbol("nu0")
    m0 = [element_symbol("m0", None, (i,)) for i in range(D)]
    for k in range(K):
        Nk = sum(r[n][k] for n in range(N))
        assert zero(-2 * C["xLx"][k] - (beta0 + Nk))
        assert zero(2 * C["logdet"][k] + D - (nu0 + Nk))
        for i in range(D):
            want = beta0 * m0[i] + sum(r[n][k] * x[n][i] for n in range(N))
            assert zero(C["Lx"][k, i] - want)
            for j in range(D):
                S = beta0 * m0[i] * m0[j] + sum(r[n][k] * x[n][i] * x[n][j] for n in range(N))
                # −2 C_L = W⁻¹ + β m mᵀ, less W0⁻¹ (a derived constant: inv(W0))
                rest = -(C["L"][k, i, j] + C["L"][k, j, i]) - S
                assert zero(rest - (inv_W0[i, j] + inv_W0[j, i]))


# ------------------------------------------------------------------ gmm_em
def gmm_symbols():
    """Data, responsibilities and the parameters (Λ_k symmetric, μμᵀ plugged in)."""
    x = [sympy.Matrix(D, 1, lambda i, _, n=n: element_symbol("x", None, (n, i))) for n in range(N)]
    r = [[E("z", "onehot", n, k) for k in range(K)] for n in range(N)]
    mu = [sympy.Matrix(D, 1, lambda i, _, k=k: E("mu", "x", k, i)) for k in range(K)]
    lam = [sympy.Matrix(D, D, lambda i, j, k=k: E("Lambda", "x", k, min(i, j), max(i, j)))
           for k in range(K)]
    plugin = {E("mu", "xx", k, i, j): mu[k][i] * mu[k][j]
              for k in range(K) for i in range(D) for j in range(D)}
    plugin.update({E("Lambda", "x", k, i, j): E("Lambda", "x", k, j, i)
                   for k in range(K) for i in range(D) for j in range(D) if i > j})
    return x, r, mu, lam, plugin


def test_gmm_em_responsibilities_are_textbook():
    C = coefficients("gmm_em", "z", {"N": N, "D": D, "K": K})
    x, r, mu, lam, plugin = gmm_symbols()
    for n in range(N):
        for k in range(K):
            resid = x[n] - mu[k]
            textbook = (E("pi", "log", k) + E("Lambda", "logdet", k) / 2
                        - (resid.T * lam[k] * resid)[0] / 2 - D / 2 * sympy.log(2 * sympy.pi))
            assert zero(C["onehot"][n, k].xreplace(plugin) - textbook.evalf(30)), (n, k)


def test_gmm_em_m_step_weights():
    C = coefficients("gmm_em", "pi", {"N": N, "D": D, "K": K})
    _, r, _, _, _ = gmm_symbols()
    # flat prior: concentration C_log + 1, mode C_log / Σ C_log = N_k / N
    for k in range(K):
        assert zero(C["log"][k] - sum(r[n][k] for n in range(N)))


def test_gmm_em_m_step_means():
    C = coefficients("gmm_em", "mu", {"N": N, "D": D, "K": K})
    x, r, _, lam, plugin = gmm_symbols()
    for k in range(K):
        nk = sum(r[n][k] for n in range(N))
        precision = (-2 * sympy.Matrix(D, D, lambda i, j: C["xx"][k, i, j])).xreplace(plugin)
        cx = sympy.Matrix(D, 1, lambda i, _: C["x"][k, i]).xreplace(plugin)
        assert all(zero(e) for e in (precision - nk * lam[k]))
        weighted = sum((r[n][k] * x[n] for n in range(N)), sympy.zeros(D, 1))
        assert all(zero(e) for e in (cx - lam[k] * weighted))
        mean = precision.inv() * cx  # the mode = the mean = x̄_k
        assert all(zero(sympy.together(e)) for e in (mean - weighted / nk))


def test_gmm_em_m_step_precisions():
    C = coefficients("gmm_em", "Lambda", {"N": N, "D": D, "K": K})
    x, r, mu, _, plugin = gmm_symbols()
    for k in range(K):
        nk = sum(r[n][k] for n in range(N))
        assert zero(C["logdet"][k] - nk / 2)
        cx = sympy.Matrix(D, D, lambda i, j: C["x"][k, i, j]).xreplace(plugin)
        scatter = sum((r[n][k] * (x[n] - mu[k]) * (x[n] - mu[k]).T for n in range(N)),
                      sympy.zeros(D, D))
        # only the symmetric part of C_x pairs with the symmetric Λ
        assert all(zero(e) for e in (-(cx + cx.T) - scatter))
    # Wishart mode (df − D − 1) V with df = 2 C_logdet + D + 1, V⁻¹ = −2 C_x (sym.):
    # Λ_k = N_k S_k⁻¹, i.e. Σ_k = S_k / N_k, the EM covariance update.
