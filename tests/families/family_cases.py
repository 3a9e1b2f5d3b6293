"""One table of family cases and the independent answers the tests check against.

Every oracle here is written without the package: scipy.stats distributions,
hand-written sufficient statistics, coefficients and log partition functions.
"""
from dataclasses import dataclass, field

import numpy as np
from scipy import special as sps
from scipy import stats


def spd(dim, seed, batch=()):
    """A seeded batch of well-conditioned SPD matrices."""
    a = np.random.default_rng(seed).normal(size=batch + (dim, dim))
    return a @ np.swapaxes(a, -1, -2) + dim * np.eye(dim)


def mvn_params(mean, precision):
    return {"mean": np.asarray(mean, float), "cov": np.linalg.inv(precision),
            "precision": np.asarray(precision, float)}


# ---- scipy.stats oracles, one batch element at a time -------------------------
SCIPY = {
    "Normal": lambda p: stats.norm(p["mean"], 1 / np.sqrt(p["precision"])),
    "MvNormal": lambda p: stats.multivariate_normal(p["mean"], np.linalg.inv(p["precision"])),
    "Gamma": lambda p: stats.gamma(p["shape"], scale=1 / p["rate"]),
    "Wishart": lambda p: stats.wishart(p["df"], p["scale"]),
    "Dirichlet": lambda p: stats.dirichlet(p["concentration"]),
    "Categorical": lambda p: stats.multinomial(1, p["probs"]),
    "Beta": lambda p: stats.beta(p["a"], p["b"]),
    "Bernoulli": lambda p: stats.bernoulli(p["p"]),
    "Binomial": lambda p: stats.binom(p["trials"], p["p"]),
    "Poisson": lambda p: stats.poisson(p["rate"]),
    "Exponential": lambda p: stats.expon(scale=1 / p["rate"]),
}


def scipy_logp(frozen, draw):
    method = getattr(frozen, "logpdf", None) or frozen.logpmf
    return float(method(draw))


def from_scipy(family, draws):
    """scipy's draws in our value convention (a Categorical value is an index)."""
    return np.argmax(draws, axis=-1) if family == "Categorical" else np.asarray(draws, float)


# ---- sufficient statistics u_s(x), by hand ---------------------------------------
def _onehot(x, p):
    return np.eye(np.shape(p["probs"])[-1])[np.asarray(x, int)]


STATS = {
    "Normal": lambda x, p: {"x": x, "xx": x ** 2},
    "MvNormal": lambda x, p: {"x": x, "xx": np.einsum("...i,...j->...ij", x, x)},
    "Gamma": lambda x, p: {"x": x, "log": np.log(x)},
    "Wishart": lambda x, p: {"x": x, "logdet": np.linalg.slogdet(x)[1]},
    "Dirichlet": lambda x, p: {"log": np.log(x)},
    "Categorical": lambda x, p: {"onehot": _onehot(x, p)},
    "Beta": lambda x, p: {"log": np.log(x), "log1m": np.log(1 - x)},
    "Bernoulli": lambda x, p: {"x": x},
}
RANK = {"Normal": {"x": 0, "xx": 0}, "MvNormal": {"x": 1, "xx": 2},
        "Gamma": {"x": 0, "log": 0}, "Wishart": {"x": 2, "logdet": 0},
        "Dirichlet": {"log": 1}, "Categorical": {"onehot": 1},
        "Beta": {"log": 0, "log1m": 0}, "Bernoulli": {"x": 0}}


# ---- coefficients of the statistics in log p, by hand ----------------------------
HAND_COEFFS = {
    "Normal": lambda p: {"x": p["precision"] * p["mean"], "xx": -p["precision"] / 2},
    "MvNormal": lambda p: {"x": np.einsum("...ij,...j->...i", p["precision"], p["mean"]),
                           "xx": -p["precision"] / 2},
    "Gamma": lambda p: {"x": -p["rate"], "log": p["shape"] - 1},
    "Wishart": lambda p: {"x": -np.linalg.inv(p["scale"]) / 2,
                          "logdet": (p["df"] - p["scale"].shape[-1] - 1) / 2},
    "Dirichlet": lambda p: {"log": p["concentration"] - 1},
    "Categorical": lambda p: {"onehot": np.log(p["probs"])},
    "Beta": lambda p: {"log": p["a"] - 1, "log1m": p["b"] - 1},
    "Bernoulli": lambda p: {"x": np.log(p["p"] / (1 - p["p"]))},
}


# ---- log partition A(C) of one (unbatched) q, by hand: ∇A = E[u] -----------------
def _mvn_partition(c):
    precision = -(c["xx"] + c["xx"].T)
    return 0.5 * c["x"] @ np.linalg.solve(precision, c["x"]) - 0.5 * np.linalg.slogdet(precision)[1]


