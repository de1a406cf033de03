"""Interventions: pluggable policy objects selected by name (process 3 of the step).

Each intervention is a small dataclass registered under a name, with a start and an end (years after the start of
the run), parameters with units and ranges, and three methods:

- `initialize(model)`: once, when the model is built (draws from its own random stream, "intervention.<name>");
- `apply(model)`: each month it is active, before households decide: adjust `model.policy` (the levers in force
  this month), the settings in force of regular channels (by name, e.g. on the default world
  `quota_expansion: {channel: Northland work visas}`; all channels of the kinds it acts on by default) and of
  irregular routes (`enforcement: {route: sea crossing}`; all routes by default), or household columns;
- `cost(model)`: each month, after the step's processes, the USD it spent this month (recorded as
  `intervention_cost`).

Interventions never rewrite the model parameters: the policy is rebuilt from them every month, so a lever returns
to its parameter value when the intervention ends.

Example:
    >>> from simulator import MigrationModel
    >>> ivs = build_interventions({"quota_expansion": {"factor": 2.0}})
    >>> ds = MigrationModel(n_households=300, years=1, rng=0, interventions=ivs).run()
    >>> ds.intervention.values.tolist()
    ['quota_expansion']

Several interventions of one kind (a channel closed in two periods, say) are a list of parameter mappings under the
name; the entries act independently and are costed apart (`build_interventions` says how they are labelled).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from simulator.errors import ConfigError
from simulator.model.households import FAMILY_ABROAD
from simulator.model.channels import select
from simulator.model.routes import select_routes
from simulator.params import INF, PER_1000_MAX, USD_MAX, YEARS_MAX, check_value, param, prob, setting

if TYPE_CHECKING:
    from simulator.model.migration import MigrationModel

REGISTRY: dict[str, type[Intervention]] = {}


def register(name: str, objective: str):
    """Class decorator: make an intervention selectable by `name` in scenarios and configs."""
    def add(cls: type[Intervention]) -> type[Intervention]:
        cls.name, cls.objective = name, objective
        REGISTRY[name] = cls
        return cls
    return add


@dataclass
class Intervention:
    """Base class: active from `start_year` (inclusive) to `end_year` (exclusive), in years after the run starts."""

    name: ClassVar[str] = "intervention"
    objective: ClassVar[str] = ""
    start_year: float = setting(0.0, "years after the start of the run", 0, YEARS_MAX)
    end_year: float = setting(INF, "years after the start of the run (inf = never ends)", 0, YEARS_MAX, or_inf=True)

    _on: ClassVar[bool] = False

    def __post_init__(self) -> None:
        """Refuse parameters out of their declared ranges (inf and nan included), however the object is built."""
        for f in dataclasses.fields(self):
            if "units" in f.metadata:
                check_value(f"interventions.{self.name}.{f.name}", getattr(self, f.name), f.metadata)
        if self.end_year <= self.start_year:
            raise ConfigError(f"interventions.{self.name}.end_year", self.end_year,
                              f"a year after start_year = {self.start_year}")

    def active(self, t: int) -> bool:
        return self.start_year * 12 <= t < self.end_year * 12

    def step(self, model: MigrationModel) -> None:
        """Called by the model each month: `apply` while active, `finish` once when it ends."""
        if self.active(model.t):
            self.apply(model)
            self._on = True
        elif self._on:
            self.finish(model)
            self._on = False

    def initialize(self, model: MigrationModel) -> None:
        """Set up state (e.g. which households are covered); called once when the model is built."""

    def apply(self, model: MigrationModel) -> None:
        """Act on the policy or the households; called each month the intervention is active."""

    def finish(self, model: MigrationModel) -> None:
        """Undo effects on household columns; called once, the first month after the intervention ends."""

    def cost(self, model: MigrationModel) -> float:
        """USD spent this month; called each month after the step's processes."""
        return 0.0

    def rng(self, model: MigrationModel) -> np.random.Generator:
        return model.streams[f"intervention.{self.name}"]


# --- Objective 2: minimise the adverse drivers that compel people to leave -----------------------------------------

