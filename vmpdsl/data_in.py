"""Data in: ``.npz`` and ``.csv`` files, pandas objects and ``--set`` values.

Every reader ends in a plain ``{name: ndarray}`` for ``Model.fit``; anything
it cannot read exactly is a ``VmpDataError`` naming the file, the member or the
row, never a guess.

* ``.npz``: members are read lazily (``np.load`` opens the zip; a member is
  decompressed only when indexed), so only the arrays the model uses are read.
  ``--data x=f.npz`` binds the member ``x`` (or the only member).
* ``.csv``: Python's ``csv`` module, not ``line.split(",")``: it handles quoted
  cells and embedded commas, and it is always there (pandas is an optional
  extra; numpy's loadtxt has no quoting and guesses headers by trial).  Cells
  must be ASCII numbers (``1_000`` and other scripts' digits are refused, as in
  the model language); an empty cell is NaN, so ``missing`` decides.
* pandas: a DataFrame or a dict of Series / DataFrames, columns by name.
"""
from __future__ import annotations

import csv
import os
import re
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import VmpDataError

# A number as the model language writes one, plus nan / inf (the data checks
# report those); ASCII only.
NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)",
                    re.IGNORECASE | re.ASCII)


def number(text: str, where: str) -> float:
    if not NUMBER.fullmatch(text.strip()):
        raise VmpDataError(f"{where}: {text!r} is not a number")
    return float(text)


def is_number(text: str) -> bool:
    return NUMBER.fullmatch(text.strip()) is not None


# ------------------------------------------------------------------ files
def split_spec(spec: str) -> tuple:
    """``[NAME=]FILE`` → (name or None, path)."""
    name, sep, path = spec.partition("=")
    return (name, path) if sep else (None, spec)


def read_data(spec: str, names: list, dims: list = ()) -> dict:
    """Arrays from one --data argument; ``names``: the model's data arrays
    (with ``dims``, the only members of an archive that are read)."""
    name, path = split_spec(spec)
    file = Path(path)
    if not file.is_file():
        raise VmpDataError(f"no such data file: {path}" if not file.is_dir() else
                           f"{path} is a directory, not a data file")
    if not os.access(file, os.R_OK):
        raise VmpDataError(f"{path}: the data file cannot be read (permission denied)")
    if file.suffix == ".npz":
        return read_npz(file, name, list(names) + list(dims))
    if file.suffix == ".csv":
        return read_csv(file, name, names)
    raise VmpDataError(f"{path}: data files must be .npz or .csv")


def read_npz(file: Path, name: str | None, names: list) -> dict:
    if not zipfile.is_zipfile(file):
        raise VmpDataError(f"{file}: not an .npz archive (numpy's zip of .npy arrays); "
                           f"{'the file is empty' if file.stat().st_size == 0 else 'is it mislabelled?'}")
    try:
        with np.load(file, allow_pickle=False) as archive:
            members = list(archive.files)
            wanted = npz_members(file, members, name, names)
            return {key: _member(file, archive, member) for key, member in wanted.items()}
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise VmpDataError(f"{file}: the archive is damaged or truncated ({err})") from None


def npz_members(file: Path, members: list, name: str | None, names: list) -> dict:
    """{array name: member} to read."""
    if not members:
        raise VmpDataError(f"{file}: the archive holds no arrays")
    if name:
        if name in members:
            return {name: name}
        if len(members) == 1:
            return {name: members[0]}
        raise VmpDataError(f"{file} has no member '{name}' (it holds {', '.join(members)})")
    unused = [m for m in members if m not in names]
    if unused:
        warnings.warn(f"{file}: ignoring members the model does not use: "
                      f"{', '.join(unused)}", UserWarning, stacklevel=4)
    return {m: m for m in members if m in names}


def _member(file: Path, archive, member: str) -> np.ndarray:
    try:
        return archive[member]
    except ValueError as err:
        pickled = "allow_pickle" in str(err) or "Object arrays" in str(err)
        reason = "it holds Python objects (pickled arrays are refused)" if pickled else str(err)
        raise VmpDataError(f"{file}: cannot read member '{member}': {reason}") from None


def read_csv(file: Path, name: str | None, names: list) -> dict:
    try:
        with open(file, newline="", encoding="utf-8-sig") as handle:  # -sig: drop a BOM
            rows = [row for row in csv.reader(handle) if not _blank(row)]
    except (UnicodeDecodeError, csv.Error) as err:
        raise VmpDataError(f"{file}: not a UTF-8 CSV file ({err})") from None
    except OSError as err:
        raise VmpDataError(f"{file}: cannot be read ({err.strerror or err})") from None
    if not rows:
        raise VmpDataError(f"{file}: the file is empty")
    header = [h.strip() for h in rows[0]]
    has_header = csv_has_header(file, header, rows[1:])
    body, first = (rows[1:], 2) if has_header else (rows, 1)
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise VmpDataError(f"{file}:{first + i}: {len(row)} cells, expected {len(header)}")

    def values(columns):  # only the columns bound to arrays are parsed
        matrix = np.empty((len(body), len(columns)))
        for i, row in enumerate(body):
            matrix[i] = [number(row[c], f"{file}:{first + i}") if row[c].strip() else np.nan
                         for c in columns]
        return matrix
    return table_arrays(values, header if has_header else None, len(header), name, names,
                        str(file))


