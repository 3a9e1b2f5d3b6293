"""Coordinate optimality: right after the update of a local bound parameter
(ξ, ψ), a learned hyperparameter (Newton) or a Gaussian q fitted on E[exp(η)]
(Newton), no small perturbation of it raises the ELBO (finite differences).
Drives the compiled module sweep by sweep through its internals (bind_data,
_hypers, _constants, _initial_state, UPDATES, _posterior, _set_state, elbo_value)."""
import numpy as np
import pytest

from link_cases import LINK_MODELS, SIMULATORS, model

EPS = 1e-4
REL = 1e-10


class State:
    def __init__(self, name, data, seed=0):
        self.mod = mod = model(name)._compiled.module
        self.dim, self.data = mod.bind_data(dict(data))
        self.hyper = mod._hypers(self.dim)
        self.K = mod._constants(self.dim, self.data, self.hyper)
        self.q, self.E = {}, {}
        mod._initial_state(self.q, self.E, self.K, self.data, self.hyper, self.dim,
                           np.random.default_rng(seed), {})

    def update(self, row):
        name, family, point, update, _ = row
        coeffs = update(self.E, self.K, self.data, self.hyper, self.dim)
        self.set(name, family, point, self.mod._posterior(name, family, coeffs))

    def set(self, name, family, point, params):
        self.mod._set_state(self.q, self.E, name, family, point, params)

    def elbo(self):
        return self.mod.elbo_value(self.q, self.E, self.K, self.data, self.hyper, self.dim)


def moves(params, point, rng):
    """Relative random perturbations of a point's value, or of a Gaussian's
    mean and precision."""
    for _ in range(4):
        for sign in (EPS, -EPS):  # one of the two rises to first order off an optimum
            if point:
                value = np.asarray(params["value"], dtype=float)
                yield {"value": value * (1 + sign * rng.normal(size=value.shape))}
                continue
            d = rng.normal(size=params["precision"].shape)
            precision = params["precision"] * (1 + sign * (d + d.T))
            mean = params["mean"] + sign * rng.normal(size=params["mean"].shape)
            yield {"mean": mean, "precision": precision, "cov": np.linalg.inv(precision)}


NEWTON_OR_LOCAL = ("JJ", "SoftmaxBound")


@pytest.mark.parametrize("name", LINK_MODELS)
def test_local_and_newton_updates_are_coordinate_maxima(name):
    rng = np.random.default_rng(7)
    state = State(name, SIMULATORS[name](rng))
    for _ in range(4):
        for row in state.mod.UPDATES:
            state.update(row)
    checked = 0
    for row in state.mod.UPDATES:
        name_, family, point = row[:3]
        newton = name_ in {r.var for r in model(name)._compiled.derivation.nonconjugate}
        if family not in NEWTON_OR_LOCAL and not newton:
            continue
        state.update(row)
        best, optimum = state.elbo(), dict(state.q[name_])
        for params in moves(optimum, point, rng):
            state.set(name_, family, point, params)
            assert state.elbo() <= best + REL * abs(best), (name_, state.elbo() - best)
        state.set(name_, family, point, optimum)
        checked += 1
    assert checked > 0
