"""Model parameters: one aligned line per parameter, with its units, allowed range and source.

These dataclasses are the single definition of every behavioural and process parameter of the model. Hydra uses them
as schemas (so a misspelt key fails when the config is composed), plain Python uses them directly, and `validate`
checks every value against its declared range. Place-specific figures (wages, populations, hazards of each region)
live in the world tables (`scenarios/worlds/`), not here.

"assumption" marks an illustrative value chosen by the authors; such values are the first candidates for calibration.

Every range is finite (only an intervention's `end_year` may also be `inf`, "never ends") and refuses inf and nan.
The upper limits are far beyond the values the model is meant for, and chosen so that every output stays finite for
any combination of values inside the ranges, over the longest run the calendar allows (450 years, 1800-2250). The
binding chain is the destination wage `w m_w D^e` (labour.py): with the labour outlook's `demand_multiplier` <= 100
and `demand_trend` <= 0.5 a year (scenarios.OUTLOOK_RANGES), a cycle amplitude <= 1 and log-demand noise of sd <= 0.2
a month (at persistence 1 a random walk, whose ten standard deviations after 450 years are e^147, about 1e64), the
demand index `D` stays below 1e150, so `wage_demand_elasticity` <= 1 keeps wages (with the world tables' wages up to
USD_MAX), remittances and savings summed over millions of households and months below 1e200. Origin wages grow at
most 1.5^450 (about 1e79) times.

Example:
    >>> p = ModelParams()
    >>> p.irregular.death_probability
    0.01
    >>> validate(p)  # raises ConfigError on a bad value
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from simulator.errors import ConfigError

INF = math.inf

# Upper limits shared by many parameters (and by the world tables, simulator/world/regions.py)
USD_MAX = 1e6           # USD: a wage (a month), price, cost or transfer per person, household, migrant, visa or journey
BETA_MAX = 100.0        # utility per unit of a term: a hundredth of the unit already moves the odds by e (one logit)
CALIBRATED = "calibrated to the validation cases (docs/validation.md, Calibration)"   # the source of such defaults
PER_1000_MAX = 1000.0   # per 1,000 origin households, a year or a month: every household once in the period
YEARS_MAX = 1000.0      # years after the start of a run: later than the end of any run (the calendar ends in 2250)


def param(default: Any, units: str, lo: float, hi: float, source: str = "assumption", integer: bool = False,
          or_inf: bool = False, or_none: bool = False) -> Any:
    """A parameter field: default, units, inclusive allowed range [lo, hi] (finite) and source of the default.

    `or_inf`: `inf` is allowed too, as a sentinel (an intervention's `end_year`: never ends).
    `or_none`: None is allowed too, as a sentinel (an intervention's setting of a channel: the channel's own); the
    units say what it means.
    """
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f"the range of a parameter must be finite: got [{lo}, {hi}] ({units})")
    return field(default=default, metadata={"units": units, "lo": lo, "hi": hi, "source": source,
                                            "integer": integer, "or_inf": or_inf, "or_none": or_none})


def prob(default: float, units: str = "probability", source: str = "assumption") -> Any:
    """A probability or share in [0, 1]."""
    return param(default, units, 0.0, 1.0, source)


SETTING = "policy setting (chosen by the user, not an estimate)"


def setting(default: Any, units: str, lo: float, hi: float, integer: bool = False, or_inf: bool = False,
            or_none: bool = False) -> Any:
    """A policy design choice (start year, coverage, factor...): its default is an example, not an estimate."""
    return param(default, units, lo, hi, SETTING, integer, or_inf, or_none)


@dataclass
class DecisionParams:
    """Random-utility choice of stay / internal / regular / irregular (see decisions.py, docs/ODD.md section 7)."""

    beta_income: float = param(3.62, "utility per unit log USD/month", 0, BETA_MAX,
                               "Grogger & Hanson 2011 J Dev Econ (log-income RUM); scale: " + CALIBRATED)
    subsistence_weight: float = prob(0.23, "share of the subsistence need of the members at origin subtracted from "
                                           "household income inside the utility's logarithm (Stone-Geary)",
                                     "form: Stone 1954 EJ, Geary 1950 RES (income near subsistence is worth most); "
                                     "weight: " + CALIBRATED + "; 0: log of income")
    beta_cost: float = param(0.39, "utility per year of household income paid up front", 0, BETA_MAX, CALIBRATED)
    # 1,000 (ten times BETA_MAX): a perceived death risk of 1 in 1,000 already moves the odds by e (one logit)
    beta_risk: float = param(20.0, "utility per unit perceived death probability", 0, 10 * BETA_MAX, "assumption")
    beta_interception: float = param(1.0, "utility per unit interception probability", 0, BETA_MAX, "assumption")
    beta_wait: float = param(0.47, "utility per year of expected waiting", 0, BETA_MAX, CALIBRATED)
    beta_network: float = param(3.0, "utility per unit share of district households with a member away", 0,
                                BETA_MAX, "Munshi 2003 QJE; McKenzie & Rapoport 2010 REStat (direction); size: "
                                          "assumption")
    beta_shock: float = param(2.0, "utility of staying lost per unit remembered shock loss fraction", 0, BETA_MAX,
                              "Cattaneo et al. 2019 REEP (direction); size: assumption")
    asc_internal: float = param(-7.75, "utility (alternative-specific constant, per month)", -50, 50, CALIBRATED)
    asc_regular: float = param(-6.26, "utility (alternative-specific constant, per month)", -50, 50, CALIBRATED)
    asc_irregular: float = param(-6.96, "utility (alternative-specific constant, per month)", -50, 50, CALIBRATED)
    nest_lambda: float = param(0.39, "nested-logit dissimilarity of the international nest (1 = multinomial logit)",
                               0.05, 1.0, CALIBRATED + "; cf. Bertoli & Fernandez-Huertas Moraga 2013 J Dev Econ")
    credit_fraction: float = prob(0.3, "share of assets that can be borrowed against or sold to pay for a move",
                                  "assumption; cf. Bryan, Chowdhury & Mobarak 2014 Econometrica (credit limits)")
    credit_floor_usd: float = param(0.0, "USD of assets a household cannot borrow against or sell to pay for a "
                                         "move (it keeps them to live)", 0, USD_MAX,
                                    "assumption (collateral-constrained credit: Banerjee & Newman 1993 JPE); 0 lets "
                                    "every household borrow on all of its assets")
    credit_floor_share: float = param(0.05, "share of the district's median assets a household cannot borrow "
                                            "against or sell (the floor is the larger of this and credit_floor_usd)",
                                      0, 100, "form: Banerjee & Newman 1993 JPE (collateral by local standards); "
                                              "share: " + CALIBRATED + "; 0: none")
    startup_months: float = param(0.0, "months of the place's living cost a migrant without a job offer carries up "
                                       "front (a city, an irregular route, free movement)", 0, 24,
                                  "assumption (weeks of job search before the first wage: Bryan, Chowdhury & Mobarak "
                                  "2014 Econometrica, section 2); 0: none")
    network_cost_cut: float = prob(0.74, "largest share of an option's up-front cost saved through the members who "
                                         "went to its place by its pathway (lodging, job referrals, recruiters, a "
                                         "smuggler's contact)",
                                   "direction: Munshi 2003 QJE, McKenzie & Rapoport 2010 REStat, Dolfin & Genicot "
                                   "2010 RDE; by pathway: assumption; size: " + CALIBRATED + "; 0: networks lower no "
                                   "cost")
    network_cost_half: float = param(0.05, "network share (members at the place by the option's pathway per household "
                                           "of the district) at which half of network_cost_cut is saved", 1e-6, 100,
                                     "assumption")
    network_loan_share: float = prob(1.0, "largest share of what is due for a move abroad (after network_cost_cut) "
                                           "that the members of the household's district at its place lend, repaid "
                                           "from the migrant's remittances",
                                     "network finance of journeys: Dolfin & Genicot 2010 RDE (relatives abroad pay "
                                     "the coyote), World Bank 2009 and BBS Cost of Migration Survey 2020 (Bangladesh: "
                                     "21% of migrants financed by friends and family; 78% borrowed), Friebel & Guriev "
                                     "2006 JEEA (migration financed by debt repaid from earnings abroad); size: "
                                     "assumption (a dense network can lend all that is due; with the default shape "
                                     "every validation case passes: docs/validation.md, case 3); 0: no loans")
    network_loan_half: float = param(0.1, "network share (members of the district at the place, any pathway, per "
                                          "household) at which half of network_loan_share is lent", 1e-6, 100,
                                     "assumption")
    network_loan_power: int = param(3, "steepness of the rise of network loans with the network share (the Hill "
                                       "exponent k of s^k / (s^k + half^k))", 1, 8,
                                    "assumption: lending by relatives abroad becomes common only where many of the "
                                    "district's households have members there (cumulative causation: Massey 1990 "
                                    "Population Index); 1: a saturating rise like network_cost_cut's", integer=True)
    aspiration_months: int = param(39, "months a household that could not pay for the move it wanted keeps the aim "
                                       "(and saves for it as budget.aspiring_consumption_share says) after the last "
                                       "month it was trapped", 0, 1200,
                                   "aspiration and ability to migrate: Carling 2002 JEMS, Carling & Schewel 2018 JEMS; "
                                   "months: " + CALIBRATED, integer=True)
    risk_perception: float = param(1.0, "perceived / true death probability", 0, 100,
                                   "assumption (1 = accurate); Shrestha 2020 WBER finds misperception both ways")
    shock_memory: float = prob(0.8, "monthly persistence of remembered shock loss",
                               "assumption (half-life ~3 months)")
    max_members_away: int = param(1, "members of a household away at once (in transit, in a city or abroad), at "
                                     "most", 1, 8, "assumption (1: a household decides again once its migrant is "
                                     "back, the behaviour the other defaults were set with)",
                                  integer=True)


@dataclass
class ClimateParams:
    """Sudden shocks (hazards.csv gives return periods, intensities, durations) and slow-onset decline."""

    intensity_concentration: float = param(8.0, "Beta concentration of shock intensity (a+b)", 0.1, 10_000,
                                           "assumption")   # above ~1,000 every shock has its mean intensity
    asset_loss_ratio: float = prob(0.5, "share of farm assets lost per unit shock intensity", "assumption")
    adaptation_efficacy_cap: float = prob(0.9, "largest share of a loss that adaptation can avert",
                                          "assumption; cf. Hallegatte et al. 2017 Unbreakable, World Bank")


@dataclass
class LabourParams:
    """Destination demand and wages; origin wages (see labour.py)."""

    demand_cycle_years: float = param(7.0, "years per destination business cycle", 0.5, YEARS_MAX,
                                      "assumption; cf. NBER cycle durations")   # longer than a run: no cycle
    demand_cycle_amplitude: float = prob(0.15, "relative amplitude of the demand cycle", "assumption")
    demand_noise_sd: float = param(0.03, "sd of monthly log demand innovations", 0, 0.2,
                                   "assumption")   # 20% a month: several times the volatility of vacancy series
    demand_noise_persistence: float = prob(0.9, "AR(1) coefficient of log demand noise", "assumption")
    wage_demand_elasticity: float = param(0.3, "elasticity of destination wage to demand index", 0, 1,
                                          "assumption")   # 1: wages move one for one with demand (they move less)
    origin_wage_growth: float = param(0.02, "per year", -0.5, 0.5,
                                      "assumption; cf. World Bank WDI real wage growth, low-income countries")
    # 10: ten times the low-skill wage, several times the largest returns to education measured
    skill_wage_mid: float = param(1.3, "wage multiplier, mid vs low skill", 0, 10, "assumption")
    skill_wage_high: float = param(1.8, "wage multiplier, high vs low skill", 0, 10, "assumption")
    job_separation_rate: float = prob(0.02, "per month", "assumption; cf. OECD job tenure statistics")
    irregular_hire_factor: float = prob(0.5, "hiring rate of irregular relative to regular migrants",
                                        "assumption")
    irregular_wage_factor: float = prob(0.7, "wage of irregular relative to regular migrants",
                                        "assumption; cf. Borjas & Cassidy 2019 Labour Econ (undocumented wage "
                                        "penalty), here also informal, lower-paid jobs")
    city_employment_rate: float = prob(0.8, "employment probability of internal migrants", "assumption")


@dataclass
class RegularPathwayParams:
    """Visas, quotas, labour schemes (see pathways.py). Rates are per 1,000 origin households, so they scale."""

    quota_per_1000_per_year: float = param(4.0, "visas per 1,000 origin households per year", 0, PER_1000_MAX,
                                           "assumption")
    processing_per_1000_per_month: float = param(0.5, "applications decided per 1,000 origin households/month",
                                                 0, PER_1000_MAX, "assumption")
    fee_usd: float = param(1200.0, "USD per application (visa, recruitment, travel)", 0, USD_MAX,
                           "KNOMAD/ILO recruitment cost surveys (about 1-5 months of destination earnings)")
    min_skill: int = param(1, "lowest eligible skill level (0 low, 1 mid, 2 high)", 0, 3,
                           "assumption", integer=True)
    max_wait_months: float = param(24.0, "months a household of average patience waits before giving up", 0,
                                   1200, "assumption")   # 100 years, the cap on expected waits (decisions.py)
    stay_months: int = param(36, "months of a regular stay before return (0 = permanent)", 0, 10_000,
                             "assumption; cf. typical 2-3 year temporary worker contracts", integer=True)
    return_rate: float = prob(0.004, "per month, voluntary early return", "assumption")


@dataclass
class IrregularPathwayParams:
    """Smuggled journeys (see pathways.py)."""

    smuggler_fee_usd: float = param(3000.0, "USD per journey", 0, USD_MAX,
                                    "UNODC 2018 Global Study on Smuggling of Migrants (hundreds to >10,000 USD)")
    interception_probability: float = prob(0.3, "probability per journey", "assumption")
    death_probability: float = prob(0.01, "probability per journey",
                                    "IOM Missing Migrants Project (about 1-50 per 1,000 attempts by route, year)")
    journey_months: int = param(1, "months from departure to outcome", 1, 120, "assumption", integer=True)
    deportation_rate: float = prob(0.002, "per month, irregular migrants abroad", "assumption")
    return_rate: float = prob(0.004, "per month, voluntary return", "assumption")


@dataclass
class AbroadParams:
    """Migrants away: living costs, remittances and their transfer cost, internal returns."""

    living_cost_usd: float = param(700.0, "USD/month spent by a migrant abroad", 0, USD_MAX, "assumption")
    remittance_share: float = prob(0.5, "share of earnings net of living cost sent home",
                                   "assumption; cf. World Bank/KNOMAD Migration and Development Briefs")
    transfer_cost: float = prob(0.064, "fee as share of amount sent",
                                "World Bank Remittance Prices Worldwide (global average ~6.4%, 2023)")
    city_living_cost_usd: float = param(120.0, "USD/month spent by an internal migrant", 0, USD_MAX,
                                        "assumption")
    city_remittance_share: float = prob(0.4, "share of net city earnings sent home", "assumption")
    domestic_transfer_cost: float = prob(0.02, "fee as share of amount sent (mobile money)", "assumption")
    internal_return_rate: float = prob(0.02, "per month", "assumption (circular internal migration is common)")
    onward_rate: float = prob(0.005, "monthly probability that an employed migrant in a city moves on abroad by an "
                                     "onward route from it (a world's routes of kind onward), if its household can pay",
                              "assumption; stepwise migration: Paul 2011 AJS, King & Skeldon 2010 JEMS (direction)")


@dataclass
class BudgetParams:
    """Household budget update (see budgets.py)."""

    subsistence_usd: float = param(45.0, "USD per person per month",
                                   0, USD_MAX, "assumption; cf. World Bank $2.15/day poverty line")
    aspiring_consumption_share: float = prob(0.57, "share of income above subsistence consumed by a household "
                                                   "that aspires to a move it could not pay for (it saves the rest)",
                                             CALIBRATED + "; 0.95 (as consumption_share_of_surplus): no saving for "
                                             "the move")
    consumption_share_of_surplus: float = prob(0.95, "share of income above subsistence consumed",
                                               "assumption")


@dataclass
class PopulationParams:
    """Synthesis of the initial households from the world's region table."""

    head_age_mean: float = param(42.0, "years", 15, 100, "assumption; cf. DHS household surveys")
    head_age_sd: float = param(12.0, "years", 0, 50, "assumption")
    adults_share: float = prob(0.55, "working-age share of household members", "assumption; cf. UN WPP")
    risk_aversion_sd: float = param(0.3, "sd of log risk aversion across households", 0, 5, "assumption")
    patience_sd: float = param(0.3, "sd of log patience across households", 0, 5, "assumption")
    # who leaves: a departing member's sex and age (outputs by sex and age are the migrant's, Objective 1)
    migrant_female_share_abroad: float = prob(
        0.12, "share of women among members leaving for abroad",
        "Bangladesh 2017: 122,000 women among 1,008,525 workers going abroad (BMET figures reported by The Financial "
        "Express, http://www.thefinancialexpress.com.bd/economy/bangladesh/"
        "overseas-employment-sees-new-record-in-2017-1514803700)")
    migrant_female_share_internal: float = prob(0.3, "share of women among members leaving for a city", "assumption")
    migrant_age_mean: float = param(28.0, "years, age of a member when it leaves (before clipping to 18-65)", 18, 65,
                                    "assumption (labour migrants are mostly young adults)")
    migrant_age_sd: float = param(7.0, "years", 0, 30, "assumption")


@dataclass
class ModelParams:
    """All model parameters, grouped by process."""

    decisions: DecisionParams = field(default_factory=DecisionParams)
    climate: ClimateParams = field(default_factory=ClimateParams)
    labour: LabourParams = field(default_factory=LabourParams)
    regular: RegularPathwayParams = field(default_factory=RegularPathwayParams)
    irregular: IrregularPathwayParams = field(default_factory=IrregularPathwayParams)
    abroad: AbroadParams = field(default_factory=AbroadParams)
    budget: BudgetParams = field(default_factory=BudgetParams)
    population: PopulationParams = field(default_factory=PopulationParams)


def check_value(name: str, value: Any, meta: dict[str, Any]) -> None:
    """Raise ConfigError unless `value` fits the range and kind declared in a field's metadata.

    inf, -inf and nan are refused (inf is allowed where the metadata says `or_inf`, None where it says `or_none`).
    """
    lo, hi, integer, or_inf = meta["lo"], meta["hi"], meta["integer"], meta.get("or_inf", False)
    or_none = meta.get("or_none", False)
    if or_none and value is None:
        return
    kind = "an integer" if integer else "a number"
    sentinels = (" or inf" if or_inf else "") + (" or null" if or_none else "")   # the units say what null means
    allowed = f"{kind} in [{lo:g}, {hi:g}]{sentinels} ({meta['units']})"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(name, value, allowed)
    if isinstance(value, float) and not math.isfinite(value):
        if or_inf and value == INF:
            return
        raise ConfigError(name, value, allowed)
    if (integer and int(value) != value) or not (lo <= value <= hi):
        raise ConfigError(name, value, allowed)


def validate(obj: Any, prefix: str = "model") -> None:
    """Check every parameter of a (nested) parameter dataclass against its declared range.

    Raises:
        ConfigError: naming the first field out of range, its value and the allowed range.
    """
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{prefix}.{f.name}"
        if dataclasses.is_dataclass(value):
            validate(value, name)
        elif "units" in f.metadata:
            check_value(name, value, f.metadata)


def iter_params(obj: Any, prefix: str = "") -> list[tuple[str, Any, dict[str, Any]]]:
    """List (dotted name, value, metadata) for every parameter, e.g. for docs or sensitivity analysis."""
    rows = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            rows.extend(iter_params(value, name + "."))
        else:
            rows.append((name, value, dict(f.metadata)))
    return rows


def from_dict(cls: type, data: dict[str, Any] | None, prefix: str = "model") -> Any:
    """Build a parameter dataclass from a nested dict, failing on unknown keys with the list of valid ones."""
    data = dict(data or {})
    kwargs = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(f"{prefix}.{key}", value, f"one of the keys {sorted(fields)}")
        factory = fields[key].default_factory
        if factory is not dataclasses.MISSING and dataclasses.is_dataclass(factory):
            if not isinstance(value, dict):
                raise ConfigError(f"{prefix}.{key}", value, f"a mapping of the keys {sorted(_names(factory))}")
            kwargs[key] = from_dict(factory, value, f"{prefix}.{key}")
        else:
            kwargs[key] = value
    return cls(**kwargs)


def _names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]
