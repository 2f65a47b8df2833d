"""`peerbot groups propose|approve|reject|show`: form peer-learning groups and review them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

if TYPE_CHECKING:
    from bot.app import Runtime
    from handlers.core.content import Content

NAME = "groups"
app = typer.Typer(help="Peer-learning groups of a cycle.", no_args_is_help=True)


def _worded(data: dict[str, Any], content: Content) -> dict[str, Any]:
    """A group with its reasons worded in English, as the CLI prints them."""
    from handlers.groups.rules import render_reasons

    return {**data, "reasons": render_reasons(content.t, content.taxonomy, "en", data["reasons"])}


def _unmatched_worded(rows: list[dict[str, Any]], content: Content) -> list[dict[str, Any]]:
    return [
        {"email": r["email"], "reason": content.t("en", f"groups.unmatched.{r['reason']}")}
        for r in rows
    ]


def _print_group(g: dict[str, Any]) -> None:
    mentors = ", ".join(sorted({m["authority"] for m in g["mentors"]}))
    learners = ", ".join(sorted({m["authority"] for m in g["learners"]}))
    status = f" {g['status']}" if "status" in g else ""
    typer.echo(
        f"#{g['id']:<4}{status} {g['scheme']:<16} {g['module'] or '-':<18} {g['score']:>7.2f}  "
        f"mentors: {mentors}; learners: {learners}"
    )
    for reason in g["reasons"]:
        typer.echo(f"        - {reason}")


def _committed(run: Any, what: str | None = None) -> Any:
    """`run(uow, rt)` in one transaction, committed; a refusal is one line ("cannot WHAT: …"
    when `what` is given) and exit 2."""
    from handlers.groups import service

    async def go(rt: Runtime) -> Any:
        async with rt.core.uow() as uow:
            done = await run(uow, rt)
            await uow.commit()
            return done

    try:
        return arun(with_runtime(settings(), go))
    except service.Refused as exc:
        fail(f"cannot {what}: {exc}" if what else str(exc), 2)


@app.command("propose")
def propose(
    cycle: int = typer.Option(None, "--cycle", help="cycle id (default: the latest)"),
    time_limit: float = typer.Option(30.0, "--time-limit", help="solver seconds at most"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Form groups for a cycle (exact optimisation) and store them as proposals."""
    from handlers.groups import service

    async def run(uow: Any, rt: Runtime) -> dict[str, Any]:
        found = await service.find_cycle(uow, cycle)
        data = await service.propose(uow, found, rt.clock.now(), time_limit)
        content = rt.content.current  # the wording reads no database
        data["groups"] = [_worded(g, content) for g in data["groups"]]
        data["unmatched"] = _unmatched_worded(data["unmatched"], content)
        return data

    data = _committed(run)
    if json_out:
        dump({k: data[k] for k in ("cycle", "groups", "unmatched", "figures")})
        return
    f = data["figures"]
    typer.echo(
        f"cycle {data['cycle']['id']} ({data['cycle']['name']}): {len(data['groups'])} group(s); "
        f"objective {f['objective']:.2f} ({f['method']}), greedy {f['greedy']:.2f}"
    )
    for g in data["groups"]:
        _print_group(g)
    for u in data["unmatched"]:
        typer.echo(f"  unmatched {u['email']}: {u['reason']}")


def _decide(ids: list[int], all_: bool, cycle: int | None, approving: bool, json_out: bool) -> None:
    from handlers.groups import service

    if not ids and not all_:
        fail("give group ids, or --all for every proposal of the cycle", 2)

    word = "approved" if approving else "rejected"

    async def run(uow: Any, rt: Runtime) -> dict[str, list[int]]:
        decided = await service.decide(
            uow, list(ids), rt.clock.now(), approving, cycle_id=cycle, every=all_
        )
        return {word: decided.done, "refused": decided.refused}

    result = _committed(run)
    if json_out:
        dump(result)
    else:
        typer.echo(f"{word}: {', '.join(f'#{i}' for i in result[word]) or 'none'}")
        if approving and result[word]:
            typer.echo("the running bot opens their spaces and introduces them at its next tick")
    if result["refused"]:
        listed = ", ".join(f"#{i}" for i in result["refused"])
        typer.echo(f"peerbot: not proposed (unknown or already reviewed): {listed}", err=True)
        raise typer.Exit(1)