@register("adaptation", objective="2")
@dataclass
class Adaptation(Intervention):
    """Climate adaptation (Objective 2 (i)): covered households avert a share of shock losses.

    A share `coverage` of households in `regions` (origin names; `exposed`: the more exposed half, `exposed_origins`;
    all origins if empty), drawn at random, is covered from `start_year`: their climate losses (income and assets)
    are cut by `efficacy` (capped by `climate.adaptation_efficacy_cap`).
    Interventions act after the climate in the monthly order, so protection covers shocks from the month after the start
    to the month of the end. Cost: `cost_per_household_usd` once per covered household at the start, plus
    `upkeep_per_household_usd_year` / 12 a month.
    """

    coverage: float = setting(0.5, "share of households in the target regions", 0, 1)
    efficacy: float = prob(0.5, "share of climate losses averted",
                           "assumption; cf. Global Commission on Adaptation 2019 (benefit-cost 2-10)")
    cost_per_household_usd: float = param(300.0, "USD per household, once", 0, USD_MAX, "assumption")
    upkeep_per_household_usd_year: float = param(15.0, "USD per household per year", 0, USD_MAX, "assumption")
    regions: list[str] | str = field(default_factory=list)   # origin names, or EXPOSED

    def initialize(self, model: MigrationModel) -> None:
        target = _in_regions(model, self.regions, "interventions.adaptation.regions")
        self.covered = np.flatnonzero(target & (self.rng(model).random(model.households.n) < self.coverage))
        self._paid = False

    def apply(self, model: MigrationModel) -> None:
        cap = model.params.climate.adaptation_efficacy_cap
        model.households.adaptation[self.covered] = min(self.efficacy, cap)

    def finish(self, model: MigrationModel) -> None:
        model.households.adaptation[self.covered] = 0.0

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        once = 0.0 if self._paid else self.cost_per_household_usd * len(self.covered)
        self._paid = True
        return once + self.upkeep_per_household_usd_year / 12.0 * len(self.covered)


@register("social_protection", objective="2")
@dataclass
class SocialProtection(Intervention):
    """Shock-responsive cash (Objective 2 (b), (f)): monthly cash to poor households in districts hit by a shock.

    While a district suffers a shock loss of at least `min_loss`, each of its households at origin with liquid wealth
    below `wealth_threshold_usd` receives `transfer_usd` a month. Cost: transfers times (1 + `admin_share`).
    """

    transfer_usd: float = param(40.0, "USD per household per month", 0, USD_MAX,
                                "assumption; cf. WFP/World Bank shock-responsive safety nets")
    wealth_threshold_usd: float = setting(200.0, "USD liquid wealth below which households qualify", 0, USD_MAX)
    min_loss: float = setting(0.05, "district shock loss share that triggers payments", 0, 1)
    admin_share: float = param(0.1, "administration cost per USD transferred", 0, 10,
                               "assumption")   # 10: a programme that spends ten times what it pays out

    def apply(self, model: MigrationModel) -> None:
        h = model.households
        hit = model.climate.region_loss[h.origin] >= self.min_loss
        self._paid = np.flatnonzero(hit & (h.wealth < self.wealth_threshold_usd) & (h.status != FAMILY_ABROAD))
        model.cash[self._paid] += self.transfer_usd

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        return len(self._paid) * self.transfer_usd * (1.0 + self.admin_share)


