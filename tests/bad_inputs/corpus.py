"""The bad-input corpus (issue 6): one table of hostile models, bad data, bad
hyperparameters and numerical edge cases, each with its exact outcome.

A case is ``Case(id, kind, model, data, options, expect)``:

* ``model``: an example model's name (``models/<name>.vmp``) or model text;
* ``data``: a dict for ``Model.fit`` (None: compile only);
* ``options``: keyword arguments of ``fit`` (hypers, missing, init, ...);
* ``expect``: ``Ok(check)`` — it compiles (and fits, with finite, monotone
  ELBO) and ``check(fit_or_model)`` holds — or ``Err(class, *substrings)`` —
  it raises exactly that VmpError subclass with every substring in ``str(err)``
  (``Warn(substring, check)`` — it fits and warns).

The models' text never makes anything run: MARKER is the file a case would
create if any of its text were executed as Python (test_corpus checks it never
appears).  tests/language/bad_models.py (malformed models) and
tests/engine/test_engine_bad_data.py (basic bad data) are not repeated here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vmpdsl.errors import VmpCheckError, VmpDataError, VmpError, VmpSyntaxError

MARKER = "vmpdsl_pwned_marker"


def gmm_roundoff(fit):
    """The float64 resolution of gmm's ELBO: its data monomials x_nᵀ E[Λ_k] x_n
    are summed before they cancel, so each carries about eps·|x_n|²·‖E[Λ_k]‖
    of round-off (4× for the few products per entry); test_roundoff.py checks
    that the ELBO's decreases are within it."""
    q = fit.posterior["Lambda"]
    norm = max(np.linalg.norm(df * scale, 2) for df, scale in zip(q["df"], q["scale"]))
    return 4 * np.finfo(float).eps * FAR_SQUARES * norm


@dataclass(frozen=True)
class Ok:
    check: object = None  # callable(fit or model) -> bool, or None


@dataclass(frozen=True)
class Err:
    cls: type
    parts: tuple = ()

    def __init__(self, cls, *parts):
        object.__setattr__(self, "cls", cls)
        object.__setattr__(self, "parts", parts)


@dataclass(frozen=True)
class Warn:
    part: str
    check: object = None


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # hostile | data | hyper | numeric
    model: str
    data: object = None
    options: dict = field(default_factory=dict)
    expect: object = Ok()
    # fit -> how far the ELBO may fall between sweeps beyond 1e-9 relative:
    # only where test_roundoff.py shows the evaluation's round-off is larger
    elbo_slack: object = None


# ----------------------------------------------------------------- data
RNG = np.random.default_rng(6)
X1 = RNG.normal(size=25)
XLIN = RNG.normal(size=(30, 3))
YLIN = XLIN @ np.array([1.0, -2.0, 0.5]) + 0.3 * RNG.normal(size=30)
XGMM = np.r_[RNG.normal(size=(20, 2)) - 3, RNG.normal(size=(20, 2)) + 3]
FAR_SQUARES = float(np.sum(np.r_[XGMM[:20], XGMM[20:] + 1e5] ** 2))  # far-apart-clusters
COUNTS = np.r_[RNG.poisson(2, 15), RNG.poisson(20, 15)]
COIN = (RNG.random(30) < 0.3).astype(int)
LDA = {"doc": np.array([0, 0, 0, 1, 1, 1]), "word": np.array([0, 1, 2, 1, 2, 3]),
       "Dc": 2, "K": 2, "V": 4}


def ng_text(mu="mu", tau="tau", x="x", N="N", n="n", model="normal_gamma", a0="a0"):
    """The normal–gamma model with every name replaceable."""
    return (f"model {model}\ndim {N}\ndata {x}[{N}]\nhyper {a0} = 1.0\n"
            f"{tau} ~ Gamma({a0}, 1.0)\n{mu} ~ Normal(0.0, {tau})\n"
            f"for {n} in {N}:\n    {x}[{n}] ~ Normal({mu}, {tau})\n")


def same_as_plain(fit):
    """The posterior of the plain normal–gamma model on X1 (names do not matter)."""
    import vmpdsl
    plain = vmpdsl.load(ng_text()).fit({"x": X1}, max_iter=50)
    ours = [np.asarray(v) for q in fit.posterior.values() for v in q.values()]
    theirs = [np.asarray(v) for q in plain.posterior.values() for v in q.values()]
    return len(ours) == len(theirs) and all(np.allclose(a, b, rtol=1e-12, atol=0)
                                            for a, b in zip(ours, theirs))


def gmm_fit(**options):
    import os
    import vmpdsl
    path = os.path.join(os.path.dirname(__file__), "..", "..", "models", "gmm.vmp")
    return vmpdsl.load(path).fit(dict(GMM_DATA), **options)


def plain_gmm():
    import os
    import vmpdsl
    path = os.path.join(os.path.dirname(__file__), "..", "..", "models", "gmm.vmp")
    return vmpdsl.load(path).fit({"x": XGMM, "K": 2}, max_iter=100, seed=0)


def ng_case(id, data_name="x", **names):
    return Case(id, "hostile", ng_text(**names), {names.get("x", "x"): X1},
                {"max_iter": 50}, Ok(same_as_plain))


def has(*names):
    return lambda fit: set(names) <= set(fit.posterior)


def with_nan(array, rows):
    out = np.array(array, dtype=float)
    out[rows] = np.nan
    return out


LONG = "v" * 10_000
BREAKOUT = "'''\nimport os\nopen(" + repr(MARKER) + ", 'w')\n'''"

