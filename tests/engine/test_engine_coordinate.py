"""Oracle 2 (coordinate optimality): right after q_i is set to its update
(coefficients → standard parameters → expectations), no small perturbation of
its natural-parameter coefficients raises the ELBO.  A wrong coefficient in an
update, or an ELBO term that disagrees with the update, makes the ELBO rise to
first order along some direction; at the true optimum it falls (second order).

Drives an emitted module sweep by sweep (see engine_cases.Run for the
internals this relies on)."""
import numpy as np
import pytest

from engine_cases import SIMULATORS, SUPPORTED, Run, example

EPS = 1e-4          # relative size of a perturbation of the coefficients
REL = 1e-9          # allowed rise of the ELBO, relative
WARMUP_SWEEPS = 3
# Statistics whose coefficient pairs with a symmetric matrix: only the
# symmetric part of a perturbation is a real direction.
SYMMETRIC = {("MvNormal", "xx"), ("Wishart", "x")}

CASES = [(name, seed) for name in SUPPORTED for seed in (0, 1)]


def directions(coeffs, family, rng):
    """Random relative directions: each statistic alone, then all together."""
    def one(stat):
        c = np.asarray(coeffs[stat], dtype=float)
        d = rng.normal(size=c.shape)
        if (family, stat) in SYMMETRIC:
            d = 0.5 * (d + np.swapaxes(d, -1, -2))
        floor = 1e-3 * max(float(np.max(np.abs(c))), 1e-12)
        return d * (np.abs(c) + floor)
    out = []
    for stat in coeffs:
        for _ in range(2):
            out.append({stat: one(stat)})
    for _ in range(3):
        out.append({stat: one(stat) for stat in coeffs})
    return out


def perturbed_elbo(run, name, family, coeffs, step):
    """The ELBO with q(name) moved to coefficients + step; None when invalid."""
    moved = {s: np.asarray(c, dtype=float) + step.get(s, 0.0) for s, c in coeffs.items()}
    try:
        with np.errstate(all="raise"):
            params = run.params_from_coeffs(family, moved)
            run.set_params(name, family, params)
            value = run.elbo()
    except (FloatingPointError, np.linalg.LinAlgError, ValueError):
        return None
    return value if np.isfinite(value) else None


@pytest.mark.parametrize("name,seed", CASES, ids=[f"{n}-seed{s}" for n, s in CASES])
def test_updated_factor_is_a_coordinate_maximum(name, seed):
    rng = np.random.default_rng(100 + seed)
    data, _ = SIMULATORS[name](rng)
    run = Run(example(name), data, seed=seed)
    for _ in range(WARMUP_SWEEPS):
        run.sweep()
    for latent, family, _ in run.updates:
        coeffs = run.coefficients(latent)
        optimum = run.params_from_coeffs(family, coeffs)
        run.set_params(latent, family, optimum)
        best = run.elbo()
        assert np.isfinite(best)
        tried = 0
        for direction in directions(coeffs, family, rng):
            for sign in (1.0, -1.0):
                step = {s: sign * EPS * d for s, d in direction.items()}
                value = perturbed_elbo(run, latent, family, coeffs, step)
                if value is None:
                    continue
                tried += 1
                assert value <= best + REL * abs(best), (
                    f"{name}: moving q({latent}) ({family}) off its update along "
                    f"{sorted(direction)} raised the ELBO from {best!r} to {value!r} "
                    f"(by {value - best:.3g})")
        assert tried > 0, f"no valid perturbation of q({latent})"
        run.set_params(latent, family, optimum)
