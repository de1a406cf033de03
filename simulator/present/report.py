"""The planner's report: a comparison dataset in, a Markdown report with PNG figures out.

Effects are **paired differences** against the baseline: for each seed, a package's outcome minus the baseline's
outcome on the same seed. Runs with the same seed face the same climate shocks, labour cycle and household draws
(common random numbers), so the shared noise cancels and the differences measure the policy. The mean difference
across seeds gets a 95% confidence interval from Student's t with `n_seeds - 1` degrees of freedom.

Cost-effectiveness divides a package's total intervention cost by the outcome it improved (irregular departures,
deaths, or trapped household-months averted), where the improvement's confidence interval excludes zero; otherwise
it is reported as not measurable.

Example:
    >>> import tempfile
    >>> from simulator.config import RunConfig
    >>> from simulator.experiments.comparison import compare
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ds = compare(RunConfig(n_households=200, years=1), ["baseline", "obj5_more_places"], [0, 1, 2], tmp)
    ...     path = write_report(ds, tmp)
    ...     "Effects against baseline" in path.read_text()
    True
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from simulator.experiments.metrics import (  # noqa: E402,F401
    METRICS, corridor_totals, paired_differences, paired_effects, run_metrics)
from simulator.present.plotting import _finish, _line, annual  # noqa: E402
from simulator.policy.scenarios import load_scenario  # noqa: E402


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.3f}"


def _significant(e: xr.Dataset, name: str, scenario: str) -> int:
    """+1 or -1 if the confidence interval lies wholly above or below zero, else 0."""
    low, high = float(e[name].sel(scenario=scenario, stat="low")), float(e[name].sel(scenario=scenario, stat="high"))
    return 1 if low > 0 else -1 if high < 0 else 0


def cost_effectiveness(e: xr.Dataset, scenario: str) -> dict[str, str]:
    """Cost per irregular departure, death and trapped household-month averted (where the reduction is clear)."""
    cost = float(e["cost"].sel(scenario=scenario, stat="mean")) * 1e6
    out = {}
    for name, label in (("irregular", "per irregular departure averted"), ("deaths", "per death averted"),
                        ("trapped", "per trapped household-month averted")):
        averted = -float(e[name].sel(scenario=scenario, stat="mean"))
        clear = _significant(e, name, scenario) == -1
        out[label] = f"{cost / averted:,.0f} USD" if clear and cost > 0 else (
            "no cost" if clear else "no clear reduction")
    return out


def trade_offs(e: xr.Dataset, scenario: str) -> list[str]:
    """Sentences naming clear improvements and clear worsenings of a package, so trade-offs are not hidden."""
    better, worse, moved = [], [], []
    for metric in METRICS:
        if metric.name == "cost":
            continue
        sign = _significant(e, metric.name, scenario)
        if sign == 0:
            continue
        words = f"{'raises' if sign > 0 else 'lowers'} {metric.label}"
        if metric.better == 0:
            moved.append(words)
        elif sign == metric.better:
            better.append(words)
        else:
            worse.append(words)
    lines = []
    if better:
        lines.append("Improves: " + "; ".join(better) + ".")
    if worse:
        lines.append("**Worsens: " + "; ".join(worse) + ".**")
    if moved:
        lines.append("Also: " + "; ".join(moved) + ".")
    if better and worse:
        lines.append("This is a trade-off: weigh the gains against the losses above.")
    return lines or ["No outcome differs clearly from the baseline at this number of seeds."]


def comparison_figures(ds: xr.Dataset, folder: Path) -> list[Path]:
    """PNG figures of the comparison: one line per scenario, medians and 5-95% bands across seeds."""
    figures = []

    def save(fig: plt.Figure, name: str) -> None:
        path = folder / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        figures.append(path)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharex=True)
    for ax, pathway in zip(axes, ds["pathway"].values):
        for scenario in ds["scenario"].values:
            _line(ax, annual(ds["emigrants"].sel(scenario=scenario, pathway=pathway).sum(["origin", "destination"])),
                  str(scenario))
        _finish(fig, ax, f"{pathway} departures", "persons per year", ds)
    save(fig, "departures_by_pathway.png")

    flows = annual(ds["emigrants"].sum(["origin", "destination"]))
    international = flows.sel(pathway="regular") + flows.sel(pathway="irregular")
    share = 100 * flows.sel(pathway="irregular") / international.where(international > 0)
    series = {"irregular_share.png": (share, "Irregular share of international departures", "% of departures"),
              "deaths.png": (annual(ds["deaths"].sum("origin")), "Deaths and missing on irregular journeys",
                             "persons per year"),
              "trapped.png": (annual(ds["trapped"].sum("origin")), "Trapped households (wanted to move, could not "
                              "afford to)", "household-months per year"),
              "remittances.png": (annual(ds["remittances"].sum("origin")) / 1e6, "Remittances received, net of fees",
                                  "million USD per year")}
    for name, (da, title, ylabel) in series.items():
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for scenario in ds["scenario"].values:
            _line(ax, da.sel(scenario=scenario), str(scenario))
        save(_finish(fig, ax, title, ylabel, ds), name)

    # where migrants go: departures over the period to each city and destination, mean across seeds
    totals = ds["emigrants"].sum(["time", "origin", "pathway"]).mean("seed")
    scenarios = [str(s) for s in ds["scenario"].values]
    places = [str(d) for d in ds["destination"].values]
    fig, ax = plt.subplots(figsize=(max(8.0, 1.6 * len(places)), 4.5))
    width = 0.8 / len(scenarios)
    for j, scenario in enumerate(scenarios):
        ax.bar(np.arange(len(places)) + (j - (len(scenarios) - 1) / 2) * width,
               totals.sel(scenario=scenario).values, width, label=scenario)
    ax.set_xticks(np.arange(len(places)), places)
    ax.set_ylabel("persons over the period")
    ax.set_title("Departures by city and destination (all pathways; mean across seeds)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save(fig, "departures_by_destination.png")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for scenario in ds["scenario"].values:
        part = ds.sel(scenario=scenario)
        _line(ax, annual(part["applications"].sum("origin")), f"{scenario}: applications", linestyle="--")
        _line(ax, annual(part["visas_issued"].sum("origin")), f"{scenario}: visas issued")
    save(_finish(fig, ax, "Regular pathway: visas issued vs applications", "per year", ds), "visas.png")
    return figures


def corridor_section(ds: xr.Dataset, baseline: str, scenarios: list[str]) -> list[str]:
    """Report lines on each corridor: departures by city or destination and pathway, places granted by each regular
    channel, journeys and deaths on each irregular route; the baseline's level and each package's paired effect
    (rows with no flow in any scenario are left out). A package that closes or tightens one corridor shows here
    where its flow goes instead."""
    e = paired_differences(corridor_totals(ds), baseline)
    others = [s for s in scenarios if s != baseline]
    header = [f"| corridor | {baseline} (level) | " + " | ".join(others) + " |", "|" + "---|" * (2 + len(others))]

    def row(label: str, da: xr.DataArray) -> list[str]:
        if not (float(abs(da.sel(stat="baseline")).max()) > 0 or float(abs(da.sel(stat="mean")).max()) > 0):
            return []
        cells = [f"{_fmt(float(da.sel(scenario=s, stat='mean')))} [{_fmt(float(da.sel(scenario=s, stat='low')))}, "
                 f"{_fmt(float(da.sel(scenario=s, stat='high')))}]" for s in others]
        return [f"| {label} | {_fmt(float(da.sel(scenario=baseline, stat='baseline')))} | " + " | ".join(cells) + " |"]

    def table(title: str, rows: list[str]) -> list[str]:
        return ["", f"**{title}**", "", *header, *rows] if rows else ["", f"**{title}**: none in any scenario."]

    lines = ["", "## Corridors: where migrants go", "",
             "Totals over the period, persons (channel places: households); the baseline's level, then each "
             "package's paired effect with its 95% confidence interval, as above."]
    lines += table("Departures by city or destination and pathway", [
        line for place in ds["destination"].values for pathway in ds["pathway"].values
        for line in row(f"{place}, {pathway}", e["departures"].sel(destination=place, pathway=pathway))])
    lines += table("Places granted by each regular channel", [
        line for channel in ds["channel"].values for line in row(str(channel), e["channel_granted"].sel(
            channel=channel))])
    lines += table("Irregular routes: journeys begun and deaths", [
        line for route in ds["route"].values for what, name in (("journeys", "route_departures"),
                                                                 ("deaths", "route_deaths"))
        for line in row(f"{route}: {what}", e[name].sel(route=route))])
    return lines


def write_report(ds: xr.Dataset, folder: str | Path, baseline: str = "baseline") -> Path:
    """Write `report.md` and its figures into `folder` from a comparison dataset alone; return the report's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = comparison_figures(ds, folder)
    e = paired_effects(ds, baseline)
    scenarios = [str(s) for s in ds["scenario"].values]
    n_seeds = ds.sizes["seed"]
    years = f"{int(ds['year'].values[0])}-{int(ds['year'].values[-1])}"
    lines = [
        "# Scenario comparison", "",
        "> **Not a forecast.** The model's behaviour is calibrated to published regularities (docs/validation.md), "
        "not to the series of the world of this comparison (its README gives the source of each figure; the shipped "
        "default and one-city worlds are invented). The comparison shows mechanisms and trade-offs between policy "
        "packages; its numbers are not predictions for any real place.", "",
        f"- Scenarios: {', '.join(scenarios)} (baseline: {baseline})",
        f"- Seeds: {n_seeds} per scenario ({ds.attrs.get('seeds', '')}); period {years}, monthly steps",
        f"- Households simulated per run: {ds.attrs.get('n_households', 'see config')}; "
        f"world: {ds.attrs.get('world', '')}; simulator version {ds.attrs.get('simulator_version', '')}",
        "", "## The packages", ""]
    for s in scenarios:
        try:
            lines.append(f"- **{s}**: {load_scenario(s).description}")
        except Exception:   # a scenario file that has since been removed or renamed: the dataset still holds it
            lines.append(f"- **{s}**")
    lines += ["", "## Effects against baseline", "",
              f"Paired differences, package minus baseline on the same seed, over the whole period: mean and 95% "
              f"confidence interval across {n_seeds} seeds (Student's t); the baseline's own level (mean across seeds) "
              "first. "
              "Intervals that exclude zero are clear effects at this number of seeds.", ""]
    header = f"| outcome | units | {baseline} (level) | " + " | ".join(s for s in scenarios if s != baseline) + " |"
    lines += [header, "|" + "---|" * (3 + len(scenarios) - 1)]
    for metric in METRICS:
        cells = []
        for s in scenarios:
            if s == baseline:
                continue
            mean, lo, hi = (float(e[metric.name].sel(scenario=s, stat=k)) for k in ("mean", "low", "high"))
            cells.append(f"{_fmt(mean)} [{_fmt(lo)}, {_fmt(hi)}]")
        base = float(e[metric.name].sel(scenario=baseline, stat="baseline"))
        lines.append(f"| {metric.label} | {metric.units} | {_fmt(base)} | " + " | ".join(cells) + " |")
    lines += corridor_section(ds, baseline, scenarios)
    lines += ["", "## Trade-offs and cost-effectiveness", ""]
    for s in scenarios:
        if s == baseline:
            continue
        lines += [f"### {s}", ""] + trade_offs(e, s) + [""]
        ce = cost_effectiveness(e, s)
        cost = float(e["cost"].sel(scenario=s, stat="mean"))
        lines.append(f"Cost: {_fmt(cost)} million USD over the period. " +
                     "; ".join(f"{v} {k}" if "USD" in v else f"{k}: {v}" for k, v in ce.items()) + ".")
        lines.append("")
    lines += ["## Figures", "", "Lines are medians across seeds; bands span the 5th to 95th percentile.", ""]
    lines += [f"![{p.stem}]({p.name})" for p in figures]
    path = folder / "report.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