@register("early_warning", objective="2")
@dataclass
class EarlyWarning(Intervention):
    """Early warning and anticipatory action (Objective 2 (c), (j)).

    Covered households (a share `coverage` of households in `regions`, as for `adaptation`) receive warnings that
    let them protect a share `asset_protection` of their assets when a shock strikes (livestock moved, stocks
    stored), and `cash_usd` once in the month a shock starts in their district, before its losses reach their
    budget. Cost: `system_cost_per_household_usd_year` / 12 a month per covered household, plus the cash times
    (1 + `admin_share`). Interventions act after the climate in the monthly order, so asset protection covers shocks
    from the month after the start to the month of the end; the cash is paid in the month of onset.
    """

    coverage: float = setting(0.7, "share of households in the target regions", 0, 1)
    asset_protection: float = prob(0.3, "share of asset losses averted by acting on a warning",
                                   "assumption; cf. WMO/Global Commission on Adaptation 2019 on early warning")
    cash_usd: float = param(60.0, "USD per covered household per shock onset", 0, USD_MAX,
                            "assumption; cf. anticipatory cash pilots (FAO, WFP)")
    system_cost_per_household_usd_year: float = param(2.0, "USD per covered household per year", 0, USD_MAX,
                                                      "assumption")
    admin_share: float = param(0.1, "administration cost per USD transferred", 0, 10,
                               "assumption")   # 10: a programme that spends ten times what it pays out
    regions: list[str] | str = field(default_factory=list)   # origin names, or EXPOSED

    def initialize(self, model: MigrationModel) -> None:
        target = _in_regions(model, self.regions, "interventions.early_warning.regions")
        self.covered = np.flatnonzero(target & (self.rng(model).random(model.households.n) < self.coverage))
        self._paid = 0

    def apply(self, model: MigrationModel) -> None:
        h = model.households
        h.asset_protection[self.covered] = self.asset_protection
        struck = model.climate.region_onset_intensity[h.origin[self.covered]] > 0
        paid = self.covered[struck & (h.status[self.covered] != FAMILY_ABROAD)]
        model.cash[paid] += self.cash_usd
        self._paid = len(paid)

    def finish(self, model: MigrationModel) -> None:
        model.households.asset_protection[self.covered] = 0.0

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        return (self.system_cost_per_household_usd_year / 12.0 * len(self.covered)
                + self._paid * self.cash_usd * (1.0 + self.admin_share))


@register("local_jobs", objective="2")
@dataclass
class LocalJobs(Intervention):
    """Local employment and skills programmes (Objective 2 (d), (e)).

    A share `coverage` of households in `regions` (as for `adaptation`) take part: their origin earnings rise by
    `income_gain` while the programme runs, and at its start a share `skill_upgrade` of participants below the top
    skill level gain one level (vocational training), which lasts. Training can also open regular pathways that
    require skill: the programme may raise migration as well as lower it. Cost: `cost_per_participant_usd_month` a
    month per participant, plus `training_cost_usd` once per person trained.
    """

    coverage: float = setting(0.3, "share of households in the target regions", 0, 1)
    income_gain: float = param(0.2, "relative rise in origin earnings of participants", 0, 10,
                               "assumption; cf. cash-for-work and graduation programme evaluations")
    skill_upgrade: float = prob(0.2, "share of participants who gain one skill level at the start")
    cost_per_participant_usd_month: float = param(15.0, "USD per participant household per month", 0, USD_MAX,
                                                  "assumption")
    training_cost_usd: float = param(400.0, "USD per person trained", 0, USD_MAX, "assumption")
    regions: list[str] | str = field(default_factory=list)   # origin names, or EXPOSED

    def initialize(self, model: MigrationModel) -> None:
        target = _in_regions(model, self.regions, "interventions.local_jobs.regions")
        u = self.rng(model).random((model.households.n, 2))
        self.participants = np.flatnonzero(target & (u[:, 0] < self.coverage))
        self._to_train = self.participants[u[self.participants, 1] < self.skill_upgrade]
        self._trained = 0

    def apply(self, model: MigrationModel) -> None:
        h = model.households
        h.income_boost[self.participants] = self.income_gain
        if self._to_train is not None:
            trained = self._to_train[h.skill[self._to_train] < 2]
            h.skill[trained] += 1
            self._trained, self._to_train = len(trained), None

    def finish(self, model: MigrationModel) -> None:
        model.households.income_boost[self.participants] = 0.0

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        trained, self._trained = self._trained, 0
        return self.cost_per_participant_usd_month * len(self.participants) + self.training_cost_usd * trained


# --- Objective 5: enhance availability and flexibility of pathways for regular migration ----------------------------

