"""What is printed equals what is computed, and equals the textbook.

1. For every model of models/, every update's printed coefficient (monomials
   and squares after δ elimination, selector sums, like terms, per factor and
   summed) equals the raw messages the emitted code computes
   (``symbolic_coefficients``), element by element in sympy.  Symmetric
   statistics (E[Λ], E[x xᵀ]) compare by their symmetric parts, which is all a
   symmetric statistic sees; a selector's one-hot rows sum to one.
2. The printed parameter formulas of gmm, lda, linreg and normal_gamma,
   evaluated from the same tree the text is rendered from, equal the textbook
   updates (PRML §10.1.3, §10.2, §10.3; Blei et al. 2003), including every
   entry of the symmetric matrices.
"""
import re
from pathlib import Path

import pytest
import sympy
from sympy import Rational, Symbol

import vmpdsl
from vmpdsl.compiler import compile_source
from vmpdsl.derive.equations import element_symbol, symbolic_coefficients
from vmpdsl.printing.formulas import C, scale

from model_sources import model_files
from printed_tree import Tree, matrix, zero

SIZES = {"N": 2, "D": 2, "K": 2, "G": 2, "T": 3, "Dc": 2, "V": 2, "C": 2, "M": 2, "F": 2}
SYMMETRIC = re.compile(r"(E\[(\w+)\.(xx|x|prev_xx)\]|(@c\d+))\[(.*)\]")


def canonical(expr, tree):
    """Symmetric atoms' last two indices in order; one-hot rows summing to one."""
    if not hasattr(expr, "free_symbols"):
        return expr
    swap = {}
    for s in expr.free_symbols:
        m = SYMMETRIC.fullmatch(s.name)
        if not m:
            continue
        var, stat, const, index = m.group(2), m.group(3), m.group(4), m.group(5).split(",")
        if const:
            symmetric = tree.derivation.constants.items[const].func == "inv"
        else:
            symmetric = stat in ("xx", "prev_xx") or tree.ctx.families.get(var) == "Wishart"
        if symmetric and len(index) >= 2 and index[-2] > index[-1]:
            swap[s] = Symbol(s.name.replace(f"[{m.group(5)}]",
                                            "[" + ",".join(index[:-2] + index[:-3:-1]) + "]"))
    expr = expr.xreplace(swap)
    weights = {s: 1 for s in expr.free_symbols if s.name.startswith(("@w", "@m"))}
    expr = expr.xreplace(weights)  # row weights of merged rows: 1 for distinct rows
    return expr.xreplace(one_hot_rows(expr))


def one_hot_rows(expr) -> dict:
    """[g[n]=K−1] = 1 − Σ_{j<K−1} [g[n]=j]; the same for q(z[n] = k)."""
    groups: dict = {}
    for s in expr.free_symbols:
        m = re.fullmatch(r"(\[\w+\[[\d,]*\]=)(\d+)\]|(E\[\w+\.onehot\]\[[\d,]*?)(\d+)\]", s.name)
        if m:
            head = m.group(1) or m.group(3)
            groups.setdefault(head, set()).add(int(m.group(2) or m.group(4)))
    out = {}
    for head, seen in groups.items():
        last = max(seen)
        sep = "" if head.endswith("=") or head.endswith("[") else ""
        sym = lambda k: Symbol(f"{head}{sep}{k}]")
        out[sym(last)] = 1 - sum(sym(k) for k in range(last))
    return out


def same(a, b, tree, symmetric=False):
    if hasattr(a, "shape") and a.shape:
        a, b = sympy.Array(a), sympy.Array(b)
        if symmetric:
            a = a + sympy.permutedims(a, list(range(a.rank() - 2)) + [a.rank() - 1, a.rank() - 2])
            b = b + sympy.permutedims(b, list(range(b.rank() - 2)) + [b.rank() - 1, b.rank() - 2])
        return all(zero(canonical(x - y, tree)) for x, y in zip(sympy.flatten(a), sympy.flatten(b)))
    return zero(canonical(a - b, tree))


