"""Regular channels in the model: what the model asks of a channel, and the channel classes registered by kind.

A world's channel (`simulator.world.tables.Channel`: name, destination, kind and settings) becomes an object of the
class registered under its kind; the classes are the policy layer's (simulator/policy/channels.py), so that the model
names no kind. Each month the model asks every channel, in the world's order:

1. `begin_month()`: the settings in force return to the world's; interventions then adjust `settings` (process 3);
2. `option_terms(queue_length)`: the channel's terms as an option households choose (fee, expected wait, lowest
   skill, open), or None if households do not choose it but are offered it;
3. `apply(model, households, tie_break)`: households that chose it apply (or leave at once);
4. `offer(model, idx, choice, trapped)`: after the decisions, places offered to households that want to leave;
5. `admit(model)`: give-ups, then places granted within capacity in queue order (process 5);
6. `settle(model, regular, employed, wage)`: its rules for regular migrants abroad (process 7).

A channel keeps the month's counts interventions read to cost what they do (the narrow interface of ARCHITECTURE.md
section 2.5): `applications` and `granted` this month, and its queue's places `issued_this_year`.

Example:
    >>> from simulator.world.tables import Channel as Row
    >>> row = Row("ordinary", "abroad", "labour_scheme", {"quota_per_year": 12.0, "processing_per_month": 2.0,
    ...           "fee_usd": 500.0, "min_skill": 1, "stay_months": 24, "max_wait_months": 12})
    >>> import simulator.policy.channels   # the kinds' rules
    >>> [ordinary] = build_channels([row], scale=2.0, destinations=("abroad",))
    >>> ordinary, ordinary.settings["quota_per_year"]
    (LabourScheme('ordinary', destination='abroad'), 24.0)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, NamedTuple

import numpy as np

from simulator.errors import ConfigError
from simulator.model.pathways import RegularQueue
from simulator.world.channels import CHANNEL_KINDS
from simulator.world.tables import Channel as ChannelRow

# The model the hooks are given: simulator.model.migration.MigrationModel, which builds on this module, so it is not
# imported here (the channel classes of the policy layer annotate it by name).
MigrationModel = Any

SCALED = ("quota_per_year", "processing_per_month")   # settings in households, scaled to the simulated population


class OptionTerms(NamedTuple):
    """A channel's terms as one of the month's options."""

    fee_usd: float        # paid on applying, on top of the route's travel cost
    wait_months: float    # expected wait for a place
    min_skill: int        # lowest skill level that may apply
    open: bool
    job_offer: bool = True   # migrants arrive with a job (else they carry `decisions.startup_months` of living cost)
    application_fee_usd: float | None = None   # paid on applying, the rest of the fee and the fare only when a place
                                               # is granted (None: the whole cost on choosing)


class Channel:
    """A regular channel of a destination; subclasses registered by kind state its rules (the hooks do nothing here).

    Attributes:
        name, destination, kind: from the world's channels table.
        index: the channel's position in the model's channels (kept in the households' `channel` column).
        scale: simulated households per household of the world's figures (`build_channels`).
        base: the world's settings, quotas and processing in simulated households.
        settings: the settings in force this month (a copy of `base` adjusted by interventions).
        queue: book-keeping of the places decided this quota year.
        applications, granted: this month's applications (count) and households granted a place (rows).
    """

    kind: ClassVar[str] = ""
    paced: ClassVar[bool] = False   # the monthly capacity is a twelfth of the annual quota, kept until taken

    def __init__(self, row: ChannelRow, index: int, scale: float) -> None:
        self.name, self.destination, self.index = row.name, row.destination, index
        self.scale = scale   # simulated households per household of the world's figures
        self.base = {k: (v * scale if k in SCALED else v) for k, v in row.settings.items()}
        self.settings = dict(self.base)
        self.queue = RegularQueue(paced=self.paced)
        self.applications = 0
        self.granted = np.empty(0, np.int64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, destination={self.destination!r})"

    @property
    def issued_this_year(self) -> int:
        return self.queue.issued_this_year

    @classmethod
    def check(cls, settings: dict[str, float], where: str) -> None:
        """Refuse settings this kind's rules cannot use (called when the channel is built; `where` names it in
        errors, `channels.<name>`); the settings are already known to be finite numbers of at least 0."""

    def begin_month(self) -> None:
        self.settings = dict(self.base)
        self.applications = 0
        self.granted = np.empty(0, np.int64)

    def option_terms(self, queue_length: int) -> OptionTerms | None:
        return None

    def apply(self, model: MigrationModel, households: np.ndarray, tie_break: np.ndarray) -> None:
        raise NotImplementedError(f"households cannot choose channel {self.name!r} of kind {self.kind!r}")

    def offer(self, model: MigrationModel, idx: np.ndarray, choice: np.ndarray, trapped: np.ndarray) -> None:
        pass

    def admit(self, model: MigrationModel) -> None:
        pass

    def settle(self, model: MigrationModel, regular: np.ndarray, employed: np.ndarray,
               wage: np.ndarray) -> np.ndarray:
        return regular


CHANNEL_CLASSES: dict[str, type[Channel]] = {}


def register_channel(cls: type[Channel]) -> type[Channel]:
    """Class decorator: the rules of channels of kind `cls.kind` (a kind of simulator.world.channels)."""
    if cls.kind not in CHANNEL_KINDS:
        raise ValueError(f"channel class {cls.__name__}: kind {cls.kind!r} is not a declared kind "
                         f"{sorted(CHANNEL_KINDS)}")
    CHANNEL_CLASSES[cls.kind] = cls
    return cls


def build_channels(rows: Iterable[ChannelRow], scale: float, destinations: tuple[str, ...]) -> list[Channel]:
    """The model's channel objects for channel rows, their quotas and processing times `scale` (the simulated
    households per household the rows' figures count: `n / 1000` for rows per 1,000 households).

    Each row is checked first: a unique name, a destination among `destinations`, a kind whose rules the model has,
    every setting its kind requires and none it does not take (simulator.world.channels; the kind's defaults fill
    the optional settings left out), each a finite number. An error names the channel and the setting."""
    channels: list[Channel] = []
    for row in rows:
        where = f"channels.{row.name}"
        cls = CHANNEL_CLASSES.get(row.kind)
        if cls is None:
            raise ConfigError(f"{where}.kind", row.kind,
                              f"a kind whose rules the model has: {sorted(CHANNEL_CLASSES)}")
        if not row.name or any(c.name == row.name for c in channels):
            raise ConfigError("channels", row.name, "a unique, non-empty name for each channel")
        if row.destination not in destinations:
            raise ConfigError(f"{where}.destination", row.destination, f"one of the destinations {list(destinations)}")
        kind = CHANNEL_KINDS[row.kind]
        settings = {**kind.optional, **row.settings}
        for column in kind.required:
            if column not in row.settings:
                raise ConfigError(f"{where}.{column}", None, f"a value: a channel of kind {row.kind!r} requires "
                                                             f"{list(kind.required)}")
        for column, value in settings.items():
            if column not in kind.columns:
                raise ConfigError(f"{where}.{column}", value, f"no value: a channel of kind {row.kind!r} takes "
                                                              f"{list(kind.columns)}")
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(value) or value < 0:
                raise ConfigError(f"{where}.{column}", value, "a finite number of at least 0")
        cls.check(settings, where)
        channels.append(cls(ChannelRow(row.name, row.destination, row.kind, settings), len(channels), scale))
    if len(channels) > np.iinfo(np.int8).max:
        raise ConfigError("channels", len(channels), f"at most {np.iinfo(np.int8).max} channels")
    return channels


def select(channels: list[Channel], name: str, kinds: tuple[str, ...], who: str) -> list[Channel]:
    """The channel named `name` (which must be of one of `kinds`), or every channel of those kinds if `name` is
    empty; `who` names the setting in errors."""
    if not name:
        found = [c for c in channels if c.kind in kinds]
        if not found:
            raise ConfigError(who, name, f"the name of a channel of kind {' or '.join(kinds)}; the world has none "
                                         f"(its channels: {[f'{c.name} ({c.kind})' for c in channels]})")
        return found
    for c in channels:
        if c.name == name:
            if c.kind not in kinds:
                raise ConfigError(who, name, f"a channel of kind {' or '.join(kinds)}; '{name}' is a {c.kind}")
            return [c]
    raise ConfigError(who, name, f"a channel of the world: {[c.name for c in channels if c.kind in kinds]}, or "
                                 f"empty for all channels of kind {' or '.join(kinds)}")

