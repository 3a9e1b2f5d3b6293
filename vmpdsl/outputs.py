"""Writing the user's files safely.

Two rules for every file a command writes (compile's module, graph's picture,
fit's ``--out`` and ``--plot``, predict's ``--out``):

* an output may not be one of the command's inputs (the model, a data file),
  nor another output: paths are compared after resolving links, so
  ``compile m.vmp -o ./m.vmp`` is refused before anything is written;
* a regular file is written atomically: into a temporary file in the same
  directory (same file system), then ``os.replace``d over the target, so an
  interrupted or failed write leaves the old file as it was.  A target that
  exists but is not a regular file (``/dev/null``, a FIFO) is written in place:
  replacing a device node would be worse than not writing atomically.

Every failure (a directory, a missing directory, no permission, a full disk)
is a ``VmpError`` naming the path.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from .errors import VmpError


def _identity(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def refuse_overwriting(inputs: dict, outputs: dict):
    """``inputs``/``outputs``: {what (e.g. '--data'): path or list of paths}.
    An output that is an input, or two outputs that are one file, is refused."""
    seen = {}
    for what, paths in inputs.items():
        for path in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
            seen.setdefault(_identity(path), (what, path, True))
    for what, path in outputs.items():
        if path is None:
            continue
        other = seen.get(_identity(path))
        if other is not None:
            clash = (f"it is an input of this command ({other[0]} {other[1]}), which would be "
                     f"destroyed" if other[2] else f"it is the same file as {other[0]} {other[1]}")
            raise VmpError(f"refusing to write {what} {path}: {clash}",
                           hint="choose another output file name")
        seen[_identity(path)] = (what, path, False)


def write_atomically(path, write: Callable[[str], object]):
    """Call ``write(temporary path)`` and move the result onto ``path``.  The
    temporary name keeps the target's suffix (np.savez and matplotlib choose
    the format by it)."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise _cannot(path, err) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise VmpError(f"cannot write {path}: it is a directory", hint="give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        return _write_in_place(path, write)
    folder = path.parent
    if not folder.is_dir():
        raise VmpError(f"cannot write {path}: the directory {folder} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.",
                                             suffix=path.suffix)
        os.close(handle)
        os.chmod(temporary, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
    except OSError as err:
        raise _cannot(path, err) from None
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as err:
        raise _cannot(path, err) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _umask() -> int:
    """The process's umask (mkstemp makes 0600 files; outputs get the usual mode)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_in_place(path: Path, write):
    try:
        write(str(path))
    except OSError as err:
        raise _cannot(path, err) from None


def _cannot(path, err: OSError) -> VmpError:
    return VmpError(f"cannot write {path}: {err.strerror or err}")
