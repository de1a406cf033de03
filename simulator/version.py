"""The simulator's version, recorded in every output (from the installed package's metadata)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("migration-simulator")
except PackageNotFoundError:   # running from a source tree that was not installed
    __version__ = "0.1.0+source"