@app.command("approve")
def approve(
    ids: list[int] = typer.Argument(None, help="group ids"),
    all_: bool = typer.Option(False, "--all", help="every proposal of the cycle"),
    cycle: int = typer.Option(None, "--cycle", help="cycle id (default: the latest)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Approve proposed groups; the running bot then opens their spaces and introduces them."""
    _decide(ids or [], all_, cycle, True, json_out)


@app.command("reject")
def reject(
    ids: list[int] = typer.Argument(None, help="group ids"),
    all_: bool = typer.Option(False, "--all", help="every proposal of the cycle"),
    cycle: int = typer.Option(None, "--cycle", help="cycle id (default: the latest)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Reject proposed groups."""
    _decide(ids or [], all_, cycle, False, json_out)


@app.command("show")
def show(group_id: int, json_out: bool = typer.Option(False, "--json")) -> None:
    """One group: its scheme, module, mentors, learners, reasons, status and spaces."""
    from handlers.groups import service

    async def go(rt: Runtime) -> dict[str, Any] | None:
        async with rt.core.uow() as uow:
            found = await service.show(uow, group_id, rt.clock.now())
            return _worded(found, rt.content.current) if found else None

    data = arun(with_runtime(settings(), go))
    if data is None:
        fail(f"no group #{group_id}; see `peerbot groups propose`", 1)
    if json_out:
        dump(data)
    else:
        _print_group(data)
        silence = data["silence"]
        why = f" ({silence['why']})" if silence["why"] else ""
        escalated = f", coordinators told {data['escalated_at']}" if data["escalated_at"] else ""
        typer.echo(
            f"        health: {data['state']}{why}; idle {silence['idle_days']} day(s), "
            f"{silence['unanswered']} check-in(s) unanswered{escalated}"
        )


@app.command("session")
def propose_session(
    group_id: int,
    slot: list[str] = typer.Option(..., "--slot", help="a start time, ISO with offset (repeat)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Offer a group's members session times to vote on (shown in each one's time zone)."""
    from datetime import UTC, datetime

    from handlers.groups import sessions

    try:
        times = [datetime.fromisoformat(s) for s in slot]
    except ValueError as exc:
        fail(f"--slot must be like 2027-01-12T10:00+01:00 ({exc})", 2)
    times = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in times]

    data = _committed(
        lambda uow, rt: sessions.propose_session(
            uow, rt.content.current, rt.core.secret, group_id, times, rt.clock.now()
        )
    )
    if json_out:
        dump(data)
    else:
        typer.echo(f"session {data['session']}: {len(data['slots'])} slot(s) sent for votes")


@app.command("schedule")
def schedule_session(session_id: int, json_out: bool = typer.Option(False, "--json")) -> None:
    """Close a session's vote: the most wanted slot is scheduled and reminders are set."""
    from handlers.groups import sessions

    data = _committed(
        lambda uow, rt: sessions.schedule_session(
            uow, rt.content.current, rt.core.secret, session_id, rt.clock.now()
        )
    )
    if json_out:
        dump(data)
    else:
        typer.echo(f"session {data['session']} at {data['starts_at']} ({data['votes']} vote(s))")


def _edit(what: str, run: Any) -> dict[str, Any]:
    """Run one coordinator edit in a transaction; a refusal is one line and exit 2."""
    from handlers.audit.service import NotAllowed

    try:
        done: dict[str, Any] = _committed(run, what)
        return done
    except NotAllowed:
        fail("no such group; see `peerbot groups propose` or `peerbot cycles report`", 1)


def _said(data: dict[str, Any], line: str, json_out: bool) -> None:
    if json_out:
        dump(data)
    else:
        typer.echo(line)


@app.command("move")
def move(
    group_id: int = typer.Argument(..., help="the group the authority is in"),
    member: str = typer.Argument(
        ..., help="an officer's e-mail (their authority) or an authority id"
    ),
    to: int = typer.Option(..., "--to", help="the group to move it to (same cycle)"),
    role: str = typer.Option(None, "--as", help="mentor or learner (default: as before)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Move an authority's seat to another group; refused if a hard rule would break."""
    from handlers.groups import edits

    async def run(uow: Any, rt: Runtime) -> dict[str, Any]:
        return await edits.move_member(
            uow,
            None,
            group_id,
            member,
            to,
            rt.clock.now(),
            rt.content.current,
            rt.core.secret,
            role=role,
        )

    data = _edit("move", run)
    _said(
        data,
        f"moved {data['moved']} from #{data['from']} to #{data['to']} ({data['role']})",
        json_out,
    )


@app.command("remove")
def remove(
    group_id: int = typer.Argument(...),
    member: str = typer.Argument(
        ..., help="an officer's e-mail (their authority) or an authority id"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Take an authority out of a group; refused if the group would break a hard rule."""
    from handlers.groups import edits

    async def run(uow: Any, rt: Runtime) -> dict[str, Any]:
        return await edits.remove_member(
            uow, None, group_id, member, rt.clock.now(), rt.content.current, rt.core.secret
        )

    data = _edit("remove", run)
    _said(data, f"removed {data['removed']} from #{data['group']}", json_out)


@app.command("add")
def add(
    group_id: int = typer.Argument(...),
    member: str = typer.Argument(
        ..., help="an officer's e-mail (their authority) or an authority id"
    ),
    role: str = typer.Option("learner", "--as", help="mentor or learner"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Seat an authority that applied to the cycle (e.g. an unmatched one) in a group."""
    from handlers.groups import edits

    async def run(uow: Any, rt: Runtime) -> dict[str, Any]:
        return await edits.add_member(
            uow, None, group_id, member, role, rt.clock.now(), rt.content.current, rt.core.secret
        )

    data = _edit("add", run)
    _said(data, f"added {data['added']} to #{data['group']} as {data['role']}", json_out)


@app.command("swap-mentor")
def swap_mentor(
    group_id: int = typer.Argument(...),
    old: str = typer.Argument(..., help="the mentor authority going (e-mail or id)"),
    new: str = typer.Argument(..., help="the mentor authority coming (e-mail or id)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Replace a group's mentor authority by another that offers the scheme."""
    from handlers.groups import edits

    async def run(uow: Any, rt: Runtime) -> dict[str, Any]:
        return await edits.swap_mentor(
            uow, None, group_id, old, new, rt.clock.now(), rt.content.current, rt.core.secret
        )

    data = _edit("swap the mentor", run)
    _said(
        data,
        f"#{data['group']}: {data['mentor_in']} mentors instead of {data['mentor_out']}",
        json_out,
    )


@app.command("takeover")
def takeover(
    group_id: int = typer.Argument(...),
    email: str = typer.Argument(..., help="the officer who takes their authority's seat"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Give an officer their authority's seat in a group (its history stays with the seat)."""
    from handlers.groups import edits

    async def run(uow: Any, rt: Runtime) -> dict[str, Any]:
        return await edits.take_over(
            uow, None, group_id, email, rt.clock.now(), rt.content.current, rt.core.secret
        )

    data = _edit("hand the seat over", run)
    _said(
        data, f"#{data['group']}: {data['to']} holds the seat (was {data['from'] or '-'})", json_out
    )


@app.command("leave")
def leave(
    email: str = typer.Argument(..., help="the officer who has left the programme for good"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Record that an officer left for good; a colleague of their authority takes each seat."""
    from handlers.groups import edits

    async def run(uow: Any, rt: Runtime) -> dict[str, Any]:
        seats = await edits.officer_left(
            uow, None, email, rt.clock.now(), rt.content.current, rt.core.secret
        )
        return {"officer": email, "seats": seats}

    data = _edit("record the departure", run)
    lines = [f"#{s['group']}: {s['to'] or 'vacant (coordinators told)'}" for s in data["seats"]]
    _said(data, "\n".join([f"{email} has left"] + lines), json_out)


@app.command("attendance")
def attendance(
    session_id: int,
    present: list[str] = typer.Option([], "--present", help="email of a member who came"),
    absent: list[str] = typer.Option([], "--absent", help="email of a member who did not"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Record (or, without --present/--absent, show) who attended a session that took place."""
    from handlers.groups import meetings

    async def run(uow: Any, rt: Runtime) -> dict[str, Any]:
        if not present and not absent:
            return await meetings.attendance_json(uow, session_id)
        people = await meetings.officers_by_email(uow, [*present, *absent])
        marks = {people[e].id: e in present for e in [*present, *absent]}
        return await meetings.record_attendance(uow, session_id, None, marks, rt.clock.now())

    data = _committed(run)
    if json_out:
        dump(data)
        return
    typer.echo(f"session {data['session']} of group #{data['group']}: {data['present']} present")
    for m in data["members"]:
        mark = {True: "present", False: "absent", None: "-"}[m["present"]]
        typer.echo(f"  {mark:<8} {m['email']} ({m['role']})")


@app.command("notes")
def notes(
    group_id: int,
    add: str | None = typer.Option(None, "--add", help="notes or a summary to keep"),
    session_id: int | None = typer.Option(None, "--session", help="the session they are about"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """List a group's notes, or keep new ones with it (posted to its spaces)."""
    from handlers.groups import meetings

    async def run(uow: Any, rt: Runtime) -> Any:
        if add is None:
            return await meetings.list_notes(uow, group_id, None)
        content = await rt.content.of_programme(uow, None)
        return await meetings.add_note(
            uow, content, group_id, None, add, rt.clock.now(), session_id
        )

    data = _committed(run)
    if json_out:
        dump(data)
        return
    for note in [data] if add is not None else data:
        typer.echo(f"#{note['id']} {note['created_at']} {note['author'] or 'coordinators'}:")
        typer.echo(f"  {note['text']}")


@app.command("visits")
def visits(
    group_id: int | None = typer.Option(None, "--group"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Study visit requests (of one group, or all), with their status."""
    from handlers.groups import visits as study

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.core.uow() as uow:
            return await study.list_visits(uow, group_id)

    data = arun(with_runtime(settings(), go))
    if json_out:
        dump({"visits": data})
        return
    for v in data:
        typer.echo(f"#{v['id']} group #{v['group']} {v['status']:<9} {v['place']} ({v['dates']})")


@app.command("visit-decide")
def visit_decide(
    visit_id: int,
    approve: bool = typer.Option(..., "--approve/--decline"),
    reason: str | None = typer.Option(None, "--reason", help="why (needed to decline)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Approve or decline a study visit request; the group's members are told."""
    from handlers.groups import visits as study

    async def run(uow: Any, rt: Runtime) -> dict[str, Any]:
        content = await rt.content.of_programme(uow, None)
        return await study.decide_visit(
            uow, content, rt.core.secret, visit_id, None, approve, reason, rt.clock.now()
        )

    data = _committed(run)
    if json_out:
        dump(data)
    else:
        typer.echo(f"study visit #{data['id']}: {data['status']}")
