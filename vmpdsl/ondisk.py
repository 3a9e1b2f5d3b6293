"""Arrays on disk, read a block of rows at a time (chunked fits).

A ``.npy`` path is read with plain file reads of the rows a block needs, not
memory-mapped: a map of the whole file would count against an address-space
limit (``ulimit -v``, RLIMIT_AS) and its pages against the resident memory,
so a 4 GB array could not be fitted under a 4 GiB cap.  A ``.zarr`` path is
opened with zarr (an optional extra, ``pip install vmpdsl[zarr]``); a zarr
array reads the chunks a slice touches.
"""
from __future__ import annotations

import os

import numpy as np

from .errors import VmpDataError


# NpyRows.take reads rows fewer than GAP bytes apart together, in windows of
# at most WINDOW bytes: a read costs a system call and a seek, a few kB of
# unwanted rows cost less.
GAP = 1 << 16
WINDOW = 1 << 20


class NpyRows:
    """A C-ordered ``.npy`` file as an array whose row slices (or numbered
    rows: an SVI minibatch) are read from disk."""

    def __init__(self, path):
        self.path = os.fspath(path)
        with open(self.path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = {(1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read is None:
                raise ValueError(f"npy format version {version} is not read by rows")
            self.shape, fortran, self.dtype = read(f)
            self.offset = f.tell()
        if self.dtype.hasobject or (fortran and len(self.shape) > 1) or not self.shape:
            raise ValueError("only a C-ordered numeric array with rows is read by rows")
        self.ndim = len(self.shape)
        self.row_items = int(np.prod(self.shape[1:], dtype=np.int64))

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        if not isinstance(key, slice):
            return self.take(key)
        if key.step not in (None, 1):
            raise TypeError("an on-disk array is read by row slices or row numbers")
        start, stop, _ = key.indices(self.shape[0])
        rows = max(stop - start, 0)
        with open(self.path, "rb") as f:
            f.seek(self.offset + start * self.row_items * self.dtype.itemsize)
            values = np.fromfile(f, dtype=self.dtype, count=rows * self.row_items)
        if values.size != rows * self.row_items:
            raise VmpDataError(f"{self.path}: the file ends before row {stop - 1}")
        return values.reshape((rows,) + tuple(self.shape[1:]))

    def take(self, rows):
        """The rows numbered ``rows`` (a minibatch, a k-means sample): rows
        close together read in one window (the gap rows read and dropped:
        one read instead of many), windows of at most WINDOW bytes."""
        rows = np.asarray(rows)
        if rows.dtype.kind not in "iu" or rows.ndim != 1:
            raise TypeError("an on-disk array is read by row slices or row numbers")
        rows = np.where(rows < 0, rows + self.shape[0], rows)
        if rows.size and (rows.min() < 0 or rows.max() >= self.shape[0]):
            raise IndexError(f"row numbers out of range for {self.shape[0]} rows")
        unique, inverse = np.unique(rows, return_inverse=True)
        row_bytes = max(self.row_items * self.dtype.itemsize, 1)
        pieces, first = [], 0
        while first < len(unique):
            # the window: rows after unique[first] while the gaps are small
            # and the span fits WINDOW bytes
            span_end = unique[first] + max(WINDOW // row_bytes, 1)
            last = first
            while last + 1 < len(unique) and unique[last + 1] < span_end \
                    and (unique[last + 1] - unique[last] - 1) * row_bytes <= GAP:
                last += 1
            window = self[unique[first]:unique[last] + 1]
            pieces.append(window[unique[first:last + 1] - unique[first]])
            first = last + 1
        values = np.concatenate(pieces) if pieces else self[0:0]
        return values[inverse.reshape(-1)]

    def __array__(self, dtype=None, copy=None):  # the whole array, when asked for it
        values = self[:]
        return values if dtype is None else values.astype(dtype)

    def __repr__(self):
        return f"NpyRows({self.path!r}, shape={self.shape}, dtype={self.dtype})"


def open_rows(name, path):
    """An on-disk array for ``path`` (.npy or .zarr), or VmpDataError."""
    path = os.fspath(path)
    try:
        if path.endswith(".zarr"):
            return open_zarr(name, path)
        try:
            return NpyRows(path)
        except ValueError:  # Fortran order, npy 3.0: a read-only memory map instead
            return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as err:
        raise VmpDataError(f"cannot open '{name}' from {path}: {err}") from None


def open_zarr(name, path):
    try:
        import zarr
    except ImportError:
        raise VmpDataError(f"'{name}' is a .zarr array; reading it needs zarr "
                           f"(pip install 'vmpdsl[zarr]')") from None
    array = zarr.open_array(path, mode="r")
    return array
