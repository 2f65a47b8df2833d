"""Good practices as files: YAML import (validated first, written all or nothing) and export.

The format is a list (or a mapping with a `practices` list) of items with `title`, `authority`,
`country`, `sector`, `instruments`, and optionally `year`, `amount_eur` (the investment),
`instrument_mix` (shares in % per instrument code, at most 100 in all), `savings_mwh_per_year`,
`renewable_mwh_per_year`, `co2_t_per_year`, `funding_mix`, `results`, `lessons`, `contact`,
`officer_email` and `status` (default approved: a coordinator
loads a collection gathered elsewhere). Re-importing the same authority and title updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from handlers.core.taxonomy import EUROPE, Taxonomy
from handlers.practices.figures import apply_figures, figures_json
from handlers.practices.rules import (
    MAX_INVESTMENT,
    MIN_YEAR,
    FigureError,
    PracticeFigures,
    check_figures,
)
from storage.models import GoodPractice, Officer, utcnow
from storage.repositories.practices import APPROVED, PENDING, REJECTED
from storage.uow import UnitOfWork

FIGURE_PROBLEMS = {
    "unknown_instrument": "instrument_mix: unknown instrument {instrument!r}",
    "bad_share": "instrument_mix: the share of {instrument!r} must be a whole number from 1 to 100",
    "mix_over_100": "instrument_mix: the shares add up to {total}, more than 100",
    "bad_figure": "a yearly figure is negative or above 10 million",
    "bad_investment": "amount_eur must be more than 0 and at most 100 billion",
}
"""The YAML import's wording (English, like its other problems) of the figure rules."""


