"""Good-practice review for the console, on the same function as chat and
`peerbot practices review` (`handlers.practices.flow.review`), and editing a practice waiting
for review with the rules of the chat flow (`handlers.practices.rules`). Authorization inside:
only practices of the programme's officers are listed, edited or reviewed."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.core.content import Content
from handlers.core.taxonomy import Taxonomy
from handlers.outcomes.rules import parse_figure
from handlers.practices.figures import apply_figures
from handlers.practices.files import practice_json
from handlers.practices.flow import parse_amount, review
from handlers.practices.rules import LENGTHS as LENGTHS
from handlers.practices.rules import (
    OPTIONAL,
    FigureError,
    PracticeFigures,
    check_figures,
    clean_text,
    extract_mix,
    text_ok,
    year_ok,
)
from storage.models import GoodPractice, Officer
from storage.repositories.practices import PENDING
from storage.repositories.practices import STATUSES as STATUSES
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class PracticeLine:
    id: int
    title: str
    summary: str
    sector: str
    instruments: tuple[str, ...]
    year: int | None
    author: str
    authority: str


async def _members(uow: UnitOfWork, programme_id: int) -> dict[int, tuple[str, str]]:
    return {
        o.id: (o.name, o.authority.name if o.authority else "")
        for o in await uow.console.roster(programme_id)
    }


async def pending(uow: UnitOfWork, who: Coordinator, programme_id: int) -> list[PracticeLine]:
    """Practices of the programme's officers waiting for review, oldest first."""
    authorize(who, programme_id)
    members = await _members(uow, programme_id)
    found = await uow.practices.list(status=PENDING, officer_ids=list(members))
    return [
        PracticeLine(
            p.id,
            p.title,
            p.summary,
            p.sector,
            tuple(str(c) for c in p.instruments),
            p.year,
            *members[p.officer_id or 0],
        )
        for p in found
        if p.officer_id in members
    ]


async def review_practice(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    who: Coordinator,
    programme_id: int,
    practice_id: int,
    approve: bool,
    now: datetime,
) -> bool:
    """Approve or reject a pending practice of the programme (its author is told);
    whether it changed."""
    authorize(who, programme_id)
    practice = await uow.practices.get(practice_id)
    members = await _members(uow, programme_id)
    if practice is None or practice.officer_id not in members:
        raise NotAllowed(f"practice {practice_id}")
    reviewer = await uow.officers.get(who.officer_id)
    reviewed = await review(uow, content, secret, practice_id, approve, reviewer, now)
    changed = reviewed.changed
    if changed:
        action = "practice.approve" if approve else "practice.reject"
        await record(uow, who, programme_id, action, now, practice=practice_id)
    await uow.commit()
    return changed


async def every_practice(uow: UnitOfWork, status: str | None = None) -> list[dict[str, Any]]:
    """Every practice, or those with one of `STATUSES`, as `peerbot practices list --json`
    (whoever holds the database sees every programme's)."""
    return [await practice_json(uow, p) for p in await uow.practices.list(status=status)]


async def review_practices(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    approve: Collection[int],
    reject: Collection[int],
    now: datetime,
) -> dict[str, Any]:
    """Approve and reject practices by id (their authors are told), for whoever holds the
    database: the ids done, those `missing`, and the practices still `pending` afterwards."""
    done: dict[str, list[int]] = {"approved": [], "rejected": [], "missing": []}
    for ids, approving in ((approve, True), (reject, False)):
        for practice_id in ids:
            reviewed = await review(uow, content, secret, practice_id, approving, None, now)
            if reviewed.practice is None:
                done["missing"].append(practice_id)
            else:
                done["approved" if approving else "rejected"].append(practice_id)
    await uow.commit()
    return {**done, "pending": await every_practice(uow, PENDING)}


# -- figures ---------------------------------------------------------------------------------