CASES = [
    # ------------------------------------------------ hostile model text
    ng_case("name-lambda", mu="lambda"),
    ng_case("name-import", tau="import"),
    ng_case("name-dunder-import", mu="__import__"),
    ng_case("name-np", mu="np"),
    ng_case("name-scipy", tau="scipy"),
    ng_case("name-sps", mu="sps"),
    ng_case("name-fit", mu="fit"),
    ng_case("name-self", tau="self"),
    ng_case("name-dunder-init", mu="__init__"),
    ng_case("name-dunder-builtins", tau="__builtins__"),
    ng_case("name-contract", mu="contract"),
    ng_case("name-E", mu="E"),
    ng_case("name-K-as-latent", tau="K"),
    ng_case("name-C", mu="C"),
    ng_case("name-OneHot", tau="OneHot"),
    ng_case("name-exec-as-data", x="exec"),
    ng_case("name-open-as-data", x="open"),
    ng_case("name-print-as-plate-index", n="print"),
    ng_case("name-None-as-dim", N="None"),
    ng_case("name-True-as-hyper", a0="True"),
    ng_case("name-class-as-model", model="class"),
    ng_case("name-dunder-class-model", model="__class__"),
    ng_case("name-DataError", mu="DataError"),
    ng_case("name-_hypers", tau="_hypers"),
    ng_case("name-10000-chars", mu=LONG),
    ng_case("name-greek", mu="μ", tau="τ"),
    Case("reserved-data-as-name", "hostile", ng_text(mu="data"), {"x": X1}, {},
         Err(VmpSyntaxError, "expected a name after 'data'", "'data' is a reserved word")),
    Case("reserved-dim-as-name", "hostile", ng_text(tau="dim"), {"x": X1}, {},
         Err(VmpSyntaxError, "expected a name after 'dim'")),
    Case("reserved-hyper-as-name", "hostile", ng_text(mu="hyper"), {"x": X1}, {},
         Err(VmpSyntaxError, "expected a name after 'hyper'")),
    Case("nfkc-lookalike-fi-ligature", "hostile",
         "dim N\ndata x[N]\nﬁ ~ Normal(0.0, 1.0)\nfi ~ Gamma(1.0, 1.0)\n"
         "for n in N:\n    x[n] ~ Normal(ﬁ, fi)\n", {"x": X1}, {"max_iter": 20},
         Ok(lambda fit: list(fit.posterior) == ["ﬁ", "fi"]
            and fit.family("ﬁ") == "Normal" and fit.family("fi") == "Gamma")),
    Case("nfkc-lookalike-data-key", "hostile",
         "dim N\ndata ﬁ[N]\nmu ~ Normal(0.0, 1.0)\nfor n in N:\n    ﬁ[n] ~ Normal(mu, 1.0)\n",
         {"fi": X1}, {}, Err(VmpDataError, "the data has no array 'ﬁ'")),
    Case("nfkc-fullwidth-name", "hostile", ng_text(mu="ｍｕ"), {"x": X1}, {"max_iter": 50},
         Ok(has("ｍｕ"))),
    Case("breakout-comment-triple-quotes", "hostile",
         "# \"\"\" ''' \\ \\\\ \" ' open('" + MARKER + "','w') \"\"\"\n" + ng_text(),
         {"x": X1}, {"max_iter": 50}, Ok(same_as_plain)),
    Case("breakout-comment-newline-code", "hostile",
         ng_text().replace("\nfor", "  # \\\nfor").replace(
             "tau ~ Gamma(a0, 1.0)", "tau ~ Gamma(a0, 1.0)  # \"\"\"); open('" + MARKER + "', 'w')#"),
         {"x": X1}, {"max_iter": 50}, Ok(same_as_plain)),
    Case("breakout-in-name", "hostile", ng_text(mu="mu'] + open('" + MARKER + "', 'w') + E['"),
         {"x": X1}, {}, Err(VmpSyntaxError, "unexpected character")),
    Case("breakout-string-as-number", "hostile",
         ng_text().replace("hyper a0 = 1.0", "hyper a0 = \"\"\"1\"\"\""), {"x": X1}, {},
         Err(VmpSyntaxError, "unexpected character '\"'")),
    Case("breakout-multiline-string", "hostile", BREAKOUT + "\n" + ng_text(), {"x": X1}, {},
         Err(VmpSyntaxError, "unexpected character")),
    Case("breakout-backslash-continuation", "hostile",
         ng_text().replace("mu ~ Normal(0.0, tau)", "mu ~ Normal(0.0, \\\ntau)"), {"x": X1}, {},
         Err(VmpSyntaxError, "unexpected character '\\'")),
    Case("breakout-dunder-call", "hostile",
         ng_text().replace("Normal(0.0, tau)", "__import__('os')"), {"x": X1}, {},
         Err(VmpSyntaxError)),
    Case("breakout-attribute", "hostile",
         ng_text().replace("Normal(0.0, tau)", "Normal(0.0, tau.__class__)"), {"x": X1}, {},
         Err(VmpSyntaxError, "unexpected character '.'")),
    Case("breakout-exec-as-distribution", "hostile",
         ng_text().replace("Normal(0.0, tau)", "exec(tau)"), {"x": X1}, {},
         Err(VmpCheckError, "unknown distribution 'exec'")),
    Case("breakout-eval-as-function", "hostile",
         ng_text().replace("Normal(0.0, tau)", "Normal(eval(0.0), tau)"), {"x": X1}, {},
         Err(VmpCheckError, "unknown function 'eval'")),
    Case("gmm-helper-names", "hostile",
         "model np\ndim N, sps, contract\ndata x[N, contract]\n"
         "hyper K = 1.0, E = 1.0, C = contract, dim_ = eye(contract), data_ = zeros(contract)\n"
         "OneHot ~ Dirichlet(K * ones(sps))\nfor k in sps:\n    fit[k] ~ Wishart(C, dim_)\n"
         "    lambda[k] ~ MvNormal(data_, E * fit[k])\nfor n in N:\n"
         "    import[n] ~ Categorical(OneHot)\n    x[n] ~ MvNormal(lambda[import[n]], fit[import[n]])\n",
         {"x": XGMM, "sps": 2}, {"max_iter": 100, "seed": 0},
         Ok(lambda fit: np.allclose(fit.elbo, plain_gmm().elbo, rtol=1e-12)
            and np.allclose(fit.mean("OneHot"), plain_gmm().mean("pi"), rtol=1e-12))),

    # ------------------------------------------------------------ bad data
    Case("extra-array-warns", "data", "normal_gamma", {"x": X1, "y": X1, "zz": 3}, {},
         Warn("ignoring data the model does not use: y, zz")),
    Case("data-not-a-dict", "data", "normal_gamma", [X1], {},
         Err(VmpDataError, "data must be a dict of arrays by name, got list")),
    Case("dims-disagree-between-arrays", "data", "linreg", {"X": XLIN, "y": YLIN[:29]}, {},
         Err(VmpDataError, "dim N is 30 elsewhere but axis 0 of 'y' has size 29")),
    Case("dims-disagree-with-given-dim", "data", "gmm", {"x": XGMM, "K": 2, "D": 3}, {},
         Err(VmpDataError, "dim D is 3 elsewhere but axis 1 of 'x' has size 2")),
    Case("wrong-shape-scalar", "data", "normal_gamma", {"x": 1.0}, {},
         Err(VmpDataError, "'x' must have 1 axis (N), got shape ()")),
    Case("complex-data", "data", "normal_gamma", {"x": X1 + 1j}, {},
         Err(VmpDataError, "'x' must be an array of real numbers, got dtype complex128")),
    Case("string-numbers", "data", "normal_gamma", {"x": X1.astype(str)}, {},
         Err(VmpDataError, "'x' must be an array of real numbers")),
    Case("ragged-data", "data", "gmm", {"x": [[1.0, 2.0], [3.0]], "K": 2}, {},
         Err(VmpDataError, "'x' must be an array of real numbers")),
    Case("none-in-data", "data", "normal_gamma", {"x": [1.0, None, 2.0]}, {},
         Err(VmpDataError, "'x' has a non-finite value (NaN or inf) at index (1,)")),
    Case("nan-error-by-default", "data", "normal_gamma", {"x": with_nan(X1, [4])}, {},
         Err(VmpDataError, "'x' has a non-finite value (NaN or inf) at index (4,)")),
    Case("inf-with-missing-skip", "data", "normal_gamma",
         {"x": np.where(np.arange(25) == 2, np.inf, X1)}, {"missing": "skip"},
         Err(VmpDataError, "'x' has a non-finite value (NaN or inf) at index (2,)")),
    Case("nan-in-covariate-with-skip", "data", "linreg",
         {"X": with_nan(XLIN, (3, 1)), "y": YLIN}, {"missing": "skip"},
         Err(VmpDataError, "'X' has a non-finite value (NaN or inf) at index (3, 1)")),
    Case("missing-option-unknown", "data", "normal_gamma", {"x": X1}, {"missing": "drop"},
         Err(VmpDataError, "missing must be 'error' or 'skip', got 'drop'")),
    Case("poisson-fractional", "data", "poisson_mix",
         {"c": np.r_[COUNTS[:-1], 2.5], "K": 2}, {},
         Err(VmpDataError, "'c' is declared int but has fractional values")),
    Case("poisson-negative-first", "data", "poisson_mix", {"c": np.r_[-1, COUNTS], "K": 2}, {},
         Err(VmpDataError, "'c': Poisson counts must be non-negative integers; found -1")),
    Case("binomial-more-than-trials", "data",
         "dim N\ndata c[N]: int\nhyper trials = 5\np ~ Beta(1.0, 1.0)\n"
         "for n in N:\n    c[n] ~ Binomial(trials, p)\n", {"c": np.array([0, 3, 6, 2])}, {},
         Err(VmpDataError, "'c': Binomial counts must be integers between 0 and the number "
                           "of trials; found 6 at index (2,) (5 trials)")),
    Case("binomial-negative", "data",
         "dim N\ndata c[N]: int\nhyper trials = 5\np ~ Beta(1.0, 1.0)\n"
         "for n in N:\n    c[n] ~ Binomial(trials, p)\n", {"c": np.array([0, -3, 1])}, {},
         Err(VmpDataError, "'c': Binomial counts must be integers", "found -3")),
    Case("binomial-fractional-trials", "hyper",
         "dim N\ndata c[N]: int\nhyper trials = 5\np ~ Beta(1.0, 1.0)\n"
         "for n in N:\n    c[n] ~ Binomial(trials, p)\n", {"c": np.array([0, 3, 1])},
         {"hypers": {"trials": 4.5}},
         Err(VmpDataError, "hyperparameter trials gives the trials of the Binomial likelihood "
                           "of 'c' (line 6)", "Binomial trials must be non-negative integers")),
    Case("binomial-good", "data",
         "dim N\ndata c[N]: int\nhyper trials = 5\np ~ Beta(1.0, 1.0)\n"
         "for n in N:\n    c[n] ~ Binomial(trials, p)\n", {"c": np.array([0, 3, 5, 2])},
         {"max_iter": 20}, Ok(lambda fit: np.allclose(fit.posterior["p"]["a"], 11.0)
                              and np.allclose(fit.posterior["p"]["b"], 11.0))),
    Case("bernoulli-minus-one", "data", "coin", {"x": np.r_[COIN, -1]}, {},
         Err(VmpDataError, "'x': Bernoulli observations must be 0 or 1; found -1 at index (30,)")),
    Case("bernoulli-half", "data", "coin", {"x": np.r_[COIN, 0.5]}, {},
         Err(VmpDataError, "'x' is declared int but has fractional values")),
    Case("categorical-label-fractional", "data", "lda", dict(LDA, word=LDA["word"] + 0.5), {},
         Err(VmpDataError, "'word' is declared int but has fractional values")),
    Case("categorical-label-negative", "data", "lda", dict(LDA, word=LDA["word"] - 1), {},
         Err(VmpDataError, "'word' indexes V = 4 values but has -1 at index (0,)")),
    Case("index-out-of-range-doc", "data", "lda", dict(LDA, doc=np.array([0, 0, 0, 1, 1, 2])), {},
         Err(VmpDataError, "'doc' indexes Dc = 2 values but has 2 at index (5,)")),
    Case("zero-categories", "data", "lda", dict(LDA, V=0), {},
         Err(VmpDataError, "'word' takes values in 0..V-1 but V = 0; it must be at least 1")),
    Case("zero-components", "data", "gmm", {"x": XGMM, "K": 0}, {},
         Err(VmpDataError, "'pi' is a Dirichlet over 0 categories")),
    Case("dim-not-a-number", "data", "gmm", {"x": XGMM, "K": "two"}, {},
         Err(VmpDataError, "dim K must be a non-negative whole number, got 'two'")),
    Case("dim-negative", "data", "gmm", {"x": XGMM, "K": -2}, {},
         Err(VmpDataError, "dim K must be a non-negative whole number, got -2")),
    Case("empty-plate-is-the-prior", "data", "normal_gamma", {"x": np.zeros(0)}, {"max_iter": 20},
         # the joint Normal–Gamma q is the prior itself: a0 = b0 = kappa0 = 1, mu0 = 0
         Ok(lambda fit: np.allclose(fit.posterior["tau"]["shape"], 1.0)
            and np.allclose(fit.posterior["tau"]["rate"], 1.0)
            and np.allclose(fit.posterior["mu"]["mean"], 0.0)
            and np.allclose(fit.posterior["mu"]["beta"], 1.0))),
    Case("empty-plate-mean-field", "data", "normal_gamma", {"x": np.zeros(0)},
         {"max_iter": 20, "mean_field": True},
         # the mean-field fixed point of the prior alone: shape a0 + 1/2, E[tau] = 1
         Ok(lambda fit: np.allclose(fit.posterior["tau"]["shape"], 1.5)
            and np.allclose(fit.posterior["tau"]["rate"], 1.5)
            and np.allclose(fit.posterior["mu"]["mean"], 0.0)
            and np.allclose(fit.posterior["mu"]["precision"], 1.0))),
    Case("empty-plate-gmm-is-the-prior", "data", "gmm", {"x": np.zeros((0, 2)), "K": 3},
         {"max_iter": 20}, Ok(lambda fit: np.allclose(fit.posterior["pi"]["concentration"], 1.0)
                              and np.allclose(fit.posterior["Lambda"]["df"], 2.0)  # the prior
                              and np.allclose(fit.posterior["mu"]["beta"], 1.0)
                              and np.allclose(fit.posterior["mu"]["mean"], 0.0))),
    Case("empty-plate-gmm-mean-field", "data", "gmm", {"x": np.zeros((0, 2)), "K": 3},
         {"max_iter": 20, "mean_field": True},
         Ok(lambda fit: np.allclose(fit.posterior["pi"]["concentration"], 1.0)
            and np.allclose(fit.posterior["Lambda"]["df"], 3.0)
            and np.allclose(fit.posterior["mu"]["mean"], 0.0))),
    # No rows: the rotation step has nothing to rotate (it divided by zero),
    # and tau keeps its prior Gamma(1e-3, 1e-3).
    Case("empty-plate-pca-is-the-prior", "data", "pca", {"Y": np.zeros((0, 5)), "K": 2},
         {"max_iter": 20, "seed": 0},
         Ok(lambda fit: np.allclose(fit.posterior["tau"]["shape"], 1e-3)
            and np.allclose(fit.posterior["tau"]["rate"], 1e-3))),
    Case("more-components-than-points", "data", "gmm", {"x": XGMM[:3], "K": 10},
         {"max_iter": 200, "seed": 0},
         Ok(lambda fit: np.isclose(fit.posterior["pi"]["concentration"].sum(), 13.0))),
    Case("all-points-identical-gmm", "data", "gmm", {"x": np.ones((50, 2)), "K": 3},
         {"max_iter": 200, "seed": 0},
         Ok(lambda fit: np.allclose(fit.mean("mu")[np.argmax(fit.mean("pi"))], 50 / 51, atol=2e-3))),
    Case("all-points-identical-ng", "data", "normal_gamma", {"x": np.full(40, 2.0)},
         {"max_iter": 200}, Ok(lambda fit: abs(fit.mean("mu") - 80 / 41) < 1e-9)),
    Case("tiny-values-1e-300", "data", "normal_gamma", {"x": X1 * 1e-300}, {"max_iter": 100},
         Ok(lambda fit: abs(fit.mean("mu")) < 1e-250)),
    Case("huge-values-1e300-overflow", "numeric", "normal_gamma", {"x": X1 * 1e300}, {},
         Err(VmpDataError, "the fit failed: the update of q(mu, tau) gave an invalid "
                           "NormalGamma", "found nan")),
    Case("huge-values-1e150-gmm", "numeric", "gmm", {"x": XGMM * 1e150, "K": 2},
         {"max_iter": 100, "seed": 0}, Ok()),

    # ------------------------------------------------------ bad hyperparameters
    Case("hyper-shape-negative", "hyper", "normal_gamma", {"x": X1}, {"hypers": {"a0": -1.0}},
         Err(VmpDataError, "hyperparameter a0 gives the shape of the Gamma prior of 'tau' "
                           "(line 5), which is invalid: Gamma shape must be positive")),
    Case("hyper-rate-zero", "hyper", "normal_gamma", {"x": X1}, {"hypers": {"b0": 0.0}},
         Err(VmpDataError, "hyperparameter b0 gives the rate of the Gamma prior of 'tau'")),
    Case("hyper-precision-factor-negative", "hyper", "normal_gamma", {"x": X1},
         {"hypers": {"kappa0": -1.0}},
         Err(VmpDataError, "the prior of 'mu' (line 6: Normal) is not a valid distribution: "
                           "Normal–Gamma beta must be positive", "kappa0")),
    Case("hyper-precision-factor-negative-mean-field", "hyper", "normal_gamma", {"x": X1},
         {"hypers": {"kappa0": -1.0}, "mean_field": True},
         Err(VmpDataError, "the prior of 'mu' (line 6: Normal) is not a valid distribution: "
                           "Normal precision must be positive", "kappa0")),
    Case("hyper-mvnormal-precision-zero", "hyper", "gmm", {"x": XGMM, "K": 2},
         {"hypers": {"beta0": 0.0}},
         Err(VmpDataError, "the prior of 'mu' (line 8: MvNormal) is not a valid distribution",
             "beta0")),
    Case("hyper-weight-precision-negative", "hyper", "linreg_em", {"X": XLIN, "y": YLIN},
         {"hypers": {"lambda": -2.0}},
         Err(VmpDataError, "hyperparameter lambda gives the precision of the MvNormal prior "
                           "of 'w' (line 7)", "must be positive definite")),
    Case("hyper-wishart-df-too-small", "hyper", "gmm", {"x": XGMM, "K": 2},
         {"hypers": {"nu0": 1.0}},
         Err(VmpDataError, "hyperparameter nu0 gives the df of the Wishart prior of 'Lambda' "
                           "(line 7)", "Wishart df must exceed D - 1 = 1; found 1.0")),
    Case("hyper-wishart-scale-not-spd", "hyper", "gmm", {"x": XGMM, "K": 2},
         {"hypers": {"W0": np.array([[1.0, 2.0], [2.0, 1.0]])}},
         Err(VmpDataError, "hyperparameter W0 gives the scale of the Wishart prior of 'Lambda'",
             "must be positive definite")),
    Case("hyper-wishart-scale-asymmetric", "hyper", "gmm", {"x": XGMM, "K": 2},
         {"hypers": {"W0": np.array([[1.0, 0.5], [0.0, 1.0]])}},
         Err(VmpDataError, "hyperparameter W0", "Wishart scale must be symmetric")),
    Case("hyper-concentration-zero", "hyper", "gmm", {"x": XGMM, "K": 2},
         {"hypers": {"alpha0": 0.0}},
         Err(VmpDataError, "hyperparameter alpha0 gives the concentration of the Dirichlet "
                           "prior of 'pi' (line 5)")),
    Case("hyper-lda-eta-negative", "hyper", "lda", LDA, {"hypers": {"eta": -0.1}},
         Err(VmpDataError, "hyperparameter eta gives the concentration of the Dirichlet prior "
                           "of 'phi'")),
    Case("hyper-ard-shape-zero", "hyper", "pca", {"Y": XLIN, "K": 2}, {"hypers": {"a": 0.0}},
         Err(VmpDataError, "hyperparameter a gives the shape of the Gamma prior of 'tau'")),
    Case("hyper-literal-in-model-invalid", "hyper",
         "dim N\ndata x[N]\ntau ~ Gamma(-1.0, 1.0)\nfor n in N:\n    x[n] ~ Normal(0.0, tau)\n",
         {"x": X1}, {}, Err(VmpDataError, "the constant gives the shape of the Gamma prior of "
                                          "'tau' (line 3)")),
    Case("hyper-likelihood-precision-negative", "hyper",
         "dim N\ndata x[N]\nhyper prec = 1.0\nmu ~ Normal(0.0, 1.0)\n"
         "for n in N:\n    x[n] ~ Normal(mu, prec)\n", {"x": X1}, {"hypers": {"prec": -1.0}},
         Err(VmpDataError, "hyperparameter prec gives the precision of the Normal likelihood "
                           "of 'x' (line 6)")),
    Case("hyper-wrong-shape", "hyper", "gmm", {"x": XGMM, "K": 2}, {"hypers": {"W0": np.eye(3)}},
         Err(VmpDataError, "hyperparameter 'W0' must have shape (2, 2), got (3, 3)")),
    Case("hyper-unknown-name", "hyper", "gmm", {"x": XGMM, "K": 2}, {"hypers": {"alpha": 1.0}},
         Err(VmpDataError, "unknown hyperparameter 'alpha'; the model has alpha0, beta0, nu0, "
                           "W0, m0")),
    Case("hyper-not-a-number", "hyper", "normal_gamma", {"x": X1}, {"hypers": {"mu0": "zero"}},
         Err(VmpDataError, "hyperparameter 'mu0' must be an array of real numbers")),
    Case("hyper-nan", "hyper", "normal_gamma", {"x": X1}, {"hypers": {"mu0": np.nan}},
         Err(VmpDataError, "hyperparameter 'mu0' must be finite")),
    Case("hypers-not-a-dict", "hyper", "normal_gamma", {"x": X1}, {"hypers": [1.0]},
         Err(VmpDataError, "hypers must be a dict")),

    # ------------------------------------------------------------- options
    Case("init-unknown-latent", "data", "gmm", {"x": XGMM, "K": 2}, {"init": {"zz": 1}},
         Err(VmpDataError, "init names zz, which is not a latent; the latents are pi, mu, "
                           "Lambda, z")),
    Case("init-block-member", "data", "gmm", {"x": XGMM, "K": 2}, {"init": {"Lambda": 1}},
         Err(VmpDataError, "init: mu, Lambda have one joint NormalWishart q; give init['mu']",
             "mean_field=True")),
    Case("seed-not-a-number", "data", "normal_gamma", {"x": X1}, {"seed": "a"},
         Err(VmpDataError, "seed must be a whole number or None, got 'a'")),
    Case("max-iter-bool", "data", "normal_gamma", {"x": X1}, {"max_iter": True},
         Err(VmpDataError, "max_iter must be a positive whole number, got True")),

    # --------------------------------------------------- numerical robustness
    Case("responsibilities-underflow-far-points", "numeric", "gmm",
         {"x": np.r_[XGMM, [[1e3, -1e3]]], "K": 2}, {"max_iter": 300, "seed": 0},
         Ok(lambda fit: np.all(np.isfinite(fit.posterior["z"]["probs"])))),
    Case("far-apart-clusters", "numeric", "gmm",
         {"x": np.r_[XGMM[:20], XGMM[20:] + 1e5], "K": 2}, {"max_iter": 300, "seed": 0},
         Ok(lambda fit: np.allclose(np.sort(fit.mean("pi")), [0.5, 0.5], atol=0.02)),
         elbo_slack=lambda fit: gmm_roundoff(fit)),
    Case("collinear-design-near-singular", "numeric", "linreg",
         {"X": np.c_[XLIN[:, :1], XLIN[:, :1] * (1 + 1e-12), XLIN[:, 2:]], "y": YLIN},
         {"max_iter": 300}, Ok(lambda fit: np.all(np.isfinite(fit.mean("w"))))),
    Case("singular-init-precision", "numeric", "gmm", {"x": XGMM, "K": 2},
         {"init": {"mu": {"mean": np.zeros((2, 2)), "precision": np.zeros((2, 2, 2))}},
          "mean_field": True},
         Err(VmpDataError, "init for 'mu': MvNormal precision must be positive definite")),
    Case("huge-n", "numeric", "normal_gamma", {"x": np.tile(X1, 40_000)}, {"max_iter": 50},
         Ok(lambda fit: fit.posterior["tau"]["shape"] == 1.0 + 1e6 / 2)),  # a0 + N/2 (joint)
]


