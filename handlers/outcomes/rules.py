"""Pure rules of outcomes: the stages, what counts as a replication, how answers are read,
what an application must hold, and how the funders' indicators are computed and named."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

STAGES = (
    "learning",
    "project_defined",
    "investment_ready",
    "decision_taken",
    "financed",
    "implemented",
)
"""From learning a scheme to a project built with it, in order."""
FINANCED = "financed"
STEP_ANSWERS = ("done", "under_way", "stuck")
"""How a learner says their plan's next step stands when a check-in asks about it."""
ADOPTED_FROM = STAGES.index("decision_taken")
"""A scheme counts as adopted (a replication, if learnt from a mentor) from a decision on."""

TODAY_WORDS = {"today", "aujourd'hui", "aujourdhui", "heute", "hoy", "oggi"}
_DAY_FORMS = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>\d{4})$"),
)
_NUMBER = re.compile(r"^\d{1,3}(?:[ \u00a0\u202f.,']\d{3})*(?:[.,]\d+)?$|^\d+(?:[.,]\d+)?$")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
MAX_FIGURE = 10_000_000.0
MAX_AMOUNT = 100_000_000_000


def stage_rank(stage: str) -> int:
    """The position of a stage (ValueError for an unknown one)."""
    return STAGES.index(stage)


def next_stage(current: str | None) -> str | None:
    """The stage after `current` (the first one when nothing is recorded; None after the last)."""
    if current is None:
        return STAGES[0]
    rank = stage_rank(current) + 1
    return STAGES[rank] if rank < len(STAGES) else None


def is_replication(stage: str, pair_id: int | None, practice_id: int | None) -> bool:
    """A scheme adopted (decision taken or later) that the authority learnt from a mentor."""
    return stage_rank(stage) >= ADOPTED_FROM and (pair_id is not None or practice_id is not None)


def parse_day(text: str, today: date) -> date | None:
    """`2027-03-31`, `31/03/2027`, `31.03.2027` or "today" in the five languages."""
    value = text.strip().lower()
    if value in TODAY_WORDS:
        return today
    for form in _DAY_FORMS:
        found = form.match(value)
        if found:
            try:
                return date(int(found["y"]), int(found["m"]), int(found["d"]))
            except ValueError:
                return None
    return None


def parse_figure(text: str) -> float | None:
    """A non-negative figure such as `1200`, `1 200,5`, `1,200.5`, `35.2 MWh` (None if none)."""
    value = re.sub(r"(?i)\s*(mwh(/y(ea)?r?)?|t(co2)?|tonnes?|t/y(ea)?r?)\s*$", "", text.strip())
    if not _NUMBER.match(value):
        return None
    digits = re.sub(r"[ \u00a0\u202f']", "", value)
    if "," in digits and "." in digits:
        # the later mark is the decimal one: 1.200,5 or 1,200.5
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
        digits = digits.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif digits.count(",") == 1 and len(digits.split(",")[1]) != 3:
        digits = digits.replace(",", ".")
    elif digits.count(".") == 1 and len(digits.split(".")[1]) == 3 and len(digits) > 5:
        digits = digits.replace(".", "")  # 12.000 written the continental way
    else:
        digits = digits.replace(",", "")
    try:
        number = float(digits)
    except ValueError:
        return None
    return number if 0 <= number <= MAX_FIGURE else None


def clean_url(text: str) -> str | None:
    """An http(s) link of at most 500 characters, else None."""
    value = text.strip()
    return value if len(value) <= 500 and URL.match(value) else None


# -- the application form --------------------------------------------------------------------

FIELD_LIMITS = {
    "authority": (2, 200),
    "contact_name": (2, 200),
    "email": (6, 254),
    "wants": (10, 2000),
}


