"""The policy in force this step: the levers that interventions act on.

Each step the policy is rebuilt from the model parameters, then every active intervention adjusts it (process 3).
Interventions therefore never rewrite the parameters, and a lever returns to its parameter value when the
intervention that moved it ends. Quota, processing capacity and vacancies are in households of the simulated
population: parameters per 1,000 origin households times `n_households / 1000`.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.params import ModelParams


@dataclass
class Policy:
    """Lever values in force during one step."""

    quota_per_year: float             # visas per year, in simulated households
    processing_per_month: float       # applications decided per month
    regular_fee: float                # USD, on top of the route's travel cost
    min_skill: int                    # lowest eligible skill level
    max_wait_months: float            # tolerated wait of a household of average patience
    regular_stay_months: int          # months before a regular migrant returns (0 = permanent)
    smuggler_fee: float               # USD per irregular journey
    interception_probability: float   # per journey
    death_probability: float          # per journey
    deportation_rate: float           # per month
    transfer_cost: float              # share of international remittances lost to fees
    risk_perception: float            # perceived / true risk of irregular journeys
    # channels closed unless an intervention opens them (see interventions.py)
    seasonal_quota_per_year: float = 0.0     # seasonal/circular places a year, open to every skill level
    seasonal_stay_months: int = 6            # months of a seasonal stay, return built in
    humanitarian_per_year: float = 0.0       # humanitarian visas a year for people hit by disasters
    humanitarian_min_loss: float = 0.2       # remembered shock loss (share of income) that qualifies
    humanitarian_stay_months: int = 0        # 0 = no set end
    reunification_probability: float = 0.0   # per month, for an eligible household with a migrant abroad
    reunification_min_months: int = 24       # months the migrant must have stayed regularly
    reunification_min_wage: float = 0.0      # USD/month the migrant must earn (income requirement)

    @classmethod
    def from_params(cls, params: ModelParams, n_households: int) -> Policy:
        scale = n_households / 1000.0
        r, i = params.regular, params.irregular
        return cls(
            quota_per_year=r.quota_per_1000_per_year * scale,
            processing_per_month=r.processing_per_1000_per_month * scale,
            regular_fee=r.fee_usd, min_skill=r.min_skill, max_wait_months=r.max_wait_months,
            regular_stay_months=r.stay_months,
            smuggler_fee=i.smuggler_fee_usd, interception_probability=i.interception_probability,
            death_probability=i.death_probability, deportation_rate=i.deportation_rate,
            transfer_cost=params.abroad.transfer_cost, risk_perception=params.decisions.risk_perception,
        )