# ------------------------------------------- issue 15: the remaining crash classes
def raises(cls, part, function, *args, **kwargs):
    """True when ``function(*args, **kwargs)`` raises exactly ``cls`` saying ``part``."""
    try:
        function(*args, **kwargs)
    except VmpError as err:
        return type(err) is cls and part in str(err)
    return False


def refit(fit, data, **options):
    """The same model fitted again with other options (the reference of a case)."""
    import vmpdsl
    return vmpdsl.load(fit.model.checked.source).fit(data, **options)


def plain_without(rows):
    """The plain normal–gamma fit on X1 without the given rows (the exact
    answer of missing="skip", which drops their factors)."""
    import vmpdsl
    return vmpdsl.load(ng_text()).fit({"x": np.delete(X1, rows)}, max_iter=50)


def same_posterior(a, b):
    return all(np.allclose(a.posterior[n][k], b.posterior[n][k], rtol=1e-12, atol=0)
               for n in a.posterior for k in a.posterior[n])


def nested_plates(depth, axes=None):
    """x observed inside ``depth`` nested plates (``axes`` of them declared on x)."""
    dims = [f"P{i}" for i in range(depth)]
    text = (f"dim {', '.join(dims)}\ndata x[{', '.join(dims[:axes or depth])}]\n"
            "tau ~ Gamma(1.0, 1.0)\n")
    for i in range(depth):
        text += "    " * i + f"for i{i} in P{i}:\n"
    return text + "    " * depth + f"x[{', '.join(f'i{i}' for i in range(axes or depth))}] ~ " \
        "Normal(0.0, tau)\n"


