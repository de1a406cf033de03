"""Pathways as pure array functions: the capacity book of a regular channel, queue order and give-ups (process 5;
the rules of each kind of channel that use them are in simulator/policy/channels.py), and irregular journeys
(process 6).

Regular: applicants wait in their channel's queue, ordered by application month with a random tie-break
(`first_in_queue`); an applicant who has waited longer than `max_wait * p_i` (its patience) gives up (`gives_up`).

Irregular: a household pays the smuggler fee and its migrant is in transit for `journey_months`; the journey then ends
in death with probability `d`, else in interception (and return home) with probability `h`, else in arrival
(IOM Missing Migrants Project records deaths per route; interception rates by route: assumption).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RegularQueue:
    """Capacity book-keeping of a regular pathway: places issued this year, fractions carried over.

    The annual quota is in whole places; the fraction of a place left unused at the end of a year carries into the
    next (at most one place), so a quota of 0.6 a year issues three places in five years. Unused processing capacity
    is lost at the end of the month (staff time does not keep), except its fractional part, which carries so that a
    capacity of 0.5 a month decides one application every two months.

    A *paced* book (`paced=True`: the humanitarian and family channels, whose monthly capacity is a twelfth of the
    annual quota, not staff time) keeps its unused capacity: the places are released a twelfth of the quota a month,
    and a place released in a month when no one eligible asked for it stays open in the months that follow, across
    the turn of the year, up to a year's quota (at least one place) released and not taken (assumption: a quota
    spread over the year, so that a channel with few eligible applicants in any month still fills it when they come).
    The annual quota still caps each calendar year's places. Without it, a channel whose monthly capacity is a
    fraction of a place lost every whole place no one eligible asked for in the month it came up, and a small model
    granted a fraction of the places a large one did.
    """

    issued_this_year: int = 0
    processing_credit: float = 0.0
    quota_carry: float = 0.0      # fraction of a place carried from earlier years
    last_quota: float = 0.0       # the annual quota in force last month
    paced: bool = False           # unused capacity keeps (a quota spread over the year)

    def capacity(self, month_of_year: int, quota_per_year: float, processing_per_month: float) -> int:
        """Applications that can be decided this month; the quota year starts in month 0 (January)."""
        if month_of_year == 0:
            unused = self.last_quota + self.quota_carry - self.issued_this_year
            self.quota_carry = unused - np.floor(unused) if unused > 0 else 0.0
            self.issued_this_year = 0
        self.last_quota = quota_per_year
        self.processing_credit += processing_per_month
        if self.paced:   # released places not taken keep, up to a year's quota
            self.processing_credit = min(self.processing_credit, max(1.0, quota_per_year))
        quota_left = max(0.0, np.floor(quota_per_year + self.quota_carry + 1e-9) - self.issued_this_year)
        return int(min(np.floor(self.processing_credit + 1e-9), quota_left))

    def use(self, k: int) -> None:
        """Book `k` decided applications; drop whole units of processing capacity left unused (a paced book keeps
        them)."""
        self.issued_this_year += k
        if self.paced or self.processing_credit - k < 1:
            self.processing_credit -= k
        else:
            self.processing_credit = (self.processing_credit - k) % 1.0


def first_in_queue(queue_key: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` smallest queue keys (earliest applications), in queue order."""
    if k <= 0 or len(queue_key) == 0:
        return np.empty(0, np.int64)
    if k >= len(queue_key):
        return np.argsort(queue_key, kind="stable")
    first = np.argpartition(queue_key, k - 1)[:k]
    return first[np.argsort(queue_key[first], kind="stable")]


def gives_up(waited_months: np.ndarray, max_wait_months: float, patience: np.ndarray) -> np.ndarray:
    """Applicants who stop waiting: `waited > max_wait * p_i`."""
    return waited_months > max_wait_months * patience


def journey_outcomes(uniform: np.ndarray, death_probability: float,
                     interception_probability: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split resolving journeys into (died, intercepted, arrived) with one uniform each.

    `u < d` dies; `d <= u < d + (1 - d) h` is intercepted; the rest arrive.
    """
    died = uniform < death_probability
    intercepted = ~died & (uniform < death_probability + (1.0 - death_probability) * interception_probability)
    return died, intercepted, ~died & ~intercepted
