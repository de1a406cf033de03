"""The result cache: finished runs kept by a key of everything that determines them, and verified on every read.

An entry is a folder `<cache>/<key>/` holding `results.nc` and `entry.json`, the entry's index: the SHA-256 and size of
`results.nc`, the key and the simulator version. Both files are written atomically (a temporary file, then a rename),
the index last, so an entry is either whole or absent. On every read the file's checksum is compared with its index: a
truncated, emptied or altered file, or one without an index (a run killed while writing), is not used; the run is
recomputed and a warning names the entry. The key (`simulator.experiments.comparison.run_key`) covers the run config,
the scenario and world files as loaded, the simulator version and a fingerprint of the model's code
(`code_fingerprint`), so a changed rule never returns an old result.

Example:
    >>> import tempfile, xarray as xr
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     cache = ResultCache(folder)
    ...     path = cache.put("0123456789abcdef", xr.Dataset({"x": ("t", [1, 2])}))
    ...     cache.get("0123456789abcdef") == path
    True
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import xarray as xr

from simulator.version import __version__
from simulator.files import as_created
from simulator.model.outputs import write_netcdf

RESULTS, INDEX = "results.nc", "entry.json"

# Modules that cannot change a run's numbers: the experiments around runs and the presentation of their results,
# by their path in the package. Every other module is part of the code fingerprint (a new module is in it until listed
# here); the experiments' runner stays in it, since it turns a config into a model.
NOT_MODEL_CODE = frozenset({"experiments/cache.py", "experiments/comparison.py", "experiments/metrics.py",
                            "experiments/sensitivity.py", "experiments/calibration.py", "experiments/emulate.py",
                            "experiments/optimise.py", "experiments/validation.py",
                            "present/__init__.py",
                            "present/plotting.py", "present/report.py", "present/dashboard.py"})


PACKAGE = Path(__file__).resolve().parents[1]   # the simulator package


@functools.lru_cache(maxsize=4)
def code_fingerprint(package: Path = PACKAGE) -> str:
    """SHA-256 (16 hex digits) of the source of every module of `package` that determines a run's results."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).as_posix() in NOT_MODEL_CODE:
            continue
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(data: dict, path: Path) -> None:
    """Write `data` as JSON to `path` atomically (a temporary file in the same folder, then a rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        as_created(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultCache:
    """Finished runs under `folder`, one verified entry per key."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def check_writable(self) -> None:
        """Raise OSError (naming the folder) unless entries can be written here; creates the folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".write-test.", dir=self.folder)
        os.close(fd)
        os.unlink(tmp)

    def path(self, key: str) -> Path:
        """Where the entry's results are (whether or not they are there yet)."""
        return self.folder / key / RESULTS

    def damage(self, key: str) -> str | None:
        """Why the entry cannot be used, or None if it is whole; "absent" if it was never written."""
        results, index = self.path(key), self.folder / key / INDEX
        if not results.is_file() and not index.is_file():
            return "absent"
        try:
            entry = json.loads(index.read_text(encoding="utf-8"))
            expected, size = str(entry["sha256"]), int(entry["size"])
        except FileNotFoundError:
            return "its index is missing (the run that wrote it was interrupted)"
        except (OSError, ValueError, KeyError, TypeError):
            return "its index is unreadable"
        if not results.is_file():
            return "its results file is missing"
        if results.stat().st_size != size:
            return f"its results file has {results.stat().st_size} bytes, the index says {size}"
        if file_sha256(results) != expected:
            return "its results file does not match the checksum in its index"
        return None

    def get(self, key: str, warn: bool = True) -> Path | None:
        """The entry's verified results file, or None if it is absent or damaged (then with a warning on stderr:
        the caller computes the run again and `put` replaces the entry)."""
        why = self.damage(key)
        if why is None:
            return self.path(key)
        if why != "absent" and warn:
            print(f"warning: cached run {self.folder / key} is damaged ({why}); computing it again",
                  file=sys.stderr)
        return None

    def put(self, key: str, ds: xr.Dataset) -> Path:
        """Store a run's dataset under `key`: the results file, then its index, each written atomically."""
        path = write_netcdf(ds, self.path(key))
        write_json_atomic({"key": key, "sha256": file_sha256(path), "size": path.stat().st_size,
                           "simulator_version": __version__, "code": code_fingerprint()},
                          self.folder / key / INDEX)
        return path
