"""The planner's report: a comparison dataset in; a self-contained HTML report, the same report in Markdown, and its
PNG figures out. It answers "which package, for what, at what cost, for whom".

The report opens with a **decision summary**: each package's effect on each outcome per 1,000 households and for the
world's population, with 95% intervals, its cost, and what one million USD buys in each outcome, ranked; notes on the
mechanisms the numbers reveal (a quota that binds, diversion to another destination, households released from being
trapped). Then who gains and who loses (consumption-equivalent welfare and outcomes by wealth quintile, by the
migrants' sex, by district and destination, and the SDG indicators 10.7.1, 10.7.3 and 10.c.1), the full effects, the
corridors, each package's trade-offs, and the figures.

Effects are **paired differences** against the baseline: for each seed, a package's outcome minus the baseline's
outcome on the same seed. Runs with the same seed face the same climate shocks, labour cycle and household draws
(common random numbers), so the shared noise cancels and the differences measure the policy. The mean difference
across seeds gets a 95% confidence interval from Student's t with `n_seeds - 1` degrees of freedom. An effect is
**practical** when its interval excludes zero and its size is at least a stated share of the baseline's level
(`practical`, 2% by default; one percentage point for a percentage): only practical effects count as gains, losses
or trade-offs.

The report is written from the dataset alone (its attributes carry the scenarios' definitions, the seeds, the
households simulated and the world's households), so a saved `comparison.nc` or `sweep.nc` gives the same report.

Example:
    >>> import tempfile
    >>> from simulator.config import RunConfig
    >>> from simulator.experiments.comparison import compare
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ds = compare(RunConfig(n_households=200, years=1), ["baseline", "obj5_more_places"], [0, 1, 2], tmp)
    ...     path = write_report(ds, tmp)
    ...     "Decision summary" in path.read_text()
    True
"""

from __future__ import annotations

import base64
import html
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import jinja2  # noqa: E402
import markupsafe  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

from simulator.experiments.metrics import (  # noqa: E402
    METRICS, corridor_totals, group_totals, paired_differences, paired_effects, run_metrics, welfare_change)
from simulator.errors import ConfigError  # noqa: E402
from simulator.present.plotting import BAND, annual, arc, schematic  # noqa: E402

PRACTICAL = 0.02          # an effect is practical from 2% of the baseline's level (assumption: a planner's threshold)
PRACTICAL_POINTS = 1.0    # ... and, for an outcome in percent, from one percentage point
PERCENT = ("irregular_share", "welfare_q1")   # outcomes in percent: their practical size is in percentage points
INVENTED_WORLDS = ("default", "one_city")   # the shipped worlds that are illustrative, not a country
TEMPLATE = Path(__file__).with_name("templates") / "report.html.j2"

# Outcomes of the decision summary: metric name, label, units per 1,000 households, factor from the metric's units
# to those, whether it adds up over households (then it scales to the world's population), world units and factor.
SUMMARY = (
    ("irregular", "irregular departures", "persons", 1.0, True, "persons", 1.0),
    ("deaths", "deaths on irregular journeys", "persons", 1.0, True, "persons", 1.0),
    ("trapped", "trapped household-months", "household-months", 1.0, True, "household-months", 1.0),
    ("regular", "regular departures", "persons", 1.0, True, "persons", 1.0),
    ("internal", "internal moves", "persons", 1.0, True, "persons", 1.0),
    ("remittances", "remittances received", "thousand USD", 1e3, True, "million USD", 1.0),
    ("consumption", "consumption per person at origin", "USD/month", 1.0, False, "", 1.0),
    ("welfare_q1", "welfare of the poorest fifth (consumption-equivalent)", "%", 1.0, False, "", 1.0),
    ("cost", "intervention cost", "thousand USD", 1e3, True, "million USD", 1.0),
)
# What one million USD buys: metric, what is bought, units (of the metric per million USD)
BUYS = (("irregular", "irregular departures averted", "persons"), ("deaths", "deaths averted", "persons"),
        ("trapped", "trapped household-months averted", "household-months"),
        ("remittances", "remittances added", "million USD"))


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.3f}"


def _interval(mean: float, low: float, high: float) -> str:
    return f"{_fmt(mean)} [{_fmt(low)}, {_fmt(high)}]"


# --- the report as blocks, rendered to Markdown and to HTML -----------------------------------------------------------

@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Figure:
    path: Path
    caption: str


@dataclass
class Section:
    title: str
    level: int = 2
    blocks: list[Any] = field(default_factory=list)   # str (a paragraph), list[str] (bullets), Table or Figure

    def add(self, *blocks: Any) -> Section:
        self.blocks.extend(b for b in blocks if b)
        return self