@pytest.mark.parametrize("path", [i for i, _ in model_files()])
def test_printed_coefficients_equal_the_messages(path):
    model = vmpdsl.load(path + ".vmp")
    tree = Tree(model, SIZES)
    for u in tree.derivation.updates:
        raw = symbolic_coefficients(tree.derivation, u.name, SIZES)
        form = tree.forms[u.name]
        for stat, expected in raw.items():
            symmetric = (stat == "xx" and form.var.event) or (u.family == "Wishart" and stat == "x")
            printed = tree.coefficient(u.name, stat)
            assert same(printed, expected, tree, symmetric), (u.name, stat)
            steps = sum((tree.coefficient(u.name, stat, f) for f in
                         form.coefficients[stat].by_factor), 0 * expected)
            assert same(steps, expected, tree, symmetric), (u.name, stat, "steps")


# ------------------------------------------------------------- textbooks
N, D, K = 2, 2, 2


def E(var, stat, *index):
    return element_symbol(var, stat, index)


def data(name, *shape):
    if len(shape) == 1:
        return [element_symbol(name, None, (n,)) for n in range(shape[0])]
    return [sympy.Matrix(shape[1], 1, lambda i, _, n=n: element_symbol(name, None, (n, i)))
            for n in range(shape[0])]


def factorized(path):
    """The model with q(mu) q(Lambda) apart (mean_field=True), the form PRML
    §10.1.3 analyses; the default joint block is checked below."""
    return vmpdsl.Model(compile_source(open(path).read(), path, mean_field=True))


@pytest.fixture(scope="module")
def gmm():
    return Tree(factorized("models/gmm.vmp"), SIZES)


def gmm_symbols(tree):
    x = data("x", N, D)
    r = [[E("z", "onehot", n, k) for k in range(K)] for n in range(N)]
    mu = [sympy.Matrix(D, 1, lambda i, _, k=k: E("mu", "x", k, i)) for k in range(K)]
    mumu = [sympy.Matrix(D, D, lambda i, j, k=k: E("mu", "xx", k, i, j)) for k in range(K)]
    lam = [sympy.Matrix(D, D, lambda i, j, k=k: E("Lambda", "x", k, i, j)) for k in range(K)]
    inv = next(c for c in tree.derivation.constants.items.values() if c.func == "inv")
    W0inv = sympy.Matrix(D, D, lambda i, j: element_symbol(inv.name, None, (i, j)))
    m0 = sympy.Matrix(D, 1, lambda i, _: Symbol(f"m0[{i}]"))
    return x, r, mu, mumu, lam, W0inv, m0


