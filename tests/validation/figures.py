"""Figures of the validation suite: prints the model's figure for each case and saves one plot per case.

Runs the same experiments, with the same seeds and sizes, as the tests of this folder, so the numbers printed here are
the numbers the tests check (and those quoted in docs/validation.md). Run from the repository root:

    python -m tests.validation.figures        (or: python tests/validation/figures.py)

`--set name=value` (repeatable; dotted model parameters such as decisions.credit_floor_usd=1300) runs every case at
another parameter set, for exploring a calibration; the tests always check the defaults. With `--set`, no plot is
written (docs/validation/ holds the defaults' plots).

Plots go to docs/validation/ (one PNG per case). Error bars are 95% confidence intervals of the mean across seeds
(t distribution), unless stated otherwise on the plot.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FormatStrFormatter, ScalarFormatter  # noqa: E402
from scipy import stats  # noqa: E402

from simulator.experiments import validation as V  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "docs" / "validation"


def ci95(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Half-width of the 95% confidence interval of the mean across seeds (t distribution)."""
    values = np.asarray(values, float)
    n = values.shape[axis]
    return stats.t.ppf(0.975, n - 1) * values.std(axis=axis, ddof=1) / np.sqrt(n)


def _save(fig: plt.Figure, name: str) -> Path | str:
    """The plot into docs/validation/, at the default parameters only (with --set, nothing is written)."""
    if V.OVERRIDES:
        plt.close(fig)
        return "not written (--set)"
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _seeds_note(n: int) -> str:
    return f"error bars: 95% CI of the mean across {n} seeds"


# --- case 1 ------------------------------------------------------------------------------------------------------

def liquidity() -> Path | str:
    poor, default = V.liquidity_relief("poor"), V.liquidity_relief("default")
    e, d = poor.effect, default.effect
    print("Case 1  liquidity relief (Bryan, Chowdhury & Mobarak 2014: +22 pp)")
    print(f"  poor world: season move rate of the poorest quintile {100 * poor.control.mean():.2f}% without grant, "
          f"{100 * poor.treated.mean():.2f}% with grant; effect {e.describe(100, 'pp')}")
    print(f"  poor world: richest quintile, no grant {100 * poor.richest.mean():.2f}%; share of the effect in the "
          f"first month {100 * np.nanmean(poor.first_month):.0f}%; grantees still holding the trip cost after one "
          f"month {100 * poor.kept.mean():.1f}%; households in the poorest quintile {poor.n_poorest.mean():.0f}, "
          f"of which {100 * poor.constrained.mean():.1f}% cannot afford the trip")
    print(f"  one-city world: effect {d.describe(100, 'pp')} (control {100 * default.control.mean():.2f}%); "
          f"poorest quintile unable to afford the trip {100 * default.constrained.mean():.2f}% "
          f"({default.constrained.mean() * default.n_poorest.mean():.1f} households per seed)")
    print(f"  ratio 22 pp / model effect: {22 / (100 * e.mean):.2g}")

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.6))
    groups = [("poorest,\nno grant", poor.control), ("poorest,\ngrant = trip cost", poor.treated),
              ("richest,\nno grant", poor.richest)]
    x = np.arange(len(groups))
    a.bar(x, [100 * g.mean() for _, g in groups], yerr=[100 * ci95(g) for _, g in groups], capsize=4,
          color=["#999999", "#2b8cbe", "#cccccc"])
    for i, (_, g) in enumerate(groups):
        a.plot(np.full(len(g), i) + np.linspace(-0.15, 0.15, len(g)), 100 * g, "k.", ms=4)
    a.set_xticks(x, [g for g, _ in groups])
    a.set_ylabel("moved to the city within the season (% of households)")
    a.set_title("Model, poor world: 4-month season move rate")
    labels = ["model,\npoor world", "model,\none-city world", "Bryan et al.\n2014"]
    vals = [100 * e.mean, 100 * d.mean, 22.0]
    errs = [100 * ci95(e.diffs), 100 * ci95(d.diffs)]
    b.bar(range(3), vals, color=["#2b8cbe", "#74a9cf", "#e34a33"])
    b.errorbar(range(2), vals[:2], yerr=errs, fmt="none", ecolor="k", capsize=4)
    b.axhspan(12, 35, color="#e34a33", alpha=0.12, label="the band checked: 12-35 pp")
    b.set_yscale("symlog", linthresh=1.0)
    b.set_ylim(0, 300)
    b.set_xticks(range(3), labels)
    b.set_ylabel("effect on the season move rate (percentage points)")
    b.set_title("Effect of cash = trip cost on the poorest quintile")
    b.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"Case 1: liquidity relief and migration of the poorest ({_seeds_note(len(e.diffs))})", fontsize=10)
    return _save(fig, "case1_liquidity.png")