def to_markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for s in sections:
        lines += [f"{'#' * s.level} {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, str):
                lines += [b, ""]
            elif isinstance(b, list):
                lines += [f"- {item}" for item in b] + [""]
            elif isinstance(b, Table):
                if b.caption:
                    lines += [f"**{b.caption}**", ""]
                lines += ["| " + " | ".join(b.header) + " |", "|" + "---|" * len(b.header)]
                lines += ["| " + " | ".join(row) + " |" for row in b.rows] + [""]
            elif isinstance(b, Figure):
                lines += [f"![{b.caption}]({b.path.name})", "", f"*{b.caption}*", ""]
    return "\n".join(lines).rstrip() + "\n"


def _inline(text: str) -> str:
    """Escaped HTML of a line of text with its Markdown **bold** and *italic* as tags."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", out)


def to_html(title: str, sections: list[Section]) -> str:
    """One self-contained HTML page (figures embedded as data URIs, no link outside it), from the template."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE.parent), autoescape=True)
    env.filters["inline"] = lambda text: markupsafe.Markup(_inline(str(text)))

    def block(b: Any) -> dict[str, Any]:
        if isinstance(b, str):
            return {"kind": "p", "text": b}
        if isinstance(b, list):
            return {"kind": "ul", "items": b}
        if isinstance(b, Table):
            return {"kind": "table", "header": b.header, "rows": b.rows, "caption": b.caption}
        data = base64.b64encode(b.path.read_bytes()).decode("ascii")
        return {"kind": "figure", "src": f"data:image/png;base64,{data}", "caption": b.caption}

    return env.get_template(TEMPLATE.name).render(
        title=title, sections=[{"title": s.title, "level": s.level, "blocks": [block(b) for b in s.blocks]}
                               for s in sections])


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# --- what the dataset says about itself -------------------------------------------------------------------------------

@dataclass
class Setup:
    scenarios: list[str]
    baseline: str
    others: list[str]
    seeds: list[int]
    years: str
    n_years: float
    households: float | None       # simulated per run (None: differs between runs of a sweep)
    world_households: float        # the world's households (0: a version-1 world, no real population)
    world: str
    definitions: dict[str, Any]

    @property
    def per_thousand(self) -> float:
        """Factor from a run's total to a total per 1,000 households (1 when the households simulated differ)."""
        return 1000.0 / self.households if self.households else 1.0

    @property
    def per_world(self) -> float:
        return self.world_households / self.households if self.households and self.world_households else 0.0

    @property
    def unit(self) -> str:
        return "per 1,000 households" if self.households else "per run"


def setup_of(ds: xr.Dataset, baseline: str) -> Setup:
    scenarios = [str(s) for s in ds["scenario"].values]
    if baseline not in scenarios:
        raise ValueError(f"baseline = {baseline!r} is not among the scenarios {scenarios}")
    years = ds["year"].values
    households = ds.attrs.get("n_households")
    try:
        definitions = json.loads(ds.attrs.get("scenario_definitions", "{}"))
    except ValueError:
        definitions = {}
    return Setup(scenarios=scenarios, baseline=baseline, others=[s for s in scenarios if s != baseline],
                 seeds=[int(s) for s in ds["seed"].values], years=f"{int(years[0])}-{int(years[-1])}",
                 n_years=ds.sizes["time"] / 12.0, households=float(households) if households else None,
                 world_households=float(ds.attrs.get("world_households", 0.0) or 0.0),
                 world=str(ds.attrs.get("world", "")), definitions=definitions)


def description(setup: Setup, scenario: str) -> str:
    """A package's description: from the dataset's definitions, else from its scenario file if it still exists."""
    if scenario in setup.definitions:
        return str(setup.definitions[scenario].get("description", ""))
    from simulator.policy.scenarios import load_scenario
    try:
        return load_scenario(scenario).description
    except Exception:   # noqa: BLE001 - a swept label or a scenario file since removed: the dataset still holds it
        return ""


# --- statistics -------------------------------------------------------------------------------------------------------

def practical_sign(e: xr.DataArray, scenario: str, practical: float, percent: bool = False) -> int:
    """+1 or -1 if the effect's interval excludes zero and its size reaches the practical threshold (a share of the
    baseline's level, or percentage points for an outcome in percent), else 0."""
    mean, low, high, base = (float(e.sel(scenario=scenario, stat=k)) for k in ("mean", "low", "high", "baseline"))
    threshold = PRACTICAL_POINTS * practical / PRACTICAL if percent else practical * abs(base)
    if not (low > 0 or high < 0) or not np.isfinite(mean) or abs(mean) < threshold:
        return 0
    return 1 if mean > 0 else -1


def summary_effects(ds: xr.Dataset, baseline: str) -> xr.Dataset:
    """Paired effects of the summary's outcomes: the report's metrics and the consumption-equivalent welfare of the
    poorest quintile (percent; its `baseline` stat the baseline's geometric mean consumption per person)."""
    e = paired_effects(ds, baseline)
    welfare = welfare_change(group_totals(ds)["log_consumption"].isel(wealth_quintile=0, drop=True), baseline)
    return e.assign(welfare_q1=welfare.assign_coords(stat=e["stat"].values))


def buys(ds: xr.Dataset, baseline: str, level: float = 0.95) -> xr.Dataset:
    """What one million USD buys: per seed, a package's improvement (baseline minus package for an outcome to
    lower, package minus baseline for one to raise) over its cost in million USD, with a t interval across seeds
    (`stat` as in `paired_differences`; `baseline` unused, 0). A package that costs nothing in a seed gives nan."""
    from scipy import stats

    m = run_metrics(ds)
    cost = m["cost"]
    out = {}
    for name, _, _ in BUYS:
        better = next(metric.better for metric in METRICS if metric.name == name)
        gain = better * (m[name] - m[name].sel(scenario=baseline))
        ratio = (gain / cost.where(cost > 0)).drop_sel(scenario=baseline)
        n = ratio.sizes["seed"]
        mean = ratio.mean("seed", skipna=False)
        half = (stats.t.ppf(0.5 + level / 2, n - 1) * ratio.std("seed", ddof=1) / np.sqrt(n)) if n > 1 else mean * np.nan
        out[name] = xr.concat([mean, mean - half, mean + half, 0 * mean], dim="stat").assign_coords(
            stat=["mean", "low", "high", "baseline"])
    return xr.Dataset(out)


# --- sections ----------------------------------------------------------------------------------------------------------

def opening(setup: Setup, ds: xr.Dataset) -> tuple[str, list[Section]]:
    """The report's caveat, and the sections on the comparison's setup and its packages."""
    if setup.world in INVENTED_WORLDS:
        world_note = (f"The world of this comparison ({setup.world}) is invented: an illustration of the corridors, "
                      "not a country.")
    else:
        world_note = (f"The world of this comparison ({setup.world}) is built from published figures (its README "
                      "gives the source of each, and which are assumptions); the behaviour is not fitted to its "
                      "series.")
    scale = (f"{setup.households:,.0f} households simulated per run" if setup.households else
             "households simulated: they differ between runs (effects are per run, not per 1,000 households)")
    if setup.per_world:
        scale += (f"; the world has {setup.world_households:,.0f} households, so world totals are the simulated "
                  f"ones times {setup.per_world:,.0f} (a sample, scaled: how close samples come to every household "
                  "of a country is measured in docs/performance.md, 'A whole country')")
    note = ("> **Not a forecast.** The model's behaviour is calibrated to published regularities "
            f"(docs/validation.md), not to any country's series. {world_note} The comparison shows mechanisms and "
            "trade-offs between policy packages; its numbers are not predictions for any real place.")
    seeds = ", ".join(str(s) for s in setup.seeds)
    about = Section("About this comparison").add([
        f"Packages: {', '.join(setup.scenarios)}; reference: **{setup.baseline}**",
        f"Seeds: {len(setup.seeds)} per package ({seeds}); period {setup.years} ({setup.n_years:g} years), monthly "
        "steps",
        f"{scale}; world: {setup.world or 'unknown'}; simulator version {ds.attrs.get('simulator_version', '')}"])
    packages = Section("The packages").add([f"**{s}**: {description(setup, s)}".rstrip(": ") for s in setup.scenarios])
    return note, [about, packages]


def decision_summary(ds: xr.Dataset, e: xr.Dataset, setup: Setup, practical: float) -> Section:
    """The decision summary, from the effects it is built on (`summary_effects`)."""
    section = Section("Decision summary")
    section.add(
        f"Effects of each package against **{setup.baseline}** over the {setup.n_years:g} years, {setup.unit}: mean "
        f"paired difference and 95% interval across {len(setup.seeds)} seeds. ✔ marks a practical improvement, ✘ a "
        f"practical worsening: the interval excludes zero and the effect is at least {practical:.0%} of the "
        f"baseline's level ({PRACTICAL_POINTS * practical / PRACTICAL:g} percentage point(s) for a percentage). "
        "Consumption and welfare are per person and do not scale.")
    header = ["package"] + [f"{label} ({units})" for _, label, units, *_ in SUMMARY]
    rows = [[f"{setup.baseline} (level)"] + [
        _fmt(float(e[name].sel(scenario=setup.baseline, stat="baseline")) * factor
             * (setup.per_thousand if additive else 1.0)) if name != "welfare_q1" else "(reference)"
        for name, _, _, factor, additive, *_ in SUMMARY]]
    better = {m.name: m.better for m in METRICS} | {"welfare_q1": 1}
    for s in setup.others:
        row = [f"**{s}**"]
        for name, _, _, factor, additive, *_ in SUMMARY:
            k = factor * (setup.per_thousand if additive else 1.0)
            mean, low, high = (float(e[name].sel(scenario=s, stat=st)) * k for st in ("mean", "low", "high"))
            sign = practical_sign(e[name], s, practical, percent=name in PERCENT)
            mark = "" if sign == 0 or better[name] == 0 else (" ✔" if sign == better[name] else " ✘")
            row.append(_interval(mean, low, high) + mark)
        rows.append(row)
    section.add(Table(header, rows, f"Effects {setup.unit}, over {setup.years}"))
    if setup.per_world:
        world_rows = []
        for s in [setup.baseline] + setup.others:
            stat = ("baseline",) if s == setup.baseline else ("mean", "low", "high")
            cells = []
            for name, _, _, _, additive, units, factor in SUMMARY:
                if not additive:
                    continue
                values = [float(e[name].sel(scenario=s, stat=st)) * setup.per_world * factor for st in stat]
                cells.append(_fmt(values[0]) if len(values) == 1 else _interval(*values))
            world_rows.append([f"{s} (level)" if s == setup.baseline else f"**{s}**"] + cells)
        section.add(Table(["package"] + [f"{label} ({units})" for _, label, _, _, additive, units, _ in SUMMARY
                                         if additive], world_rows,
                          f"For the world's {setup.world_households:,.0f} households, over {setup.years}"))
    b = buys(ds, setup.baseline)
    rows = []
    for name, what, units in BUYS:
        ranked = []
        for s in setup.others:
            if practical_sign(e[name], s, practical) * better[name] > 0:
                mean = float(b[name].sel(scenario=s, stat="mean"))
                if np.isfinite(mean):
                    ranked.append((mean, f"{s}: {_interval(*(float(b[name].sel(scenario=s, stat=st)) for st in ('mean', 'low', 'high')))}"))
                else:
                    ranked.append((np.inf, f"{s}: at no cost"))
        ranked.sort(key=lambda pair: -pair[0])
        rows.append([f"{what} ({units})", "; ".join(f"{i + 1}. {text}" for i, (_, text) in enumerate(ranked))
                     or "no package has a practical effect"])
    section.add(Table(["per million USD spent", "packages ranked (mean [95% interval])"], rows,
                      "What one million USD buys"))
    section.add("Each ratio divides a package's whole cost into one outcome: the same money buys all of a "
                "package's effects at once, so the ratios of one package do not add up. Only packages with a "
                "practical effect on the outcome are ranked.")
    notes = mechanism_notes(ds, setup, practical)
    if notes:
        section.add("**What the numbers reveal**", notes)
    return section


def mechanism_notes(ds: xr.Dataset, setup: Setup, practical: float) -> list[str]:
    """Short notes on mechanisms: a regular channel whose places the quota fixes, diversion between destinations,
    households released from being trapped (and who they are), substitution of regular for irregular departures."""
    notes = []
    k = setup.per_thousand
    granted = ds["channel_granted"].sum("time")
    queue = ds["channel_queue"].mean("time")
    base_granted = granted.sel(scenario=setup.baseline)
    for channel in ds["channel"].values:
        g = base_granted.sel(channel=channel)
        same = [s for s in setup.others if bool((granted.sel(scenario=s, channel=channel) == g).all())]
        if float(g.min()) > 0 and float(g.std()) == 0 and float(queue.sel(scenario=setup.baseline,
                                                                         channel=channel).mean()) >= 1 and same:
            notes.append(f"**A binding quota.** {channel} grants the same {float(g.mean()):,.0f} places in every "
                         f"seed of {setup.baseline} while {float(queue.sel(scenario=setup.baseline, channel=channel).mean()):,.0f} "
                         f"applications wait on average: its quota binds, so the packages that leave its quota as it "
                         f"is ({', '.join(same)}) change its places by exactly 0 [0, 0].")
    places = paired_differences(ds["emigrants"].sum(["time", "origin", "pathway"]), setup.baseline)
    flows = run_metrics(ds)
    internal = paired_differences(flows["internal"], setup.baseline)
    trapped = paired_differences(flows["trapped"], setup.baseline)
    international = paired_differences(flows["regular"] + flows["irregular"], setup.baseline)
    regular = paired_differences(flows["regular"], setup.baseline)
    irregular = paired_differences(flows["irregular"], setup.baseline)
    by_quintile = paired_differences(group_totals(ds)["international_by_quintile"], setup.baseline)
    for s in setup.others:
        falls = [str(d) for d in ds["destination"].values
                 if practical_sign(places.sel(destination=d), s, practical) < 0]
        rises = [str(d) for d in ds["destination"].values
                 if practical_sign(places.sel(destination=d), s, practical) > 0]
        if falls and rises:
            def amount(d: str) -> str:
                return _fmt(abs(float(places.sel(destination=d, scenario=s, stat="mean"))) * k)
            notes.append(f"**Diversion ({s}).** Departures to {', '.join(falls)} fall (by "
                         f"{', '.join(amount(d) for d in falls)} {setup.unit}) while those to {', '.join(rises)} rise "
                         f"(by {', '.join(amount(d) for d in rises)}): the package moves migrants between "
                         "destinations as well as changing how many leave.")
        if practical_sign(trapped, s, practical) < 0 and practical_sign(international, s, practical) > 0:
            rise = by_quintile.sel(scenario=s, stat="mean")
            q = str(rise["wealth_quintile"].values[int(np.argmax(rise.values))])
            notes.append(f"**Released from a trap ({s}).** Trapped household-months fall by "
                         f"{_fmt(-float(trapped.sel(scenario=s, stat='mean')) * k)} while international departures "
                         f"rise by {_fmt(float(international.sel(scenario=s, stat='mean')) * k)} {setup.unit}: "
                         f"households that wanted to leave and could not pay now can; the rise is largest in wealth "
                         f"quintile {q} (Q1 the poorest).")
        if practical_sign(regular, s, practical) > 0 and practical_sign(irregular, s, practical) < 0:
            ratio = -float(irregular.sel(scenario=s, stat="mean")) / float(regular.sel(scenario=s, stat="mean"))
            notes.append(f"**Substitution ({s}).** Each extra regular departure comes with {_fmt(ratio)} fewer "
                         "irregular ones.")
        elif practical_sign(internal, s, practical) < 0 and practical_sign(international, s, practical) > 0:
            notes.append(f"**From internal to international ({s}).** Internal moves fall by "
                         f"{_fmt(-float(internal.sel(scenario=s, stat='mean')) * k)} while international departures "
                         f"rise by {_fmt(float(international.sel(scenario=s, stat='mean')) * k)} {setup.unit}.")
    return notes


def who_gains(ds: xr.Dataset, setup: Setup) -> Section:
    """Consumption-equivalent welfare and outcomes by wealth quintile, departures by the migrants' sex, outcomes by
    district, and the SDG indicators."""
    g = group_totals(ds)
    section = Section("Who gains and who loses")
    welfare = welfare_change(g["log_consumption"], setup.baseline)
    quintiles = [str(q) for q in ds["wealth_quintile"].values]
    section.add(
        "Households are ranked by their wealth (liquid wealth and assets) at the start of the run, the same "
        "households in every package of a seed; Q1 is the poorest fifth. **Consumption-equivalent welfare**: the "
        "permanent change in consumption worth the same as the package's change in mean log consumption per person "
        "at origin, months weighted equally (log utility; people who have left with their family are not counted).")
    rows = [[f"{setup.baseline}: consumption per person (geometric mean, USD/month)"]
            + [_fmt(float(welfare.sel(scenario=setup.baseline, wealth_quintile=q, stat="baseline")))
               for q in quintiles]]
    rows += [[f"**{s}**: welfare change (%)"] + [
        _interval(*(float(welfare.sel(scenario=s, wealth_quintile=q, stat=st)) for st in ("mean", "low", "high")))
        for q in quintiles] for s in setup.others]
    section.add(Table(["package"] + quintiles, rows, "Consumption-equivalent welfare by wealth quintile"))
    for name, what in (("international_by_quintile", "international departures"),
                       ("trapped_by_quintile", "trapped household-months")):
        e = paired_differences(g[name], setup.baseline)
        per = setup.per_thousand * 5.0 if setup.households else 1.0   # a quintile holds a fifth of the households
        unit = "per 1,000 households of the quintile" if setup.households else "per run"
        rows = [[f"{setup.baseline} (level)"] + [_fmt(float(e.sel(scenario=setup.baseline, wealth_quintile=q,
                                                                    stat="baseline")) * per) for q in quintiles]]
        rows += [[f"**{s}**"] + [_interval(*(float(e.sel(scenario=s, wealth_quintile=q, stat=st)) * per
                                             for st in ("mean", "low", "high"))) for q in quintiles]
                 for s in setup.others]
        section.add(Table(["package"] + quintiles, rows, f"{what.capitalize()} by wealth quintile, {unit}"))
    e = paired_differences(g["departures_by_sex"], setup.baseline)
    columns = [(str(p), str(x)) for p in ds["pathway"].values for x in ds["sex"].values]
    rows = [[f"{setup.baseline} (level)"] + [_fmt(float(e.sel(scenario=setup.baseline, pathway=p, sex=x,
                                                                stat="baseline")) * setup.per_thousand)
                                               for p, x in columns]]
    rows += [[f"**{s}**"] + [_interval(*(float(e.sel(scenario=s, pathway=p, sex=x, stat=st)) * setup.per_thousand
                                         for st in ("mean", "low", "high"))) for p, x in columns]
             for s in setup.others]
    section.add(Table(["package"] + [f"{p}, {x}" for p, x in columns], rows,
                      f"Departures by pathway and the migrant's sex, {setup.unit}"))
    consumption = paired_differences(g["consumption_by_origin"], setup.baseline)
    departures = paired_differences(g["departures_by_origin"].sel(pathway=["regular", "irregular"]).sum("pathway"),
                                    setup.baseline)
    trapped = paired_differences(g["trapped_by_origin"], setup.baseline)
    rows = []
    for o in ds["origin"].values:
        base = float(consumption.sel(scenario=setup.baseline, origin=o, stat="baseline"))
        row = [str(o), _fmt(base)]
        for s in setup.others:
            c = 100 * float(consumption.sel(scenario=s, origin=o, stat="mean")) / base if base else np.nan
            d, t = (float(x.sel(scenario=s, origin=o, stat="mean")) * setup.per_thousand
                    for x in (departures, trapped))
            row.append(f"{_fmt(c)}% · {_fmt(d)} · {_fmt(t)}")
        rows.append(row)
    section.add(Table(["district", f"{setup.baseline}: consumption per person (USD/month)"] + setup.others, rows,
                      "By district: change in consumption per person (%) · in international departures · in trapped "
                      f"household-months ({setup.unit} of the whole world; means across seeds)"))
    section.add(*sdg_tables(ds, setup))
    return section


def sdg_tables(ds: xr.Dataset, setup: Setup) -> list[Any]:
    """SDG 10.7.1 (recruitment cost in months of earnings at destination, by channel), 10.7.3 (deaths and missing
    per irregular route, and per 1,000 journeys) and 10.c.1 (remittance cost as a share of the amount sent): each
    package's level, means across seeds."""
    out: list[Any] = []
    granted = ds["channel_granted"].sum("time").mean("seed")
    costs = ds["channel_costs"].sum("time").mean("seed")
    wage = ds["destination_wage"].mean("time").mean("seed")   # low skill, regular; by package
    rows = []
    for channel in ds["channel"].values:
        if float(costs.sel(channel=channel).sum()) <= 0:
            continue
        destination = str(ds["channel_destination"].sel(channel=channel).values)
        cells = []
        for s in setup.scenarios:
            n = float(granted.sel(scenario=s, channel=channel))
            per = float(costs.sel(scenario=s, channel=channel)) / n if n else np.nan
            pay = float(wage.sel(scenario=s, destination=destination))
            months = per / pay if pay > 0 else np.nan
            cells.append(f"{_fmt(months)} ({_fmt(per)} USD)" if np.isfinite(per) else "n/a")
        rows.append([f"{channel} ({destination})"] + cells)
    if rows:
        out.append(Table(["channel"] + setup.scenarios, rows,
                         "SDG 10.7.1: migration cost paid per migrant granted a place, in months of earnings at the "
                         "destination (low-skill wage, mean over the period) and in USD: fee, recruitment cost and "
                         "fare, channels with a queue"))
    journeys = ds["route_departures"].sum("time").mean("seed")
    deaths = ds["route_deaths"].sum("time").mean("seed")
    rows = []
    for route in ds["route"].values:
        if float(journeys.sel(route=route).sum()) <= 0:
            continue
        cells = []
        for s in setup.scenarios:
            j, d = float(journeys.sel(scenario=s, route=route)), float(deaths.sel(scenario=s, route=route))
            cells.append(f"{_fmt(d * setup.per_thousand)} ({_fmt(1000 * d / j) if j else 'n/a'} per 1,000 journeys)")
        rows.append([str(route)] + cells)
    if rows:
        out.append(Table(["route"] + setup.scenarios, rows,
                         f"SDG 10.7.3: deaths and missing on each irregular route, {setup.unit} over the period"))
    fees = ds["remittance_fees"].sum(["time", "origin"])
    sent = fees + ds["remittances"].sum(["time", "origin"])
    share = (100 * fees / sent.where(sent > 0)).mean("seed")
    out.append(Table(["indicator"] + setup.scenarios,
                     [["remittance cost, % of the amount sent"] + [_fmt(float(share.sel(scenario=s)))
                                                                   for s in setup.scenarios]],
                     "SDG 10.c.1: remittance costs as a share of the amount remitted (target: 3%)"))
    return out


def effects_section(e: xr.Dataset, setup: Setup) -> Section:
    section = Section("Effects against baseline, all outcomes")
    section.add(f"Paired differences, package minus {setup.baseline} on the same seed, over the whole period, "
                f"{setup.unit} (consumption, the irregular share and the visa queue as they are): mean and 95% "
                f"confidence interval across {len(setup.seeds)} seeds (Student's t); the baseline's own level first.")
    rows = []
    for metric in METRICS:
        additive = metric.units not in ("%", "USD/month", "applications")
        k = (setup.per_thousand if additive else 1.0) * (1e3 if metric.units == "million USD" else 1.0)
        units = ("thousand USD" if metric.units == "million USD" and setup.households else metric.units)
        base = float(e[metric.name].sel(scenario=setup.baseline, stat="baseline")) * k
        cells = [_interval(*(float(e[metric.name].sel(scenario=s, stat=st)) * k for st in ("mean", "low", "high")))
                 for s in setup.others]
        rows.append([metric.label, units, _fmt(base)] + cells)
    section.add(Table(["outcome", "units", f"{setup.baseline} (level)"] + setup.others, rows))
    return section


def corridor_section(ds: xr.Dataset, setup: Setup) -> Section:
    """Each corridor: departures by city or destination and pathway, places granted by each regular channel,
    journeys and deaths on each irregular route; the baseline's level and each package's paired effect (rows with
    no flow in any package are left out). A package that closes or tightens one corridor shows here where its flow
    goes instead."""
    e = paired_differences(corridor_totals(ds), setup.baseline)
    k = setup.per_thousand
    header = ["corridor", f"{setup.baseline} (level)"] + setup.others

    def row(label: str, da: xr.DataArray) -> list[list[str]]:
        if not (float(abs(da.sel(stat="baseline")).max()) > 0 or float(abs(da.sel(stat="mean")).max()) > 0):
            return []
        cells = [_interval(*(float(da.sel(scenario=s, stat=st)) * k for st in ("mean", "low", "high")))
                 for s in setup.others]
        return [[label, _fmt(float(da.sel(scenario=setup.baseline, stat="baseline")) * k)] + cells]

    section = Section("Corridors: where migrants go")
    section.add(f"Totals over the period, {setup.unit}: persons (channel places: households); the baseline's level, "
                "then each package's paired effect with its 95% interval. A channel whose places are the same in "
                "every seed (a binding quota) shows 0 [0, 0].")
    tables = (
        ("Departures by city or destination and pathway",
         [r for place in ds["destination"].values for pathway in ds["pathway"].values
          for r in row(f"{place}, {pathway}", e["departures"].sel(destination=place, pathway=pathway))]),
        ("Places granted by each regular channel",
         [r for channel in ds["channel"].values for r in row(str(channel), e["channel_granted"].sel(channel=channel))]),
        ("Irregular routes: journeys begun and deaths",
         [r for route in ds["route"].values for what, name in (("journeys", "route_departures"),
                                                               ("deaths", "route_deaths"))
          for r in row(f"{route}: {what}", e[name].sel(route=route))]))
    for title, rows in tables:
        section.add(Table(header, rows, title) if rows else f"**{title}**: none in any package.")
    return section


def trade_offs(e: xr.Dataset, scenario: str, practical: float) -> list[str]:
    """Sentences naming a package's practical improvements and worsenings, so that trade-offs are not hidden."""
    better, worse, moved = [], [], []
    for metric in METRICS:
        if metric.name == "cost":
            continue
        sign = practical_sign(e[metric.name], scenario, practical, percent=metric.units == "%")
        if sign == 0:
            continue
        words = f"{'raises' if sign > 0 else 'lowers'} {metric.label}"
        (moved if metric.better == 0 else better if sign == metric.better else worse).append(words)
    lines = []
    if better:
        lines.append("Improves: " + "; ".join(better) + ".")
    if worse:
        lines.append("**Worsens: " + "; ".join(worse) + ".**")
    if moved:
        lines.append("Also: " + "; ".join(moved) + ".")
    if better and worse:
        lines.append("A trade-off: weigh the gains against the losses above.")
    return lines or ["No outcome differs from the baseline by a practical amount at this number of seeds."]


def trade_off_section(e: xr.Dataset, setup: Setup, practical: float) -> Section:
    section = Section("Trade-offs, package by package")
    section.add(f"Only practical effects (interval excluding zero, size at least {practical:.0%} of the baseline's "
                "level) are named.")
    for s in setup.others:
        cost = float(e["cost"].sel(scenario=s, stat="mean"))
        world = (f"; {_fmt(cost * setup.per_world)} million USD for the world's households" if setup.per_world
                 else "")
        section.add(f"**{s}**: " + " ".join(trade_offs(e, s, practical))
                    + f" Cost: {_fmt(cost * 1e3 * setup.per_thousand)} thousand USD {setup.unit}{world}.")
    return section


# --- figures -----------------------------------------------------------------------------------------------------------

def colours(setup: Setup) -> dict[str, Any]:
    """One colour per package in every figure: the baseline black, the others from tab10 in their order."""
    palette = plt.get_cmap("tab10").colors
    out: dict[str, Any] = {setup.baseline: "black"}
    for i, s in enumerate(setup.others):
        out[s] = palette[i % len(palette)]
    return out


def _band(ax: plt.Axes, da: xr.DataArray, colour: Any, label: str, baseline: bool) -> None:
    """Median line across seeds with a 5-95% band; the baseline drawn thicker and on top."""
    x = da["year"].values if "year" in da.dims else np.arange(da.sizes[da.dims[-1]])
    if "seed" in da.dims and da.sizes["seed"] > 1:   # numpy's quantiles, as xarray's (skipna), in one call
        with warnings.catch_warnings():   # a year undefined in every seed (a share of nothing) stays a gap
            warnings.simplefilter("ignore", RuntimeWarning)
            mid, lo, hi = np.nanquantile(da.values, (0.5, *BAND), axis=da.get_axis_num("seed"))
        ax.fill_between(x, lo, hi, color=colour, alpha=0.12 if baseline else 0.18, lw=0)
    else:
        mid = (da.squeeze(drop=True) if "seed" in da.dims else da).values
    ax.plot(x, mid, color=colour, lw=2.6 if baseline else 1.4, label=label, zorder=3 if baseline else 2)


def figure_effects(e: xr.Dataset, setup: Setup, folder: Path, col: dict[str, Any]) -> Figure:
    names = [name for name, *_ in SUMMARY]
    fig, axes = plt.subplots(3, 3, figsize=(13, 9))
    for ax, (name, label, units, factor, additive, *_) in zip(axes.flat, SUMMARY):
        k = factor * (setup.per_thousand if additive else 1.0)
        for i, s in enumerate(setup.others):
            mean, low, high = (float(e[name].sel(scenario=s, stat=st)) * k for st in ("mean", "low", "high"))
            ax.errorbar(mean, i, xerr=[[mean - low], [high - mean]], fmt="o", color=col[s], capsize=3)
        ax.axvline(0, color="black", lw=1.5)
        ax.set_yticks(range(len(setup.others)), setup.others if ax in axes[:, 0] else [""] * len(setup.others),
                      fontsize=8)
        ax.invert_yaxis()
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(f"{units}{' ' + setup.unit if additive else ''}", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"Effect of each package against {setup.baseline} (mean and 95% interval across "
                 f"{len(setup.seeds)} seeds; the black line is no effect)", fontsize=11)
    fig.tight_layout()
    return _save(fig, folder / "effects.png", "Effects against the baseline, one panel per outcome, with 95% "
                                              "intervals: the paired differences the tables are built on.")


def _save(fig: plt.Figure, path: Path, caption: str) -> Figure:
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Figure(path, caption)


def figure_tasks(ds: xr.Dataset, e: xr.Dataset, setup: Setup, folder: Path,
                 col: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The report's figures, in the order it shows them, each as (function, arguments...): the function draws the
    figure into `folder` and returns it. The arguments are the few arrays the figure draws, reduced here from the
    comparison dataset (about 70 MB at the defaults, a few hundred kB for all the figures), so that the figures can
    be drawn in worker processes (`draw_figures`)."""
    scale = setup.per_thousand
    unit = f" {setup.unit}" if setup.households else ""
    flows = annual(ds["emigrants"].sum(["origin", "destination"])) * scale   # scenario, seed, year, pathway
    international = flows.sel(pathway="regular") + flows.sel(pathway="irregular")
    share = 100 * flows.sel(pathway="irregular") / international.where(international > 0)
    calendar = (ds["year"].values + (ds["month"].values % 12) / 12 if "month" in ds.coords else ds["year"].values)
    cumulative_deaths = ((ds["deaths"].sum("origin").cumsum("time") * scale)   # monthly: against the calendar
                         .assign_coords(year=("time", calendar)).swap_dims(time="year"))
    series = (
        ("irregular_share.png", share, "Irregular share of international departures", "% of departures a year"),
        ("deaths.png", cumulative_deaths, "Deaths and missing on irregular journeys, cumulative",
         f"persons since the start{unit}"),
        ("trapped.png", annual(ds["trapped"].sum("origin")) * scale,
         "Trapped households (wanted to move, could not afford to)", f"household-months a year{unit}"),
        ("remittances.png", annual(ds["remittances"].sum("origin")) * scale / 1e3, "Remittances received, net of fees",
         f"thousand USD a year{unit}"))
    visas = (annual(ds["applications"].sum("origin")) * scale, annual(ds["visas_issued"].sum("origin")) * scale)
    destinations = ds["emigrants"].sum(["time", "origin", "pathway"]).mean("seed") * scale   # scenario, destination
    welfare = welfare_change(group_totals(ds)["log_consumption"], setup.baseline)
    tasks: list[tuple[Any, ...]] = [
        (figure_effects, e, setup, folder, col),
        (figure_departures, flows, setup, folder, col, unit),
        *((figure_line, da, folder / name, title, ylabel, setup, col) for name, da, title, ylabel in series),
        (figure_visas, *visas, setup, folder, col, unit),
        (figure_destinations, destinations, setup, folder, col, unit),
        (figure_welfare, welfare, setup, folder, col)]
    corridors = map_data(ds, setup)
    if corridors is not None:
        tasks.append((figure_map, *corridors, setup, folder, col))
    return tasks


def draw_figures(tasks: list[tuple[Any, ...]], workers: int = 1) -> Iterator[Figure]:
    """The figures of `tasks` (`figure_tasks`), in their order. With `workers` > 1 they are drawn in that many worker
    processes (joblib's; a comparison's, already started, are reused), and this returns at once: the report's tables
    are computed while the figures are drawn, and reading the iterator waits for them. The files are the same
    either way."""
    if workers <= 1:
        return iter([function(*args) for function, *args in tasks])
    return Parallel(n_jobs=workers, return_as="generator", pre_dispatch="all")(
        delayed(function)(*args) for function, *args in tasks)


def figure_departures(flows: xr.DataArray, setup: Setup, folder: Path, col: dict[str, Any], unit: str) -> Figure:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharex=True)
    for ax, pathway in zip(axes, flows["pathway"].values):
        for s in setup.others + [setup.baseline]:
            _band(ax, flows.sel(scenario=s, pathway=pathway), col[s], s, s == setup.baseline)
        ax.set_title(f"{pathway} departures")
        ax.set_ylabel(f"persons a year{unit}")
        ax.set_xlabel("year")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, folder / "departures_by_pathway.png",
                 "Departures a year by pathway: median across seeds and 5-95% band; the baseline in black.")


def figure_line(da: xr.DataArray, path: Path, title: str, ylabel: str, setup: Setup,
                col: dict[str, Any]) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for s in setup.others + [setup.baseline]:
        _band(ax, da.sel(scenario=s), col[s], s, s == setup.baseline)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("year")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path, f"{title}: median across seeds and 5-95% band; the baseline in black.")


def figure_visas(applications: xr.DataArray, issued: xr.DataArray, setup: Setup, folder: Path,
                 col: dict[str, Any], unit: str) -> Figure:
    """Small multiples: one panel per package, the baseline in grey behind it."""
    n = len(setup.others)
    cols = min(4, max(1, n))
    rows = int(np.ceil(n / cols)) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), sharex=True, sharey=True, squeeze=False)
    for ax, s in zip(axes.flat, setup.others):
        for da, style in ((applications, "--"), (issued, "-")):
            ax.plot(da["year"], da.sel(scenario=setup.baseline).median("seed"), color="0.6", ls=style, lw=1.2)
            ax.plot(da["year"], da.sel(scenario=s).median("seed"), color=col[s], ls=style, lw=1.6)
        ax.set_title(s, fontsize=9, color=col[s])
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.supylabel(f"a year{unit}", fontsize=9)
    fig.suptitle("Regular pathway: applications (dashed) and visas issued (solid); the baseline in grey",
                 fontsize=10)
    fig.tight_layout()
    return _save(fig, folder / "visas.png", "Applications and visas issued, one panel per package (median across "
                                            "seeds), the baseline in grey in each.")


def figure_destinations(totals: xr.DataArray, setup: Setup, folder: Path, col: dict[str, Any], unit: str) -> Figure:
    places = [str(d) for d in totals["destination"].values]
    fig, ax = plt.subplots(figsize=(max(8.0, 1.6 * len(places)), 4.5))
    width = 0.8 / len(setup.scenarios)
    for j, s in enumerate(setup.scenarios):
        ax.bar(np.arange(len(places)) + (j - (len(setup.scenarios) - 1) / 2) * width, totals.sel(scenario=s).values,
               width, label=s, color=col[s])
    ax.set_xticks(np.arange(len(places)), places)
    ax.set_ylabel(f"persons over the period{unit}")
    ax.set_title("Departures by city and destination (all pathways; mean across seeds)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return _save(fig, folder / "departures_by_destination.png",
                 "Departures over the period to each city and destination, by package.")


def figure_welfare(welfare: xr.DataArray, setup: Setup, folder: Path, col: dict[str, Any]) -> Figure:
    n = len(setup.others)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(welfare.sizes["wealth_quintile"])
    for i, s in enumerate(setup.others):
        w = welfare.sel(scenario=s)
        offset = (i - (n - 1) / 2) * 0.8 / max(n, 1)
        mean = w.sel(stat="mean").values
        ax.errorbar(x + offset, mean, yerr=[mean - w.sel(stat="low").values, w.sel(stat="high").values - mean],
                    fmt="o", color=col[s], capsize=2, label=s)
    ax.axhline(0, color="black", lw=1.5)
    ax.set_xticks(x, [str(q) for q in welfare["wealth_quintile"].values])
    ax.set_xlabel("wealth quintile at the start (Q1 the poorest)")
    ax.set_ylabel("consumption-equivalent welfare change (%)")
    ax.set_title("Who gains: welfare change by wealth quintile (mean and 95% interval)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return _save(fig, folder / "welfare_by_quintile.png",
                 "Consumption-equivalent welfare change by wealth quintile, each package against the baseline.")


def map_data(ds: xr.Dataset, setup: Setup) -> tuple[xr.DataArray, dict[str, tuple[float, float]], set[str]] | None:
    """What the map of flows draws: the departures over the period by scenario, origin, destination and pathway
    (means across seeds, `setup.unit`), the places' coordinates as drawn (`plotting.schematic`: far places closer)
    and the cities (places internal moves go to); None without coordinates."""
    needed = ("origin_x", "origin_y", "destination_x", "destination_y")
    if not all(name in ds.coords for name in needed) or not all(np.isfinite(ds[n].values).all() for n in needed):
        return None
    origins = [str(o) for o in ds["origin"].values]
    coordinates = {o: (float(x), float(y)) for o, x, y in zip(origins, ds["origin_x"].values, ds["origin_y"].values)}
    places = [str(d) for d in ds["destination"].values]
    coordinates.update({d: (float(x), float(y)) for d, x, y in zip(places, ds["destination_x"].values,
                                                                    ds["destination_y"].values)})
    flows = ds["emigrants"].sum("time").mean("seed") * setup.per_thousand   # scenario, origin, destination, pathway
    internal = ds["emigrants"].sel(pathway="internal").sum(["scenario", "seed", "time", "origin"])
    cities = {d for d in places if float(internal.sel(destination=d)) > 0}
    return flows, schematic(coordinates, tuple(origins)), cities


def figure_map(flows: xr.DataArray, xy: dict[str, Any], cities: set[str], setup: Setup, folder: Path,
               col: dict[str, Any]) -> Figure:
    """Flows by corridor on the world's map (`map_data`), small multiples: the baseline's departures over the period
    from each district to each city and destination (line width by the number, colour by pathway), then each
    package's change (orange more, blue fewer)."""
    origins = [str(o) for o in flows["origin"].values]
    places = [str(d) for d in flows["destination"].values]
    base = flows.sel(scenario=setup.baseline)
    change = flows - base
    panels = [setup.baseline] + setup.others
    cols = min(4, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.8 * cols, 3.6 * rows), squeeze=False)
    top = max(float(base.max()), 1e-9)
    top_change = max(float(abs(change).max()), 1e-9)
    pathway_colour = {"internal": "0.45", "regular": "tab:green", "irregular": "tab:red"}
    pathways = [str(p) for p in flows["pathway"].values]
    order = ("origin", "destination", "pathway")
    base_values = base.transpose(*order).values                     # plain arrays: one lookup per arc
    change_values = {s: change.sel(scenario=s).transpose(*order).values for s in setup.others}
    for ax, s in zip(axes.flat, panels):
        for i, o in enumerate(origins):
            for j, d in enumerate(places):
                for k, pathway in enumerate(pathways):
                    bend = 0.08 * (k - 1)   # the three pathways of one corridor side by side
                    line = arc(xy[o], xy[d], bend=bend, n=21)
                    if s == setup.baseline:
                        value = float(base_values[i, j, k])
                        if value > 0:
                            ax.plot(*line.T, color=pathway_colour.get(pathway, "0.3"), alpha=0.75,
                                    lw=0.4 + 6 * value / top, solid_capstyle="round")
                    else:
                        value = float(change_values[s][i, j, k])
                        if abs(value) > 0.005 * top_change:
                            ax.plot(*line.T, color="tab:orange" if value > 0 else "tab:blue", alpha=0.8,
                                    lw=0.4 + 6 * abs(value) / top_change, solid_capstyle="round")
        for o in origins:
            ax.plot(*xy[o], "o", color="white", mec="black", ms=6, zorder=4)
            ax.annotate(o, xy[o], fontsize=5, xytext=(3, -7), textcoords="offset points", color="0.3")
        for d in places:
            ax.plot(*xy[d], "s" if d in cities else "*", color="black", ms=6 if d in cities else 9, zorder=4)
            ax.annotate(d, xy[d], fontsize=6, xytext=(3, 3), textcoords="offset points")
        ax.set_title(s if s == setup.baseline else f"{s}: change", fontsize=9, color=col[s])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal", adjustable="datalim")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"Departures by corridor over the period, {setup.unit}: {setup.baseline} (grey internal, green "
                 "regular, red irregular; width by number), then each package's change (orange more, blue fewer; "
                 "one width scale for all changes). Circles: districts; squares: cities; stars: destinations. Far "
                 "places drawn closer.", fontsize=8, wrap=True)
    fig.tight_layout()
    return _save(fig, folder / "flows_map.png", "Flows by corridor on the map: the baseline's departures, then each "
                                                "package's change, means across seeds.")


# --- the report -------------------------------------------------------------------------------------------------------

NEEDED = ("emigrants", "channel_granted", "channel_costs", "channel_destination", "log_consumption_by_quintile",
          "emigrants_by_quintile", "trapped_by_quintile", "population_by_quintile", "month")


# --- the budget question: a front of experiment=optimise -------------------------------------------------------------

FRONT_NEEDED = ("ladder_best", "ladder_lower", "ladder_upper", "ladder_better", "ladder_sentence", "ladder_gain",
                "ladder_advantage", "ladder_nothing", "check_emulated_mean", "check_model_mean", "dominated_by")


def read_front(path: str | Path, field_name: str = "compare.front") -> xr.Dataset:
    """The front dataset (front.nc) that `python run.py experiment=optimise` wrote, loaded, with its budget ladder;
    a ConfigError on `field_name` if the file is missing, not a dataset or has no ladder."""
    path = Path(path)
    allowed = ("the front.nc written by python run.py experiment=optimise with its budget ladder "
               "(optimise.ladder_musd not empty)")
    if not path.is_file():
        raise ConfigError(field_name, str(path), f"an existing file: {allowed}")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            front = ds.load()
    except (OSError, ValueError) as exc:
        raise ConfigError(field_name, str(path), f"{allowed}; it could not be read ({exc})") from None
    missing = [name for name in FRONT_NEEDED if name not in front.variables]
    if missing:
        raise ConfigError(field_name, str(path), f"{allowed}; it lacks {', '.join(missing)}")
    return front


def front_section(front: xr.Dataset, setup: Setup, folder: Path, source: str = "") -> Section:
    """The budget question, from a front dataset of experiment=optimise: what each extra million buys, where the
    Objective 2 levers beat the Objective 5 levers and the reverse, how that changes in another climate outlook, the
    emulator checked against the model, and the named packages against the re-run portfolios."""
    from simulator.experiments.optimise import GROUP_TEXT, GROUPS, ladder_findings, ladder_method

    s = json.loads(front.attrs["settings"])
    run = json.loads(front.attrs["run_settings"])
    level = f"{100 * s['interval']:g}%"
    outlooks = [str(v) for v in front["outlook"].values]
    budgets = [float(b) for b in front["budget"].values]
    objectives = [str(v) for v in front["objective"].values]
    n, years = int(run["n_households"]), float(run["years"])
    world = run.get("world") or "default"
    section = Section("The budget question: what each extra million buys")
    where = f" ({source})" if source else ""
    section.add(
        f"From the policy optimiser{where}: emulators of the model, one per climate outlook ({', '.join(outlooks)}), "
        f"fitted on runs of {n:,} households over {years:g} years of world {world} (simulator "
        f"{front.attrs.get('simulator_version', '')}). Values and budgets are per run of those {n:,} households over "
        f"the {years:g} years: a budget of {budgets[-1]:g} million USD is {budgets[-1] * 1e6 / n:,.0f} USD per "
        f"household. Intervals are the emulator's {level} predictive intervals.")
    mine = (setup.world or "default", setup.households, setup.n_years)
    if (world, float(n), years) != (mine[0], mine[1], mine[2]):
        section.add(f"**The front was computed on another setting than this comparison** (world {world}, {n:,} "
                    f"households, {years:g} years; this comparison: world {mine[0]}, "
                    f"{f'{mine[1]:,.0f}' if mine[1] else 'varying'} households, {mine[2]:g} years): read it "
                    "beside the comparison, not as a part of it.")
    section.add(ladder_method(front), ladder_findings(front))
    header = ["objective", "budget (million USD)"] + [f"{what} ({outlook})" for outlook in outlooks
                                                       for what in ("Objective 2 levers", "Objective 5 levers",
                                                                    "better")]
    rows = []
    for name in objectives:
        units = str(front["objective_units"].sel(objective=name).values)
        for i, budget in enumerate(budgets):
            row = [f"{name} ({units})" if i == 0 else "", f"{budget:g}"]
            for outlook in outlooks:
                d = front.sel(outlook=outlook, objective=name).isel(budget=i)
                row += [_interval(*(float(d[v].sel(group=g)) for v in ("ladder_best", "ladder_lower",
                                                                         "ladder_upper"))) for g in ("obj2", "obj5")]
                row.append({"obj2": "Objective 2", "obj5": "Objective 5"}.get(str(d["ladder_better"].values),
                                                                              str(d["ladder_better"].values)))
            rows.append(row)
    section.add(Table(header, rows, f"Best emulated value within each budget, by the levers used ({level} "
                                    "intervals)"))
    section.add(_save_front_figure(front, folder))
    name, at = str(front.attrs["check_objective"]), float(front.attrs["check_budget_musd"])
    checks = []
    for outlook in outlooks:
        parts = []
        for g in GROUPS:
            d = front.sel(outlook=outlook, group=g, outcome=name)
            emulated, model = (_interval(*(float(d[f"check_{what}_{w}"]) for w in ("mean", "lower", "upper")))
                               for what in ("emulated", "model"))
            parts.append(f"{GROUP_TEXT[g]}: emulated {emulated}, model {model}")
        checks.append(f"{outlook} outlook: " + "; ".join(parts))
    units = str(front["outcome_units"].sel(outcome=name).values)
    section.add(f"**Checked with the model.** Each group's best portfolio for {name} ({units}) at {at:g} million USD, "
                f"run with the model under {front.sizes['seed']} seeds ({level} intervals; the model's is Student's "
                "t of its mean):", checks)
    packages = [i for i, kind in enumerate(front["kind"].values) if str(kind) == "package"]
    if packages:
        lines = []
        for i in packages:
            by = str(front["dominated_by"].values[i])
            worse = str(front["worse_in"].values[i])
            lines.append(f"**{front['item'].values[i]}** (model cost {_fmt(float(front['model_cost'].values[i]))} "
                         f"million USD): " + (f"dominated by {by}" if by else "dominated by none of the re-run "
                                              "portfolios") + (f"; the portfolio of its cost is worse in {worse}"
                                                              if worse and worse != "none" else ""))
        section.add(f"**The named packages against the re-run portfolios** (a package is dominated by a portfolio "
                    f"that costs no more in the model and is no worse in any objective, better in one, across the "
                    f"outlooks by the {s['aggregate']}):", lines)
    return section


def _save_front_figure(front: xr.Dataset, folder: Path) -> Figure:
    from simulator.experiments.optimise import ladder_figure

    path = ladder_figure(front, folder / "budget_ladder.png")
    return Figure(path, "Best emulated value within each budget with all levers, Objective 2 levers only and "
                        "Objective 5 levers only, per outlook (bands: the emulator's intervals; open markers: the "
                        "model)")


def build_report(ds: xr.Dataset, folder: Path, baseline: str = "baseline", practical: float = PRACTICAL,
                 front: xr.Dataset | None = None, front_source: str = "",
                 workers: int = 1) -> tuple[str, list[Section]]:
    """The report's title and sections (figures written into `folder`, by `workers` processes: `draw_figures`), from
    a comparison dataset alone, and a section on the budget question from a front dataset of experiment=optimise
    (`read_front`) if one is given."""
    if not 0 <= practical < 1:
        raise ValueError(f"practical = {practical!r}: expected a share of the baseline's level in [0, 1)")
    missing = [name for name in NEEDED if name not in ds.variables]
    if missing:
        raise ValueError(f"the dataset lacks {', '.join(missing)}: it was written by an older version of the "
                         f"simulator (version {ds.attrs.get('simulator_version', 'unknown')}); rerun the comparison")
    setup = setup_of(ds, baseline)
    col = colours(setup)
    e = summary_effects(ds, baseline)
    drawing = draw_figures(figure_tasks(ds, e, setup, folder, col), workers)   # drawn while the tables are made
    summary = decision_summary(ds, e, setup, practical)
    full = e.drop_vars("welfare_q1")   # the paired effects of every metric
    note, about = opening(setup, ds)
    summary.blocks.insert(0, note)
    tables = [who_gains(ds, setup), effects_section(full, setup), corridor_section(ds, setup),
              trade_off_section(full, setup, practical)]
    budget = [front_section(front, setup, folder, front_source)] if front is not None else []
    figures = list(drawing)
    sections = [summary, Section("Effects at a glance", level=3).add(figures[0]), *about, *budget, *tables,
                Section("Figures").add("Lines are medians across seeds; bands span the 5th to 95th percentile. "
                                       "Each package has one colour in every figure; the baseline is black.",
                                       *figures[1:])]
    title = str(ds.attrs.get("title", "Scenario comparison")).replace("Migration flow ", "").capitalize()
    return f"{title}: which package, for what, at what cost, for whom", sections


def write_report(ds: xr.Dataset, folder: str | Path, baseline: str = "baseline", practical: float = PRACTICAL,
                 front: xr.Dataset | None = None, front_source: str = "", workers: int = 1) -> Path:
    """Write `report.html` (self-contained), `report.md` and their figures into `folder` from a comparison dataset
    alone (and a front dataset, for the section on the budget question); return the Markdown report's path (the
    HTML one is beside it). `workers` > 1 draws the figures in that many processes (the same files)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    title, sections = build_report(ds, folder, baseline, practical, front, front_source, workers)
    _write_atomic(folder / "report.html", to_html(title, sections))
    path = folder / "report.md"
    _write_atomic(path, to_markdown(title, sections))
    return path