def _blank(row: list) -> bool:
    """An empty line, or one of spaces only; a quoted "" is an empty cell."""
    return not row or (len(row) == 1 and row[0] != "" and not row[0].strip())


def csv_has_header(file: Path, first: list, rest: list) -> bool:
    """A first row with a cell that is not a number is a header.  One of bare
    column numbers ``0,1,…`` (pandas' ``to_csv(index=False)`` of an unnamed
    frame) is a header when the rows below hold a decimal point or an
    exponent (pandas writes floats that way); over whole numbers it could be
    either, and is refused rather than guessed."""
    if any(not is_number(h) for h in first):
        return True
    if first != [str(i) for i in range(len(first))]:
        return False
    if any(re.search(r"[.eE]", c) for row in rest for c in row):
        return True
    raise VmpDataError(f"{file}: the first row ({','.join(first)}) could be a header of "
                       f"column numbers (as pandas writes) or a row of data; give the columns "
                       f"names (e.g. the model's data names) or drop that row")


def table_arrays(values, columns: list | None, width: int, name: str | None,
                 names: list, where: str) -> dict:
    """A table → data arrays: ``name`` binds the whole table (one column: a
    vector), as does a model with one data array that no column names;
    otherwise the columns named after data arrays are those arrays.  ``values(indices)``
    gives those columns as a float matrix."""
    if columns is not None:
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            raise VmpDataError(f"{where}: the column name{'s' if len(repeated) > 1 else ''} "
                               f"{', '.join(repeated)} appear{'' if len(repeated) > 1 else 's'} "
                               f"more than once")
    everything = list(range(width))
    if name or (len(names) == 1 and not (columns and any(c in names for c in columns))):
        matrix = values(everything)
        return {name or names[0]: matrix[:, 0] if width == 1 else matrix}
    if columns is not None and any(c in names for c in columns):
        used = [i for i, c in enumerate(columns) if c in names]
        matrix = values(used)
        return {columns[i]: matrix[:, k] for k, i in enumerate(used)}
    shown = ", ".join(map(str, columns)) if columns is not None else "no header"
    raise VmpDataError(f"{where}: its columns ({shown}) name none of the model's data arrays "
                       f"({', '.join(names)}); use --data NAME={where}")


# ------------------------------------------------------------ pandas, API
def as_data_dict(data, names: list):
    """A pandas DataFrame (bound by its column names, as a CSV table is) or a
    dict whose values may be pandas objects → a dict of numpy arrays; anything
    else is returned as it is (the emitted module reports it)."""
    if _is_frame(data):
        columns = [str(c) for c in data.columns]
        return table_arrays(lambda used: _frame_values(data.iloc[:, used]), columns,
                            len(columns), None, names, "the DataFrame")
    if not isinstance(data, dict):
        return data
    return {k: _frame_values(v) if hasattr(v, "to_numpy") else v for k, v in data.items()}


def _is_frame(value) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "columns")


def _frame_values(value) -> np.ndarray:
    """Values of a Series / DataFrame; pandas' missing values (None, pd.NA) as NaN."""
    try:
        return value.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        return value.to_numpy()  # not numeric: the data checks name the array


# ------------------------------------------------------------- CLI values
def parse_setting(item: str) -> tuple:
    """``NAME=VALUE`` of --set: a number, a vector ``0,0`` or a matrix with
    rows separated by ``;`` (``1,0;0,1``); whole numbers without a point are
    ints (dim sizes)."""
    name, sep, text = item.partition("=")
    if not sep or not name.strip():
        raise VmpDataError(f"--set takes NAME=VALUE, got {item!r}")
    name, where = name.strip(), f"--set {name.strip()}"
    if "," not in text and ";" not in text:
        value = number(text, where)
        return name, int(value) if value.is_integer() and is_int_text(text) else value
    rows = [[number(c, where) for c in row.split(",")] for row in text.split(";")]
    if len({len(r) for r in rows}) != 1:
        raise VmpDataError(f"{where}: the rows of a matrix must have equal lengths, got "
                           f"{', '.join(str(len(r)) for r in rows)}")
    return name, np.array(rows[0] if ";" not in text else rows)


def is_int_text(text: str) -> bool:
    return re.fullmatch(r"\s*[+-]?[0-9]+\s*", text, re.ASCII) is not None


def standardized(data: dict, real_names: list) -> dict:
    """The real data arrays centred and scaled per column over their observed
    values (NaN stays NaN, so missing="skip" still sees the missing cells)."""
    out = dict(data)
    for name in real_names:
        if name in data:
            x = np.asarray(data[name], dtype=float)
            observed = np.isfinite(x)
            count = observed.sum(axis=0)
            mean = np.where(count > 0, np.nansum(np.where(observed, x, 0), axis=0)
                            / np.maximum(count, 1), 0.0)
            spread = np.where(observed, x - mean, 0.0)
            scale = np.sqrt((spread ** 2).sum(axis=0) / np.maximum(count, 1))
            out[name] = (x - mean) / np.where(scale > 0, scale, 1.0)
    return out