# --- case 2 ------------------------------------------------------------------------------------------------------

def trapped() -> Path | str:
    r = V.trapped_populations()
    print("Case 2  trapped populations (Foresight 2011; Black et al. 2011)")
    print(f"  trapped household-months per household over 5 years: {r.trapped_base.mean():.3f} today, "
          f"{r.trapped_severe.mean():.3f} severe; rise {r.trapped_rise.describe()}")
    for k in range(5):
        print(f"  quintile {k + 1}: departures per 1,000 households a year {1000 * r.rate_base[:, k].mean():.1f} "
              f"today, {1000 * r.rate_severe[:, k].mean():.1f} severe; change {r.rise(k).describe(1000)}")
    print(f"  poorest minus richest rise: {r.poorest_minus_richest.describe(1000)} per 1,000 households a year")

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.6]})
    a.bar([0, 1], [r.trapped_base.mean(), r.trapped_severe.mean()],
          yerr=[ci95(r.trapped_base), ci95(r.trapped_severe)], capsize=4, color=["#999999", "#d95f0e"])
    a.set_xticks([0, 1], ["today's climate", "severe outlook\n(x3 frequency, x1.5 intensity)"])
    a.set_ylabel("trapped household-months per household (5 years)")
    a.set_title("Households trapped by the cost of moving")
    x = np.arange(5)
    w = 0.38
    a_b = 1000 * r.rate_base
    a_s = 1000 * r.rate_severe
    b.bar(x - w / 2, a_b.mean(0), w, yerr=ci95(a_b), capsize=3, color="#999999", label="today's climate")
    b.bar(x + w / 2, a_s.mean(0), w, yerr=ci95(a_s), capsize=3, color="#d95f0e", label="severe outlook")
    b.set_xticks(x, ["1 (poorest)", "2", "3", "4", "5 (richest)"])
    b.set_xlabel("quintile of initial means to move (savings + borrowable assets), within district")
    b.set_ylabel("departures per 1,000 households per year")
    b.set_title("Departures by wealth quintile")
    b.legend(fontsize=8)
    fig.suptitle(f"Case 2: trapped populations in the poor world ({_seeds_note(len(r.trapped_base))})", fontsize=10)
    return _save(fig, "case2_trapped.png")


# --- case 3 ------------------------------------------------------------------------------------------------------

def networks() -> Path | str:
    r = V.networks()
    names = ("internal", "regular", "irregular")
    print("Case 3  networks (Munshi 2003; McKenzie & Rapoport 2010)")
    for j, p in enumerate(names):
        print(f"  {p} departures per 1,000 households a year: {r.departures_off[:, j].mean():.2f} network off, "
              f"{r.departures_on[:, j].mean():.2f} on")
    print(f"  all departures, on minus off: {r.departures_rise.describe()}")
    print(f"  leavers' mean wealth percentile: {r.leavers_off.mean():.4f} off, {r.leavers_on.mean():.4f} on; "
          f"change {r.leaver_wealth_change.describe(100, 'percentile points')}")
    print(f"  international leavers' mean wealth percentile: {r.intl_leavers_off.mean():.3f} off, "
          f"{r.intl_leavers_on.mean():.3f} on, {r.intl_leavers_diaspora.mean():.3f} strong diaspora "
          f"(share of households with a member abroad at the end {r.diaspora_share_end.mean():.3f})")
    print(f"  strong diaspora, households that chose a move abroad or were trapped wanting one: mean wealth "
          f"percentile {r.intl_wanters_diaspora.mean():.3f} (each month it did)")

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = np.arange(3)
    w = 0.38
    a.bar(x - w / 2, r.departures_off.mean(0), w, yerr=ci95(r.departures_off), capsize=3, color="#999999",
          label="network term off")
    a.bar(x + w / 2, r.departures_on.mean(0), w, yerr=ci95(r.departures_on), capsize=3, color="#31a354",
          label="network term at default")
    a.set_xticks(x, names)
    a.set_xlabel("pathway")
    a.set_ylabel("departures per 1,000 households per year")
    a.set_title("Departures, one-city world")
    a.legend(fontsize=8)
    series = [("all leavers\nnetwork off", r.leavers_off), ("all leavers\nnetwork on", r.leavers_on),
              ("international\nnetwork off", r.intl_leavers_off), ("international\nnetwork on", r.intl_leavers_on),
              ("international\nstrong diaspora", r.intl_leavers_diaspora),
              ("wanting to go\nabroad, strong\ndiaspora", r.intl_wanters_diaspora)]
    b.errorbar(range(6), [s.mean() for _, s in series], yerr=[ci95(s) for _, s in series], fmt="o", capsize=4,
               color="#31a354")
    b.axhline(0.5, color="k", ls="--", lw=1, label="no selection (0.5)")
    b.set_xticks(range(6), [n for n, _ in series], fontsize=7)
    b.set_ylabel("mean wealth percentile of leavers in their district")
    b.set_title("Who leaves: wealth (savings + assets) at the choice")
    b.legend(fontsize=8)
    fig.suptitle(f"Case 3: migration networks ({_seeds_note(len(r.leavers_on))})", fontsize=10)
    return _save(fig, "case3_networks.png")


