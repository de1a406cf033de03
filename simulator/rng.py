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
    >>> u = s.keyed_uniforms("migrants", np.array([3, 4]), 1)
    >>> bool((u == s.keyed_uniforms("migrants", np.array([9, 3, 4]), 1)[1:]).all())
    True
"""

from __future__ import annotations

import zlib

import numba
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
        self._keyed_states: dict[str, np.uint64] = {}

    def keyed_uniforms(self, name: str, *keys: np.ndarray) -> np.ndarray:
        """Uniforms in [0, 1), float64, one per entry of the (broadcast) integer `keys`, each a function of (seed,
        name, its keys) alone: a counter-based draw (SplitMix64 finaliser, Steele, Lea & Flood 2014) that does not
        depend on how many other draws were made, nor in what order. For attributes of rare events, such as who a
        departing member is, that scenarios should share whenever the event itself is shared.

        With `h` the stream's 64-bit state and each key `k` in turn, `h = mix64(h ^ (k + 0x9E3779B97F4A7C15))`
        (modulo 2**64); the uniform is `(h >> 11) 2**-53` (`_mix64` states the finaliser; `_keyed_uniforms` runs it
        compiled)."""
        state = self._keyed_states.get(name)
        if state is None:   # a function of (seed, name) alone: computed once per stream
            state = np.random.SeedSequence(entropy=self.seed, spawn_key=(stream_key(name),)).generate_state(
                1, np.uint64)[0]
            self._keyed_states[name] = state
        arrays = [np.asarray(key).astype(np.uint64) for key in keys]
        shape = np.broadcast(*arrays).shape if arrays else ()
        stacked = np.empty((len(arrays), *shape), np.uint64)
        for i, a in enumerate(arrays):
            stacked[i] = a
        out = np.empty(shape, np.float64)
        if out.size:
            _keyed_uniforms(state, stacked.reshape(len(arrays), out.size), out.reshape(-1))
        return out if out.ndim else out[()]

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._generators:
            sequence = np.random.SeedSequence(entropy=self.seed, spawn_key=(stream_key(name),))
            self._generators[name] = np.random.Generator(np.random.PCG64(sequence))
        return self._generators[name]


def _mix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser: a bijection of 64-bit integers that mixes every input bit into every output bit."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


_GOLDEN, _M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


@numba.njit(cache=True)
def _keyed_uniforms(state: np.uint64, keys: np.ndarray, out: np.ndarray) -> None:
    """`Streams.keyed_uniforms` of the (n_keys, size) uint64 `keys` into `out` (size,), compiled: for each column,
    `h = _mix64(h ^ (key + golden))` over its keys from `h = state`, then `(h >> 11) 2**-53`, all in 64-bit unsigned
    arithmetic modulo 2**64, as the numpy statement computes it (the function costs a few microseconds a call where
    the numpy statement costs about fifty, and departures call it once each)."""
    for j in range(keys.shape[1]):
        h = state
        for i in range(keys.shape[0]):
            x = h ^ (keys[i, j] + _GOLDEN)
            x = (x ^ (x >> _S30)) * _M1
            x = (x ^ (x >> _S27)) * _M2
            h = x ^ (x >> _S31)
        out[j] = np.float64(h >> _S11) * 2.0 ** -53