def _wishart_partition(c):
    dim = c["x"].shape[-1]
    df = 2 * c["logdet"] + dim + 1
    scale = np.linalg.inv(-(c["x"] + c["x"].T))
    return (df * dim / 2 * np.log(2) + df / 2 * np.linalg.slogdet(scale)[1]
            + sps.multigammaln(df / 2, dim))


LOG_PARTITION = {
    "Normal": lambda c: -c["x"] ** 2 / (4 * c["xx"]) - 0.5 * np.log(-2 * c["xx"]),
    "MvNormal": _mvn_partition,
    "Gamma": lambda c: sps.gammaln(c["log"] + 1) - (c["log"] + 1) * np.log(-c["x"]),
    "Wishart": _wishart_partition,
    "Dirichlet": lambda c: np.sum(sps.gammaln(c["log"] + 1)) - sps.gammaln(np.sum(c["log"] + 1)),
    "Categorical": lambda c: sps.logsumexp(c["onehot"]),
    "Beta": lambda c: sps.betaln(c["log"] + 1, c["log1m"] + 1),
    "Bernoulli": lambda c: np.log1p(np.exp(c["x"])),
}


@dataclass
class Case:
    id: str
    family: str
    params: dict
    batch: tuple = ()
    extra: dict = field(default_factory=dict)

    def element(self, index):
        """The parameters of one batch element."""
        return {k: np.asarray(v)[index] for k, v in self.params.items()}


CASES = [
    Case("normal", "Normal", {"mean": np.array(0.3), "precision": np.array(2.0)}),
    Case("normal-batch3", "Normal", {"mean": np.array([-1.0, 0.0, 2.5]),
                                     "precision": np.array([0.5, 1.0, 4.0])}, (3,)),
    Case("mvnormal-D3", "MvNormal", mvn_params([0.5, -1.0, 2.0], spd(3, 1))),
    Case("mvnormal-batch2-D2", "MvNormal", mvn_params([[0.0, 1.0], [-2.0, 0.5]],
                                                      spd(2, 2, (2,))), (2,)),
    Case("gamma", "Gamma", {"shape": np.array(2.5), "rate": np.array(1.5)}),
    Case("gamma-small-shape", "Gamma", {"shape": np.array(0.3), "rate": np.array(0.7)}),
    Case("gamma-batch3", "Gamma", {"shape": np.array([1.2, 3.0, 10.0]),
                                   "rate": np.array([0.5, 2.0, 1.0])}, (3,)),
    Case("wishart-D3", "Wishart", {"df": np.array(5.5), "scale": spd(3, 3) / 10}),
    Case("wishart-batch2-D2", "Wishart", {"df": np.array([3.0, 4.5]),
                                          "scale": spd(2, 4, (2,)) / 5}, (2,)),
    Case("dirichlet-K4", "Dirichlet", {"concentration": np.array([0.5, 1.5, 3.0, 2.0])}),
    Case("dirichlet-batch2-K3", "Dirichlet",
         {"concentration": np.array([[1.0, 2.0, 3.0], [5.0, 0.7, 2.2]])}, (2,)),
    Case("categorical-K4", "Categorical", {"probs": np.array([0.1, 0.2, 0.3, 0.4])}),
    Case("categorical-batch2-K3", "Categorical",
         {"probs": np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])}, (2,)),
    Case("beta", "Beta", {"a": np.array(2.0), "b": np.array(3.0)}),
    Case("beta-small", "Beta", {"a": np.array(0.5), "b": np.array(0.7)}),
    Case("beta-batch2", "Beta", {"a": np.array([1.5, 8.0]), "b": np.array([4.0, 2.0])}, (2,)),
    Case("bernoulli", "Bernoulli", {"p": np.array(0.3)}),
    Case("bernoulli-batch3", "Bernoulli", {"p": np.array([0.1, 0.5, 0.9])}, (3,)),
    Case("binomial", "Binomial", {"trials": np.array(10), "p": np.array(0.3)}),
    Case("binomial-batch2", "Binomial", {"trials": np.array([5, 20]),
                                         "p": np.array([0.5, 0.9])}, (2,)),
    Case("poisson", "Poisson", {"rate": np.array(3.5)}),
    Case("poisson-batch2", "Poisson", {"rate": np.array([0.2, 7.0])}, (2,)),
    Case("exponential", "Exponential", {"rate": np.array(1.7)}),
    Case("exponential-batch2", "Exponential", {"rate": np.array([0.3, 4.0])}, (2,)),
]
LATENT_CASES = [case for case in CASES if case.family in STATS]


def ids(cases):
    return [case.id for case in cases]


def scipy_draws(case, index, size, seed):
    """``size`` scipy draws of batch element ``index``: (our values, scipy's raw draws)."""
    frozen = SCIPY[case.family](case.element(index))
    raw = frozen.rvs(size=size, random_state=np.random.default_rng(seed))
    if case.family == "Categorical":
        raw = np.reshape(raw, (size, -1))
    return from_scipy(case.family, raw), raw