@dataclass
class OnChannels(Intervention):
    """An intervention on regular channels: the one named `channel`, or every channel of the kinds it acts on
    (`KINDS`) when `channel` is empty. The channels are found when the model is built (an unknown name stops the
    run, listing the channels there are); the cost is read from their counts of the month (applications, places
    granted, places issued this quota year), never from the model's recorder."""

    KINDS: ClassVar[tuple[str, ...]] = ()
    channel: str = ""

    def initialize(self, model: MigrationModel) -> None:
        self.channels = select(model.channels, self.channel, self.KINDS, f"interventions.{self.name}.channel")
        self._charged = [0] * len(self.channels)   # places beyond the base quota charged so far this quota year

    def granted(self) -> int:
        return sum(len(c.granted) for c in self.channels)

    def places_beyond_base(self, model: MigrationModel) -> int:
        """Places the channels issued this quota year beyond their base quota (the world's) and not yet counted:
        what the intervention added. Call it every month, active or not: the count restarts with the quota year."""
        if model.t % 12 == 0:
            self._charged = [0] * len(self.channels)
        extra = 0
        for j, c in enumerate(self.channels):
            new = max(0, c.issued_this_year - int(np.floor(c.base["quota_per_year"] + 1e-9))) - self._charged[j]
            self._charged[j] += new
            extra += new
        return extra


@register("quota_expansion", objective="5")
@dataclass
class QuotaExpansion(OnChannels):
    """More regular places (Objective 5 (a)-(d)): the annual quota of labour schemes times `factor`, and their
    processing capacity with it.

    Cost: `cost_per_visa_usd` for each visa issued in a quota year beyond the channel's base quota (administration,
    matching).
    """

    KINDS = ("labour_scheme",)
    factor: float = setting(2.0, "multiplier of the annual quota", 0, 1000)   # a quota of 1 per 1,000 covers all
    scale_processing: bool = True
    cost_per_visa_usd: float = param(500.0, "USD of public cost per additional visa", 0, USD_MAX, "assumption")

    def apply(self, model: MigrationModel) -> None:
        for c in self.channels:
            c.settings["quota_per_year"] *= self.factor
            if self.scale_processing:
                c.settings["processing_per_month"] *= self.factor

    def cost(self, model: MigrationModel) -> float:
        """Visas issued this quota year beyond the base quota, not yet charged, times the cost per visa."""
        extra = self.places_beyond_base(model)
        return extra * self.cost_per_visa_usd if self.active(model.t) else 0.0


@register("channel_closure", objective="5")
@dataclass
class ChannelClosure(OnChannels):
    """Regular departures stopped (the reverse of Objective 5's levers): a destination closing its labour market to
    the origin's workers, or a pandemic's stop of departures. While it is active, the channel named `channel` (every
    labour scheme, seasonal scheme and skills partnership when empty) takes no application and grants no place: its
    quota and processing capacity in force are 0. Applicants already waiting stay in its queue and give up as their
    patience runs out; the places of the quota year left when it ends are granted after. Free movement and the
    humanitarian and family channels are not closed by it. No cost (a closure is not a public programme).

    Example (the labour schemes of the default world closed for the first half of the run's first year):
        >>> from simulator import MigrationModel
        >>> [iv] = build_interventions({"channel_closure": {"end_year": 0.5}})
        >>> ds = MigrationModel(n_households=300, years=1, rng=0, interventions=[iv]).run()
        >>> int(ds.visas_issued.isel(time=slice(0, 6)).sum())
        0
    """

    KINDS = ("labour_scheme", "seasonal", "skills_partnership")

    def apply(self, model: MigrationModel) -> None:
        for c in self.channels:
            c.settings["quota_per_year"] = 0.0
            c.settings["processing_per_month"] = 0.0


@register("faster_processing", objective="5")
@dataclass
class FasterProcessing(OnChannels):
    """Shorter waiting (Objective 5 (f)): processing capacity of labour schemes times `factor`, within the quota.

    Cost: `cost_per_application_usd` for each application decided in a month beyond the capacity the channel would
    have without this intervention (its capacity in force over `factor`: other interventions, such as
    `quota_expansion`, which scales processing with the quota, pay for their own); nothing when `factor` is at most 1.
    """

    KINDS = ("labour_scheme",)
    factor: float = setting(2.0, "multiplier of monthly processing capacity", 0, 1000)
    cost_per_application_usd: float = param(100.0, "USD per additional application decided", 0, USD_MAX,
                                            "assumption")

    def apply(self, model: MigrationModel) -> None:
        for c in self.channels:
            c.settings["processing_per_month"] *= self.factor

    def cost(self, model: MigrationModel) -> float:
        """Applications decided this month beyond the capacity without this intervention, times their cost."""
        if not self.active(model.t) or self.factor <= 1.0:
            return 0.0
        extra = sum(max(0.0, len(c.granted) - c.settings["processing_per_month"] / self.factor) for c in self.channels)
        return extra * self.cost_per_application_usd


