"""The ``Family`` record: everything the compiler knows about one distribution.

It lives in its own module (re-exported by ``registry``) so that each family
module can end with its record while ``registry`` imports the family modules,
without an import cycle.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

# The function fields, in the order runtime_source emits them.
FUNCTION_FIELDS = ("params_from_coeffs", "coeffs_from_params", "expectations",
                   "entropy", "entropy_total", "mode", "point_expectations", "sample",
                   "log_density", "check_support", "check_params", "bound_share", "start",
                   "marginals")


@dataclass(frozen=True, eq=False)
class Family:
    """One exponential family.

    name          the distribution's name in the language ("Normal").
    stats         sufficient statistics u_s(x) of the *posterior* family, e.g.
                  ("x", "xx"); the VMP update produces a coefficient per name.
    param_names   standard parameters of a q-distribution (LANGUAGE.md), or the
                  arguments of an observation-only family.
    event_rank    number of event axes of each statistic (MvNormal: x 1, xx 2).
    value_rank    number of event axes of a value x (Wishart 2, Categorical 0:
                  a value is an index; its point value is a probability vector).
    posterior     name of the q family of a latent with this prior (Exponential
                  → "Gamma"); None for observation-only families.  A latent
                  uses the functions of FAMILIES[posterior].
    helpers       the runtime helpers (runtime/helpers.py) the family functions call (transitively).
    internals     family-specific functions that the ones above call (Wishart's
                  expected log-determinant); copied along with them.
    entropy_total optional, params → the entropy summed over every row, cheaper
                  than summing ``entropy``'s per-row array (Normal: one log
                  per row and a sum, ½ (n (1 + log 2π) − Σ log τ)).
    bound_share   optional, (coeffs, params) → per row Σ_s <C_s, E[u_s]> + H[q]: the
                  ELBO share of a latent just updated to q from C, cheaper than
                  the inner product and the entropy apart: q's log normalizer
                  (Categorical: log Σ e^C; Gamma: log Γ(a) − a log b).
    start         optional, (prior params, rng, plated) → the starting params of
                  a latent, drawn to break the symmetry of exchangeable components
                  (Categorical: random responsibilities; a Normal or MvNormal
                  indexed by a plate: its mean drawn from the prior); None, or
                  returning the params unchanged: the latent starts at its prior.
                  The one place that decides a family's start (runtime's
                  _initial_state applies it).
    start_leads   True when that start is a complete random state which the
                  other latents are fitted to first: the sweep updates such
                  latents last (derive/schedule.py), as EM's E-step follows
                  its M-step.
    factored_stats  statistics ``expectations`` may return factored rather than
                  as an array (MvNormal's xx as a SharedOuter); the emitted code
                  passes them only to ``contract``, which expands them.
    marginal      optional, q's parameters → ``{"mean", "sd", "ppf"}`` per element
                  of a value (a Categorical's: of its one-hot vector); ``ppf(p)``
                  gives exact quantiles, NaN where the family has none (then
                  ``Fit.summary`` takes them from draws).  Package-side only (it
                  may use scipy.stats); never copied into emitted modules.
    simulate      optional, (params, rng) → a draw of an observation-only family
                  (Poisson), for posterior predictive draws; package-side too.
                  Families with a q use ``sample``.
    members       for a joint block family (normal_wishart.py): the families of
                  the variables its q covers, whose functions it calls (and
                  runtime_source brings along); () for a family of one variable.
    marginals     a block's params → ((q, E) per member): the members' posteriors
                  and expectations implied by the joint, for users.
    The function fields are None where not applicable; see FUNCTION_FIELDS.
    """

    name: str
    stats: tuple[str, ...]
    param_names: tuple[str, ...]
    event_rank: Mapping[str, int]
    value_rank: int
    posterior: str | None
    log_density: Callable
    check_support: Callable
    check_params: Callable
    params_from_coeffs: Callable | None = None
    coeffs_from_params: Callable | None = None
    expectations: Callable | None = None
    entropy: Callable | None = None
    entropy_total: Callable | None = None
    mode: Callable | None = None
    point_expectations: Callable | None = None
    sample: Callable | None = None
    bound_share: Callable | None = None
    start: Callable | None = None
    start_leads: bool = False
    marginals: Callable | None = None
    helpers: tuple[Callable, ...] = field(default=())
    internals: tuple[Callable, ...] = field(default=())
    factored_stats: tuple[str, ...] = ()
    marginal: Callable | None = None
    simulate: Callable | None = None
    members: tuple[str, ...] = ()

    @property
    def functions(self) -> tuple[Callable, ...]:
        """The family's own functions (not helpers), in a stable order."""
        found = (getattr(self, name) for name in FUNCTION_FIELDS)
        return self.internals + tuple(fn for fn in found if fn is not None)


def scipy_marginal(dist) -> dict:
    """The ``marginal`` of a frozen scipy.stats distribution with array parameters."""
    return {"mean": dist.mean(), "sd": dist.std(), "ppf": dist.ppf}