@dataclass
class ApplicationCheck:
    """A submission read and checked: the clean values, or the problems by field (message keys)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_application(
    form: dict[str, str], country_of: Any, honeypot: str = "website"
) -> ApplicationCheck:
    """Validate the public form strictly; `country_of(text)` gives an ISO code or None.

    A filled honeypot is reported as the error `spam` on the form itself (the caller answers as
    if all went well, and stores nothing)."""
    check = ApplicationCheck()
    if form.get(honeypot, "").strip():
        check.errors["form"] = "spam"
        return check
    for name, (low, high) in FIELD_LIMITS.items():
        raw = form.get(name, "")
        value = " ".join(raw.split()) if name != "wants" else raw.strip()
        if not value:
            check.errors[name] = "required"
        elif len(value) < low:
            check.errors[name] = "too_short"
        elif len(value) > high:
            check.errors[name] = "too_long"
        elif any(ord(c) < 32 and c not in "\n\r\t" for c in value) or "<" in value:
            check.errors[name] = "bad_characters"
        else:
            check.values[name] = value
    email = check.values.get("email")
    if email is not None and not EMAIL.match(email):
        check.errors["email"] = "bad_email"
        check.values.pop("email")
    country_text = form.get("country", "").strip()
    code = country_of(country_text) if 0 < len(country_text) <= 60 else None
    if not country_text:
        check.errors["country"] = "required"
    elif code is None:
        check.errors["country"] = "bad_country"
    else:
        check.values["country"] = code
    if form.get("consent") not in ("yes", "on", "1"):
        check.errors["consent"] = "consent_needed"
    return check


# -- the funders' indicators -----------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    """A programme figure, the name the funders' guidance uses for it, and how it is computed."""

    key: str
    unit: str
    frameworks: str
    method: str


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "authorities_engaged",
        "authorities",
        "LIFE CET: public authorities supported / engaged; Interreg RCO87: organisations "
        "cooperating across borders; H2020 EE: public authorities with improved capacity",
        "Distinct authorities of the participants (consenting officers, not coordinators, "
        "not left) of the programmes in scope.",
    ),
    Indicator(
        "officers",
        "people",
        "H2020 EE: public officers with increased skills/capacity; PROSPECT: participants",
        "Participants: consenting officers of the programmes in scope who coordinate none "
        "of them and have not left.",
    ),
    Indicator(
        "countries",
        "countries",
        "PROSPECT / Interreg: countries covered",
        "Distinct countries of the participants' authorities.",
    ),
    Indicator(
        "learning_groups",
        "groups",
        "PROSPECT: learning groups; Interreg RCO116: jointly developed solutions (learning "
        "formats)",
        "Learning groups of the programmes' cycles that were introduced (proposed or rejected "
        "ones never met); per authority, the groups it holds a seat in.",
    ),
    Indicator(
        "pairs",
        "pairs",
        "PROSPECT: mentoring pairs; Interreg RCO87: organisations cooperating",
        "Pairs whose both sides accepted the introduction (active, or closed after running); "
        "per authority: pairs it took part in, on either side.",
    ),
    Indicator(
        "schemes",
        "schemes",
        "PROSPECT: financing schemes shared; Interreg RCO116: jointly developed solutions",
        "Approved good practices (financing schemes) of the participants' authorities.",
    ),
    Indicator(
        "mentor_authorities",
        "authorities",
        "PROSPECT: mentors; LIFE CET: public authorities sharing good practice",
        "Distinct authorities of the mentors of counted pairs.",
    ),
    Indicator(
        "questions_answered",
        "questions",
        "H2020 CSA: stakeholders supported / queries answered",
        "Participants' questions answered by the FAQ (directly or by a chosen suggestion, not "
        "marked unhelpful) or by a coordinator.",
    ),
    Indicator(
        "investments_eur",
        "EUR",
        "H2020 EE: investments in sustainable energy triggered (EUR); LIFE CET: additional "
        "funding leveraged (EUR)",
        "Sum of the amounts recorded at the stage 'financed', one per authority and scheme; "
        "broken down by the instrument recorded with it and by sector (the sector of the "
        "authority's learning plan for that scheme, else of the mentor's practice it "
        "replicates, else 'unspecified').",
    ),
    Indicator(
        "energy_savings_mwh_per_year",
        "MWh/year",
        "H2020 EE: primary energy savings triggered (GWh/year); LIFE CET: energy savings "
        "(MWh/year)",
        "Per authority and scheme, the estimate of the most advanced stage that states one "
        "(with its method); summed.",
    ),
    Indicator(
        "renewable_mwh_per_year",
        "MWh/year",
        "H2020 EE / LIFE CET: renewable energy generation triggered (MWh/year)",
        "Per authority and scheme, the estimate of the most advanced stage that states one; "
        "summed.",
    ),
    Indicator(
        "co2_avoided_t_per_year",
        "t CO2-eq/year",
        "H2020 EE / LIFE CET: greenhouse-gas emissions reduction (t CO2-eq/year)",
        "Per authority and scheme, the estimate of the most advanced stage that states one; "
        "summed.",
    ),
    Indicator(
        "replications",
        "schemes",
        "Interreg RCR79: joint strategies and action plans taken up; PROSPECT: replication",
        "Schemes an authority adopted (decision taken or later) after learning them from a "
        "mentor (linked to the pair or the mentor's practice), one per authority and scheme.",
    ),
    Indicator(
        "satisfaction_mean",
        "1-5",
        "PROSPECT: satisfaction with the learning methods",
        "Mean of the scores (1-5) given in the survey sent when a pair closes.",
    ),
    Indicator(
        "satisfaction_n",
        "answers",
        "PROSPECT: satisfaction with the learning methods (responses)",
        "Number of surveys answered with a score.",
    ),
)
KPI_KEYS = tuple(i.key for i in INDICATORS)


