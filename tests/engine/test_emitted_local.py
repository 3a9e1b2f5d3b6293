"""The emitted module answers new-data questions on its own: ``local`` gives
the responsibilities of new points with vmpdsl unimportable, and they equal
the package's ``Fit.local``."""
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
