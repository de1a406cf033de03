"""Migrants: the members away from their households, one row each (ARCHITECTURE.md section 1).

A row is a member who left: its household, where it is (`status`, `place`), how it went (`channel` or `route`), since
when, whether it has a job and when its stay ends, and who it is (sex, age at departure, skill). A household may have
several members away, up to `decisions.max_members_away`; each occupies one of the household's numbered slots
(`Households.slots`, a bit mask), and a migrant's random numbers are drawn for its household and slot, so that they
do not depend on the order of the rows nor on how many members other households sent (common random numbers).

Rows are added on departure and removed on return, interception or death; a migrant whose family joined it abroad
stays, with status FAMILY_ABROAD, as the household's tie to that place. Rows are kept in household and slot order,
so that sums over migrants (remittances, fees) add up in the same order whatever order they left in.

Example:
    >>> import numpy as np
    >>> m = Migrants.empty()
    >>> m.add(household=np.array([9, 4]), origin=np.array([1, 0]), slot=np.array([0, 0]), status=3, place=2,
    ...       since=5, female=np.array([True, False]), age=np.array([31.0, 24.0]), skill=np.array([2, 0]))
    >>> m.n, m.household.tolist(), m.contract_end.tolist()
    (2, [4, 9], [-1, -1])
    >>> m.remove(np.array([0]))
    >>> m.household.tolist(), m.female.tolist()
    ([9], [True])
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

NO_CONTRACT = -1    # `contract_end` of a stay with no set end
MAX_SLOTS = 8       # members away per household at most: `Households.slots` is an 8-bit mask

# per value of an 8-bit slot mask: the number of slots in use, and the lowest free slot (MAX_SLOTS: none)
SLOTS_USED = np.array([bin(mask).count("1") for mask in range(256)], np.int8)
LOWEST_FREE_SLOT = np.array([next((s for s in range(MAX_SLOTS) if not mask >> s & 1), MAX_SLOTS)
                             for mask in range(256)], np.int8)

_DTYPES = {"household": np.int32, "origin": np.int16, "slot": np.int8, "status": np.int8, "place": np.int8,
           "channel": np.int8, "route": np.int8, "since": np.int32, "employed": np.bool_, "contract_end": np.int32,
           "female": np.bool_, "age": np.float32, "skill": np.int8}
_DEFAULTS = {"channel": -1, "route": -1, "employed": False, "contract_end": NO_CONTRACT}


@dataclass
class Migrants:
    """Column store of the members away; every array has one entry per migrant."""

    household: np.ndarray     # int32, row of the migrant's household in `Households`
    origin: np.ndarray        # int16, the household's origin (copied: outputs are by origin)
    slot: np.ndarray          # int8, the migrant's slot in its household (0 .. max_members_away - 1)
    status: np.ndarray        # int8, IN_TRANSIT, ABROAD_REGULAR, ABROAD_IRREGULAR, IN_CITY or FAMILY_ABROAD
    place: np.ndarray         # int8, the city or destination it is in or travelling to (index in model.places)
    channel: np.ndarray       # int8, the regular channel that admitted it (index in model.channels; -1: none)
    route: np.ndarray         # int8, the irregular route of its journey or stay (index in model.routes; -1: none)
    since: np.ndarray         # int32, step at which its current status began
    employed: np.ndarray      # bool, it has a job
    contract_end: np.ndarray  # int32, step at which a regular stay ends (NO_CONTRACT: no set end)
    female: np.ndarray        # bool, sex of the migrant
    age: np.ndarray           # float32, years, age at departure
    skill: np.ndarray         # int8, 0 low, 1 mid, 2 high: its household's skill when it left

    @classmethod
    def empty(cls) -> Migrants:
        return cls(**{name: np.zeros(0, dtype) for name, dtype in _DTYPES.items()})

    @property
    def n(self) -> int:
        return len(self.household)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))

    def add(self, **columns: object) -> None:
        """Add one row per entry of `household`; a column given as a scalar applies to every new row, a column not
        given takes its default (no channel, no route, not employed, no contract end)."""
        k = len(np.asarray(columns["household"]))
        unknown, missing = set(columns) - set(_DTYPES), set(_DTYPES) - set(columns) - set(_DEFAULTS)
        if unknown or missing:
            raise TypeError(f"Migrants.add: unknown columns {sorted(unknown)}, missing columns {sorted(missing)}")
        if k == 0:
            return
        new = {name: np.broadcast_to(np.asarray(columns.get(name, _DEFAULTS.get(name)), dtype), (k,))
               for name, dtype in _DTYPES.items()}
        key = new["household"].astype(np.int64) * MAX_SLOTS + new["slot"]
        if (np.diff(key) < 0).any():
            order = np.argsort(key, kind="stable")
            new, key = {name: column[order] for name, column in new.items()}, key[order]
        # merged into household and slot order in one pass per column: each new row goes before the first old row
        # with a larger key
        at = np.searchsorted(self.household.astype(np.int64) * MAX_SLOTS + self.slot, key)
        for name, column in new.items():
            setattr(self, name, np.insert(getattr(self, name), at, column))

    def remove(self, rows: np.ndarray) -> None:
        """Drop `rows` (the migrants are home, or dead); the other rows keep their order."""
        if len(rows) == 0:
            return
        keep = np.ones(self.n, bool)
        keep[rows] = False
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name)[keep])

    def of(self, households: np.ndarray) -> np.ndarray:
        """Rows of the migrants of `households` (in row order)."""
        return np.flatnonzero(np.isin(self.household, households))


def take_slots(slots: np.ndarray, households: np.ndarray) -> np.ndarray:
    """The lowest free slot of each of `households` (distinct households), marked as used in `slots` (the
    households' masks, updated in place); returns the slots."""
    slot = LOWEST_FREE_SLOT[slots[households]]
    if (slot >= MAX_SLOTS).any():
        raise RuntimeError("a household has no free slot for another member away")
    slots[households] |= (1 << slot).astype(np.uint8)
    return slot


def free_slots(slots: np.ndarray, households: np.ndarray, slot: np.ndarray) -> None:
    """Mark the slots of migrants back home or dead (`households`, `slot`: one entry per migrant) as free."""
    np.bitwise_and.at(slots, households, ~(np.left_shift(1, slot.astype(np.int64))).astype(np.uint8))