# --- cases 4 and 5 -------------------------------------------------------------------------------------------------

def _irregular_against_visas(ax: plt.Axes, vis: np.ndarray, irr: np.ndarray,
                             label: str) -> tuple[float, float, np.ndarray]:
    """Irregular departures against visas issued (seed, arm): each seed in grey, the mean with 95% intervals; returns
    the first arm's mean visas and departures and the visas to draw reference lines at."""
    for s in range(vis.shape[0]):
        ax.plot(vis[s], irr[s], "-", color="#bbbbbb", lw=0.8)
    ax.errorbar(vis.mean(0), irr.mean(0), xerr=ci95(vis), yerr=ci95(irr), fmt="o-", color="#756bb1", capsize=3,
                label=label)
    ax.set_xlabel("regular visas issued per 1,000 households per year")
    ax.set_ylabel("irregular departures per 1,000 households per year")
    return vis.mean(0)[0], irr.mean(0)[0], np.linspace(vis.min(), vis.max(), 20)


def regular() -> Path | str:
    r = V.regular_places()
    e, eq = r.elasticity(), r.elasticity("quota")
    per = 1000 / r.household_years   # counts per 1,000 households per year
    print("Case 4  regular places and irregular departures (Clemens & Gough 2018)")
    for j, f in enumerate(r.factors):
        print(f"  quota x{f:g}: places offered {r.quota[j] * per:.2f}, visas issued {r.visas[:, j].mean() * per:.2f}, "
              f"irregular departures {r.irregular[:, j].mean() * per:.3f} per 1,000 households a year")
    print(f"  elasticity to visas issued {e.describe()}; to places offered {eq.describe()}")
    avoided = (r.irregular[:, 0] - r.irregular[:, -1]) / (r.visas[:, -1] - r.visas[:, 0])
    print(f"  irregular departures avoided per additional visa (x1 to x{r.factors[-1]:g}): {avoided.mean():.3f} "
          f"(SE {avoided.std(ddof=1) / np.sqrt(len(avoided)):.3f})")

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    vis, irr = r.visas * per, r.irregular * per
    x0, y0, xs = _irregular_against_visas(ax, vis, irr, f"model (mean elasticity {e.mean:.2f}, SE {e.se:.2f})")
    ax.plot(xs, y0 * (xs / x0) ** -1.0, "k--", lw=1, label="elasticity -1 (one for one)")
    ax.plot(xs, np.full_like(xs, y0), "k:", lw=1, label="elasticity 0 (no substitution)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(ax.get_xlabel() + " (log)")
    ax.set_ylabel(ax.get_ylabel() + " (log)")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(FormatStrFormatter("%.2g"))
    ax.set_title(f"Case 4: quota x{', x'.join(f'{f:g}' for f in r.factors)}, one-city world\n"
                 f"grey: each seed; {_seeds_note(vis.shape[0])}", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, "case4_regular_places.png")


def deaths() -> Path | str:
    r = V.journey_deaths()
    rate, lo, hi, k, m = r.deaths_per_1000
    print("Case 5  deaths per 1,000 irregular journeys (IOM Missing Migrants Project: about 1-50)")
    print(f"  model: {rate:.1f} per 1,000 (exact 95% CI {lo:.1f}-{hi:.1f}); {k} deaths in {m} journeys ended, "
          f"pooled over {r.deaths.shape[0]} independent seeds")

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.axhspan(1, 50, color="#fdae6b", alpha=0.3, label="range on real routes (IOM MMP): 1-50")
    ax.errorbar([0], [rate], yerr=[[rate - lo], [hi - rate]], fmt="o", color="#d94801", capsize=5,
                label="model, default route risk (exact 95% CI)")
    ax.plot([1, 2], [1000 / 88, 1000 / 36], "s", color="#636363",
            label="Central Mediterranean, IOM: 2016 (1 in 88), 2017 (1 in 36)")
    ax.set_yscale("log")
    ax.set_ylim(0.3, 150)
    ax.set_xlim(-0.6, 2.6)
    ax.set_xticks([0, 1, 2], ["model", "C. Med. 2016", "C. Med. 2017"])
    ax.set_ylabel("deaths and missing per 1,000 irregular journeys (log)")
    ax.set_title(f"Case 5: deaths per irregular journey\n{k} deaths in {m} journeys, one-city world", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, "case5_deaths.png")


# --- case 6 ------------------------------------------------------------------------------------------------------

def hump() -> Path | str:
    r = V.development()
    print("Case 6  migration hump (Clemens 2014, 2020: peak at 0.08-0.3 of the destination's income; at most 0.6 of "
          "the peak at 0.6)")
    for j, x in enumerate(r.ratios):
        print(f"  origin/destination wage {x:g}: international departures {r.international[:, j].mean():.2f} "
              f"(regular {r.regular[:, j].mean():.2f}), internal {r.internal[:, j].mean():.2f} per 1,000 households "
              f"a year")
    peak = r.peak
    print(f"  0.025 -> 0.15: {r.change(0, r.ratios.index(0.15)).describe()}; peak at {r.ratios[peak]:g}; "
          + "; ".join(f"peak minus {x:g}: {r.change(j, peak).describe()}" for j, x in enumerate(r.ratios)
                      if j != peak))
    print(f"  departures at {V.FALL_RATIO:g} over the peak: {r.share_of_peak(V.FALL_RATIO).describe()}")

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = np.array(r.ratios)
    for ax, data, name, colour in ((a, r.international, "international (regular + irregular)", "#3182bd"),
                                   (b, r.internal, "internal (to the city)", "#636363")):
        ax.errorbar(x, data.mean(0), yerr=ci95(data), fmt="o-", capsize=4, color=colour, label="model")
        ax.axvspan(*V.PEAK_RATIOS, color="#e34a33", alpha=0.2,
                   label="Clemens 2014, 2020: peak\n(7,000-10,000 USD PPP vs ~60,000)")
        ax.set_xscale("log")
        ax.set_xlabel("origin wage / destination wage (log scale)")
        ax.set_ylabel("departures per 1,000 households per year")
        ax.set_title(f"{name.capitalize()} departures")
        ax.legend(fontsize=8)
    fig.suptitle("Case 6: emigration and development (destination wage 1,600 USD/month; "
                 f"{_seeds_note(r.international.shape[0])})", fontsize=10)
    return _save(fig, "case6_migration_hump.png")


# --- cases 7 to 10 -----------------------------------------------------------------------------------------------

def default_world() -> Path | str:
    r, d = V.default_world_runs(), V.disasters()
    se = lambda a: a.std(ddof=1) / np.sqrt(len(a))
    print(f"Cases 7-10  the default world ({len(r.wanting)} seeds, 4,000 households, {r.years} years; flows over the "
          f"last {r.window})")
    print(f"  7 aspiration: households wanting to go abroad and unable (aspiring or queued) {r.wanting.mean():.1f} a "
          f"month; migrants leaving abroad {r.leaving.mean():.1f} a year; ratio {r.aspiration_ratio.mean():.2f} "
          f"(SE {se(r.aspiration_ratio):.3f})")
    print(f"  8 oversubscription: {r.applications.mean():.1f} applications a year to the {V.MAIN_SCHEME} for "
          f"{r.places.mean():.1f} places ({r.granted.mean():.1f} granted): {r.oversubscription.mean():.2f} times "
          f"(SE {se(r.oversubscription):.3f})")
    print(f"  9 disasters: extra departures a year per 1,000 households, severe minus today: internal "
          f"{d.internal.describe()}, international {d.international.describe()}; internal share "
          f"{d.internal_share:.3f}")
    print(f"  10 stock abroad after {r.years} years: {100 * r.abroad_share.mean():.2f}% "
          f"(SE {100 * se(r.abroad_share):.2f})")
    print(f"  flows: migrants leaving abroad {r.international.mean():.2f} (SE {se(r.international):.2f}) and moves to "
          f"the cities {r.internal.mean():.2f} (SE {se(r.internal):.2f}) per 1,000 households a year; irregular share "
          f"of those leaving abroad {r.irregular_share.mean():.3f} (SE {se(r.irregular_share):.3f})")

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.8))
    panels = (("7: wanting / leaving a year", r.aspiration_ratio, V.ASPIRATION_RATIO, None, "at least 5"),
              ("8: applications / places", r.oversubscription, V.OVERSUBSCRIPTION, None, "at least 3"),
              ("9: internal share of extra moves", np.array([d.internal_share]), V.DISASTER_INTERNAL_SHARE, 1.0,
               "at least 0.8"),
              ("10: share of people abroad (%)", 100 * r.abroad_share, 2.0, 5.0, "2-5%"))
    for ax, (title, values, lo, hi, label) in zip(axes, panels):
        top = hi if hi is not None else max(lo, values.max()) * 1.5
        ax.axhspan(lo, top, color="#74c476", alpha=0.3, label=f"evidence: {label}")
        ax.errorbar([0], [values.mean()], yerr=[ci95(values)] if len(values) > 1 else None, fmt="o",
                    color="#08519c", capsize=5, label="model")
        ax.set_xticks([])
        ax.set_ylim(0, top * 1.1)
        ax.set_title(f"Case {title}", fontsize=9)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"Cases 7-10: the default world, default parameters ({_seeds_note(len(r.wanting))}; case 9 pooled)",
                 fontsize=10)
    return _save(fig, "cases7-10_default_world.png")


