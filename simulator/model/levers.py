"""The policy in force this step: the levers that interventions act on.

Each step the policy is rebuilt from the model parameters, then every active intervention adjusts it (process 3).
Interventions therefore never rewrite the parameters, and a lever returns to its value without interventions (its
parameter's; for the cap on transfer costs, 1: no cap) when the intervention that moved it ends. The regular
channels and the irregular routes keep their own settings in force the same way (simulator.model.channels,
simulator.model.routes).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.params import ModelParams


@dataclass
class Policy:
    """Lever values in force during one step."""

    deportation_rate: float           # per month
    transfer_cost_cap: float          # the most any international corridor's transfer cost may be (1: no cap)
    risk_perception: float            # perceived / true risk of irregular journeys

    @classmethod
    def from_params(cls, params: ModelParams, n_households: int) -> Policy:
        i = params.irregular
        return cls(
            deportation_rate=i.deportation_rate,
            transfer_cost_cap=1.0, risk_perception=params.decisions.risk_perception,
        )
