"""Every case of the corpus gives exactly its expected outcome; nothing any
case does creates the marker file (no model text is ever executed)."""
import os
import warnings

import numpy as np
import pytest

import vmpdsl
from corpus import CASES, MARKER, Err, Ok, Warn
from vmpdsl.errors import VmpError

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "models")


def load(model):
    if "\n" not in model:
        return vmpdsl.load(os.path.join(MODELS, f"{model}.vmp"))
    return vmpdsl.load(model)


def run(case):
    """The outcome of one case: ('ok', fit, warnings) or ('error', exception)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = load(case.model)
            fit = model.fit(case.data, **case.options) if case.data is not None else model
        except VmpError as err:
            return "error", err, caught
    return "ok", fit, caught


def test_corpus_is_large_and_ids_are_unique():
    assert len(CASES) >= 60
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids)
    assert {c.kind for c in CASES} == {"hostile", "data", "hyper", "numeric"}


@pytest.fixture(scope="module", autouse=True)
def in_a_scratch_directory(tmp_path_factory):
    """Cases run in an empty directory; the marker must never appear there."""
    where = tmp_path_factory.mktemp("corpus")
    old = os.getcwd()
    os.chdir(where)
    yield where
    os.chdir(old)
    assert not (where / MARKER).exists()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case):
    outcome, value, caught = run(case)
    expect = case.expect
    assert not os.path.exists(MARKER), "a case executed model text"
    if isinstance(expect, Err):
        assert outcome == "error", f"expected {expect.cls.__name__}, got a fit"
        assert type(value) is expect.cls, f"{type(value).__name__}: {value}"
        for part in expect.parts:
            assert part in str(value), f"{part!r} not in {str(value)!r}"
        return
    assert outcome == "ok", f"expected a fit, got {type(value).__name__}: {value}"
    if isinstance(expect, Warn):
        messages = [str(w.message) for w in caught]
        assert any(expect.part in m for m in messages), messages
    fit = value
    elbo = np.asarray(fit.elbo)
    assert np.all(np.isfinite(elbo))
    slack = case.elbo_slack(fit) if case.elbo_slack is not None else 0.0
    assert np.all(np.diff(elbo) >= -1e-9 * np.abs(elbo[1:]) - 1e-9 - slack), "the ELBO went down"
    for q in fit.posterior.values():
        for key, v in q.items():
            finite = np.isfinite(v)
            if key == "cov":  # inf exactly where a joint block's t marginal has no variance
                finite = np.where(_no_variance(q), np.isinf(v), finite)
            assert np.all(finite), "a posterior parameter is not finite"
    if expect.check is not None:
        assert expect.check(fit)


def _no_variance(q):
    """Where a joint block's mean (its posterior holds the joint parameters
    beside cov) has a Student-t marginal with ν − D + 1 ≤ 2 (Normal–Gamma
    2a ≤ 2) degrees of freedom: no variance, so its cov is inf by design."""
    if "beta" in q and "df" in q:
        return (np.asarray(q["df"]) - np.shape(q["scale"])[-1] - 1 <= 0)[..., None, None]
    if "beta" in q and "shape" in q:
        return np.asarray(q["shape"]) <= 1
    return False


def test_no_marker_anywhere():
    assert not os.path.exists(MARKER)
    assert not os.path.exists(os.path.join(MODELS, MARKER))


def test_emitted_code_holds_user_names_only_as_string_keys():
    """The hostile names compile into code whose only names are ours."""
    import ast as pyast
    model = load(next(c.model for c in CASES if c.id == "gmm-helper-names"))
    tree = pyast.parse(model.code)
    for node in pyast.walk(tree):
        if isinstance(node, pyast.Name):
            assert node.id not in ("lambda", "import", "fit_", "OneHot_") or node.id == "OneHot"
    assert "'import'" in model.code and "'lambda'" in model.code


@pytest.mark.parametrize("name", ["gmm", "pca", "softmax_reg"])
def test_emitted_module_defines_each_name_once(name):
    """The runtime is pasted from several files into one namespace: a helper
    defined twice silently replaces the other (memory.py's _count once broke
    einsum's planner).  A decorator applied in the wiring (``statistics_z =
    once_per_update('z')(statistics_z)``) wraps its function, not another."""
    import collections
    import re
    code = load(name).code
    code = re.sub(r"^(\w+) = .*\(\1\)$", "", code, flags=re.M)
    defined = re.findall(r"^(?:def|class) (\w+)|^(\w+) = ", code, re.M)
    counts = collections.Counter(a or b for a, b in defined)
    assert [n for n, c in counts.items() if c > 1] == []
