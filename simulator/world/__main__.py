"""Check a version-2 world folder and summarise it: `python -m simulator.world FOLDER`.

Prints the places, routes and channels the tables define, or the first problem found in one line (exit status 2), so
that a planner editing the tables can check them before any run.
"""

from __future__ import annotations

import argparse
import sys

from simulator.errors import InputError
from simulator.world.tables import Corridors, load_corridors

SKILLS = ("low", "mid", "high")


def summary(world: Corridors) -> str:
    """A plain-text account of a world: what a planner would check after editing the tables."""
    people = float((world.origin["households"] * world.origin["household_size_mean"]).sum())
    lines = [f"world '{world.name}': {len(world.origins)} origin districts, {len(world.cities)} cities, "
             f"{len(world.destinations)} destinations; {world.households:,} households (about {people:,.0f} "
             f"people)", "", "origins (households):"]
    lines += [f"  {o}: {int(n):,}" for o, n in zip(world.origins, world.origin["households"])]
    lines += ["", "cities and destinations (monthly wage low/mid/high USD; living cost; remittance cost):"]
    for k, place in enumerate(world.abroad):
        wage = "/".join(f"{w:,.0f}" for w in world.place_wage[k])
        lines.append(f"  {place} ({'city' if place in world.cities else 'destination'}): {wage}; "
                     f"{world.living_cost[k]:,.0f}; {world.remittance_cost_share[k]:.1%}")
    lines += ["", "routes (kind, from -> to, cost USD, months, interception, death per journey):"]
    for r in world.routes:
        lines.append(f"  {r.name}: {r.kind}, {r.source} -> {r.to}, {r.travel_cost_usd:,.0f}, {r.duration_months}, "
                     f"{r.interception_probability:.3g}, {r.death_probability:.3g}")
    lines += ["", "channels (destination, kind, settings):"]
    for c in world.channels:
        settings = ", ".join(f"{k}={v:g}" for k, v in c.settings.items())
        lines.append(f"  {c.name}: {c.destination}, {c.kind}, {settings}")
    lines += ["", f"hazards: {len(world.hazard_name)}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.world", description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="a version-2 world folder (places.csv, routes.csv, channels.csv, hazards.csv)")
    args = parser.parse_args(argv)
    try:
        world = load_corridors(args.folder)
    except InputError as exc:
        print(f"python -m simulator.world: {exc}", file=sys.stderr)
        return 2
    print(summary(world))
    return 0


if __name__ == "__main__":
    sys.exit(main())