def many_latents(n):
    """n latents, each with its own prior; the data see the first."""
    return ("dim N\ndata x[N]\ntau ~ Gamma(1.0, 1.0)\n"
            + "".join(f"a{i} ~ Normal(0.0, tau)\n" for i in range(n))
            + "for n in N:\n    x[n] ~ Normal(a0, tau)\n")


def hyper_sum(n):
    return ("dim N\ndata x[N]\nhyper " + ", ".join(f"h{i} = 1.0" for i in range(n))
            + "\nhyper s = " + " + ".join(f"h{i}" for i in range(n))
            + "\nmu ~ Normal(0.0, s)\nfor n in N:\n    x[n] ~ Normal(mu, 1.0)\n")


PRODUCT_OF_SUMS = ("dim N\ndata x[N]\ntau ~ Gamma(1.0, 1.0)\n"
                   + "".join(f"{c}{i} ~ Normal(0.0, 1.0)\n" for c in "abc" for i in range(5))
                   + "for n in N:\n    x[n] ~ Normal("
                   + "*".join("(" + "+".join(f"{c}{i}" for i in range(5)) + ")" for c in "abc")
                   + ", tau)\n")
GMM_DATA = {"x": XGMM, "K": 2}
MASKED = np.ma.masked_array(X1, mask=np.isin(np.arange(25), [3, 7]))

