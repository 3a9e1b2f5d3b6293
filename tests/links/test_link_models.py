"""Every model of LANGUAGE.md that links and learned hyperparameters serve,
exactly as written: check, equations and compile from the command line, the
compiled module standalone, and a monotone ELBO on hypothesis-drawn data."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from link_cases import LINK_MODELS, MODELS, SIMULATORS, fit, model
from vmpdsl.cli import main


@pytest.mark.parametrize("name", LINK_MODELS)
def test_check_equations_and_compile_from_the_command_line(name, tmp_path, capsys):
    path = str(MODELS / f"{name}.vmp")
    for command in (["check", path], ["equations", path],
                    ["compile", path, "-o", str(tmp_path / "m.py")]):
        assert main(command) == 0, capsys.readouterr().err
    code = (tmp_path / "m.py").read_text()
    namespace = {"__file__": str(tmp_path / "m.py")}  # it runs m_runtime.py beside it
    exec(compile(code, "m.py", "exec"), namespace)  # imports numpy and scipy only
    data = SIMULATORS[name](np.random.default_rng(0))
    standalone = namespace["fit"](dict(data), max_iter=15, tol=0.0, seed=0)
    np.testing.assert_allclose(standalone["elbo"], fit(name, data, max_iter=15, tol=0.0,
                                                       seed=0).elbo, rtol=1e-12)


EQUATIONS = {  # what the printed equations must show for each link
    "logreg": ["Jaakkola–Jordan", "λ(ξ_y)", "ξ_y[n]² = X[n]ᵀ E[w wᵀ] X[n]"],
    "hier_logit": ["Binomial(trials[n]", "trials[n] λ(ξ_hits) η²", "ξ_hits[n]² ="],
    "softmax_reg": ["Böhning", "g(ψ_y)", "ψ_y[n] = E[W] X[n]"],
    "poisson_reg": ["e[n] = E[exp η[n]] = exp(E[η[n]] + ½ Var(η[n]))", "η[n] = dot(X[n], w)"],
    "lda_eb": ["log Γ(K alpha)", "log Γ(V eta)"],
    "pumps": ["N log Γ(alpha)"],
}


@pytest.mark.parametrize("name", LINK_MODELS)
def test_equations_show_the_bound_and_its_updates(name):
    text = model(name).equations()
    for piece in EQUATIONS[name]:
        assert piece in text, piece


@pytest.mark.parametrize("name", LINK_MODELS)
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2 ** 16), size=st.integers(1, 30))
def test_elbo_never_decreases(name, seed, size):
    rng = np.random.default_rng(seed)
    sizes = {"logreg": {"N": size}, "hier_logit": {"N": size}, "softmax_reg": {"N": size},
             "poisson_reg": {"N": size}, "lda_eb": {"tokens": size}, "pumps": {"N": 1 + size % 10}}
    data = SIMULATORS[name](rng, **sizes[name])
    elbo = fit(name, data, max_iter=40, tol=0.0, seed=seed).elbo
    assert np.all(np.isfinite(elbo))
    assert np.all(np.diff(elbo) >= -1e-9 * np.abs(elbo[1:])), np.diff(elbo).min()


@pytest.mark.parametrize("name,target", [("logreg", "y"), ("softmax_reg", "y"),
                                         ("poisson_reg", "c")])
def test_missing_observations_are_the_model_without_them(name, target):
    """fit(missing="skip") masks a bound factor with its local parameters, or
    an exp term, exactly: the fit equals the one on the kept rows."""
    data = SIMULATORS[name](np.random.default_rng(3), N=30)
    holed = dict(data, **{target: data[target].astype(float)})
    holed[target][:5] = np.nan
    kept = {k: (v[5:] if np.ndim(v) else v) for k, v in data.items()}
    a = fit(name, holed, missing="skip", max_iter=300, tol=1e-13)
    b = fit(name, kept, max_iter=300, tol=1e-13)
    latent = "W" if name == "softmax_reg" else "w"
    np.testing.assert_allclose(a.mean(latent), b.mean(latent), atol=1e-9)
    np.testing.assert_allclose(a.elbo[-1], b.elbo[-1], rtol=1e-10)
