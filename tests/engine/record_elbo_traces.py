"""Record the ELBO traces that test_elbo_traces.py holds the emitter to.

Run ``python tests/engine/record_elbo_traces.py`` to re-record (only when a
change is *meant* to change the numbers, and say why in the commit).  Each case
stores its model text, its data and its fit options beside the trace, so the
oracle does not drift when models/ or contract_data.py change: the same model,
data and options must give the same trace to 1e-12.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import warnings

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TRACES = HERE / "elbo_traces.json"
ARRAYS = HERE / "elbo_traces.npz"
SWEEPS = 25

# (case, model source: "models/NAME" or "contract/NAME", simulator, fit options)
VARIANTS = (
    ("gmm-mean-field", "models/gmm", "gmm", {"mean_field": True}),
    ("gmm-missing", "models/gmm", "gmm", {"missing": "skip", "nan_rows": 7}),
    ("gmm-chunked", "models/gmm", "gmm", {"chunk_size": 40}),
    ("gmm-point", "models/gmm", "gmm", {"point": ["pi"], "hypers": {"alpha0": 2.0}}),
    ("gmm-mf-point", "models/gmm", "gmm", {"point": ["mu", "Lambda"], "mean_field": True}),
    ("lda-local-iters", "models/lda", "lda", {"local_iters": 3}),
    ("lda-plain-sweep", "models/lda", "lda", {"local_iters": 1}),
    ("hier-missing", "models/hier", "hier", {"missing": "skip", "nan_rows": 5}),
    ("linreg-point", "models/linreg", "linreg", {"point": ["alpha"]}),
    ("coin-no-collapse", "models/coin", "coin", {"collapse": False}),
    ("pca-no-rotation", "models/pca", "pca", {"rotate": False}),
)


def simulator(name):
    sys.path.insert(0, str(ROOT / "tests"))
    from contract_data import SIMULATE
    return SIMULATE[name]


def contract_sources() -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_language_contract import contract_models
    return contract_models()


def with_nans(data, rows, name):
    """``rows`` rows of the first real array made NaN (fit(missing="skip"))."""
    data = dict(data)
    for key, value in data.items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            value = value.copy()
            value[np.random.default_rng(1).choice(len(value), rows, replace=False)] = np.nan
            data[key] = value
            return data
    raise ValueError(f"{name}: no real array to mask")


def run(source: str, data: dict, options: dict) -> list:
    import vmpdsl
    options = {k: v for k, v in options.items() if k != "nan_rows"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = vmpdsl.load(source).fit(dict(data), max_iter=SWEEPS, tol=0.0, seed=0, **options)
    return [float(e) for e in fit.elbo]


def cases() -> list:
    """(case, source, data, options): every model of models/, every contract
    model whose text is not one of models/, and the VARIANTS."""
    contract = contract_sources()
    sources = {f"models/{p.stem}": p.read_text(encoding="utf-8")
               for p in sorted((ROOT / "models").glob("*.vmp"))}
    own = set(sources.values())
    sources.update({f"contract/{n}": s for n, s in contract.items() if s not in own})
    out = []
    for label, source in sources.items():
        name = label.split("/")[1]
        data, _ = simulator("linreg" if name == "linreg_known" else name)(np.random.default_rng(11))
        out.append((label, source, data, {}))
    for case, label, sim, options in VARIANTS:
        data, _ = simulator(sim)(np.random.default_rng(11))
        if "nan_rows" in options:
            data = with_nans(data, options["nan_rows"], case)
        out.append((case, sources[label], data, options))
    return out


def main():
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    records, arrays = [], {}
    for case, source, data, options in cases():
        scalars = {k: v for k, v in data.items() if not isinstance(v, np.ndarray)}
        for k, v in data.items():
            if isinstance(v, np.ndarray):
                arrays[f"{case}/{k}"] = v
        records.append({"case": case, "source": source, "scalars": scalars,
                        "arrays": sorted(k for k, v in data.items() if isinstance(v, np.ndarray)),
                        "options": options, "elbo": run(source, data, options)})
        print(case, len(records[-1]["elbo"]), records[-1]["elbo"][-1])
    TRACES.write_text(json.dumps({"commit": commit, "sweeps": SWEEPS, "cases": records},
                                 indent=1) + "\n", encoding="utf-8")
    np.savez_compressed(ARRAYS, **arrays)


if __name__ == "__main__":
    main()
