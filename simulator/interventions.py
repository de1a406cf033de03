"""Interventions: pluggable policy objects selected by name (process 3 of the step).

Each intervention is a small dataclass registered under a name, with a start and an end (years after the start of
the run), parameters with units and ranges, and three methods:

- `initialize(model)`: once, when the model is built (draws from its own random stream, "intervention.<name>");
- `apply(model)`: each month it is active, before households decide: adjust `model.policy` (the levers in force
  this month) or household columns;
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
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from simulator.errors import ConfigError
from simulator.params import INF, check_value, param, prob

if TYPE_CHECKING:
    from simulator.model import MigrationModel

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
    start_year: float = param(0.0, "years after the start of the run", 0, INF)
    end_year: float = param(INF, "years after the start of the run (inf = never ends)", 0, INF)

    _on: ClassVar[bool] = False

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

    A share `coverage` of households in `regions` (all origins if empty), drawn at random, is covered from
    `start_year`; while active, their climate losses (income and assets) are cut by `efficacy` (capped by
    `climate.adaptation_efficacy_cap`). Cost: `cost_per_household_usd` once per covered household at the start, plus
    `upkeep_per_household_usd_year` / 12 a month.
    """

    coverage: float = prob(0.5, "share of households in the target regions")
    efficacy: float = prob(0.5, "share of climate losses averted",
                           "assumption; cf. Global Commission on Adaptation 2019 (benefit-cost 2-10)")
    cost_per_household_usd: float = param(300.0, "USD per household, once", 0, INF, "assumption")
    upkeep_per_household_usd_year: float = param(15.0, "USD per household per year", 0, INF, "assumption")
    regions: list[str] = field(default_factory=list)

    def initialize(self, model: MigrationModel) -> None:
        target = _in_regions(model, self.regions, "adaptation.regions")
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

    transfer_usd: float = param(40.0, "USD per household per month", 0, INF,
                                "assumption; cf. WFP/World Bank shock-responsive safety nets")
    wealth_threshold_usd: float = param(200.0, "USD liquid wealth below which households qualify", 0, INF)
    min_loss: float = prob(0.05, "district shock loss share that triggers payments")
    admin_share: float = param(0.1, "administration cost per USD transferred", 0, INF, "assumption")

    def apply(self, model: MigrationModel) -> None:
        h = model.households
        hit = model.climate.region_loss[h.origin] >= self.min_loss
        self._paid = np.flatnonzero(hit & (h.wealth < self.wealth_threshold_usd))
        model.cash[self._paid] += self.transfer_usd

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        return len(self._paid) * self.transfer_usd * (1.0 + self.admin_share)


# --- Objective 5: enhance availability and flexibility of pathways for regular migration ----------------------------

@register("quota_expansion", objective="5")
@dataclass
class QuotaExpansion(Intervention):
    """More regular places (Objective 5 (a)-(d)): the annual quota times `factor`, and processing capacity with it.

    Cost: `cost_per_visa_usd` for each visa issued beyond what the base quota allows (administration, matching).
    """

    factor: float = param(2.0, "multiplier of the annual quota", 0, INF)
    scale_processing: bool = True
    cost_per_visa_usd: float = param(500.0, "USD of public cost per additional visa", 0, INF, "assumption")

    def apply(self, model: MigrationModel) -> None:
        model.policy.quota_per_year *= self.factor
        if self.scale_processing:
            model.policy.processing_per_month *= self.factor

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        issued = model.recorder["visas_issued"][model.t].sum()
        extra_share = max(0.0, 1.0 - 1.0 / self.factor) if self.factor > 0 else 0.0
        return issued * extra_share * self.cost_per_visa_usd


@register("faster_processing", objective="5")
@dataclass
class FasterProcessing(Intervention):
    """Shorter waiting (Objective 5 (f)): processing capacity times `factor`, within the quota.

    Cost: `cost_per_application_usd` for each application decided beyond base capacity.
    """

    factor: float = param(2.0, "multiplier of monthly processing capacity", 0, INF)
    cost_per_application_usd: float = param(100.0, "USD per additional application decided", 0, INF,
                                            "assumption")

    def apply(self, model: MigrationModel) -> None:
        model.policy.processing_per_month *= self.factor

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        issued = model.recorder["visas_issued"][model.t].sum()
        return issued * max(0.0, 1.0 - 1.0 / self.factor) * self.cost_per_application_usd if self.factor else 0.0


@register("fee_subsidy", objective="5")
@dataclass
class FeeSubsidy(Intervention):
    """Lower fees (Objective 5; Objective 6 on recruitment costs): a share of the regular fee is paid publicly.

    Cost: the subsidy for every application lodged.
    """

    share: float = prob(0.5, "share of the regular fee paid by the programme")

    def apply(self, model: MigrationModel) -> None:
        self._subsidy = model.policy.regular_fee * self.share
        model.policy.regular_fee -= self._subsidy

    def cost(self, model: MigrationModel) -> float:
        if not self.active(model.t):
            return 0.0
        return model.recorder["applications"][model.t].sum() * self._subsidy