async def set_figures(
    uow: UnitOfWork,
    actor: Officer | None,
    practice_id: int,
    figures: PracticeFigures,
    instruments: Collection[str],
    *,
    coordinator: bool = False,
) -> GoodPractice:
    """Record a practice's investment, instrument mix and yearly results (a figure left None
    keeps its value). Its author, an officer of its authority, or a coordinator (the CLI) only;
    the mix's instruments join the practice's instruments."""
    practice = await uow.practices.get(practice_id)
    if practice is None:
        raise FigureError("no_practice", id=practice_id)
    own = actor is not None and (
        actor.id == practice.officer_id
        or (actor.authority_id is not None and actor.authority_id == practice.authority_id)
    )
    if not (coordinator or own):
        raise NotAllowed(f"practice {practice_id}")
    check_figures(figures, instruments)
    apply_figures(practice, figures)
    await uow.flush()
    return practice


# -- editing a pending practice --------------------------------------------------------------

TEXTS_IN_FIGURES = {"funding": "funding_mix", "lessons": "lessons", "contact": "contact"}
"""Form texts kept in `GoodPractice.figures`, and their keys there."""
RESULTS = ("savings_mwh", "renewable_mwh", "co2_t")
"""Yearly results, as the chat flow asks them (`practice_figures.ask_<name>`)."""


@dataclass(frozen=True)
class PracticeForm:
    """A practice's fields as a form shows and takes them (texts as typed)."""

    id: int
    title: str = ""
    sector: str = ""
    instruments: tuple[str, ...] = ()
    amount: str = ""
    funding: str = ""
    results: str = ""
    savings_mwh: str = ""
    renewable_mwh: str = ""
    co2_t: str = ""
    year: str = ""
    lessons: str = ""
    contact: str = ""
    author: str = ""
    authority: str = ""


class PracticeProblem(ValueError):
    """Fields of an edit that break the rules: field -> (message key, values); keys are full
    catalogue keys (`console.…`, or the chat's `practice_figures.errors.…`)."""

    def __init__(self, fields: dict[str, tuple[str, dict[str, Any]]]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


@dataclass
class _Checked:
    values: dict[str, Any] = field(default_factory=dict)
    wrong: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)


def _figure_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


async def _pending_of(
    uow: UnitOfWork, programme_id: int, practice_id: int
) -> tuple[GoodPractice, tuple[str, str]]:
    practice = await uow.practices.get(practice_id)
    members = await _members(uow, programme_id)
    if practice is None or practice.officer_id not in members or practice.status != PENDING:
        raise NotAllowed(f"practice {practice_id}")
    return practice, members[practice.officer_id or 0]


async def practice_form(
    uow: UnitOfWork, who: Coordinator, programme_id: int, practice_id: int
) -> PracticeForm:
    """A pending practice of the programme as the edit form shows it."""
    authorize(who, programme_id)
    practice, (author, authority) = await _pending_of(uow, programme_id, practice_id)
    figures = dict(practice.figures or {})
    amount = practice.investment_eur or figures.get("amount_eur")
    return PracticeForm(
        id=practice.id,
        title=practice.title,
        sector=practice.sector,
        instruments=tuple(str(c) for c in practice.instruments),
        amount=str(amount or ""),
        funding=str(figures.get("funding_mix") or ""),
        results=practice.summary,
        savings_mwh=_figure_text(practice.savings_mwh),
        renewable_mwh=_figure_text(practice.renewable_mwh),
        co2_t=_figure_text(practice.co2_t),
        year=str(practice.year or ""),
        lessons=str(figures.get("lessons") or ""),
        contact=str(figures.get("contact") or ""),
        author=author,
        authority=authority,
    )


def _texts(form: PracticeForm, found: _Checked) -> None:
    for name in LENGTHS:
        value = clean_text(name, str(getattr(form, name)))
        if not value and name in OPTIONAL:
            found.values[name] = None
        elif not text_ok(name, value):
            low, high = LENGTHS[name]
            found.wrong[name] = ("console.practice_length_error", {"low": low, "high": high})
        else:
            found.values[name] = value