@register("fee_subsidy", objective="5")
@dataclass
class FeeSubsidy(OnChannels):
    """Lower fees (Objective 5): a share of the fee (`fee_usd`, not the recruitment cost) of labour schemes and
    seasonal places is paid publicly.

    Cost: the subsidy for every application lodged.
    """

    KINDS = ("labour_scheme", "seasonal")
    share: float = setting(0.5, "share of the regular fee paid by the programme", 0, 1)

    def apply(self, model: MigrationModel) -> None:
        self._subsidy = [c.settings["fee_usd"] * self.share for c in self.channels]
        for c, subsidy in zip(self.channels, self._subsidy):
            c.settings["fee_usd"] -= subsidy

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        return float(sum(c.applications * subsidy for c, subsidy in zip(self.channels, self._subsidy)))


@register("skill_eligibility", objective="5")
@dataclass
class SkillEligibility(OnChannels):
    """Regular pathways for all skill levels (Objective 5 (d); Objective 18 on skills recognition): the lowest
    eligible skill level of labour schemes becomes `min_skill`. Cost: `cost_per_visa_usd` for each visa issued to a
    migrant below the channel's base eligibility (recognition of skills, matching)."""

    KINDS = ("labour_scheme",)
    min_skill: int = setting(0, "lowest eligible skill level (0 low, 1 mid, 2 high)", 0, 3, integer=True)
    cost_per_visa_usd: float = param(150.0, "USD per visa to a newly eligible migrant", 0, USD_MAX, "assumption")

    def apply(self, model: MigrationModel) -> None:
        for c in self.channels:
            c.settings["min_skill"] = min(c.settings["min_skill"], self.min_skill)

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        newly_eligible = sum(int((model.households.skill[c.granted] < c.base["min_skill"]).sum())
                             for c in self.channels)
        return float(newly_eligible) * self.cost_per_visa_usd


@register("seasonal_scheme", objective="5")
@dataclass
class SeasonalScheme(OnChannels):
    """Seasonal and circular labour schemes (Objective 5 (d)): places a year added to seasonal channels (shared
    equally among them when several are meant), open to the skill levels each channel admits (every level in a
    version-1 world), for stays of `stay_months` (left null: each channel's own, 6 months in a version-1 world) with
    return built in; returning workers may apply again; the places are decided a twelfth a month. Cost:
    `cost_per_place_usd` per seasonal visa issued beyond the channels' own quota (all of them in a version-1 world,
    whose seasonal channel has none)."""

    KINDS = ("seasonal",)
    places_per_1000_per_year: float = setting(4.0, "seasonal places per 1,000 origin households per year", 0,
                                              PER_1000_MAX)
    stay_months: int | None = setting(None, "months of a seasonal stay (null: each channel's own)", 1, 120,
                                      integer=True, or_none=True)
    cost_per_place_usd: float = param(300.0, "USD of public cost per seasonal visa", 0, USD_MAX, "assumption")

    def apply(self, model: MigrationModel) -> None:
        places = self.places_per_1000_per_year * model.households.n / 1000.0 / len(self.channels)   # shared
        for c in self.channels:
            c.settings["quota_per_year"] += places
            c.settings["processing_per_month"] += places / 12.0
            if self.stay_months is not None:
                c.settings["stay_months"] = self.stay_months

    def cost(self, model: MigrationModel) -> float:
        extra = self.places_beyond_base(model)
        return float(extra) * self.cost_per_place_usd if self.active(model.t) else 0.0