def test_gmm_is_prml_10_2_factorized(gmm):
    """PRML §10.2 with q(μ_k) q(Λ_k) apart (the mean-field form):
    α_k = α0 + N_k (10.58); ν_k = ν0 + N_k + 1 (the +1 is μ_k's prior, which the
    joint block of 10.63 absorbs); W_k⁻¹ = W0⁻¹ + β0 E[(μ_k − m0)(μ_k − m0)ᵀ]
    + Σ_n r_nk E[(x_n − μ_k)(x_n − μ_k)ᵀ]; S_k⁻¹ = (β0 + N_k) E[Λ_k];
    m_k = (β0 m0 + Σ_n r_nk x_n)/(β0 + N_k) (10.61); log r_nk = E[ln π_k]
    + ½ E[ln|Λ_k|] − D/2 ln 2π − ½ tr(E[Λ_k] E[(x_n − μ_k)(x_n − μ_k)ᵀ]) (10.46)."""
    x, r, mu, mumu, lam, W0inv, m0 = gmm_symbols(gmm)
    alpha0, beta0, nu0 = Symbol("alpha0"), Symbol("beta0"), Symbol("nu0")
    Nk = [sum(r[n][k] for n in range(N)) for k in range(K)]
    pi = gmm.parameters("pi")["concentration"]
    Lam = gmm.parameters("Lambda")
    mean = gmm.parameters("mu")
    z = gmm.parameters("z")["log probs"]
    for k in range(K):
        assert same(pi[k], alpha0 + Nk[k], gmm)
        assert same(Lam["df"][k], nu0 + Nk[k] + 1, gmm)
        prior = mumu[k] - mu[k] * m0.T - m0 * mu[k].T + m0 * m0.T
        scatter = sum((r[n][k] * (x[n] * x[n].T - x[n] * mu[k].T - mu[k] * x[n].T + mumu[k])
                       for n in range(N)), sympy.zeros(D, D))
        expected = W0inv + beta0 * prior + scatter
        printed = matrix(Lam["scale⁻¹"], k)
        for i in range(D):  # every entry, the off-diagonal ones included
            for j in range(D):
                assert same(printed[i, j], expected[i, j], gmm), (k, i, j)
        assert all(same(a, b, gmm) for a, b in zip(matrix(mean["precision"], k),
                                                     (beta0 + Nk[k]) * lam[k]))
        xbar = (beta0 * m0 + sum((r[n][k] * x[n] for n in range(N)), sympy.zeros(D, 1)))
        for i in range(D):
            assert same(mean["mean"][k, i], xbar[i] / (beta0 + Nk[k]), gmm)
        for n in range(N):
            quad = (lam[k] * (x[n] * x[n].T - x[n] * mu[k].T - mu[k] * x[n].T + mumu[k])).trace()
            expected = (E("pi", "log", k) + E("Lambda", "logdet", k) / 2
                        - D * sympy.log(2 * sympy.pi).evalf(30) / 2 - quad / 2)
            assert same(z[n, k], expected, gmm), (n, k)


def test_lda_is_blei_2003():
    """Blei et al. 2003, eq. 6-7 with smoothing: γ_dk = α + Σ_{t: doc[t]=d} r_tk,
    λ_kv = η + Σ_{t: word[t]=v} r_tk, log r_tk = E[log θ_{doc[t],k}] + E[log φ_{k,word[t]}]."""
    tree = Tree(vmpdsl.load("models/lda.vmp"), SIZES)
    T, Dc, V = SIZES["T"], SIZES["Dc"], SIZES["V"]
    r = [[E("z", "onehot", t, k) for k in range(K)] for t in range(T)]
    doc = [[Symbol(f"[doc[{t}]={d}]") for d in range(Dc)] for t in range(T)]
    word = [[Symbol(f"[word[{t}]={v}]") for v in range(V)] for t in range(T)]
    theta = tree.parameters("theta")["concentration"]
    phi = tree.parameters("phi")["concentration"]
    z = tree.parameters("z")["log probs"]
    for d in range(Dc):
        for k in range(K):
            assert same(theta[d, k], Symbol("alpha") + sum(doc[t][d] * r[t][k] for t in range(T)),
                        tree)
    for k in range(K):
        for v in range(V):
            assert same(phi[k, v], Symbol("eta") + sum(word[t][v] * r[t][k] for t in range(T)),
                        tree)
    for t in range(T):
        for k in range(K):
            expected = sum(doc[t][d] * E("theta", "log", d, k) for d in range(Dc)) + \
                sum(word[t][v] * E("phi", "log", k, v) for v in range(V))
            assert same(z[t, k], expected, tree)


