"""The kinds of regular channel a world's `channels.csv` may name, and the columns each kind takes.

A kind declares its settings: for each column, its type, inclusive finite range, and whether a row of that kind
must give it (`required`), may give it (`default` used when empty) or must leave it empty (not listed). The model's
channel classes (their queue, eligibility, capacity and stay rules) are registered under these names; a new kind is
a new `register` call, never a branch in the loader.

Sources of the kinds: Global Compact for Migration, Objective 5 (a: labour mobility agreements, b: skills
partnerships, c: seasonal and circular schemes, g-h: humanitarian visas and admission, i: family reunification) and
regional free-movement protocols (e.g. ECOWAS 1979, Mercosur 2002 residence agreement).

Example:
    >>> CHANNEL_KINDS["free_movement"].required
    ('fee_usd',)
    >>> sorted(CHANNEL_KINDS)[:3]
    ['family', 'free_movement', 'humanitarian']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.params import USD_MAX

Column = tuple[type, float, float]   # type, lowest, highest (inclusive, finite)

QUOTA_MAX = 1e9    # places a year: more than the households of any country
MONTHS_MAX = 1200  # a hundred years

COLUMNS: dict[str, Column] = {
    "quota_per_year": (float, 0.0, QUOTA_MAX),
    "processing_per_month": (float, 0.0, QUOTA_MAX),
    "fee_usd": (float, 0.0, USD_MAX),
    "recruitment_cost_usd": (float, 0.0, USD_MAX),
    "min_skill": (int, 0, 2),
    "stay_months": (int, 0, MONTHS_MAX),
    "max_wait_months": (int, 1, MONTHS_MAX),
    "training_months": (int, 1, MONTHS_MAX),
    "min_loss": (float, 0.0, 1.0),
    "min_months_abroad": (int, 0, MONTHS_MAX),
    "min_wage_usd": (float, 0.0, USD_MAX),
    "monthly_probability": (float, 0.0, 1.0),
}


@dataclass(frozen=True)
class ChannelKind:
    """What a channel of this kind is, and which columns of channels.csv it takes."""

    name: str
    meaning: str
    required: tuple[str, ...]
    optional: dict[str, float] = field(default_factory=dict)   # column -> value used when the cell is empty

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)


CHANNEL_KINDS: dict[str, ChannelKind] = {}


def register(kind: ChannelKind) -> ChannelKind:
    """Add a channel kind (its columns must be among `COLUMNS`)."""
    unknown = [c for c in kind.columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"channel kind {kind.name!r}: unknown columns {unknown}; known columns: {list(COLUMNS)}")
    CHANNEL_KINDS[kind.name] = kind
    return kind


register(ChannelKind(
    "labour_scheme", "a labour mobility agreement: places within a yearly quota and a monthly processing capacity, "
    "for workers of at least a skill, with a job offer and a set stay (Objective 5 a)",
    required=("quota_per_year", "processing_per_month", "fee_usd", "min_skill", "stay_months", "max_wait_months"),
    optional={"recruitment_cost_usd": 0.0}))
register(ChannelKind(
    "seasonal", "seasonal or circular places open to every skill for a short stay, then return (Objective 5 c)",
    required=("quota_per_year", "processing_per_month", "fee_usd", "stay_months", "max_wait_months"),
    optional={"recruitment_cost_usd": 0.0, "min_skill": 0}))
register(ChannelKind(
    "humanitarian", "visas for people hit by disasters: households whose shock losses reach `min_loss` are "
    "admitted within a yearly quota (Objective 5 g-h)",
    required=("quota_per_year", "min_loss"),
    optional={"fee_usd": 0.0, "stay_months": 0, "max_wait_months": 12}))
register(ChannelKind(
    "family", "family reunification: the household of a regular migrant who has stayed `min_months_abroad` and earns "
    "`min_wage_usd` joins the migrant with `monthly_probability` a month, within a yearly quota (Objective 5 i)",
    required=("quota_per_year", "min_months_abroad", "min_wage_usd", "monthly_probability"),
    optional={"fee_usd": 0.0}))
register(ChannelKind(
    "skills_partnership", "a global skills partnership: applicants train at origin for `training_months`, which "
    "raises their skill to `min_skill`, then are admitted within the quota (Objective 5 b; GSP, Clemens 2015)",
    required=("quota_per_year", "processing_per_month", "training_months", "min_skill", "stay_months",
              "max_wait_months"),
    optional={"fee_usd": 0.0, "recruitment_cost_usd": 0.0}))
register(ChannelKind(
    "free_movement", "regional free movement: any national may go and work, with no quota, no queue and no "
    "eligibility rule (e.g. the ECOWAS protocol)",
    required=("fee_usd",),
    optional={"stay_months": 0}))
