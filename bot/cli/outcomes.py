"""`peerbot outcomes record|list|plan`: what the learning led to, per authority and scheme.

Coordinators record stages reported to them by e-mail or at events; officers record their own
in chat with `/outcome`. Both go through `handlers.outcomes.service`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

if TYPE_CHECKING:
    from bot.app import Runtime

NAME = "outcomes"
app = typer.Typer(help="Learning plans and outcomes per authority.", no_args_is_help=True)


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{what} must be a date like 2026-11-30, not {text!r}", 2)


async def _authority_id(uow: Any, authority: str, country: str) -> int | None:
    from handlers.core.taxonomy import match_country

    code = match_country(country)
    found = await uow.authorities.find(authority, code) if code else None
    return found.id if found else None


@app.command("record")
def record(
    authority: str = typer.Option(..., help="authority name, as in the roster"),
    country: str = typer.Option(..., help="its country (ISO code or name)"),
    scheme: str = typer.Option(..., help="financing scheme (instrument code, e.g. epc)"),
    stage: str = typer.Option(
        ...,
        help="learning | project_defined | investment_ready | decision_taken | "
        "financed | implemented",
    ),
    on: str = typer.Option(None, "--date", help="day the stage was reached (default today)"),
    evidence: str = typer.Option(None, "--evidence", help="link to the evidence"),
    amount: int = typer.Option(None, "--amount", help="financed: amount in EUR"),
    instrument: str = typer.Option(None, "--instrument", help="financed: main instrument code"),
    sources: str = typer.Option(None, "--sources", help="financed: where the money comes from"),
    savings: float = typer.Option(None, "--savings-mwh", help="energy savings, MWh/year"),
    renewable: float = typer.Option(None, "--renewable-mwh", help="renewable energy, MWh/year"),
    co2: float = typer.Option(None, "--co2-t", help="CO2 avoided, t/year"),
    method: str = typer.Option(None, "--method", help="how the figures were estimated"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Record (or correct) a stage an authority reached with a scheme."""
    from handlers.outcomes import service

    async def go(rt: Runtime) -> dict[str, Any] | str:
        today = rt.clock.now().date()
        draft = service.OutcomeDraft(
            scheme=scheme,
            stage=stage,
            reached_on=_day(on, "--date") or today,
            evidence_url=evidence,
            amount_eur=amount,
            instrument=instrument,
            sources=sources,
            savings_mwh=savings,
            renewable_mwh=renewable,
            co2_t=co2,
            method=method,
        )
        content = rt.content.current
        async with rt.core.uow() as uow:
            authority_id = await _authority_id(uow, authority, country)
            if authority_id is None:
                return f"no authority {authority!r} in {country!r}; see `peerbot officers list`"
            try:
                row = await service.record_outcome(
                    uow,
                    None,
                    draft,
                    schemes=content.taxonomy.codes("instruments"),
                    today=today,
                    authority_id=authority_id,
                    coordinator=True,
                )
            except service.Invalid as exc:
                return content.t("en", f"outcomes.errors.{exc.key}", **exc.values)
            found = service.outcome_json(row)
            await uow.commit()
            return found

    found = arun(with_runtime(settings(), go))
    if isinstance(found, str):
        fail(found, 2)
    if json_out:
        dump(found)
    else:
        replication = " (replication)" if found["replication"] else ""
        typer.echo(
            f"recorded #{found['id']}: {authority} {found['scheme']} {found['stage']} "
            f"{found['reached_on']}{replication}"
        )


@app.command("list")
def list_outcomes(json_out: bool = typer.Option(False, "--json")) -> None:
    """Every authority with a plan or an outcome: its plan and its stages per scheme."""
    from handlers.outcomes import service

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.core.uow() as uow:
            return await service.list_outcomes(uow)

    rows = arun(with_runtime(settings(), go))
    if json_out:
        dump({"authorities": rows})
        return
    for r in rows:
        stages = ", ".join(f"{k}: {v}" for k, v in r["stage_by_scheme"].items()) or "-"
        plan = r["plan"]
        planned = f"plan {plan['scheme']} / {plan['sector']}" if plan else "no plan"
        typer.echo(f"{r['authority']} ({r['country']}): {planned}; {stages}")
