"""The registry records, and the source text the code emitter copies."""
import inspect
import re

import numpy as np
import pytest

from family_cases import CASES, HAND_COEFFS, STATS, ids
from vmpdsl.families import FAMILIES, get_family, runtime_source
from vmpdsl.families.registry import JOINT_FAMILIES
from vmpdsl.runtime import helpers as _common
from vmpdsl.runtime import prelude
from vmpdsl.families.registry import RUNTIME_HEADER

LANGUAGE_FAMILIES = ["Normal", "MvNormal", "Gamma", "Wishart", "Dirichlet", "Categorical",
                     "Beta", "Bernoulli", "Binomial", "Poisson", "Exponential"]
# q over several values: a chain's elements; a mean and its precision (derive/blocks.py)
BLOCK_FAMILIES = ["CategoricalChain", "GaussianChain"] + list(JOINT_FAMILIES)
Q_FIELDS = ["params_from_coeffs", "coeffs_from_params", "expectations", "entropy", "mode",
            "point_expectations", "sample"]
ALLOWED_MODULES = {"np", "sps", "sla"}
# every emitted module carries the prelude, so family functions may use it
PRELUDE = {n for n, v in vars(prelude).items()
           if (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == prelude.__name__}


# families of no distribution: the local parameters of link bounds (local_bounds.py)
INTERNAL_FAMILIES = ["JJ", "SoftmaxBound"]


def test_every_language_distribution_has_a_record():
    assert list(FAMILIES) == LANGUAGE_FAMILIES + INTERNAL_FAMILIES + BLOCK_FAMILIES


def test_unknown_family_lists_the_known_names():
    with pytest.raises(KeyError, match="known: Normal, MvNormal"):
        get_family("Cauchy")


@pytest.mark.parametrize("name", LANGUAGE_FAMILIES + BLOCK_FAMILIES)
def test_record_is_consistent(name):
    family = get_family(name)
    assert set(family.event_rank) == set(family.stats)
    if family.posterior is None:        # observation-only
        assert all(getattr(family, f) is None for f in Q_FIELDS)
    elif family.posterior != name:      # a prior whose q is another family
        assert set(get_family(family.posterior).stats) == set(family.stats)
    else:
        assert all(getattr(family, f) is not None for f in Q_FIELDS)
    assert get_family("Exponential").posterior == "Gamma"


def test_function_names_are_unique_and_prefixed_by_family():
    names = [fn.__name__ for family in FAMILIES.values() for fn in family.functions]
    assert len(names) == len(set(names))
    for family in FAMILIES.values():
        for fn in family.functions:
            assert fn.__name__.startswith(family.name.lower() + "_"), fn.__name__
    assert not set(names) & {fn.__name__ for fn in _helpers()}


def _helpers():
    return [v for v in vars(_common).values()
            if inspect.isfunction(v) and v.__module__ == _common.__name__]


def _global_names(fn):
    """Module-level names a function's code refers to (nested code objects too)."""
    names, stack = set(), [fn.__code__]
    while stack:
        code = stack.pop()
        names |= set(code.co_names)
        stack += [c for c in code.co_consts if inspect.iscode(c)]
    return {n for n in names if n in fn.__globals__}


@pytest.mark.parametrize("name", LANGUAGE_FAMILIES + BLOCK_FAMILIES)
def test_functions_use_only_numpy_scipy_and_listed_functions(name):
    family = get_family(name)
    # a block family may call its members' functions (runtime_source brings them)
    own = {fn.__name__ for f in (name,) + family.members for fn in get_family(f).functions}
    helpers = {fn.__name__ for fn in family.helpers}
    assert {fn.__module__ for fn in family.helpers} == {_common.__name__}
    for fn in family.functions + family.helpers:
        assert fn.__closure__ is None and fn.__defaults__ is None, fn.__name__
        extra = _global_names(fn) - ALLOWED_MODULES - PRELUDE - own - helpers
        assert not extra, f"{fn.__name__} refers to {extra}"


def _fresh_namespace(source):
    namespace = {}
    prelude_source = "\n".join(line for line in inspect.getsource(prelude).splitlines()
                               if not line.startswith(("import ", "from ")))
    source = prelude_source + "\n" + source
    exec(compile(RUNTIME_HEADER + "\n" + source, "<generated>", "exec"), namespace)
    return namespace


def test_runtime_source_is_deduplicated_and_stable():
    source = runtime_source(LANGUAGE_FAMILIES, helpers=("symmetrize",))
    defs = re.findall(r"^def (\w+)\(", source, flags=re.M)
    assert len(defs) == len(set(defs))
    assert source == runtime_source(list(reversed(LANGUAGE_FAMILIES)), helpers=("symmetrize",))
    assert "import" not in source
    assert defs.index("chol_lower") < defs.index("normal_params_from_coeffs")


def test_runtime_source_brings_the_posterior_family():
    defs = re.findall(r"^def (\w+)\(", runtime_source(["Exponential"]), flags=re.M)
    assert "gamma_params_from_coeffs" in defs and "exponential_log_density" in defs
    assert "normal_log_density" not in defs


def test_runtime_source_rejects_an_unknown_helper():
    with pytest.raises(KeyError, match="unknown helper"):
        runtime_source(["Normal"], helpers=("no_such_helper",))


OBSERVED = {"Binomial": 3, "Poisson": 2, "Exponential": 0.5}


def _calls(case):
    """(function field, arguments) pairs exercising every function of a case."""
    family = get_family(case.family)
    calls = [("check_params", (case.params,))]
    if family.sample is None:           # observation-only: a fixed value in the support
        x = np.full(case.batch, OBSERVED[case.family])
        extra = (case.params["trials"],) if case.family == "Binomial" else ()
        return calls + [("log_density", (x, case.params)), ("check_support", (x,) + extra)]
    x = family.sample(case.params, np.random.default_rng(0))
    extra = (case.params["probs"].shape[-1],) if case.family == "Categorical" else ()
    point = STATS[case.family](x, case.params).get("onehot", x)
    calls += [("params_from_coeffs", (HAND_COEFFS[case.family](case.params),)),
              ("coeffs_from_params", (case.params,)),
              ("expectations", (case.params,)), ("entropy", (case.params,)),
              ("log_density", (x, case.params)), ("check_support", (x,) + extra),
              ("point_expectations", (point,))]
    try:
        family.mode(case.params)
        calls.append(("mode", (case.params,)))
    except FloatingPointError:          # no interior mode for this case
        pass
    return calls


def _same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    else:  # a factored statistic (SharedOuter) compares as its dense array
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_pasted_source_of_one_family_gives_the_same_numbers(case):
    # The family's source alone (plus the header) must run: nothing is missing.
    family = get_family(case.family)
    namespace = _fresh_namespace(runtime_source([case.family]))
    for field, args in _calls(case):
        fn = getattr(family, field)
        _same(namespace[fn.__name__](*args), fn(*args))
    if family.sample is not None:
        pasted = namespace[family.sample.__name__](case.params, np.random.default_rng(4))
        _same(pasted, family.sample(case.params, np.random.default_rng(4)))