def test_linreg_is_prml_10_3():
    """PRML §10.3 / the lecture notes: a = a0 + N/2, b = b0 + ½ E||y − Xw||²;
    a_λ = e0 + D/2, b_λ = f0 + ½ E[wᵀw]; S⁻¹ = E[λ] I + E[α] XᵀX, m = E[α] S Xᵀy."""
    tree = Tree(vmpdsl.load("models/linreg.vmp"), SIZES)
    X = sympy.Matrix(N, D, lambda n, i: element_symbol("X", None, (n, i)))
    y = sympy.Matrix(data("y", N))
    m = sympy.Matrix(D, 1, lambda i, _: E("w", "x", i))
    ww = sympy.Matrix(D, D, lambda i, j: E("w", "xx", i, j))
    alpha, lam = E("alpha", "x"), E("lambda", "x")
    a = tree.parameters("alpha")
    resid = sum(y[n] ** 2 - 2 * y[n] * (X[n, :] * m)[0] + (X[n, :] * ww * X[n, :].T)[0]
                for n in range(N))
    assert same(a["shape"], Symbol("a0") + Rational(N, 2), tree)
    assert same(a["rate"], Symbol("b0") + resid / 2, tree)
    l = tree.parameters("lambda")
    assert same(l["shape"], Symbol("e0") + Rational(D, 2), tree)
    assert same(l["rate"], Symbol("f0") + ww.trace() / 2, tree)
    w = tree.parameters("w")
    precision = lam * sympy.eye(D) + alpha * X.T * X
    assert all(same(p, q, tree) for p, q in zip(matrix(w["precision"]), precision))
    mean = precision.inv() * alpha * X.T * y
    assert all(zero(sympy.together(p - q)) for p, q in zip(w["mean"], mean))


def test_normal_gamma_is_prml_10_1_3():
    """PRML (10.26)-(10.30) with λ0 = κ0: μ_N = (κ0 μ0 + Σ x_n)/(κ0 + N),
    λ_N = (κ0 + N) E[τ], a_N = a0 + (N + 1)/2, b_N = b0 + ½ E[Σ (x_n − μ)² + κ0 (μ − μ0)²]."""
    tree = Tree(factorized("models/normal_gamma.vmp"), SIZES)
    x = data("x", N)
    kappa0, mu0, a0, b0 = (Symbol(s) for s in ("kappa0", "mu0", "a0", "b0"))
    m1, m2, tau = E("mu", "x"), E("mu", "xx"), E("tau", "x")
    mu = tree.parameters("mu")
    assert zero(sympy.together(mu["mean"] - (kappa0 * mu0 + sum(x)) / (kappa0 + N)))
    assert same(mu["precision"], (kappa0 + N) * tau, tree)
    t = tree.parameters("tau")
    assert same(t["shape"], a0 + Rational(N + 1, 2), tree)
    expected = b0 + (sum(xn ** 2 - 2 * xn * m1 + m2 for xn in x)
                     + kappa0 * (m2 - 2 * m1 * mu0 + mu0 ** 2)) / 2
    assert same(t["rate"], expected, tree)


GMM_ZERO_MEAN = (Path(__file__).resolve().parents[2] / "models" / "gmm.vmp").read_text().replace(", m0 = zeros(D)", "").replace(
    "MvNormal(m0, beta0", "MvNormal(zeros(D), beta0")


