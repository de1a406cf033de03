"""Named random streams: one seed, one independent generator per model component.

Each component (climate, labour, decisions, each intervention...) draws from its own generator derived from
(seed, component name), so switching a policy on does not reshuffle the climate: scenarios run with the same seed face
the same shocks (common random numbers), and paired differences between scenarios measure policy, not noise.
Never use the global `np.random` or `random` modules in the model.

Example:
    >>> s = Streams(42)
    >>> a = s["climate"].random(); b = Streams(42)["climate"].random()
    >>> a == b
    True
"""

from __future__ import annotations

import zlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (CRC-32; Python's hash() is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Lazily created generators keyed by component name, all derived from one integer seed."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed = {seed!r} is not allowed: expected a non-negative integer")
        self.seed = int(seed)
        self._generators: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._generators:
            sequence = np.random.SeedSequence(entropy=self.seed, spawn_key=(stream_key(name),))
            self._generators[name] = np.random.Generator(np.random.PCG64(sequence))
        return self._generators[name]
