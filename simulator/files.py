"""Files the package writes atomically (a temporary file in the destination's folder, then a rename) keep the mode a
file created in place would have.

`tempfile.mkstemp` creates its file with mode 0600 and `tempfile.mkdtemp` its folder with 0700, so an output renamed
into place from one would be readable by its owner alone, not by the colleagues who share a project folder or a
cluster's file system. `as_created` gives it 0666 (0777 for a folder) less the process's umask, as `open` and
`os.mkdir` do.

Example:
    >>> import os, stat, tempfile
    >>> fd, tmp = tempfile.mkstemp()
    >>> os.close(fd)
    >>> as_created(tmp)
    >>> stat.S_IMODE(os.stat(tmp).st_mode) == 0o666 & ~UMASK
    True
    >>> os.unlink(tmp)
"""

from __future__ import annotations

import os
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)   # the umask can only be read by setting it
    os.umask(mask)
    return mask


UMASK = _umask()   # read once, at import, before any worker thread starts


def as_created(path: str | Path) -> None:
    """Give the temporary file or folder `path` the mode `open` or `os.mkdir` would have given it."""
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~UMASK)
