"""Worlds as data (version 2, corridors): places, routes, channels and hazards tables -> a validated `Corridors`.

A version-2 world folder holds `places.csv`, `routes.csv`, `channels.csv` and `hazards.csv` (every column is
described in scenarios/worlds/default/README.md). `load_corridors` reads and checks one; `convert` writes the
version-2 tables of a version-1 world (`python -m simulator.world.convert OLD NEW --households N`).

The default world (`default_world_path`) is a version-2 world; the model also runs version-1 worlds
(`simulator.world.regions`, such as scenarios/worlds/one_city). The tables here are the world format the corridors
model is built on (ARCHITECTURE.md section 1).
"""

from simulator.world.channels import CHANNEL_KINDS, ChannelKind
from simulator.world.tables import Channel, Corridors, Route, default_world_path, load_corridors

__all__ = ["CHANNEL_KINDS", "Channel", "ChannelKind", "Corridors", "Route", "default_world_path", "load_corridors"]