# --- case 11 -----------------------------------------------------------------------------------------------------

def substitution() -> Path | str:
    r = V.substitution()
    a = r.avoided_per_place
    per = 1000 / r.household_years
    print("Case 11  substitution through a channel open to the low-skilled (Clemens & Gough 2018: 0.3 to 1 irregular "
          "departure avoided per extra place)")
    for j, f in enumerate(r.factors):
        print(f"  quota x{f:g}: visas issued {r.visas[:, j].mean() * per:.2f}, irregular departures "
              f"{r.irregular[:, j].mean() * per:.3f} per 1,000 households a year")
    print(f"  irregular departures avoided per extra visa: {a.describe()}")

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    vis, irr = r.visas * per, r.irregular * per
    x0, y0, xs = _irregular_against_visas(ax, vis, irr, f"model ({a.mean:.2f} avoided per extra visa, SE {a.se:.2f})")
    for k, style in zip(V.SUBSTITUTION, ("k:", "k--")):
        ax.plot(xs, np.maximum(y0 - k * (xs - x0), 0), style, lw=1, label=f"{k:g} avoided per extra visa")
    ax.set_title(f"Case 11: quota x{', x'.join(f'{f:g}' for f in r.factors)}, channel open to every skill level\n"
                 f"one-city world; grey: each seed; {_seeds_note(vis.shape[0])}", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, "case11_substitution.png")


def main(argv: list[str] | None = None) -> None:
    import argparse
    parser = argparse.ArgumentParser(description="Figures of the validation suite (docs/validation.md).")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a model parameter for every run, e.g. decisions.credit_floor_usd=1300 (repeatable)")
    args = parser.parse_args(argv)
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: expected NAME=VALUE, e.g. decisions.credit_floor_usd=1300")
        V.OVERRIDES[name] = int(value) if value.lstrip("-").isdigit() else float(value)
    if V.OVERRIDES:
        print(f"Parameters changed in every run: {V.OVERRIDES}")
    for make in (liquidity, trapped, networks, regular, deaths, hump, default_world, substitution):
        path = make()
        print(f"  plot: {path}")


if __name__ == "__main__":
    main()