def _numbers(form: PracticeForm, found: _Checked, this_year: int) -> None:
    found.values["amount"] = None
    if form.amount.strip():
        amount = parse_amount(form.amount)
        if amount is None or amount <= 0:
            found.wrong["amount"] = ("console.practice_amount_error", {})
        found.values["amount"] = amount
    for name in RESULTS:
        typed = str(getattr(form, name)).strip()
        value = parse_figure(typed) if typed else None
        if typed and value is None:
            found.wrong[name] = ("console.practice_figure_error", {})
        found.values[name] = value
    found.values["year"] = None
    if form.year.strip():
        typed_year = re.fullmatch(r"\s*(\d{4})\s*", form.year)
        year = int(typed_year.group(1)) if typed_year else 0
        if not year_ok(year, this_year):
            found.wrong["year"] = ("console.practice_year_error", {"high": this_year + 5})
        found.values["year"] = year


def check_practice(form: PracticeForm, taxonomy: Taxonomy, this_year: int) -> dict[str, Any]:
    """The stored values of an edited practice; `PracticeProblem` with every field that
    breaks the chat flow's rules (texts, sector, instruments, amount, funding mix, yearly
    results, year)."""
    found = _Checked()
    _texts(form, found)
    _numbers(form, found, this_year)
    if form.sector not in taxonomy.codes("sectors"):
        found.wrong["sector"] = ("console.practice_sector_error", {})
    known = taxonomy.codes("instruments")
    instruments = [c for c in dict.fromkeys(form.instruments) if c in known]
    if not instruments or len(instruments) != len(set(form.instruments)):
        found.wrong["instruments"] = ("console.practice_instruments_error", {})
    mix = extract_mix(found.values.get("funding") or "", taxonomy) or None
    figures = PracticeFigures(
        investment_eur=found.values["amount"],
        instrument_mix=mix,
        savings_mwh=found.values["savings_mwh"],
        renewable_mwh=found.values["renewable_mwh"],
        co2_t=found.values["co2_t"],
    )
    try:
        if not found.wrong:
            check_figures(figures, known)
    except FigureError as exc:
        where = {"bad_investment": "amount", "bad_figure": "savings_mwh"}.get(exc.key, "funding")
        found.wrong[where] = (f"practice_figures.errors.{exc.key}", dict(exc.values))
    if found.wrong:
        raise PracticeProblem(found.wrong)
    return {
        **found.values,
        "sector": form.sector,
        "instruments": [*instruments, *(c for c in mix or {} if c not in instruments)],
        "instrument_mix": mix,
    }


async def edit_practice(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    form: PracticeForm,
    taxonomy: Taxonomy,
    now: datetime,
) -> list[str]:
    """Correct a pending practice of the programme before it is approved (title, sector,
    instruments, investment, funding, results and yearly figures, year, lessons, contact);
    the fields that changed. `PracticeProblem` for values the chat flow would refuse."""
    authorize(who, programme_id)
    practice, _ = await _pending_of(uow, programme_id, form.id)
    values = check_practice(form, taxonomy, now.year)
    figures = dict(practice.figures or {})
    before = {
        "title": practice.title,
        "sector": practice.sector,
        "instruments": [str(c) for c in practice.instruments],
        "instrument_mix": practice.instrument_mix,
        "results": practice.summary,
        "amount": practice.investment_eur or figures.get("amount_eur"),
        "year": practice.year,
        **{name: getattr(practice, name) for name in RESULTS},
        **{name: figures.get(key) for name, key in TEXTS_IN_FIGURES.items()},
    }
    changed = sorted(k for k, v in values.items() if before.get(k) != v)
    if changed:
        practice.title = values["title"]
        practice.sector = values["sector"]
        practice.instruments = values["instruments"]
        practice.summary = values["results"]
        practice.year = values["year"]
        practice.investment_eur = values["amount"]
        practice.instrument_mix = values["instrument_mix"]
        for name in RESULTS:
            setattr(practice, name, values[name])
        kept = {
            k: v for k, v in figures.items() if k not in (*TEXTS_IN_FIGURES.values(), "amount_eur")
        }
        practice.figures = kept | {
            key: values[name] for name, key in TEXTS_IN_FIGURES.items() if values[name]
        }
        await record(uow, who, programme_id, "practice.edit", now, practice=form.id, fields=changed)
    await uow.commit()
    return changed
