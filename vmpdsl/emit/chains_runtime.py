"""Slice masks, part of every emitted module (copied verbatim; numpy only).

A sliced plate ``for t in T[1:]`` is the whole plate times a 0/1 mask
(derive/chains.py); ``SLICE_MASKS`` lists them as rows
``(key, dims, start, stop, sources)``: the mask is 1 for start ≤ t < stop
(``stop`` None: to the end; negative: from the end; positive: absolute, the
[0:1] of a chain's first element).  A chain's own masks span its plates
(outer dims, then T) and, when the model carries missing-data masks
(``fit(missing="skip")``), end each sequence at its last observation: the
``sources`` are the observed-masks of the data over the chain's plates, and a
sequence padded with trailing NaN has as many elements as it has steps up to
its last observed one.
"""
import numpy as np


def bind_slice_masks(dim, arrays):
    """Add every slice mask of SLICE_MASKS to the bound data ``arrays``."""
    for key, dims, start, stop, sources in globals().get("SLICE_MASKS", ()):
        size = dim[dims[-1]]
        t = np.arange(size)
        end = size if stop is None else (min(stop, size) if stop > 0 else size + stop)
        mask = ((t >= start) & (t < end)).astype(float)
        shape = tuple(dim[d] for d in dims)
        present = [arrays[s] for s in sources if s in arrays]
        if present:
            mask = mask * (t < sequence_lengths(present, len(dims))[..., None])
        arrays[key] = np.broadcast_to(mask, shape)


def sequence_lengths(masks, axes):
    """Each sequence's length: 1 + its last position observed in any mask
    (0 when none is); the masks' first ``axes`` axes are (sequences…, T)."""
    observed = np.zeros(masks[0].shape[:axes], dtype=bool)
    for mask in masks:
        extra = tuple(range(axes, np.ndim(mask)))
        observed |= np.any(mask > 0, axis=extra) if extra else mask > 0
    size = observed.shape[-1]
    last = size - np.argmax(observed[..., ::-1], axis=-1)
    return np.where(observed.any(-1), last, 0)
