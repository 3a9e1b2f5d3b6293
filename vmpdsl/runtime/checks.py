"""Checks before fitting, part of every emitted module (copied verbatim;
numpy only): the data against ``DATA_SPEC`` (shapes, dims, finiteness,
supports, label ranges, missing values) and every prior's and likelihood's
constant arguments against the family's own parameter check, so a bad
hyperparameter is reported by name before the first sweep.
"""
import warnings

import numpy as np


def bind_data(data, missing=None):
    """Validate the data against DATA_SPEC and bind every dim's size.

    ``missing="skip"``: NaN in an observed array (the target of a ``~``) marks
    a missing observation; its factor is dropped through the array's mask
    (``arrays['@m0']``, 1 where observed; see MASKS).  The rows of a
    collapsible plate get count weights of 1 (``arrays['@w0']``; see
    COLLAPSIBLE and runtime.collapse_rows).  An array that is not in the model
    is ignored with a warning."""
    _MEMO.clear()  # products memoized by identity must not outlive data changed in place
    if not isinstance(data, dict):
        raise DataError("data must be a dict of arrays by name")
    if missing not in (None, "error", "skip"):
        raise DataError(f"missing must be 'error' or 'skip', got {missing!r}")
    masks = {row[0]: row[1:] for row in globals().get("MASKS", ())}
    if missing == "skip" and not masks:
        raise DataError(f"model '{MODEL_NAME}' was compiled without missing-data masks "
                        f"(or observes nothing); compile it with missing=True")
    names = [s[0] for s in DATA_SPEC]
    extra = [str(n) for n in data if n not in names and n not in DIM_DEFAULTS]
    if extra:
        warnings.warn(f"{MODEL_NAME}: ignoring data the model does not use: "
                      f"{', '.join(extra)} (it has data {', '.join(names) or 'none'}"
                      f"{' and dims ' + ', '.join(DIM_DEFAULTS) if DIM_DEFAULTS else ''})",
                      UserWarning, stacklevel=3)
    dim, arrays = {}, {}
    for name, value in data.items():
        if name in DIM_DEFAULTS and name not in names:
            dim[name] = _size(name, value)
    for name, shape, dtype, categories, family in DATA_SPEC:
        if name not in data:
            raise DataError(f"the data has no array '{name}' (the model declares "
                            f"data {name}[{', '.join(map(str, shape))}])")
        value = _unmasked(name, data[name], missing == "skip" and name in masks)
        if missing == "skip" and name in masks:
            value, arrays[masks[name][0]] = _masked(name, value, masks[name][1])
        arrays[name] = _array(name, value, shape, dtype)
        for axis, d in enumerate(shape):
            size = arrays[name].shape[axis]
            if isinstance(d, int):
                if size != d:
                    raise DataError(f"axis {axis} of '{name}' has size {size}, not {d}")
            elif dim.setdefault(d, size) != size:
                raise DataError(f"dim {d} is {dim[d]} elsewhere but axis {axis} of "
                                f"'{name}' has size {size}")
    for name, default in DIM_DEFAULTS.items():
        if name not in dim:
            if default is None:
                raise DataError(f"dim {name} is not fixed by any data array; give it "
                                f"with the data, e.g. {{'{name}': 3}}")
            dim[name] = int(default)
    for name, shape, dtype, categories, family in DATA_SPEC:
        _check_values(name, arrays[name], dtype, categories, family, dim)
    for plate, weight, _, _ in globals().get("COLLAPSIBLE", ()):
        arrays[weight] = np.ones(dim[plate])  # each row counts once until fit merges duplicates
    if globals().get("SLICE_MASKS"):  # a sliced plate's 0/1 masks (chains.py through features.FEATURES)
        FEATURES["SLICE_MASKS"](dim, arrays)
    return dim, arrays


def _unmasked(name, value, skip):
    """A numpy masked array: its masked entries are missing observations (NaN)
    under missing="skip"; otherwise a mask hiding anything is refused rather
    than silently ignored (np.asarray drops it)."""
    if not isinstance(value, np.ma.MaskedArray):
        return value
    hidden = np.ma.getmaskarray(value)
    if np.any(hidden) and not skip:
        index = tuple(int(i) for i in np.argwhere(hidden)[0])
        raise DataError(f"'{name}' is a masked array with masked entries (first at index "
                        f"{index}); fit with missing='skip' to treat them as missing "
                        f"observations, or pass a plain array")
    return np.ma.filled(np.ma.asarray(value, dtype=float), np.nan)


def hyper_value(name, line, compute):
    """A hyper's default from its expression in the model (numbers, dims,
    earlier hypers): an arithmetic error or a non-finite result names it."""
    try:
        with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
            value = np.asarray(compute(), dtype=float)
    except (ZeroDivisionError, OverflowError, FloatingPointError, ValueError) as err:
        raise DataError(f"hyper {name} (line {line}) cannot be computed: {err}") from None
    if not np.all(np.isfinite(value)):
        raise DataError(f"hyper {name} (line {line}) is not finite (it evaluates to "
                        f"{value.flat[0] if value.size else value})")
    return value


def _masked(name, value, plate_axes):
    """NaN observations → (the array with them filled by an observed value, the
    0/1 mask over the plate axes; an observation with any NaN is missing)."""
    array = _numeric(name, value)
    nan = np.isnan(array)
    if array.ndim > plate_axes:
        nan = np.any(nan, axis=tuple(range(plate_axes, array.ndim)))
    observed = array[np.isfinite(array)]
    fill = observed.flat[0] if observed.size else 0.0
    rows = np.broadcast_to(np.expand_dims(nan, tuple(range(nan.ndim, array.ndim))), array.shape)
    return np.where(rows, fill, array), (~nan).astype(float)