class PracticeItem(BaseModel):
    """One good practice in a YAML collection."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    title: str = Field(min_length=3, max_length=300)
    authority: str = Field(min_length=2, max_length=200)
    country: str = Field(min_length=2, max_length=2)
    sector: str
    instruments: list[str] = Field(min_length=1)
    year: int | None = Field(default=None, ge=MIN_YEAR, le=2100)
    amount_eur: int | None = Field(default=None, gt=0, le=MAX_INVESTMENT)
    instrument_mix: dict[str, int] | None = None
    savings_mwh: float | None = Field(default=None, alias="savings_mwh_per_year", ge=0)
    renewable_mwh: float | None = Field(default=None, alias="renewable_mwh_per_year", ge=0)
    co2_t: float | None = Field(default=None, alias="co2_t_per_year", ge=0)
    funding_mix: str | None = None
    summary: str = Field(default="", alias="results", max_length=4000)
    lessons: str | None = None
    contact: str | None = None
    officer_email: str | None = None
    status: str = APPROVED

    @field_validator("country", mode="before")
    @classmethod
    def _norway(cls, value: Any) -> Any:
        """YAML 1.1 reads the country code NO (Norway) as false."""
        return "NO" if value is False else value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if value.upper() not in EUROPE:
            raise ValueError(f"unknown country {value!r} (ISO 3166-1 alpha-2, e.g. BE)")
        return value.upper()

    @field_validator("sector")
    @classmethod
    def _sector(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("sectors")
        if known is not None and value not in known:
            raise ValueError(f"unknown sector {value!r}")
        return value

    @field_validator("instruments")
    @classmethod
    def _instruments(cls, value: list[str], info: ValidationInfo) -> list[str]:
        known = (info.context or {}).get("instruments")
        unknown = [c for c in value if known is not None and c not in known]
        if unknown:
            raise ValueError(f"unknown instrument {', '.join(repr(c) for c in unknown)}")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _figures(self, info: ValidationInfo) -> PracticeItem:
        known = (info.context or {}).get("instruments")
        try:
            check_figures(self.figures(), known if known is not None else self.instrument_mix or {})
        except FigureError as exc:
            raise ValueError(FIGURE_PROBLEMS.get(exc.key, exc.key).format(**exc.values)) from exc
        return self

    def figures(self) -> PracticeFigures:
        return PracticeFigures(
            self.amount_eur, self.instrument_mix, self.savings_mwh, self.renewable_mwh, self.co2_t
        )

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in (PENDING, APPROVED, REJECTED):
            raise ValueError(f"status must be pending, approved or rejected, not {value!r}")
        return value


@dataclass
class ImportReport:
    """What a YAML import did (nothing when `errors` is not empty)."""

    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def _items(text: str) -> tuple[list[Any], list[str]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [], [f"not valid YAML: {exc}".replace("\n", " ")]
    if isinstance(data, dict) and "practices" in data:
        data = data["practices"]
    if not isinstance(data, list):
        return [], ["expected a list of practices (or a mapping with a 'practices' list)"]
    return data, []


async def import_yaml(uow: UnitOfWork, text: str, taxonomy: Taxonomy) -> ImportReport:
    """Validate every item, then create or update them all in one transaction (or none)."""
    report = ImportReport()
    raw, report.errors = _items(text)
    parsed: list[tuple[PracticeItem, Officer | None]] = []
    context = {
        "sectors": set(taxonomy.codes("sectors")),
        "instruments": set(taxonomy.codes("instruments")),
    }
    for index, item in enumerate(raw, start=1):
        email = item.get("officer_email") if isinstance(item, dict) else None
        officer = await uow.officers.by_email(email) if isinstance(email, str) else None
        if isinstance(email, str) and officer is None:
            report.errors.append(f"item {index}: no officer with email {email!r}")
        try:
            practice = PracticeItem.model_validate(item, context=context)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                message = str(err["msg"]).removeprefix("Value error, ")
                report.errors.append(f"item {index}: {where + ': ' if where else ''}{message}")
            continue
        parsed.append((practice, officer))
    if report.errors:
        return report
    repo = uow.practices
    for item, officer in parsed:
        authority = await uow.authorities.get_or_create(item.authority, item.country)
        row = await repo.find(authority.id, item.title)
        if row is None:
            row = GoodPractice(authority_id=authority.id, title=item.title, created_at=utcnow())
            report.created += 1
        else:
            report.updated += 1
        row.officer_id = officer.id if officer else row.officer_id
        row.sector = item.sector
        row.instruments = list(item.instruments)
        row.year = item.year
        row.summary = item.summary
        row.status = item.status
        row.investment_eur = item.amount_eur
        row.instrument_mix = dict(item.instrument_mix) if item.instrument_mix else None
        row.savings_mwh, row.renewable_mwh, row.co2_t = (
            item.savings_mwh,
            item.renewable_mwh,
            item.co2_t,
        )
        apply_figures(row, PracticeFigures(instrument_mix=item.instrument_mix))
        row.figures = {
            k: v
            for k, v in (
                ("funding_mix", item.funding_mix),
                ("lessons", item.lessons),
                ("contact", item.contact),
            )
            if v not in (None, "")
        }
        await repo.add(row)
    await uow.flush()
    return report


async def practice_json(uow: UnitOfWork, practice: GoodPractice) -> dict[str, Any]:
    """A practice as one object of `practices list --json` (and of the YAML export)."""
    authority = await uow.authorities.get(practice.authority_id) if practice.authority_id else None
    officer = await uow.officers.get(practice.officer_id) if practice.officer_id else None
    figures = practice.figures or {}
    return {
        "id": practice.id,
        "title": practice.title,
        "authority": authority.name if authority else None,
        "country": authority.country if authority else None,
        "sector": practice.sector,
        "instruments": list(practice.instruments),
        "year": practice.year,
        **figures_json(practice),
        "funding_mix": figures.get("funding_mix"),
        "results": practice.summary,
        "lessons": figures.get("lessons"),
        "contact": figures.get("contact"),
        "officer_email": officer.email if officer else None,
        "status": practice.status,
    }


async def export_yaml(uow: UnitOfWork, status: str | None = None) -> str:
    """Practices as YAML in the import format (re-importable)."""
    items = []
    for practice in await uow.practices.list(status=status):
        item = await practice_json(uow, practice)
        item.pop("id")
        if not item["authority"]:
            continue
        items.append({k: v for k, v in item.items() if v not in (None, "")})
    return yaml.safe_dump({"practices": items}, allow_unicode=True, sort_keys=False, width=100)
