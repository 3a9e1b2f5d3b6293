"""The emitted model code reads like a hand-written update and does the
work a careful person would do once, once.

Oracles: the printed equations (each update's docstring is its block of
``model.equations()``), direct NumPy sums of the row statistics, and a count
of the most expensive product per sweep.  The numbers themselves are held to
the recorded traces by test_elbo_traces.py.
"""
import inspect
import re

import numpy as np

from engine_cases import SIMULATORS, Run, example


def source_of(code: str, name: str) -> str:
    start = code.index(f"\ndef {name}(")
    return code[start:code.index("\ndef ", start + 1)]


def model_part(model) -> str:
    """The module's model-specific part: _constants to the UPDATES line (of
    the model's code, which the runtime follows in one file: emit/assemble.py)."""
    code = model._compiled.parts.model
    start = code.index("def _constants(")
    return code[start:code.index("UPDATES = ", start)]


def test_gmm_updates_are_named_functions_documented_by_their_equations():
    model = example("gmm")
    module, printed = model._compiled.module, str(model.equations())
    assert [row[3].__name__ for row in module.UPDATES] == ["update_mu", "update_pi", "update_z"]
    assert [row[4].__name__ for row in module.UPDATES] == ["prior_mu", "prior_pi", "prior_z"]
    for row in module.UPDATES:
        doc = inspect.getdoc(row[3])
        assert doc.startswith(f"q({row[0]}") and doc in printed, doc
    part = model_part(model)
    assert "def update_mu(E, K, data, hyper, dim):" in part
    # no per-monomial accumulators, no einsum of nothing, no copies of an update
    for waste in ("contract('->", "np.zeros(", "_prior_0", "_update_0", "+= contract(",
                  "np.sum(contract("):
        assert waste not in part, waste
    # the NW block's coefficients vary along k: no full-shape view is needed
    assert "broadcast_to" not in source_of(model.code, "update_mu")


def test_gmm_row_statistics_are_the_sums_a_person_would_write():
    model = example("gmm")
    data, _ = SIMULATORS["gmm"](np.random.default_rng(2))
    run = Run(model, data)
    N, xr, xxr = run.module.statistics_z(run.E, run.K, run.data, run.hyper, run.dim)
    r, x = run.E["z"]["onehot"], run.data["x"]
    np.testing.assert_allclose(N, r.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(xr, np.einsum("nk,nd->kd", r, x), rtol=1e-13)
    np.testing.assert_allclose(xxr, np.einsum("nk,nd,ne->kde", r, x, x), rtol=1e-12)
    source = source_of(model.code, "update_mu")
    assert "N, xr, xxr = statistics_z(E, K, data, hyper, dim)" in source


def test_a_row_statistic_is_computed_once_per_sweep(monkeypatch):
    """Σ_n r x xᵀ (the sweep's costliest product) is read by q(mu, Lambda) and
    would be by the full ELBO; it is computed once per update of z."""
    model = example("gmm")
    data, _ = SIMULATORS["gmm"](np.random.default_rng(2))
    run = Run(model, data)
    module, calls = run.module, []
    contract = module.contract

    def counting(spec, *operands):
        calls.append(spec)
        return contract(spec, *operands)
    monkeypatch.setitem(module.__dict__, "contract", counting)
    for _ in range(2):
        coeffs = module.sweep(run.q, run.E, run.K, run.data, run.hyper, run.dim)
        module._expected_log_joint(run.E, run.K, run.data, run.hyper, run.dim)
        module.elbo_value(run.q, run.E, run.K, run.data, run.hyper, run.dim, coeffs)
    # the start's z, then once per update of z (two sweeps): not once per reader
    assert calls.count("nd,ne,nk->kde") == 3, calls


def test_constants_are_folded_once_in_the_constants_function():
    for name in ("gmm", "linreg", "hier", "lda", "pca", "coin"):
        part = model_part(example(name))
        sweep_part = part[part.index("return K\n"):]
        # no 0-d sums and no data-only sums per sweep: they are hoisted into K
        assert "np.sum(" not in sweep_part, name
        assert not re.search(r"data\['\w+'\]\.T @ data", sweep_part), name
        # half log 2π is written as what it is
        assert "0.9189385332046727" not in part, name


HOSTILE = """model m
dim N
data np[N]
hyper E = 1.0, update_contract = 2.0, statistics_z = 1.0
contract ~ Normal(0.0, E)
prior_contract ~ Gamma(update_contract, statistics_z)
for n in N:
    np[n] ~ Normal(contract, prior_contract)
"""


def test_model_names_that_clash_with_the_code_become_other_identifiers():
    """A model may call its variables np, contract, E, update_contract or
    ﬁ and fi (one name to Python): the code stays correct, and equals the
    fit of the same model with plain names."""
    import vmpdsl
    y = {"np": np.random.default_rng(0).normal(size=20)}
    plain = HOSTILE.replace("np", "y").replace("prior_contract", "tau").replace(
        "update_contract", "a").replace("statistics_z", "b").replace("contract", "mu") \
        .replace("E =", "s =").replace("0.0, E)", "0.0, s)")
    want = vmpdsl.load(plain).fit({"y": y["np"]}, seed=0).elbo
    for text in (HOSTILE, HOSTILE.replace("prior_contract", "fi").replace("contract", "ﬁ")):
        model = vmpdsl.load(text)
        np.testing.assert_allclose(model.fit(y, seed=0).elbo, want, rtol=1e-12)
        assert "def update_0(" in model.code or "def update_contract(" in model.code


def test_a_latent_whose_function_names_clash_with_the_runtime_is_named_in_updates():
    """UPDATES finds update_<v> and prior_<v> by name (runtime/tables.py);
    a latent 'coefficients' cannot have prior_coefficients (the runtime's),
    so its row names its functions, and the fit equals that with plain names."""
    import vmpdsl
    source = ("dim N\ndata x[N]\nterm ~ Normal(0.0, 1.0)\ncoefficients ~ Gamma(1.0, 1.0)\n"
              "for n in N:\n    x[n] ~ Normal(term, coefficients)\n")
    x = {"x": np.random.default_rng(0).normal(size=20)}
    model = vmpdsl.load(source)
    assert "('coefficients', update_coefficients, prior_coefficients_2)" in model.code
    module = model._compiled.module
    assert module.UPDATES[1][4] is module.prior_coefficients_2
    plain = vmpdsl.load(source.replace("coefficients", "tau").replace("term", "mu"))
    np.testing.assert_allclose(model.fit(x, seed=0).elbo, plain.fit(x, seed=0).elbo, rtol=1e-12)