CASES += [
    # literals and constant arithmetic
    Case("literal-1e999", "numeric", ng_text().replace("Normal(0.0, tau)", "Normal(0.0, 1e999 * tau)"),
         {"x": X1}, {}, Err(VmpSyntaxError, "6:18", "the number 1e999 is too large")),
    Case("dim-default-1e999", "numeric", ng_text().replace("dim N", "dim N, K = 1e999"), {"x": X1},
         {}, Err(VmpSyntaxError, "2:12", "the number 1e999 is too large")),
    Case("hyper-division-by-zero", "hyper", ng_text().replace("hyper a0 = 1.0", "hyper a0 = 1.0/0.0"),
         {"x": X1}, {}, Err(VmpCheckError, "4:12", "hyper a0 cannot be computed: it divides by "
                                                  "zero")),
    Case("hyper-dims-division-by-zero", "hyper",
         ng_text().replace("dim N", "dim N, D").replace("hyper a0 = 1.0", "hyper a0 = D/(D-D)"),
         {"x": X1, "D": 2}, {}, Err(VmpDataError, "hyper a0 (line 4) cannot be computed: "
                                                  "division by zero")),
    Case("hyper-product-overflow", "hyper", ng_text().replace("hyper a0 = 1.0", "hyper a0 = 1e300*1e300"),
         {"x": X1}, {}, Err(VmpCheckError, "4:12", "hyper a0 cannot be computed: it overflows")),
    # with a dim, the default is computed when the fit knows the dim
    Case("hyper-dims-product-overflow", "hyper",
         ng_text().replace("dim N", "dim N, D").replace("hyper a0 = 1.0", "hyper a0 = 1e300*D*1e300"),
         {"x": X1, "D": 2}, {}, Err(VmpDataError, "hyper a0 (line 4) is not finite (it evaluates "
                                                  "to inf)")),
    Case("literal-product-overflow", "numeric",
         ng_text().replace("Normal(0.0, tau)", "Normal(0.0, 1e300 * 1e300 * tau)"), {"x": X1}, {},
         Err(VmpCheckError, "6:18", "come to more than the largest float")),
    Case("literal-sum-overflow", "numeric",
         ng_text().replace("Normal(0.0, tau)", "Normal(1e308 + 1e308, tau)"), {"x": X1}, {},
         Err(VmpCheckError, "6:1", "come to more than the largest float")),
    # models with nothing to fit
    Case("no-latent-variables", "hostile", "dim N\ndata x[N]\nfor n in N:\n    x[n] ~ Normal(0.0, 1.0)\n",
         {"x": X1}, {}, Err(VmpCheckError, "1:1", "there is nothing to fit")),
    Case("empty-model", "hostile", "model nothing\n", {}, {},
         Err(VmpCheckError, "the model is empty: it declares no variables")),
    # sizes
    Case("size-K-1e9", "data", "gmm", {"x": XGMM, "K": 10 ** 9}, {},
         Err(VmpDataError, "the fit would need about", "more than the",
             "E[onehot] of 'z' over N = 40 × K = 1000000000")),
    Case("size-K-zero-mvnormal", "data", "pca", {"Y": XLIN, "K": 0}, {},
         Err(VmpDataError, "'W' is a MvNormal over 0 dimensions (K = 0); it must have at least 1")),
    Case("size-K-1e308", "data", "pca", {"Y": XLIN, "K": 1e308}, {},
         Err(VmpDataError, "the fit would need about 9.83e+609 GiB of memory",
             "N = 30 × K = 1.00e+308 × K = 1.00e+308")),
    Case("plates-nested-25", "hostile", nested_plates(25, axes=1), {"x": X1[:1]}, {},
         Err(VmpCheckError, "plates nest more than 24 deep")),
    Case("array-with-40-axes", "hostile", nested_plates(40), {"x": X1[:1]}, {},
         Err(VmpCheckError, "'x' has 40 axes; vmpdsl handles at most 32")),
    Case("plates-nested-24", "hostile", nested_plates(24), {"x": np.ones((1,) * 24)},
         {"max_iter": 20}, Ok(lambda fit: np.isclose(fit.posterior["tau"]["shape"], 1.5))),
    # growth
    Case("growth-product-of-sums", "hostile", PRODUCT_OF_SUMS, {"x": X1}, {},
         Err(VmpCheckError, "20:5", "expands to 15625 products of variables (vmpdsl allows 2000)")),
    Case("growth-hyper-sum-250", "hostile", hyper_sum(250), {"x": X1}, {},
         Err(VmpSyntaxError, "4:1", "an expression here nests more than 100 operations deep")),
    Case("growth-hyper-sum-1000", "hostile", hyper_sum(1000), {"x": X1}, {},
         Err(VmpSyntaxError, "nests more than 100 operations deep")),
    # a sum of 90 unit hypers is the prior precision 90: q(mu) has precision 90 + N
    Case("growth-hyper-sum-90", "hostile", hyper_sum(90), {"x": X1}, {"max_iter": 5},
         Ok(lambda fit: np.isclose(fit.posterior["mu"]["precision"], 90 + 25)
            and np.isclose(fit.posterior["mu"]["mean"], X1.sum() / 115))),
    # 200 latents: the 199 unobserved ones keep their prior mean 0
    Case("growth-200-latents", "hostile", many_latents(200), {"x": X1}, {"max_iter": 30},
         Ok(lambda fit: all(abs(fit.mean(f"a{i}")) < 1e-12 for i in range(1, 200)))),
    # data: masked arrays and pandas
    Case("masked-array-refused", "data", "normal_gamma", {"x": MASKED}, {},
         Err(VmpDataError, "'x' is a masked array with masked entries (first at index (3,))",
             "missing='skip'")),
    Case("masked-array-skip", "data", ng_text(), {"x": MASKED}, {"missing": "skip", "max_iter": 50},
         Ok(lambda fit: same_posterior(fit, plain_without([3, 7])))),
    Case("masked-array-nothing-masked", "data", ng_text(), {"x": np.ma.masked_array(X1)},
         {"max_iter": 50}, Ok(same_as_plain)),
    # options
    Case("collapse-not-a-bool", "data", "normal_gamma", {"x": X1}, {"collapse": "no"},
         Err(VmpDataError, "collapse must be True or False, got 'no'")),
    Case("point-not-a-name", "data", "normal_gamma", {"x": X1}, {"point": 5},
         Err(VmpDataError, "point must be a latent's name or a list of names, got 5")),
    Case("counts-uint64-huge", "data", "poisson_mix",
         {"c": np.array([*COUNTS, 2 ** 64 - 1], dtype=np.uint64), "K": 2}, {},
         Err(VmpDataError, "'c' has the value 1.84467e+19, too large to count exactly")),
    # integer arrays skip the float copy, not the range check
    Case("counts-int64-huge", "data", "poisson_mix",
         {"c": np.array([*COUNTS, 2 ** 62], dtype=np.int64), "K": 2}, {},
         Err(VmpDataError, "'c' has the value 4.61169e+18, too large to count exactly")),
    # inits
    Case("init-point-wrong-type", "data", "gmm", GMM_DATA, {"point": ["mu"], "init": {"mu": "abc"}},
         Err(VmpDataError, "init 'mu' must be an array of real numbers")),
    Case("init-point-wrong-shape", "data", "gmm", GMM_DATA,
         {"point": ["mu"], "init": {"mu": np.zeros(7)}},
         Err(VmpDataError, "init for 'mu': value must have shape (2, 2), got (7,)")),
    Case("init-param-not-spd", "data", "gmm_em", GMM_DATA,
         {"init": {"Lambda": np.array([[[1.0, 2.0], [2.0, 1.0]]] * 2)}},
         Err(VmpDataError, "init for 'Lambda': the point estimate of 'Lambda' is invalid: "
                           "Wishart point value is not positive definite")),
    Case("init-unknown-parameter", "data", "normal_gamma", {"x": X1}, {"init": {"tau": {"a": 1}}, "mean_field": True},
         Err(VmpDataError, "init for 'tau' must give the Gamma parameters rate, shape: unknown a; "
                           "missing rate, shape")),
    Case("init-missing-parameter", "data", "normal_gamma", {"x": X1},
         {"init": {"mu": {"mean": 1.0}}, "mean_field": True},
         Err(VmpDataError, "init for 'mu' must give the Normal parameters mean, precision: "
                           "missing precision")),
    # a scalar init of a plated Normal's mean is every row's: the same fit as the full array
    Case("init-scalar-mean-broadcasts", "data", "pca", {"Y": XLIN, "K": 2},
         {"init": {"mu": {"mean": -1.0, "precision": 1.0}}, "seed": 0, "max_iter": 20},
         Ok(lambda fit: np.allclose(fit.elbo, refit(fit, {"Y": XLIN, "K": 2}, init={"mu": {
             "mean": np.full(3, -1.0), "precision": np.ones(3)}}, seed=0, max_iter=20).elbo,
             rtol=1e-12))),
    Case("init-point-none", "data", "gmm", GMM_DATA, {"point": ["mu"], "init": {"mu": None}},
         Err(VmpDataError, "init for 'mu' must be finite (no NaN, inf or None)")),
    Case("init-point-categorical-not-one-hot", "data", "gmm", GMM_DATA,
         {"point": ["z"], "init": {"z": -1.0}},
         Err(VmpDataError, "init for 'z' must be one-hot rows (a point Categorical)")),
    # a scalar point init is every component's value: the same fit as the full array
    Case("init-point-scalar-broadcasts", "data", "gmm", GMM_DATA,
         {"point": ["mu"], "init": {"mu": 0.5}, "seed": 0, "max_iter": 30},
         Ok(lambda fit: np.allclose(fit.elbo, gmm_fit(point=["mu"], init={"mu": np.full((2, 2), 0.5)},
                                                      seed=0, max_iter=30).elbo, rtol=1e-12))),
    Case("point-wishart-m-step-not-spd", "numeric", "gmm_em",
         {"x": np.random.default_rng(0).normal(size=(3, 2)), "K": 2},
         {"max_iter": 3, "seed": 0, "init": "random"},
         Err(VmpDataError, "the fit failed: the point estimate of 'Lambda' is invalid: Wishart "
                           "point value is not positive definite")),
    Case("update-overflows", "numeric", "lda_eb", dict(LDA), {"init": {"eta": 1e308}},
         Err(VmpDataError, "the fit failed: the update of 'eta' failed: (34, 'Numerical result out "
                           "of range')")),
    # rank-one data so large that rounding makes a precision singular: at 2^60 in
    # the ELBO's entropies (at 2^57 already in z's update; which one depends on
    # the order of the arithmetic: Σ_d E[W Wᵀ] formed before or after the products)
    Case("elbo-not-computable", "numeric", "pca", {"Y": np.full((5, 5), 2.0 ** 60), "K": 2},
         {"max_iter": 3, "seed": 0},
         Err(VmpDataError, "the fit failed: the ELBO cannot be computed at iteration 1")),
    # in the joint q(mu, Lambda) the error names the Wishart's hyper and line, not mu's
    Case("hyper-W0-1e308", "hyper", "gmm", GMM_DATA, {"hypers": {"W0": 1e308 * np.eye(2)}},
         Err(VmpDataError, "the prior of 'Lambda' (line 7: Wishart) is not a valid distribution: "
                           "Wishart scale has non-finite entries; check the hyperparameter W0 "
                           "(the scale of its prior, in the joint q(mu, Lambda))")),
    Case("hyper-W0-singular-joint", "hyper", "gmm", GMM_DATA,
         {"hypers": {"W0": np.ones((2, 2))}},
         Err(VmpDataError, "hyperparameter W0 gives the scale of the Wishart prior of 'Lambda' "
                           "(line 7), which is invalid")),
    Case("hyper-nu0-1e308-joint", "hyper", "gmm", GMM_DATA, {"hypers": {"nu0": 1e308}},
         Err(VmpDataError, "the prior of q(mu, Lambda) (line 7: Wishart, line 8: MvNormal)",
             "check the hyperparameters nu0, W0, m0, beta0")),
    # new data far off the training scale; Monte Carlo draws bounded
    Case("new-data-1e200-local", "numeric", "gmm", GMM_DATA, {"seed": 0},
         Ok(lambda fit: raises(VmpDataError, "are they on the scale of the training data",
                               fit.local, {"x": XGMM * 1e200})
            and raises(VmpDataError, "the new rows cannot be fitted", fit.score,
                       {"x": XGMM * 1e200}))),
    Case("new-data-1e200-linreg-predict", "numeric", "linreg", {"X": XLIN, "y": YLIN}, {},
         Ok(lambda fit: raises(VmpDataError, "the predict of the new rows is not finite (var "
                                             "overflows)", fit.predict, {"X": XLIN * 1e200})
            and raises(VmpDataError, "the score of the new rows is not finite", fit.score,
                       {"X": XLIN * 1e200, "y": YLIN}))),
    Case("new-data-strings-linreg", "data", "linreg", {"X": XLIN, "y": YLIN}, {},
         Ok(lambda fit: raises(VmpDataError, "'X' of the new rows must be an array of real "
                                             "numbers", fit.predict, {"X": "a"}))),
    Case("new-data-no-rows", "data", "softmax_reg",
         {"X": XLIN, "y": (XLIN[:, 0] > 0).astype(int), "C": 2}, {"max_iter": 5},
         Ok(lambda fit: raises(VmpDataError, "'X' of the new rows has no rows", fit.predict,
                               {"X": XLIN[:0]})
            and raises(VmpDataError, "'X' of the new rows must be an array of real numbers",
                       fit.score, {"X": "a", "y": [0]}))),
    Case("predict-samples-unbounded", "numeric", "gmm", GMM_DATA, {"seed": 0},
         Ok(lambda fit: raises(VmpDataError, "samples must be a whole number from 1 to 100,000",
                               fit.predict, {"x": XGMM}, samples=10 ** 12))),
    # the text of a model
    Case("model-with-bom", "hostile", "\ufeff" + ng_text(), {"x": X1}, {"max_iter": 50},
         Ok(same_as_plain)),
    Case("form-feed-is-whitespace", "hostile",
         "\f" + ng_text().replace("tau ~", "tau\f~").replace("for n in N:\n    ", "for n in N:\n\f    "),
         {"x": X1}, {"max_iter": 50}, Ok(same_as_plain)),
    Case("bidi-control-in-comment-warns", "hostile", ng_text() + "# \u202e }; evil\n", {"x": X1},
         {"max_iter": 50}, Warn("9:3: the model holds the bidirectional control character U+202E",
                                same_as_plain)),
    Case("bidi-control-in-name", "hostile", ng_text(mu="m\u202eu"), {"x": X1}, {},
         Err(VmpSyntaxError, "unexpected character '\u202e'")),
    Case("digit-separator-not-a-number", "hostile", ng_text().replace("hyper a0 = 1.0", "hyper a0 = 1_000"),
         {"x": X1}, {}, Err(VmpSyntaxError, "4:13", "'1_000' is not a number: numbers have no digit "
                                              "separators", "hint: write 1000")),
    Case("arabic-digits-not-a-number", "hostile", ng_text().replace("hyper a0 = 1.0", "hyper a0 = ١"),
         {"x": X1}, {}, Err(VmpSyntaxError, "4:12", "unexpected character '١'")),
]

