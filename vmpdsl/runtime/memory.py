"""The sizes of a fit, checked before anything is allocated (copied verbatim
into every emitted module; numpy only): no empty events, and the memory the
fit needs.

``ARRAY_SHAPES`` (emitted per model) lists every array whose size grows with
the dims: each latent's statistics and each hyper, as tuples of dim names.
Each latent statistic lives in several copies at once (q's parameters, its
expectations, the update's coefficients, temporaries of the update), hence
``MEMORY_COPIES``.  A fit whose estimate exceeds the memory available is
refused naming the largest array and its dims (``--set K=1000000000``), rather
than left to allocate until MemoryError or the kernel's OOM killer.
"""
import os

import numpy as np

MEMORY_COPIES = 4


def check_sizes(dim):
    """Before anything is allocated: no latent has an empty event (an MvNormal
    over K = 0 dimensions has no density), and the arrays fit in memory."""
    for name, family, plates, shape, point in LATENTS:
        event = [d for d in shape[len(plates):] if (dim[d] if isinstance(d, str) else d) == 0]
        if event:
            what = "categories" if family in ("Dirichlet", "Categorical") else "dimensions"
            raise DataError(f"'{name}' is a {family} over 0 {what} ({event[0]} = 0); "
                            f"it must have at least 1")
    check_memory(dim)


def check_memory(dim):
    sizes = []
    for what, shape in ARRAY_SHAPES:
        count = 1  # Python ints: no overflow however large the dims
        for d in shape:
            count *= dim[d] if isinstance(d, str) else int(d)
        sizes.append((count * 8 * MEMORY_COPIES, what, shape))
    need = sum(size for size, _, _ in sizes)
    have = _available_memory()
    if have is None or need <= have:
        return
    size, what, shape = max(sizes, key=lambda item: item[0])
    over = " × ".join(f"{d} = {_brief_count(dim[d])}" if isinstance(d, str) else str(d)
                      for d in shape)
    raise DataError(f"the fit would need about {_gigabytes(need)} of memory, more than the "
                    f"{_gigabytes(have)} available; the largest part is {what} over {over} "
                    f"({_gigabytes(size)}); check the dims")


def _available_memory():
    """Bytes of memory available (Linux: MemAvailable), else physical memory, else None."""
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _brief_count(n):
    """An int in brief, even past the float range (K = 1e308 makes sizes of 1e600)."""
    digits = str(int(n))
    return digits if len(digits) <= 15 else f"{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"


def _gigabytes(size):
    return f"{_brief_count(size // 2 ** 30)} GiB" if size >= 2 ** 40 else f"{size / 2 ** 30:.3g} GiB"
