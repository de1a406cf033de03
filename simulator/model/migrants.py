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
    >>> m.add(household=np.array([9, 4]), origin=np.array([1, 0]), slot=np.array([0, 0]), trip=1, status=3, place=2,
    ...       since=5, female=np.array([True, False]), age=np.array([31.0, 24.0]), skill=np.array([2, 0]))
    >>> m.n, m.household.tolist(), m.contract_end.tolist()
    (2, [4, 9], [-1, -1])
    >>> m.remove(np.array([0]))
    >>> m.household.tolist(), m.female.tolist()
    ([9], [True])
"""

from __future__ import annotations

import mesa
import numba
import numpy as np

NO_CONTRACT = -1    # `contract_end` of a stay with no set end
MAX_SLOTS = 8       # members away per household at most: `Households.slots` is an 8-bit mask

# per value of an 8-bit slot mask: the lowest free slot (MAX_SLOTS: none); the slots in use are np.bitwise_count(mask)
LOWEST_FREE_SLOT = np.array([next((s for s in range(MAX_SLOTS) if not mask >> s & 1), MAX_SLOTS)
                             for mask in range(256)], np.int8)

# the columns: name, dtype, meaning
COLUMNS = {
    "household": (np.int32, "row of the migrant's household in `Households`"),
    "origin": (np.int16, "the household's origin (copied: outputs are by origin)"),
    "slot": (np.int8, "the migrant's slot in its household (0 .. max_members_away - 1)"),
    "trip": (np.int16, "the household's departure number of this member (its `trips` when it left): with `household`, "
                       "who it is for as long as it is away"),
    "status": (np.int8, "IN_TRANSIT, ABROAD_REGULAR, ABROAD_IRREGULAR, IN_CITY or FAMILY_ABROAD"),
    "place": (np.int8, "the city or destination it is in or travelling to (index in model.places)"),
    "channel": (np.int8, "the regular channel that admitted it (index in model.channels; -1: none)"),
    "route": (np.int8, "the irregular route of its journey or stay (index in model.routes; -1: none)"),
    "since": (np.int32, "step at which its current status began"),
    "employed": (np.bool_, "it has a job"),
    "contract_end": (np.int32, "step at which a regular stay ends (NO_CONTRACT: no set end)"),
    "female": (np.bool_, "sex of the migrant"),
    "age": (np.float32, "years, age at departure"),
    "skill": (np.int8, "0 low, 1 mid, 2 high: its household's skill when it left"),
}
_DEFAULTS = {"channel": -1, "route": -1, "employed": False, "contract_end": NO_CONTRACT}
SMALL_BUFFER = 4096   # rows of the buffers of new rows kept from one month to the next (larger ones are let go)


class Migrants:
    """Column store of the members away: one array per column of `COLUMNS` (`m.status`, `m.place`...), one entry
    per migrant, in household and slot order.

    Rows added during a month wait in buffers (one per column, reused month after month) and join the table, in
    order, in one merge the first time a column or `n` is read: a month's departures (a few calls per option and
    channel) cost one pass over the table, not one each."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self._columns = columns
        self._new = {name: np.empty(16, dtype) for name, (dtype, _) in COLUMNS.items()}   # the rows added since the
        self._n_new = 0                                                                  # table was last read

    @classmethod
    def empty(cls) -> Migrants:
        return cls({name: np.zeros(0, dtype) for name, (dtype, _) in COLUMNS.items()})

    @property
    def n(self) -> int:
        return len(self.household)

    @property
    def nbytes(self) -> int:
        self._merge()
        return sum(column.nbytes for column in self._columns.values())

    def add(self, **columns: object) -> None:
        """Add one row per entry of `household`; a column given as a scalar applies to every new row, a column not
        given takes its default (no channel, no route, not employed, no contract end)."""
        if columns.keys() != COLUMNS.keys() and (set(columns) - set(COLUMNS) or set(COLUMNS) - set(columns)
                                                  - set(_DEFAULTS)):
            unknown, missing = set(columns) - set(COLUMNS), set(COLUMNS) - set(columns) - set(_DEFAULTS)
            raise TypeError(f"Migrants.add: unknown columns {sorted(unknown)}, missing columns {sorted(missing)}")
        k = len(np.asarray(columns["household"]))
        if not k:
            return
        start, end = self._n_new, self._n_new + k
        if end > len(self._new["household"]):   # grow the buffers (their rows so far kept)
            size = max(2 * len(self._new["household"]), end)
            for name, (dtype, _) in COLUMNS.items():
                grown = np.empty(size, dtype)
                grown[:start] = self._new[name][:start]
                self._new[name] = grown
        for name in COLUMNS:   # copied into the buffers (the caller may change its arrays), cast to the column's type
            value = columns[name] if name in columns else _DEFAULTS[name]
            if not isinstance(value, np.ndarray):
                value = np.array(value, COLUMNS[name][0])   # as np.array converts a scalar
            self._new[name][start:end] = value
        self._n_new = end

    def _merge(self) -> None:
        """The rows added since the last read join the table in household and slot order: sorted among themselves,
        then each placed before the first old row with a larger key, every column in one pass."""
        k = self._n_new
        if not k:
            return
        self._n_new = 0
        new = {name: buffer[:k] for name, buffer in self._new.items()}
        key = new["household"].astype(np.int64) * MAX_SLOTS + new["slot"]
        order = np.argsort(key, kind="stable") if (np.diff(key) < 0).any() else np.arange(k)
        old = self._columns
        n_old = len(old["household"])
        at = np.searchsorted(old["household"].astype(np.int64) * MAX_SLOTS + old["slot"], key[order])
        to = at + np.arange(k)   # the new rows' places in the merged table
        is_old = np.ones(n_old + k, bool)
        is_old[to] = False
        source = np.empty(n_old + k, np.int64)   # each merged row's row in the old rows, then in the new ones
        source[is_old] = np.arange(n_old)
        source[to] = n_old + order
        for name in COLUMNS:
            old[name] = _gather(old[name], new[name], source)
        if len(self._new["household"]) > SMALL_BUFFER:   # a large model's month: its buffers are not kept
            self._new = {name: np.empty(16, dtype) for name, (dtype, _) in COLUMNS.items()}

    def remove(self, rows: np.ndarray) -> None:
        """Drop `rows` (the migrants are home, or dead); the other rows keep their order."""
        self._merge()
        if len(rows) == 0:
            return
        keep = np.ones(self.n, bool)
        keep[rows] = False
        for name, column in self._columns.items():
            self._columns[name] = column[keep]

    def of(self, households: np.ndarray) -> np.ndarray:
        """Rows of the migrants of `households` (in row order)."""
        return np.flatnonzero(np.isin(self.household, households))


