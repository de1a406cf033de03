"""The rules of each kind of regular channel (the kinds and their settings: simulator.world.channels).

- **Labour scheme** and **seasonal** places (queue channels, Objective 5 a and c): a household that chooses the channel
  pays its fee and joins its queue, ordered by application month with a random tie-break. Each month the channel
  decides `k = min(queue, processing capacity, quota left this year)` applications, first come first served, among
  applicants eligible by skill now (eligibility is checked at application and again when a place comes up). An
  applicant granted a place pays the recruitment cost and the fare then, from savings and borrowable assets, lowered
  by its network as every up-front cost is (`MigrationModel.pay_on_departure`); one who cannot pay loses the place
  (counted in `could_not_pay`), leaves the queue and aspires to go, and the place goes to the next in the queue.
  Recruitment costs are paid when the job is found, often with loans (BBS Cost of Migration Survey 2020; cf. the H-2
  and EPS programmes, where registering is cheap and the cost falls on those selected). An applicant who has waited
  longer than `max_wait_months * p_i` (its patience) gives up; the fee is lost and the household may choose again. A
  migrant admitted travels with a job offer for `stay_months` (0: no set end).
  The capacity book-keeping is `simulator.model.pathways.RegularQueue`.
- **Humanitarian** visas (Objective 5 g-h): households whose remembered shock loss reaches `min_loss` and who want to
  leave this month (they chose a move, or are trapped by its cost) are offered a visa, in random order, within the
  month's places (a twelfth of `quota_per_year` a month, places not taken kept for later months); fee and travel
  are covered and the visa replaces the move they chose; the stay is `stay_months` (0: no set end).
- **Family** reunification (Objective 5 i): the household of a regular migrant at the channel's destination who has
  stayed `min_months_abroad`, has a job and earns at least `min_wage_usd` joins the migrant with `monthly_probability`
  a month, within the places of the month (released as the humanitarian channel's are), and settles (the stay no
  longer has a set end). Only a household at home (not waiting for a place of its own) whose one member away is that
  migrant can join it (assumption: a household with members elsewhere, or an application under way, stays at origin).
- **Free movement** (regional protocols, e.g. ECOWAS 1979): any household may go, paying `fee_usd`, with no quota, no
  queue and no eligibility rule; the migrant looks for work on arrival.

- **Skills partnership** (Objective 5 b; Global Skill Partnerships, Clemens 2015): any household may apply, whatever
  its skill (the partnership trains its applicants), paying its fee and recruitment cost, and joins its queue. An
  applicant trains at origin for `training_months`, which raises its skill to `min_skill` for good (assumption: the
  training reaches the destination's standard); trained applicants are then granted places in queue order within
  the quota and processing capacity, as in a labour scheme, and give up when they have waited
  `max_wait_months * p_i` after their training. Applicants who give up keep the skill they gained.

Each channel draws its random numbers from its own stream, "channel.<name>".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulator.errors import ConfigError
from simulator.model.channels import Channel, OptionTerms, register_channel
from simulator.model.households import AT_HOME, WAITING
from simulator.model.migrants import NO_CONTRACT
from simulator.model.pathways import first_in_queue, gives_up
from simulator.world.channels import MONTHS_MAX

if TYPE_CHECKING:
    from simulator.model.migration import MigrationModel


class QueueChannel(Channel):
    """Places within a yearly quota and a monthly processing capacity, to eligible applicants in queue order."""

    output = ""   # a recorder variable counting this kind's places, besides `visas_issued`

    def option_terms(self, queue_length: int) -> OptionTerms:
        """The expected wait is the queue ahead and the applicant's own place over the monthly capacity; the
        applicant is one household of the world (`scale` simulated ones), so the wait does not depend on how many
        households are simulated."""
        s = self.settings
        capacity = min(s["processing_per_month"], s["quota_per_year"] / 12.0)
        return OptionTerms(fee_usd=s["fee_usd"] + s.get("recruitment_cost_usd", 0.0),
                           wait_months=(queue_length + self.scale) / capacity if capacity > 0 else np.inf,
                           min_skill=int(s.get("min_skill", 0)),
                           open=s["quota_per_year"] > 0 and s["processing_per_month"] > 0,
                           application_fee_usd=s["fee_usd"])

    def apply(self, model: MigrationModel, households: np.ndarray, tie_break: np.ndarray) -> None:
        """The households lodge an application and wait for a place (their fee is paid by the model)."""
        h, t = model.households, model.t
        h.status[households] = WAITING
        h.since[households] = t
        h.channel[households] = self.index
        h.queue_key[households] = t + tie_break
        self.applications += len(households)
        model.recorder.count("applications", t, h.origin[households])

    def admit(self, model: MigrationModel, training_months: int = 0) -> None:
        """Give-ups, then places granted within capacity, in queue order, to eligible applicants; with
        `training_months`, only to applicants who have trained that long, and the wait that counts towards giving up
        starts when their training ends."""
        h, s, t = model.households, self.settings, model.t
        waiting = model.applicants(self.index)
        quit_ = gives_up(t - h.since[waiting] - training_months, s["max_wait_months"], h.patience[waiting])
        if quit_.any():
            gave_up = waiting[quit_]
            h.status[gave_up] = AT_HOME
            h.since[gave_up] = t
            h.channel[gave_up] = -1
            model.recorder.count("gave_up", t, h.origin[gave_up])
            waiting = waiting[~quit_]
        k = self.queue.capacity(t % 12, s["quota_per_year"], s["processing_per_month"])
        whole = None
        if k > 0:
            eligible = waiting[(h.skill[waiting] >= s.get("min_skill", 0))
                               & (t - h.since[waiting] >= training_months)]
            key = h.queue_key[eligible]
            front = 2 * k + 8   # the places rarely go further down the queue than this (pay_on_departure)
            if len(key) > 4 * front:   # a long queue: its front in order, and the whole of it only if needed
                # every applicant whose key is at most the front's last (ties included), in the order a full
                # stable sort gives them
                first = np.flatnonzero(key <= np.partition(key, front - 1)[front - 1])
                queue = eligible[first[np.argsort(key[first], kind="stable")]]
                whole = lambda: eligible[first_in_queue(key, len(key))]   # noqa: E731
            else:
                queue = eligible[first_in_queue(key, len(key))]
        else:   # no place this month (most months of a small model): nobody is offered one, no queue order needed
            queue = waiting[:0]
        self.granted = model.pay_on_departure(queue, k, self, s.get("recruitment_cost_usd", 0.0), whole)
        self.queue.use(len(self.granted))
        stay = int(s["stay_months"])
        model.admit(self.granted, self, t + stay if stay > 0 else NO_CONTRACT, job_offer=True)
        model.recorder.count("visas_issued", t, h.origin[self.granted])
        if self.output:
            model.recorder.count(self.output, t, h.origin[self.granted])


@register_channel
class LabourScheme(QueueChannel):
    kind = "labour_scheme"


@register_channel
class Seasonal(QueueChannel):
    kind = "seasonal"
    output = "seasonal_visas"


@register_channel
class SkillsPartnership(QueueChannel):
    kind = "skills_partnership"

    @classmethod
    def check(cls, settings: dict[str, float], where: str) -> None:
        """The skill a training gives is a skill level (0-2), and a training lasts whole months, at least one."""
        if settings["min_skill"] not in (0, 1, 2):
            raise ConfigError(f"{where}.min_skill", settings["min_skill"], "a skill level: 0, 1 or 2")
        months = settings["training_months"]
        if months != int(months) or not 1 <= months <= MONTHS_MAX:
            raise ConfigError(f"{where}.training_months", months, f"a whole number of months in [1, {MONTHS_MAX}]")

    def option_terms(self, queue_length: int) -> OptionTerms:
        """Open to every skill level (the partnership trains its applicants); the wait is the training plus the
        queue for a place."""
        terms = super().option_terms(queue_length)
        return terms._replace(wait_months=self.settings["training_months"] + terms.wait_months, min_skill=0)

    def admit(self, model: MigrationModel) -> None:
        """Applicants who have completed their training reach `min_skill` (for good: their skill at origin too);
        then trained applicants are granted places in queue order, as in a labour scheme."""
        h, s, t = model.households, self.settings, model.t
        training = int(s["training_months"])
        waiting = model.applicants(self.index)
        trained = waiting[(t - h.since[waiting] >= training) & (h.skill[waiting] < s["min_skill"])]
        h.skill[trained] = int(s["min_skill"])
        super().admit(model, training_months=training)


@register_channel
class Humanitarian(Channel):
    kind = "humanitarian"
    paced = True

    def offer(self, model: MigrationModel, idx: np.ndarray, choice: np.ndarray, trapped: np.ndarray) -> None:
        """Visas to households of `idx` hard hit by a disaster that want to leave; those who take one are marked
        `model.OFFER_TAKEN` in `choice`, so that they do not also move another way."""
        h, s, t = model.households, self.settings, model.t
        k = self.queue.capacity(t % 12, s["quota_per_year"], s["quota_per_year"] / 12.0)   # the book, every month
        if s["quota_per_year"] <= 0:
            return
        wanting = ((choice > 0) | trapped) & (choice != model.OFFER_TAKEN)   # not already admitted by another offer
        candidates = np.flatnonzero((h.shock_memory[idx] >= s["min_loss"]) & wanting)
        priority = model.streams[f"channel.{self.name}"].random(h.n)[idx[candidates]]
        chosen = candidates[first_in_queue(priority, k)]
        self.queue.use(len(chosen))
        choice[chosen] = model.OFFER_TAKEN
        self.granted = idx[chosen]
        stay = int(s["stay_months"])
        model.admit(self.granted, self, t + stay if stay > 0 else NO_CONTRACT, job_offer=False)
        model.recorder.count("humanitarian_visas", t, h.origin[self.granted])


@register_channel
class Family(Channel):
    kind = "family"
    paced = True

    def settle(self, model: MigrationModel, regular: np.ndarray, employed: np.ndarray,
               wage: np.ndarray) -> np.ndarray:
        """Families of eligible regular migrants at this channel's destination (admitted by one of its channels;
        rows `regular` of `model.migrants`, with their employment and wage) join them; returns the regular migrants
        still abroad on their own. `granted` holds the households that joined."""
        h, m, s, t = model.households, model.migrants, self.settings, model.t
        k = self.queue.capacity(t % 12, s["quota_per_year"], s["quota_per_year"] / 12.0)   # the book, every month
        if s["monthly_probability"] <= 0:
            self.queue.use(0)
            return regular
        household = m.household[regular]
        u = model.streams[f"channel.{self.name}"].random(h.n)[household]
        here = self.__dict__.get("_here")
        if here is None:   # by channel index, the channels to this destination; the last entry stands for -1 (none)
            here = self._here = np.zeros(len(model.channels) + 1, bool)
            here[[c.index for c in model.channels if c.destination == self.destination]] = True
        wanting = np.flatnonzero(u < s["monthly_probability"])   # then those of them who are eligible
        row, hh = regular[wanting], household[wanting]
        eligible = (here[m.channel[row]] & employed[wanting] & (t - m.since[row] >= s["min_months_abroad"])
                    & (wage[wanting] >= s["min_wage_usd"]) & (np.bitwise_count(h.slots[hh]) == 1)
                    & (h.status[hh] == AT_HOME))
        wanting = wanting[eligible]
        joined = wanting[first_in_queue(u[wanting], k)] if k < len(wanting) else wanting
        self.queue.use(len(joined))
        self.granted = household[joined]
        if len(joined) == 0:   # no family joins this month (most months): nothing changes
            return regular
        model.reunite(regular[joined])
        model.recorder.count("reunifications", t, h.origin[self.granted])
        return np.delete(regular, joined)


@register_channel
class FreeMovement(Channel):
    kind = "free_movement"

    def option_terms(self, queue_length: int) -> OptionTerms:
        return OptionTerms(fee_usd=self.settings["fee_usd"], wait_months=0.0, min_skill=0, open=True,
                           job_offer=False)

    def apply(self, model: MigrationModel, households: np.ndarray, tie_break: np.ndarray) -> None:
        """The households' migrants leave at once, without a job offer (no application: counted as granted)."""
        self.granted = households
        stay = int(self.settings["stay_months"])
        model.admit(households, self, model.t + stay if stay > 0 else NO_CONTRACT, job_offer=False)
