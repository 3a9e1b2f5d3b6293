"""The emitted module stands alone: it imports only numpy, scipy and the
standard library's warnings, os and weakref (prelude's log-determinant memo),
and runs in a fresh interpreter where vmpdsl cannot be imported, giving the
same ELBO trace as the in-process fit."""
import ast
import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from engine_cases import SIMULATORS, SUPPORTED, example, quiet_fit

# the standard library's warnings, os (the memory check reads the page size) and
# weakref (prelude's log-determinant memo)
ALLOWED_IMPORTS = {"numpy", "scipy", "warnings", "os", "weakref"}


def imported_modules(code):
    """Top-level package of every import anywhere in the module text."""
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in an emitted module"
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("name", SUPPORTED)
def test_emitted_module_imports_only_numpy_scipy_warnings(name):
    code = example(name).code
    assert imported_modules(code) <= ALLOWED_IMPORTS, imported_modules(code)
    # the same by grepping the import lines (the AST walk above also sees
    # imports inside functions; this also catches text the parser would hide)
    pattern = re.compile(r"^\s*(?:import\s+([\w.]+)|from\s+([\w.]+)\s+import\b)", re.M)
    grepped = {(a or b).split(".")[0] for a, b in pattern.findall(code)}
    assert {"numpy", "scipy"} <= grepped <= ALLOWED_IMPORTS, grepped
    assert "__import__(" not in code and "import_module(" not in code


RUNNER = textwrap.dedent("""
    import importlib.util, json, sys
    sys.modules["vmpdsl"] = None          # any 'import vmpdsl' now fails
    import numpy as np
    spec = importlib.util.spec_from_file_location("emitted_model", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    arrays = dict(np.load(sys.argv[2]))
    data = {k: (int(v) if v.ndim == 0 else v) for k, v in arrays.items()}
    result = module.fit(data, max_iter=int(sys.argv[3]), tol=0.0, seed=int(sys.argv[4]))
    heavy = sorted(m for m in ("vmpdsl", "sympy", "lark", "networkx")
                   if sys.modules.get(m) is not None)
    means = {name: {k: np.asarray(v).tolist() for k, v in q.items()}
             for name, q in result["posterior"].items()}
    print(json.dumps({"elbo": np.asarray(result["elbo"]).tolist(), "heavy": heavy,
                      "posterior": means}))
""")

STANDALONE = ("gmm", "linreg", "lda", "pca")
# The same BLAS kernels as this process: with others the rounding differs, and
# PCA's rotation step (an optimization each sweep) carries that past 1e-12.
BLAS_SETTINGS = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}


@pytest.mark.parametrize("name", STANDALONE)
def test_emitted_module_runs_without_vmpdsl(name, tmp_path):
    model = example(name)
    data, _ = SIMULATORS[name](np.random.default_rng(5))
    module_path = tmp_path / f"{name}_vmp.py"
    module_path.write_text(model.code, encoding="utf-8")
    data_path = tmp_path / "data.npz"
    np.savez(data_path, **{k: np.asarray(v) for k, v in data.items()})
    sweeps, seed = 15, 3
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(module_path), str(data_path), str(sweeps), str(seed)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1", "PYTHONWARNINGS": "ignore",
             **BLAS_SETTINGS})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["heavy"] == []
    fit = quiet_fit(model, data, max_iter=sweeps, tol=0.0, seed=seed)
    np.testing.assert_allclose(out["elbo"], fit.elbo, rtol=1e-12, atol=0)
    for latent, params in fit.posterior.items():
        for key, value in params.items():
            np.testing.assert_allclose(out["posterior"][latent][key], value,
                                       rtol=1e-10, atol=1e-12, err_msg=f"{latent}.{key}")