def _column(name: str) -> property:
    def get(self: Migrants) -> np.ndarray:
        if self._n_new:
            self._merge()
        return self._columns[name]

    def set_(self: Migrants, value: np.ndarray) -> None:
        self._merge()
        self._columns[name] = np.asarray(value, COLUMNS[name][0])

    return property(get, set_, doc=f"{COLUMNS[name][0].__name__}: {COLUMNS[name][1]}")


for _name in COLUMNS:
    setattr(Migrants, _name, _column(_name))


@numba.njit(cache=True)
def _gather(old: np.ndarray, new: np.ndarray, source: np.ndarray) -> np.ndarray:
    """`np.concatenate([old, new])[source]`, without the concatenation."""
    n_old = old.shape[0]
    out = np.empty(source.shape[0], old.dtype)
    for j in range(source.shape[0]):
        s = source[j]
        out[j] = old[s] if s < n_old else new[s - n_old]
    return out


def take_slots(slots: np.ndarray, households: np.ndarray) -> np.ndarray:
    """The lowest free slot of each of `households` (distinct households), marked as used in `slots` (the
    households' masks, updated in place); returns the slots."""
    slot = _take_slots(slots, np.asarray(households, np.int64), LOWEST_FREE_SLOT)
    if len(slot) and slot[0] == -1:
        raise ValueError("take_slots: a household is listed twice (one member leaves a household at a time)")
    if len(slot) and slot[0] == -2:
        raise RuntimeError("a household has no free slot for another member away")
    return slot