@register("humanitarian_visas", objective="5")
@dataclass
class HumanitarianVisas(OnChannels):
    """Humanitarian visas for people compelled to leave by disasters (Objective 5 (g), (h)).

    Households whose remembered shock loss is at least `min_loss` and who want to leave this month (they chose a
    move, or are trapped by its cost) are offered a visa, in random order within `places_per_1000_per_year` (shared
    equally among the humanitarian channels meant); the visa, travel and a stay of `stay_months` (0 = no set end)
    are covered. `min_loss` and `stay_months` left null keep each channel's own (in a version-1 world: 0.15 and 24
    months). Cost: `cost_per_visa_usd` per visa issued beyond the channels' own quota (all of them in a version-1
    world, whose humanitarian channel has none).
    """

    KINDS = ("humanitarian",)
    places_per_1000_per_year: float = setting(2.0, "visas per 1,000 origin households per year", 0, PER_1000_MAX)
    min_loss: float | None = setting(None, "remembered loss (share of income) that qualifies a household (null: "
                                     "each channel's own)", 0, 1, or_none=True)
    stay_months: int | None = setting(None, "months of stay (0 = no set end; null: each channel's own)", 0, 1200,
                                      integer=True, or_none=True)
    cost_per_visa_usd: float = param(1500.0, "USD per visa (processing, travel, reception)", 0, USD_MAX,
                                     "assumption")

    def apply(self, model: MigrationModel) -> None:
        places = self.places_per_1000_per_year * model.households.n / 1000.0 / len(self.channels)   # shared
        for c in self.channels:
            c.settings["quota_per_year"] += places
            for name, value in (("min_loss", self.min_loss), ("stay_months", self.stay_months)):
                if value is not None:
                    c.settings[name] = value

    def cost(self, model: MigrationModel) -> float:
        extra = self.places_beyond_base(model)
        return float(extra) * self.cost_per_visa_usd if self.active(model.t) else 0.0


@register("family_reunification", objective="5")
@dataclass
class FamilyReunification(OnChannels):
    """Family reunification for migrants at all skill levels (Objective 5 (i)).

    The household of a regular migrant abroad for at least `min_months_abroad`, employed and earning at least
    `income_requirement_usd` a month, joins the migrant with probability `monthly_rate` a month and settles.
    Lowering the income requirement or the waiting period is the lever; left null, each channel keeps its own (in a
    version-1 world: 24 months and 1,500 USD). `monthly_rate` is always set: it is what opens a closed channel (the
    version-1 world's). Cost: `cost_per_family_usd` per family its channels reunite while it is active, those the
    world's own settings would have reunited included (on a world whose family channel is open without it, an upper
    bound).
    """

    KINDS = ("family",)
    monthly_rate: float = prob(0.02, "per month, for an eligible household", "assumption")
    min_months_abroad: int | None = setting(None, "months (null: each channel's own)", 0, 1200, integer=True,
                                            or_none=True)
    income_requirement_usd: float | None = setting(None, "USD/month the migrant must earn (null: each channel's own)",
                                                   0, USD_MAX, or_none=True)
    cost_per_family_usd: float = param(800.0, "USD of public cost per family reunited", 0, USD_MAX, "assumption")

    def apply(self, model: MigrationModel) -> None:
        for c in self.channels:
            c.settings["monthly_probability"] = self.monthly_rate
            for name, value in (("min_months_abroad", self.min_months_abroad),
                                ("min_wage_usd", self.income_requirement_usd)):
                if value is not None:
                    c.settings[name] = value

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        return float(self.granted()) * self.cost_per_family_usd


# --- Other levers the two objectives interact with --------------------------------------------------------------