try:
    import pandas as pd
except ImportError:  # the test extra has pandas; without it these rows are left out
    pd = None
if pd is not None:
    CASES += [
        Case("dataframe-as-data", "data", ng_text(), pd.DataFrame({"junk": -X1, "x": X1}),
             {"max_iter": 50}, Ok(same_as_plain)),
        Case("dict-of-series", "data", ng_text(), {"x": pd.Series(X1)}, {"max_iter": 50},
             Ok(same_as_plain)),
        Case("dataframe-new-rows", "data", "gmm", {"x": pd.DataFrame(XGMM), "K": 2}, {"seed": 0},
             Ok(lambda fit: np.allclose(fit.local(pd.DataFrame(XGMM[:5], columns=["a", "b"]))
                                        ["z"]["probs"], fit.local({"x": XGMM[:5]})["z"]["probs"],
                                        rtol=1e-12))),
        Case("dataframe-duplicate-columns", "data", "normal_gamma",
             pd.DataFrame(np.c_[X1, X1], columns=["x", "x"]), {},
             Err(VmpDataError, "the DataFrame: the column name x appears more than once")),
        Case("series-with-missing-values", "data", ng_text(),
             {"x": pd.Series(np.where(np.isin(np.arange(25), [3, 7]), None, X1), dtype=object)},
             {"missing": "skip", "max_iter": 50},
             Ok(lambda fit: same_posterior(fit, plain_without([3, 7])))),
    ]