@numba.njit(cache=True)
def _take_slots(slots: np.ndarray, households: np.ndarray, lowest: np.ndarray) -> np.ndarray:
    """`take_slots` in two passes, without sorting (numba's sort would add about a second to the kernels' first
    compilation): the slots, or [-1] if a household is listed twice, [-2] if one has no free slot (and then `slots`
    unchanged). Each household's slot is read before any is marked, so a household listed twice finds its slot
    already marked in the second pass; a household listed twice with no free slot gives [-2]."""
    k = households.shape[0]
    slot = np.empty(k, np.int8)
    full = False
    for j in range(k):
        slot[j] = lowest[slots[households[j]]]
        full = full or slot[j] >= MAX_SLOTS
    for j in range(k):
        if slot[j] < MAX_SLOTS:
            bit = np.uint8(1 << slot[j])
            if slots[households[j]] & bit:   # marked earlier in this pass: the household is listed twice
                _unmark(slots, households, slot, j)
                return np.full(1, -1, np.int8)
            slots[households[j]] |= bit
    if full:
        _unmark(slots, households, slot, k)
        return np.full(1, -2, np.int8)
    return slot


@numba.njit(cache=True)
def _unmark(slots: np.ndarray, households: np.ndarray, slot: np.ndarray, n: int) -> None:
    """Free again the slots that `_take_slots` marked for the first `n` households."""
    for j in range(n):
        if slot[j] < MAX_SLOTS:
            slots[households[j]] &= ~np.uint8(1 << slot[j])


def free_slots(slots: np.ndarray, households: np.ndarray, slot: np.ndarray) -> None:
    """Mark the slots of migrants back home or dead (`households`, `slot`: one entry per migrant) as free."""
    np.bitwise_and.at(slots, households, ~(np.left_shift(1, slot.astype(np.int64))).astype(np.uint8))


def find(household: np.ndarray, trip: np.ndarray, migrants: Migrants) -> np.ndarray:
    """Rows of the members (`household`, `trip`) in `migrants`, -1 for those no longer away."""
    household, trip = np.atleast_1d(household), np.atleast_1d(trip)
    lo = np.searchsorted(migrants.household, household, side="left")
    hi = np.searchsorted(migrants.household, household, side="right")
    rows = np.full(len(household), -1, np.int64)
    for j in range(len(household)):
        hit = np.flatnonzero(migrants.trip[lo[j]:hi[j]] == trip[j])
        if len(hit):
            rows[j] = lo[j] + hit[0]
    return rows


class ColumnView:
    """Descriptor: an agent's attribute `name` that reads and writes the agent's row (`agent.row`) of that column of
    the model's table `table` (`households` for a `Household`, `migrants` for a `Migrant`)."""

    def __init__(self, table: str, name: str) -> None:
        self.table, self.name = table, name

    def __get__(self, agent: mesa.Agent | None, owner: type) -> object:
        if agent is None:
            return self
        return getattr(getattr(agent.model, self.table), self.name)[agent.row].item()

    def __set__(self, agent: mesa.Agent, value: object) -> None:
        getattr(getattr(agent.model, self.table), self.name)[agent.row] = value


class Migrant(mesa.Agent):
    """A member away as a Mesa agent: a view onto its row of `model.migrants` (found by household and departure
    number, as rows move when others join or leave the table). Created when the member leaves and removed when it
    comes home or dies, in models that create `Household` views (`agent_view_limit`).

    Every column of the table is an attribute (`agent.place`, `agent.employed`, ...), read and written in place."""

    def __init__(self, model: mesa.Model, household: int, trip: int) -> None:
        super().__init__(model)
        self.household_row, self.departure = int(household), int(trip)

    @property
    def row(self) -> int:
        row = int(find(np.array([self.household_row]), np.array([self.departure]), self.model.migrants)[0])
        if row < 0:
            raise LookupError(f"migrant {self.departure} of household {self.household_row} is no longer away")
        return row


for _name in COLUMNS:
    setattr(Migrant, _name, ColumnView("migrants", _name))