@pytest.mark.parametrize("zero_mean", [False, True], ids=["m0", "zero-mean"])
def test_joint_gmm_is_prml_10_58_to_10_63(zero_mean):
    """The default Normal–Wishart block q(μ_k, Λ_k): β_k = β0 + N_k (10.60),
    m_k = (β0 m0 + N_k x̄_k)/β_k (10.61), W_k⁻¹ = W0⁻¹ + N_k S_k + β0 N_k/(β0 + N_k)
    (x̄_k − m0)(x̄_k − m0)ᵀ (10.62), evaluated from the printed definitions of x̄_k
    and S_k (10.52)-(10.53) and checked entry by entry against the messages'
    W_k⁻¹ = W0⁻¹ + β0 m0 m0ᵀ + Σ_n r_nk x_n x_nᵀ − β_k m_k m_kᵀ (10.62 before
    completing the square), ν_k = ν0 + N_k (10.63); log r_nk = E[ln π_k] + ½ E[ln|Λ_k|]
    − D/2 ln 2π − ½ E[(x_n − μ_k)ᵀΛ_k(x_n − μ_k)] expanded in the block's
    statistics (10.64)."""
    tree = Tree(vmpdsl.load(GMM_ZERO_MEAN if zero_mean else "models/gmm.vmp"), SIZES)
    x, r, _, _, _, W0inv, m0 = gmm_symbols(tree)
    m0 = m0 * 0 if zero_mean else m0
    beta0, nu0 = Symbol("beta0"), Symbol("nu0")
    q = tree.parameters("mu")
    z = tree.parameters("z")["log probs"]
    for k in range(K):
        Nk = sum(r[n][k] for n in range(N))
        assert same(q["beta"][k], beta0 + Nk, tree)
        assert same(q["df"][k], nu0 + Nk, tree)
        xbar = beta0 * m0 + sum((r[n][k] * x[n] for n in range(N)), sympy.zeros(D, 1))
        m = xbar / (beta0 + Nk)
        for i in range(D):
            assert same(q["mean"][k, i], m[i], tree)
        expected = W0inv + beta0 * m0 * m0.T + sum((r[n][k] * x[n] * x[n].T for n in range(N)),
                                                   sympy.zeros(D, D)) - (beta0 + Nk) * m * m.T
        printed = matrix(q["scale⁻¹"], k)
        assert all(zero(sympy.together(canonical(printed[i, j] - expected[i, j], tree)))
                   for i in range(D) for j in range(D))
        L = sympy.Matrix(D, D, lambda i, j: E("mu", "L", k, i, j))
        Lx = sympy.Matrix(D, 1, lambda i, _: E("mu", "Lx", k, i))
        for n in range(N):
            expected = (E("pi", "log", k) + E("mu", "logdet", k) / 2
                        - D * sympy.log(2 * sympy.pi).evalf(30) / 2
                        - (x[n].T * L * x[n])[0] / 2 + (x[n].T * Lx)[0] - E("mu", "xLx", k) / 2)
            assert same(z[n, k], expected, tree), (n, k)


def test_joint_normal_gamma_is_the_conjugate_posterior():
    """The Normal–Gamma block: β = κ0 + N, m = (κ0 μ0 + Σ x_n)/β, a = a0 + N/2,
    b = b0 + ½ κ0 μ0² + ½ Σ x_n² − β m²/2, printed as Murphy (2007) §3:
    b0 + ½ N S + κ0 N (x̄ − μ0)² / (2 (κ0 + N)) with x̄ and S defined below it."""
    tree = Tree(vmpdsl.load("models/normal_gamma.vmp"), SIZES)
    x = data("x", N)
    kappa0, mu0, a0, b0 = (Symbol(s) for s in ("kappa0", "mu0", "a0", "b0"))
    q = tree.parameters("mu")
    assert same(q["beta"], kappa0 + N, tree)
    assert zero(sympy.together(q["mean"] - (kappa0 * mu0 + sum(x)) / (kappa0 + N)))
    assert same(q["shape"], a0 + Rational(N, 2), tree)
    beta, mean = kappa0 + N, (kappa0 * mu0 + sum(x)) / (kappa0 + N)
    rate = b0 + (kappa0 * mu0 ** 2 + sum(xn ** 2 for xn in x)) / 2 - beta * mean ** 2 / 2
    assert zero(sympy.together(q["rate"] - rate))


def test_weighted_normal_gamma_prints_the_textbook_rate():
    """A mixture of univariate normals with joint q(mu[k], tau[k]): the printed
    m[k] and b[k] (in x̄[k], S[k] weighted by r[n,k]) equal the block's own
    coefficients, m = C_Lx / β and b = −C_L − β m²/2."""
    source = """model ugmm
dim N, K
data x[N]
hyper alpha0 = 1.0, mu0 = 0.0, kappa0 = 1.0, a0 = 1.0, b0 = 1.0
pi ~ Dirichlet(alpha0 * ones(K))
for k in K:
    tau[k] ~ Gamma(a0, b0)
    mu[k] ~ Normal(mu0, kappa0 * tau[k])
for n in N:
    z[n] ~ Categorical(pi)
    x[n] ~ Normal(mu[z[n]], tau[z[n]])
"""
    model = vmpdsl.load(source)
    text = str(model.equations())
    assert "  b[k] = b0 + ½ N[k] S[k] + kappa0 N[k] (x̄[k] − mu0)² / (2 (kappa0 + N[k]))\n" in text
    assert "  S[k] = (1 / N[k]) Σ_n r[n,k] (x[n] − x̄[k])²\n" in text
    assert "  x̄[k] = (1 / N[k]) Σ_n r[n,k] x[n]\n" in text  # the weight first, as in gmm and PRML
    tree = Tree(model, SIZES)
    form = tree.forms["mu"]
    q = tree.parameters("mu")
    beta = tree.pieces(form, scale(C(form, "xLx"), -2))
    mean = [tree.pieces(form, C(form, "Lx"))[k] / beta[k] for k in range(K)]
    rate = tree.pieces(form, scale(C(form, "L"), -1))
    for k in range(K):
        assert zero(sympy.together(q["mean"][k] - mean[k]))
        assert zero(sympy.together(q["rate"][k] - (rate[k] - beta[k] * mean[k] ** 2 / 2)))


