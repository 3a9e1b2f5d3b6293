"""Row statistics computed once per update of their latent (copied verbatim
into every emitted module that has them; numpy only).

The compiler decides which products of a local latent's rows the other
updates read (gmm: N[k], Σ_n r x, Σ_n r x xᵀ) and emits them as one function,
``statistics_<latent>``, under this decorator.  Each update of the latent
replaces ``E[latent]`` (never changes it in place), so the statistics are
recomputed exactly when that object, the data or the constants differ from
the last call's; every other reader gets the same arrays (read-only, so no
reader can alter another's).  The entry lives in ``_MEMO``, which ``fit`` clears.
"""
import numpy as np

from .einsum import _MEMO  # emitted before this file


def once_per_update(latent):
    def decorate(function):
        memo_key = ("statistics", latent, function.__name__)

        def cached(E, K, data, hyper, dim):
            stats = E[latent]
            hit = _MEMO.get(memo_key)
            # (read several times a sweep: no tuple built, no all(...) generator)
            if hit is not None and hit[0][0] is stats and hit[0][1] is K and hit[0][2] is data:
                return hit[1]
            result = function(E, K, data, hyper, dim)
            for array in result:
                if isinstance(array, np.ndarray):
                    array.flags.writeable = False
            _MEMO[memo_key] = ((stats, K, data), result)
            return result
        cached.__name__ = cached.__qualname__ = function.__name__
        cached.__doc__ = function.__doc__
        return cached
    return decorate
