"""Agent-based simulator of migration flows under climate shocks, labour demand and pathway policies.

Households in origin districts choose each month to stay, move to a domestic city, migrate through a regular
pathway, or migrate irregularly. Policies of the Global Compact for Migration (Objective 2: reduce adverse drivers;
Objective 5: regular pathways) act as pluggable interventions.

Example:
    >>> from simulator import MigrationModel
    >>> ds = MigrationModel(n_households=1000, years=2, rng=42).run()
    >>> sorted(ds["pathway"].values.tolist())
    ['internal', 'irregular', 'regular']
"""

from simulator.version import __version__
from simulator.model.migration import MigrationModel  # noqa: E402
from simulator.model.households import Household  # noqa: E402
from simulator.world.regions import World, load_world, one_city_world_path  # noqa: E402
from simulator.world.tables import Corridors, default_world_path, load_corridors  # noqa: E402
from simulator.params import ModelParams  # noqa: E402
from simulator.policy.interventions import build_interventions, REGISTRY as INTERVENTIONS  # noqa: E402
import simulator.policy.channels  # noqa: E402,F401  (registers the rules of each kind of channel)

__all__ = ["MigrationModel", "Household", "World", "load_world", "one_city_world_path", "Corridors", "load_corridors",
           "default_world_path", "ModelParams",
           "build_interventions", "INTERVENTIONS", "__version__"]