# --- Other levers the two objectives interact with --------------------------------------------------------------

@register("enforcement", objective="11")
@dataclass
class Enforcement(Intervention):
    """Border enforcement (Objectives 9-11): more interceptions and deportations, dearer and riskier smuggling.

    Interception probability times `interception_factor` (capped at 1), smuggler fee times `fee_factor` (smuggler
    prices rise with enforcement: Gathmann 2008 J Public Econ), death probability times `risk_factor` (routes shift
    to riskier paths: assumption), deportation rate times `deportation_factor`. Cost: `cost_per_1000_usd_month` per
    1,000 origin households a month.
    """

    interception_factor: float = param(1.5, "multiplier of interception probability", 0, INF)
    fee_factor: float = param(1.2, "multiplier of the smuggler fee", 0, INF)
    risk_factor: float = param(1.3, "multiplier of death probability per journey", 0, INF)
    deportation_factor: float = param(2.0, "multiplier of the deportation rate", 0, INF)
    cost_per_1000_usd_month: float = param(2000.0, "USD per 1,000 origin households per month", 0, INF,
                                           "assumption")

    def apply(self, model: MigrationModel) -> None:
        p = model.policy
        p.interception_probability = min(1.0, p.interception_probability * self.interception_factor)
        p.smuggler_fee *= self.fee_factor
        p.death_probability = min(1.0, p.death_probability * self.risk_factor)
        p.deportation_rate = min(1.0, p.deportation_rate * self.deportation_factor)

    def cost(self, model: MigrationModel) -> float:
        return self.cost_per_1000_usd_month * model.households.n / 1000.0 if self.active(model.t) else 0.0


@register("remittance_cost", objective="20")
@dataclass
class RemittanceCost(Intervention):
    """Cheaper remittances (Objective 20, SDG target 10.c: below 3%): the transfer cost is set to `transfer_cost`.

    Cost: `cost_usd_month` a month (regulation, digital channels).
    """

    transfer_cost: float = prob(0.03, "fee as share of amount sent", "SDG target 10.c")
    cost_usd_month: float = param(0.0, "USD per month", 0, INF)

    def apply(self, model: MigrationModel) -> None:
        model.policy.transfer_cost = min(model.policy.transfer_cost, self.transfer_cost)

    def cost(self, model: MigrationModel) -> float:
        return self.cost_usd_month if self.active(model.t) else 0.0


def _in_regions(model: MigrationModel, regions: list[str], field_name: str) -> np.ndarray:
    """Mask of households living in `regions` (all when empty); unknown names fail with the valid ones."""
    origins = model.world.origins
    unknown = [r for r in regions if r not in origins]
    if unknown:
        raise ConfigError(field_name, unknown, f"origin names among {list(origins)}")
    if not regions:
        return np.ones(model.households.n, bool)
    return np.isin(model.households.origin, [origins.index(r) for r in regions])


def build_interventions(spec: dict[str, dict[str, Any] | None] | None) -> list[Intervention]:
    """Interventions from a mapping of registered name -> parameters.

    Raises:
        ConfigError: for an unknown name (listing the registered ones), an unknown parameter (listing the valid
            ones), or a value out of its range.

    Example:
        >>> [iv.name for iv in build_interventions({"adaptation": {"coverage": 0.3}})]
        ['adaptation']
    """
    result = []
    for name, values in (spec or {}).items():
        if name not in REGISTRY:
            raise ConfigError("interventions", name, f"one of the registered interventions {sorted(REGISTRY)}")
        cls = REGISTRY[name]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if values is not None and not isinstance(values, dict):
            raise ConfigError(f"interventions.{name}", values, "a mapping of parameter names to values, e.g. "
                              "{start_year: 1}")
        values = dict(values or {})
        for key, value in values.items():
            where = f"interventions.{name}.{key}"
            if key not in fields:
                raise ConfigError(where, value, f"one of the parameters {sorted(fields)}")
            meta = fields[key].metadata
            if "units" in meta:
                if isinstance(value, str) and value.lower() in ("inf", ".inf"):
                    value = values[key] = math.inf
                check_value(where, value, meta)
            elif fields[key].type in ("bool", bool) and not isinstance(value, bool):
                raise ConfigError(where, value, "true or false")
            elif key == "regions" and not (isinstance(value, list) and all(isinstance(r, str) for r in value)):
                raise ConfigError(where, value, "a list of origin names")
        iv = cls(**values)
        if iv.end_year <= iv.start_year:
            raise ConfigError(f"interventions.{name}.end_year", iv.end_year,
                              f"a year after start_year = {iv.start_year}")
        result.append(iv)
    return result