@pytest.mark.parametrize("path", [i for i, _ in model_files()])
def test_printed_wishart_scale_is_symmetric_entry_by_entry(path):
    """A printed W⁻¹ is a symmetric matrix, equal entry by entry to the
    symmetric part of −2 C_x (lgssm's cross term printed −2 E[x[t] x[t-1]ᵀ] Aᵀ,
    right only as a coefficient of the symmetric Q)."""
    tree = Tree(vmpdsl.load(path + ".vmp"), SIZES)
    for u in tree.derivation.updates:
        if u.family != "Wishart" or u.point:
            continue
        printed = sympy.Array(tree.parameters(u.name)["scale⁻¹"])
        raw = sympy.Array(symbolic_coefficients(tree.derivation, u.name, SIZES)["x"])
        axes = list(range(raw.rank() - 2)) + [raw.rank() - 1, raw.rank() - 2]
        expected = -(raw + sympy.permutedims(raw, axes))
        flipped = sympy.permutedims(printed, axes)
        for a, b, c in zip(sympy.flatten(printed), sympy.flatten(flipped), sympy.flatten(expected)):
            assert zero(canonical(a - b, tree)) and zero(canonical(a - c, tree)), (u.name, a)


NORMAL_WISHART = """model nw
dim N, D
data y[N, D]
hyper m0 = zeros(D), b0 = 2.0
Lambda ~ Wishart(D, eye(D))
mu ~ MvNormal(m0, b0 * Lambda)
for n in N:
    y[n] ~ MvNormal(mu, Lambda)
"""


def test_joint_normal_wishart_of_plain_rows_is_prml_2_3_6():
    """One Normal–Wishart over unweighted rows, printed with ȳ and S: from
    their printed definitions, m = (b0 m0 + N ȳ)/β and W⁻¹ = I + N S + b0 N/β
    (ȳ − m0)(ȳ − m0)ᵀ equal the messages' m and W⁻¹ = I + b0 m0 m0ᵀ + Σ y yᵀ − β m mᵀ."""
    tree = Tree(vmpdsl.load(NORMAL_WISHART), SIZES)
    y = data("y", N, D)
    m0 = sympy.Matrix(D, 1, lambda i, _: Symbol(f"m0[{i}]"))
    b0 = Symbol("b0")
    q = tree.parameters("mu")
    m = (b0 * m0 + sum(y, sympy.zeros(D, 1))) / (b0 + N)
    inv = next(c for c in tree.derivation.constants.items.values() if c.func == "inv")
    W0inv = sympy.Matrix(D, D, lambda i, j: element_symbol(inv.name, None, (i, j)))  # inv(eye)
    expected = W0inv + b0 * m0 * m0.T + sum((v * v.T for v in y), sympy.zeros(D, D)) \
        - (b0 + N) * m * m.T
    for i in range(D):
        assert zero(sympy.together(q["mean"][i] - m[i]))
        for j in range(D):
            assert zero(sympy.together(canonical(q["scale⁻¹"][i, j] - expected[i, j], tree)))