def _numeric(name, value, kind=""):
    """``value`` as a float array; refuses strings, complex numbers and objects."""
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "biuf":
            if raw.dtype.kind != "O":
                raise TypeError(raw.dtype)
            raw = np.asarray(value, dtype=float)
        return np.asarray(raw, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{kind}'{name}' must be an array of real numbers, got "
                        f"{_type_name(value)}") from None


def _type_name(value):
    try:
        return f"dtype {np.asarray(value).dtype}"
    except Exception:
        return type(value).__name__


def _size(name, value):
    try:
        size = np.asarray(value)
        whole = size.ndim == 0 and size.dtype.kind in "biuf" and float(size).is_integer()
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or size < 0:
        raise DataError(f"dim {name} must be a non-negative whole number, got {value!r}")
    return int(size)


def _array(name, value, shape, dtype):
    # an integer array is whole and finite already: no float copy to test it
    # (a million rows: 16 MB), only its range
    whole = dtype == "int" and isinstance(value, np.ndarray) and value.dtype.kind in "bi"
    array = value if whole else _numeric(name, value)
    if array.ndim != len(shape):
        axes = f"{len(shape)} ax{'i' if len(shape) == 1 else 'e'}s"
        raise DataError(f"'{name}' must have {axes} ({', '.join(map(str, shape))}), "
                        f"got shape {array.shape}")
    if not whole and not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise DataError(f"'{name}' has a non-finite value (NaN or inf) at index {bad}")
    if dtype == "int":
        if not whole and not np.all(array == np.round(array)):
            raise DataError(f"'{name}' is declared int but has fractional values")
        # past 2^53 floats skip integers (max and min: no |array| copy)
        if array.size and (array.max() >= 2 ** 53 or array.min() <= -2 ** 53):
            raise DataError(f"'{name}' has the value {np.max(np.abs(array)):.6g}, too large "
                            f"to count exactly (the limit is 2^53)")
        return array.astype(np.intp, copy=False)
    return array


def _check_values(name, array, dtype, categories, family, dim):
    if dtype == "int" and categories is not None:
        size = dim[categories] if isinstance(categories, str) else int(categories)
        if size < 1:
            raise DataError(f"'{name}' takes values in 0..{categories}-1 but {categories} = "
                            f"{size}; it must be at least 1")
        bad = (array < 0) | (array >= size)
        if np.any(bad):
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DataError(f"'{name}' indexes {categories} = {size} values but has "
                            f"{array[index]} at index {index}")
    checker = SUPPORT_CHECKS.get(family)
    if checker is not None and not (family == "Categorical"):
        # Binomial counts against their trials: here only >= 0 and whole;
        # check_factor_arguments compares them with the trials.
        problem = checker(array) if family != "Binomial" else checker(array, np.inf)
        if problem:
            raise DataError(f"'{name}': {problem}")


_PLACEHOLDERS = {"mean": 0.0, "precision": 1.0, "shape": 1.0, "rate": 1.0, "a": 1.0,
                 "b": 1.0, "p": 0.5, "trials": 0.0}


def _with_placeholders(dist, args, given, known):
    """``given`` completed with valid stand-ins for the other arguments, so that
    the family's check_params judges the given ones alone (``known``: every
    constant argument, for the event size)."""
    size = next((np.shape(v)[-1] for v in known.values() if np.ndim(v) >= 1), 1)
    params = dict(given)
    for arg, _, _ in args:
        if arg not in params:
            if dist in ("MvNormal", "Wishart") and arg in ("precision", "scale"):
                params[arg] = np.eye(size)
            elif dist == "MvNormal" and arg == "mean":
                params[arg] = np.zeros(size)
            elif arg == "df":
                params[arg] = size + 1.0
            else:
                params[arg] = _PLACEHOLDERS.get(arg, 1.0)
    return params


def check_factor_arguments(dim, hyper, data=None):
    """Before fitting: every factor argument that is a constant (hypers, dims,
    numbers) must be a valid parameter of its distribution (the families'
    check_params); the error names the hyperparameters, the argument and the
    factor.  Arguments with random variables are checked at initialization."""
    try:
        with np.errstate(all="ignore"):
            values = _factor_argument_values(dim, hyper)
    except (ValueError, TypeError, np.linalg.LinAlgError) as err:
        raise DataError(f"the hyperparameters do not evaluate: {err}") from None
    for (variable, role, dist, line, args), given in zip(FACTOR_ARGS, values):
        check = ARGUMENT_CHECKS.get(dist)
        what = "prior of" if role in ("latent", "point") else "likelihood of"
        for arg, hypers, constant in args:
            if not constant or check is None:
                continue
            problem = check(_with_placeholders(dist, args, {arg: given[arg]}, given))
            if problem:
                source = (f"hyperparameter{'s' if len(hypers) > 1 else ''} "
                          f"{', '.join(hypers)}" if hypers else "the constant")
                raise DataError(f"{source} gives the {arg} of the {dist} {what} '{variable}' "
                                f"(line {line}), which is invalid: {problem}")
        if dist == "Binomial" and data is not None and variable in data \
                and "trials" in given:
            problem = SUPPORT_CHECKS["Binomial"](data[variable], given["trials"])
            if problem:
                raise DataError(f"'{variable}': {problem} ({float(given['trials']):g} trials)")