@register("enforcement", objective="11")
@dataclass
class Enforcement(Intervention):
    """Border enforcement (Objectives 9-11): more interceptions and deportations, dearer and riskier smuggling.

    On the irregular route named `route` (every route when empty): interception probability times
    `interception_factor` (capped at 1), smuggler fee times `fee_factor` (smuggler prices rise with enforcement:
    Gathmann 2008 J Public Econ), death probability times `risk_factor` (journeys shift to riskier paths:
    assumption); and the deportation rate times `deportation_factor`. Cost: `cost_per_1000_usd_month` per 1,000
    origin households a month.
    """

    route: str = ""   # the irregular route acted on (empty: every route)
    # factors up to 100: the probabilities they multiply are capped at 1 and a smuggler fee 100 times dearer is no
    # longer paid by anyone
    interception_factor: float = setting(1.5, "multiplier of interception probability", 0, 100)
    fee_factor: float = param(1.2, "multiplier of the smuggler fee", 0, 100)
    risk_factor: float = param(1.3, "multiplier of death probability per journey", 0, 100)
    deportation_factor: float = param(2.0, "multiplier of the deportation rate", 0, 100)
    cost_per_1000_usd_month: float = param(2000.0, "USD per 1,000 origin households per month", 0,
                                           1000 * USD_MAX,   # USD_MAX per household
                                           "assumption")

    def initialize(self, model: MigrationModel) -> None:
        self.routes = select_routes(model.routes, self.route, f"interventions.{self.name}.route")
        if not self.routes:
            raise ConfigError(f"interventions.{self.name}.route", self.route, "an irregular route; the world has none")

    def apply(self, model: MigrationModel) -> None:
        for r in self.routes:
            s = r.settings
            s["interception_probability"] = min(1.0, s["interception_probability"] * self.interception_factor)
            s["travel_cost_usd"] *= self.fee_factor
            s["death_probability"] = min(1.0, s["death_probability"] * self.risk_factor)
        p = model.policy
        p.deportation_rate = min(1.0, p.deportation_rate * self.deportation_factor)

    def cost(self, model: MigrationModel) -> float:
        return self.cost_per_1000_usd_month * model.households.n / 1000.0 if self.active(model.t) else 0.0


@register("remittance_cost", objective="20")
@dataclass
class RemittanceCost(Intervention):
    """Cheaper remittances (Objective 20, SDG target 10.c: below 3%): the transfer cost of every international
    corridor is at most `transfer_cost`.

    Cost: `cost_usd_month` a month (regulation, digital channels).
    """

    transfer_cost: float = prob(0.03, "fee as share of amount sent", "SDG target 10.c")
    cost_usd_month: float = setting(0.0, "USD per month", 0, 1000 * USD_MAX)   # a whole programme's budget

    def apply(self, model: MigrationModel) -> None:
        model.policy.transfer_cost_cap = min(model.policy.transfer_cost_cap, self.transfer_cost)

    def cost(self, model: MigrationModel) -> float:
        return self.cost_usd_month if self.active(model.t) else 0.0


@register("information_campaign", objective="3")
@dataclass
class InformationCampaign(Intervention):
    """Accurate and timely information (Objective 3): perceived risk of irregular journeys moves toward the truth.

    The perceived/true risk ratio in force becomes `(1 - reach) q + reach`: a campaign reaching everyone makes
    beliefs accurate. It matters where beliefs are biased (`model.decisions.risk_perception` != 1). Cost:
    `cost_per_household_usd_year` / 12 a month per household reached.
    """

    reach: float = setting(0.5, "share of households reached", 0, 1)
    cost_per_household_usd_year: float = param(3.0, "USD per household reached per year", 0, USD_MAX,
                                               "assumption; cf. IOM 2018 review of information campaigns")

    def apply(self, model: MigrationModel) -> None:
        p = model.policy
        p.risk_perception = (1.0 - self.reach) * p.risk_perception + self.reach

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        return self.reach * model.households.n * self.cost_per_household_usd_year / 12.0


EXPOSED = "exposed"   # `regions: exposed`: the more exposed half of the world's origins (`exposed_origins`)


def exposed_origins(world: Any) -> list[str]:
    """The more exposed half of a world's origin districts (rounded up), in the world's order, by expected loss of
    farm income to sudden shocks a year: the sum over a district's hazards of mean intensity x duration (years) /
    return period, times its farm dependence (assumption: a ranking by the world's own hazard table). Ties keep the
    world's order. On the default and one-city worlds: Delta Coast, Dry Plateau, River Valley."""
    loss = np.zeros(world.n_origins)
    np.add.at(loss, world.hazard_origin,
              world.hazard_mean_intensity * world.hazard_duration / 12.0 / world.hazard_return_period)
    loss *= world.farm_dependence
    order = np.argsort(-loss, kind="stable")[:math.ceil(world.n_origins / 2)]
    return [world.origins[i] for i in sorted(order)]