@dataclass(frozen=True)
class StageFact:
    """One recorded stage, as the indicators need it."""

    authority_id: int
    scheme: str
    stage: str
    amount_eur: int | None
    savings_mwh: float | None
    renewable_mwh: float | None
    co2_t: float | None
    pair_id: int | None
    practice_id: int | None
    instrument: str | None = None


UNSPECIFIED = "unspecified"
"""The sector of an investment whose authority's plan is about another scheme and that
replicates no practice: counted, never guessed."""


def investment_breakdown(
    stages: Iterable[StageFact], sector_of: Callable[[StageFact], str | None]
) -> dict[int, dict[str, dict[str, float]]]:
    """Per authority, the amounts of the stage 'financed' by instrument and by sector
    (`{"instrument": {...}, "sector": {...}}`); each adds up to the authority's
    investments_eur. `sector_of` names a stage's sector, None for `UNSPECIFIED`."""
    found: dict[int, dict[str, dict[str, float]]] = {}
    for row in stages:
        if row.stage != FINANCED or not row.amount_eur:
            continue
        mine = found.setdefault(row.authority_id, {"instrument": {}, "sector": {}})
        instrument = row.instrument or row.scheme
        sector = sector_of(row) or UNSPECIFIED
        mine["instrument"][instrument] = mine["instrument"].get(instrument, 0.0) + row.amount_eur
        mine["sector"][sector] = mine["sector"].get(sector, 0.0) + row.amount_eur
    return found


def _latest_figure(rows: Sequence[StageFact], name: str) -> float:
    """The figure of the most advanced stage that states it (0 when none does)."""
    for row in sorted(rows, key=lambda r: stage_rank(r.stage), reverse=True):
        value = getattr(row, name)
        if value is not None:
            return float(value)
    return 0.0


def outcome_figures(stages: Iterable[StageFact]) -> dict[int, dict[str, float]]:
    """Per authority: investments, savings, renewables, CO2 and replications, each counted once
    per scheme (the stage 'financed' for money, the most advanced estimate for the rest)."""
    by_scheme: dict[tuple[int, str], list[StageFact]] = {}
    for row in stages:
        by_scheme.setdefault((row.authority_id, row.scheme), []).append(row)
    found: dict[int, dict[str, float]] = {}
    for (authority_id, _scheme), rows in by_scheme.items():
        mine = found.setdefault(
            authority_id,
            {
                "investments_eur": 0.0,
                "energy_savings_mwh_per_year": 0.0,
                "renewable_mwh_per_year": 0.0,
                "co2_avoided_t_per_year": 0.0,
                "replications": 0.0,
            },
        )
        mine["investments_eur"] += sum(
            r.amount_eur or 0 for r in rows if r.stage == FINANCED and r.amount_eur
        )
        mine["energy_savings_mwh_per_year"] += _latest_figure(rows, "savings_mwh")
        mine["renewable_mwh_per_year"] += _latest_figure(rows, "renewable_mwh")
        mine["co2_avoided_t_per_year"] += _latest_figure(rows, "co2_t")
        mine["replications"] += any(is_replication(r.stage, r.pair_id, r.practice_id) for r in rows)
    return found


def tidy(value: float) -> int | float:
    """A whole number as an int, otherwise rounded to two decimals."""
    return int(value) if float(value).is_integer() else round(value, 2)
