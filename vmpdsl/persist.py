"""Fits that outlive the process: a file format, and pickling.

The format is one ``.npz`` archive read with ``allow_pickle=False``: a JSON
manifest (the model's source, file name, points and missing-data switch; the
fit's options; the result's structure) in the array ``manifest``, and every
array of the result under a readable name (``elbo``, ``mu.mean``,
``result.expectations.mu.x``; see ``flat_key``).  The result dict is walked
generically (dicts, lists, arrays, numbers, strings), so whatever a fit
returns — posterior, expectations, ELBO trace, dims, hypers, converged flag,
iterations and fields added later — comes back as it was, and ``predict`` on
the loaded fit equals the original's.  An array broadcast along some axes
(a covariance shared by every row) is stored once and broadcast again on
load.  Nothing is pickled, so loading a file runs no code of its own: the
model is recompiled from its source (through the compile cache).

Writes are atomic (``outputs.write_atomically``: a temporary file in the same
directory, then ``os.replace``); the commands refuse an output path that is
one of their inputs (``outputs.refuse_overwriting``), so a crash or a typo
never destroys data.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from .errors import VmpDataError
from .outputs import write_atomically

FORMAT, VERSION = "vmpdsl-fit", 1


# ----------------------------------------------------------- model and fit
def model_spec(model) -> dict:
    """What recompiles a Model: source, file name, points, missing-data masks,
    factorized blocks (mean_field)."""
    checked = model.checked
    return {"source": checked.source, "filename": checked.filename,
            "points": sorted(v.name for v in checked.by_role("point")),
            "missing": bool(checked.missing), "mean_field": bool(checked.mean_field)}


def model_from_spec(source, filename, points, missing, mean_field=False):
    """Recompile a Model (the unpickler of ``Model``)."""
    from .api import Model
    from .compiler import compile_source
    return Model(compile_source(source, filename, tuple(points), bool(missing),
                                bool(mean_field)))


def fit_from_state(model, result, options, data=None):
    """Rebuild a Fit (the unpickler of ``Fit``)."""
    from .api import Fit
    return Fit(model, result, options, data)


# ------------------------------------------------------------------ encode
class _Encoder:
    """The result tree as JSON, its arrays collected apart."""

    def __init__(self):
        self.arrays = {}

    def encode(self, value, where: str):
        """JSON for ``value`` (at path ``where``); arrays go to ``self.arrays``."""
        if isinstance(value, dict):
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                raise VmpDataError(f"cannot save {where}: key {bad[0]!r} is not a string")
            return {"dict": {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}}
        if isinstance(value, (list, tuple)):
            return {"list": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, (np.integer, np.floating)):
            return value  # JSON keeps Python numbers (NaN and inf too)
        return self.array(value, where)

    def array(self, value, where: str):
        """Store one array; a broadcast view is stored once with its full shape."""
        try:
            array = np.asarray(value)
        except Exception:  # noqa: BLE001 - any object numpy cannot hold
            raise VmpDataError(f"cannot save {where}: {type(value).__name__}") from None
        if array.dtype.kind not in "biuf":
            raise VmpDataError(f"cannot save {where}: arrays of {array.dtype} are not stored")
        key = flat_key(where)
        if key in self.arrays or key == "manifest":
            key = f"a{len(self.arrays)}"
        node = {"array": key}
        shared = tuple(i for i, s in enumerate(array.strides) if s == 0 and array.shape[i] > 1)
        if shared:  # a broadcast view: store one copy, broadcast again on load
            node["shape"] = list(array.shape)
            array = array[tuple(slice(0, 1) if i in shared else slice(None)
                                for i in range(array.ndim))]
        if isinstance(value, np.generic):
            node["scalar"] = True
        self.arrays[key] = np.array(array, order="C")  # (keeps 0-d arrays 0-d)
        return node


def flat_key(where: str) -> str:
    """The array's name in the archive: ``elbo``, ``mu.mean`` (a posterior
    parameter), else its path (``result.expectations.mu.x``), so that plain
    ``np.load`` reads a fit file too."""
    for prefix in ("result.posterior.", "result."):
        if where.startswith(prefix) and (prefix != "result." or where.count(".") == 1):
            return where[len(prefix):]
    return where


def decode(node, arrays):
    """The value a manifest node describes (inverse of ``_Encoder.encode``)."""
    if isinstance(node, dict):
        if "dict" in node:
            return {k: decode(v, arrays) for k, v in node["dict"].items()}
        if "list" in node:
            return [decode(v, arrays) for v in node["list"]]
        array = arrays[node["array"]]
        if "shape" in node:
            array = np.broadcast_to(array, tuple(node["shape"]))
        return array[()] if node.get("scalar") else array
    return node


# -------------------------------------------------------------- save, load
def save_fit(fit, path, data: bool = False) -> Path:
    """Write ``fit`` to ``path`` (.npz); ``data=True`` stores the data it was fitted to."""
    path = Path(path)
    if path.suffix != ".npz":
        raise VmpDataError(f"{path}: a fit is saved as .npz")
    encoder = _Encoder()
    manifest = {"format": FORMAT, "version": VERSION, "model": model_spec(fit.model),
                "options": encoder.encode(fit.options, "options"),
                "result": encoder.encode(fit.result, "result"),
                "data": encoder.encode(fit.data, "data") if data and fit.data else None}
    arrays = dict(encoder.arrays, manifest=np.array(json.dumps(manifest)))
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return path


def load_fit(path):
    """Read a fit written by ``Fit.save`` (or ``vmpdsl fit --out FILE.npz``)."""
    path = Path(path)
    if not path.is_file():
        raise VmpDataError(f"no such fit file: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        manifest = json.loads(str(arrays.pop("manifest")))
    except (ValueError, KeyError, OSError) as err:
        raise VmpDataError(f"{path} is not a vmpdsl fit file ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise VmpDataError(f"{path} is not a vmpdsl fit file (no '{FORMAT}' manifest)")
    if manifest.get("version") != VERSION:
        raise VmpDataError(f"{path}: fit file version {manifest.get('version')} is not "
                           f"supported (this vmpdsl reads version {VERSION})")
    spec = manifest["model"]
    model = model_from_spec(spec["source"], spec["filename"], spec["points"], spec["missing"],
                            spec.get("mean_field", False))
    data = decode(manifest["data"], arrays) if manifest.get("data") else None
    return fit_from_state(model, decode(manifest["result"], arrays),
                          decode(manifest["options"], arrays), data)


# ------------------------------------------------------------------- files
def atomic_write(path, write) -> None:
    """Call ``write(file)`` on an in-memory file, then write its bytes with
    ``outputs.write_atomically`` (a temporary beside ``path``, renamed over it):
    readers see the old file or the whole new one, never half."""
    buffer = io.BytesIO()
    write(buffer)
    write_atomically(path, lambda temp: Path(temp).write_bytes(buffer.getvalue()))