def _in_regions(model: MigrationModel, regions: list[str] | str, field_name: str) -> np.ndarray:
    """Mask of households living in `regions` (all when empty; `exposed`: `exposed_origins`); unknown names fail
    with the valid ones."""
    origins = model.world.origins
    if regions == EXPOSED:
        regions = exposed_origins(model.world)
    unknown = [r for r in regions if r not in origins]
    if unknown:
        raise ConfigError(field_name, unknown, f"origin names among {list(origins)}")
    if not regions:
        return np.ones(model.households.n, bool)
    return np.isin(model.households.origin, [origins.index(r) for r in regions])


def build_interventions(spec: dict[str, dict[str, Any] | list[dict[str, Any] | None] | None] | None
                        ) -> list[Intervention]:
    """Interventions from a mapping of registered name -> parameters, or name -> a list of parameter mappings for
    several interventions of one kind (e.g. a channel closed in two periods).

    Each entry of a list is an intervention of its own, acting independently of the others in the order written and
    costed on its own. The first keeps the registered name as its label, so it draws from the stream
    "intervention.<name>" and is recorded under <name> as a single entry is (a list of one entry is the single
    form); the entry at position k of the list (from 0) is labelled "<name>[k]", draws from the stream
    "intervention.<name>[k]" and is recorded under that label (the outputs' `intervention` dim).

    Raises:
        ConfigError: for an unknown name (listing the registered ones), an empty list or an entry that is not a
            mapping, an unknown parameter (listing the valid ones), or a value out of its range; an entry of a list
            is named by its position, e.g. `interventions.quota_expansion[1].factor`.

    Example:
        >>> [iv.name for iv in build_interventions({"adaptation": {"coverage": 0.3}})]
        ['adaptation']
        >>> [iv.name for iv in build_interventions({"quota_expansion": [{"factor": 0.0, "end_year": 1},
        ...                                                              {"factor": 0.5, "start_year": 2}]})]
        ['quota_expansion', 'quota_expansion[1]']
    """
    result = []
    for name, entries in (spec or {}).items():
        if name not in REGISTRY:
            raise ConfigError("interventions", name, f"one of the registered interventions {sorted(REGISTRY)}")
        if isinstance(entries, list):
            if not entries:
                raise ConfigError(f"interventions.{name}", entries, "a mapping of parameter names to values, or a "
                                  "list of at least one such mapping (one intervention each)")
            for k, values in enumerate(entries):
                result.append(_build_one(name, values, k))
        else:
            result.append(_build_one(name, entries, None))
    return result


def _build_one(name: str, values: dict[str, Any] | None, position: int | None) -> Intervention:
    """The intervention registered as `name` with the parameters `values`; `position` is its place in a list of
    entries of that name (None: the single form), which names it in errors and labels it (`build_interventions`)."""
    cls = REGISTRY[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    entry = f"interventions.{name}" if position is None else f"interventions.{name}[{position}]"
    if values is not None and not isinstance(values, dict):
        raise ConfigError(entry, values, "a mapping of parameter names to values, e.g. {start_year: 1}")
    values = dict(values or {})
    for key, value in values.items():
        where = f"{entry}.{key}"
        if key not in fields:
            raise ConfigError(where, value, f"one of the parameters {sorted(fields)}")
        meta = fields[key].metadata
        if "units" in meta:
            if isinstance(value, str) and value.lower() in ("inf", ".inf"):
                value = values[key] = math.inf
            check_value(where, value, meta)
        elif fields[key].type in ("bool", bool) and not isinstance(value, bool):
            raise ConfigError(where, value, "true or false")
        elif key == "channel" and not isinstance(value, str):
            raise ConfigError(where, value, "a channel name (empty: every channel of the kinds it acts on)")
        elif key == "route" and not isinstance(value, str):
            raise ConfigError(where, value, "an irregular route's name (empty: every route)")
        elif key == "regions" and value != EXPOSED and not (
                isinstance(value, list) and all(isinstance(r, str) for r in value)):
            raise ConfigError(where, value, f"a list of origin names, or '{EXPOSED}' (the more exposed half of "
                                            f"the origins)")
    try:
        iv = cls(**values)   # checks every range, and end_year after start_year
    except ConfigError as err:
        raise ConfigError(err.field.replace(f"interventions.{name}.", f"{entry}.", 1), err.value,
                          err.allowed) from None
    if position:   # a later entry of a list: its own label, random stream and place in the outputs
        iv.name = f"{name}[{position}]"
    return iv
