"""The emitted module answers new-data questions on its own, with vmpdsl
unimportable: ``local`` (responsibilities of new points), ``predict`` and
``score`` equal the package's ``Fit.local`` / ``Fit.predict`` / ``Fit.score``,
and the regression predictive is the closed form."""
import json
import subprocess
import sys
import textwrap

import numpy as np

import vmpdsl


def test_emitted_local_matches_the_package(tmp_path):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(m, 0.4, (60, 2)) for m in (-3.0, 0.0, 3.0)])
    new = rng.normal(0.0, 2.0, (7, 2))
    model = vmpdsl.load("models/gmm.vmp")
    fit = model.fit({"x": x, "K": 3}, seed=0)
    expected = fit.local({"x": new})["z"]["probs"]

    (tmp_path / "gmm_vmp.py").write_text(model.code)
    np.savez(tmp_path / "data.npz", x=x, new=new)
    script = textwrap.dedent(f"""
        import sys, json
        sys.modules["vmpdsl"] = None  # the emitted module must not need the package
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np, gmm_vmp
        arrays = np.load({str(tmp_path / "data.npz")!r})
        result = gmm_vmp.fit({{"x": arrays["x"], "K": 3}}, seed=0)
        probs = gmm_vmp.local(result, {{"x": arrays["new"]}})["z"]["probs"]
        print(json.dumps(probs.tolist()))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    got = np.array(json.loads(out.stdout))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def run_standalone(tmp_path, code, module, body):
    (tmp_path / f"{module}.py").write_text(code)
    script = "\n".join([
        "import sys, json",
        "sys.modules['vmpdsl'] = None",
        f"sys.path.insert(0, {str(tmp_path)!r})",
        f"import numpy as np, {module} as m",
        f"arrays = dict(np.load({str(tmp_path / 'data.npz')!r}))",
    ] + body)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def test_emitted_predict_is_the_exact_gaussian_predictive(tmp_path):
    rng = np.random.default_rng(5)
    X, X_new = rng.normal(size=(40, 3)), rng.normal(size=(6, 3))
    w = np.array([0.5, -1.0, 2.0])
    y, y_new = X @ w + rng.normal(size=40), X_new @ w + rng.normal(size=6)
    model = vmpdsl.load("models/linreg_known.vmp")
    np.savez(tmp_path / "data.npz", X=X, y=y, X_new=X_new, y_new=y_new)
    got = run_standalone(tmp_path, model.code, "linreg_known_vmp", [
        "r = m.fit({'X': arrays['X'], 'y': arrays['y']})",
        "p = m.predict(r, {'X': arrays['X_new'], 'y': arrays['y_new']})",
        "print(json.dumps({'mean': p['mean'].tolist(), 'var': p['var'].tolist(),",
        "                  'logp': m.score(r, {'X': arrays['X_new'], 'y': arrays['y_new']}).tolist()}))",
    ])
    # closed form with alpha = lambda = 1: Σ = (I + XᵀX)⁻¹, μ = Σ Xᵀy
    cov = np.linalg.inv(np.eye(3) + X.T @ X)
    mean = X_new @ (cov @ X.T @ y)
    var = np.einsum("ni,ij,nj->n", X_new, cov, X_new) + 1.0
    np.testing.assert_allclose(got["mean"], mean, rtol=1e-10)
    np.testing.assert_allclose(got["var"], var, rtol=1e-10)
    logp = -0.5 * (np.log(2 * np.pi * var) + (y_new - mean) ** 2 / var)
    np.testing.assert_allclose(got["logp"], logp, rtol=1e-10)


def test_emitted_mixture_score_matches_the_package(tmp_path):
    rng = np.random.default_rng(6)
    x = np.concatenate([rng.normal(m, 0.5, (50, 2)) for m in (-2.0, 2.0)])
    new = rng.normal(0.0, 2.0, (5, 2))
    model = vmpdsl.load("models/gmm_em.vmp")
    fit = model.fit({"x": x, "K": 2}, seed=0)
    np.savez(tmp_path / "data.npz", x=x, new=new)
    got = run_standalone(tmp_path, model.code, "gmm_em_vmp", [
        "r = m.fit({'x': arrays['x'], 'K': 2}, seed=0)",
        "print(json.dumps(m.score(r, {'x': arrays['new']}).tolist()))",
    ])
    np.testing.assert_allclose(got, fit.score({"x": new}), rtol=1e-12)
