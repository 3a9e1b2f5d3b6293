"""The repairs vmpdsl offers for what it cannot derive — in one place.

An error about a factor that is not conjugate names the line, the factor and
the variable (the callers do that); the hint names a repair that *exists*:
a conjugate prior the variable does not have yet, a constant (hyper or
number), a gate for a switch between alternatives, or a link the engine
rewrites into a bound.  It never suggests what would fail the same way
(``point`` keeps the variable's statistics, so it does not make a Normal
usable as a precision).

The links it names are language/links.py's (where each may stand); the
argument roles in ``LEARNED_POINTS`` are those where a scalar ``param`` or
``point`` is learned numerically (derive/nonconjugate.py).
"""
from __future__ import annotations

LEARNED_POINTS = {"shape", "concentration"}

# The conjugate priors for a variable in an argument role.
CONJUGATE_PRIORS = {
    "precision": ("a Gamma prior (scalar precision) or a Wishart prior (precision matrix)",
                  ("Gamma", "Wishart")),
    "rate": ("a Gamma prior", ("Gamma",)),
    "probability": ("a Beta prior (one probability) or a Dirichlet prior (a probability "
                    "vector)", ("Beta", "Dirichlet")),
}
# Discrete latents that may choose between alternatives.
SWITCHES = ("Bernoulli", "Categorical")


def links() -> dict:
    """{link: where it may stand}, from language/links.py (imported late: the
    language package imports this module)."""
    from .language.distributions import DISTRIBUTIONS
    from .language.links import LINKS
    return {name: " or ".join(f"the {DISTRIBUTIONS[d].args[p].name} of a {d}"
                              for d, p in link.places)
            for name, link in LINKS.items()}


def links_text() -> str:
    """The links the engine supports, as a clause ('' if none)."""
    known = {name: where for name, where in links().items() if name != "sigmoid"}
    if not known:
        return ""
    return "; links vmpdsl supports: " + ", ".join(f"{f}(...) as {where}"
                                                   for f, where in sorted(known.items()))


def switch(var: str) -> str:
    return (f"a switch between alternatives is a gate: declare `{var} ~ Categorical(...)` "
            f"over them, put the alternatives in one array (`p[k] ~ Beta(...)` for k in a "
            f"dim K) and write `p[{var}]`")


def for_role(var: str, family: str | None, role: str, products: bool = True) -> str:
    """A nonlinear function (log, log(1 − ·), log-determinant) of an argument
    in ``role`` that holds the random variable ``var`` (of prior ``family``);
    ``products``: whether a product of such variables would have been fine."""
    if family in SWITCHES:
        return switch(var)
    text, families = CONJUGATE_PRIORS.get(role, (None, ()))
    if text is None:
        return f"make the {role} a constant (a hyper or a number)"
    if family in families:
        allowed = ("a product of such variables and constants" if products
                   else f"'{var}' alone (1 − a product does not separate)")
        return (f"'{var}' has {_a(family)} prior already: the {role} must be {allowed}, "
                f"not a sum or a function of them; to choose among several, index an "
                f"array of them by a Categorical (a gate)" + links_text())
    return f"give '{var}' {text}" + links_text()


def constant_argument(var: str, role: str) -> str:
    """A random quantity where the family needs a constant (a Gamma's shape)."""
    hint = f"make the {role} a hyper or a number"
    if role in LEARNED_POINTS:
        hint = (f"declare `param {var}` (a scalar) or `point {var} ~ ...` to learn it, "
                f"or {hint}")
    return hint


def for_statistic(var: str, stat: str, words: str) -> str:
    """A monomial holding a function of ``var`` its q family does not absorb."""
    if stat == "log":
        return (f"'{var}' is used as a precision, rate or probability: give it a Gamma, "
                f"Wishart, Beta or Dirichlet prior" + links_text())
    if stat == "logdet":
        return "a precision matrix needs a Wishart prior"
    if stat == "xx":
        return "a variable that enters squared (a mean, a weight) needs a Normal or MvNormal prior"
    if stat == "onehot":
        return f"an index (a gate) must be a Categorical latent: declare `{var} ~ Categorical(...)`"
    return (f"'{var}' enters as {words}: each argument must be linear in every random "
            f"variable (a Normal mean, the density squares it once); make all but one "
            f"factor of the product a hyper or data" + links_text())


def nonlinear_call(func: str) -> str:
    """A function the language has no rule for here, applied to a random argument."""
    where = links().get(func)
    if where is not None:
        return f"{func}(...) is supported only as the whole of {where}, for observed data"
    return ("write the argument with + - * @ dot sum diag; a precision or rate as a Gamma "
            "variable rather than exp(...) of a Normal one" + links_text())


def _a(word: str) -> str:
    return ("an " if word[0] in "AEIOU" else "a ") + word
