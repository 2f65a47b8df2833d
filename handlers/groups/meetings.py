"""After a session: attendance and notes, kept with the group.

An hour after a scheduled session started, the `group_attendance` job marks it held and asks
the group's mentors (the coordinators when it has none reachable) who came: one button per
member, ticked for present, then "Done" records the others as absent. The CLI
(`peerbot groups attendance`) records the same through `record_attendance`. Notes or a summary
(`/notes`, `peerbot groups notes`) are kept with the group, posted to its spaces and listed to
members with `/notes`. Who may do what is checked here, once, for chat and CLI alike: the
group's mentors and the coordinators of its programme record attendance; any member or
coordinator posts notes; members and coordinators read them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.delivery.outbox import officer_locale, payload, preferred_identity, queue_to_officer
from handlers.groups.service import Refused
from handlers.groups.sessions import local_time
from storage.models import GroupNote, GroupSession, Officer, OfficerStatus, PeerGroup
from storage.repositories.group_life import LIVE
from storage.uow import UnitOfWork

ASK_AFTER = timedelta(hours=1)
BATCH = 50
MIN_NOTE, MAX_NOTE = 3, 4000
SHOWN_NOTES = 10


# -- who may ------------------------------------------------------------------------------


async def coordinates(uow: UnitOfWork, group: PeerGroup, officer: Officer) -> bool:
    """Whether the officer coordinates the programme the group's cycle belongs to."""
    cycle = await uow.cycles.get(group.cycle_id)
    if cycle is None or cycle.programme_id is None:
        return False
    return cycle.programme_id in await uow.officers.coordinated_programme_ids(officer)


async def role_in(uow: UnitOfWork, group: PeerGroup, officer: Officer | None) -> str | None:
    """'operator' (the CLI: no officer), 'mentor', 'learner', 'coordinator' or None."""
    if officer is None:
        return "operator"
    seat = await uow.group_life.seat(group.id, officer.id)
    if seat is not None:
        return seat.role
    return "coordinator" if await coordinates(uow, group, officer) else None


async def active_members(uow: UnitOfWork, group_id: int) -> list[tuple[str, Officer]]:
    return [
        (m.role, o)
        for m, o in await uow.groups.members(group_id)
        if o is not None and o.status == OfficerStatus.ACTIVE
    ]


# -- attendance ---------------------------------------------------------------------------


async def _held_session(uow: UnitOfWork, session_id: int, now: datetime) -> GroupSession:
    session = await uow.groups.get_session(session_id)
    if session is None or session.starts_at is None or session.status not in ("scheduled", "held"):
        raise Refused(f"session #{session_id} was never scheduled")
    if session.starts_at > now:
        raise Refused(f"session #{session_id} has not taken place yet")
    return session


async def record_attendance(
    uow: UnitOfWork,
    session_id: int,
    actor: Officer | None,
    present: dict[int, bool],
    now: datetime,
) -> dict[str, Any]:
    """Record who attended a session that took place (the mentors, coordinators, the CLI)."""
    session = await _held_session(uow, session_id, now)
    group = await uow.groups.get(session.group_id)
    if group is None or await role_in(uow, group, actor) not in (
        "operator",
        "mentor",
        "coordinator",
    ):
        raise Refused("only the group's mentors and the programme's coordinators record attendance")
    members = {o.id for _, o in await active_members(uow, group.id)}
    strangers = sorted(set(present) - members)
    if strangers:
        raise Refused(f"not members of group #{group.id}: {strangers}")
    life = uow.group_life
    for officer_id, here in present.items():
        await life.set_attendance(session.id, officer_id, here, actor.id if actor else None, now)
    if session.status == "scheduled":
        await life.mark_held(session.id)
    await life.touch(group.id, now)
    return await attendance_json(uow, session.id)


async def attendance_json(uow: UnitOfWork, session_id: int) -> dict[str, Any]:
    session = await uow.groups.get_session(session_id)
    if session is None:
        raise Refused(f"no session #{session_id}")
    marks = await uow.group_life.attendance(session.id)
    people = [
        {"email": o.email, "name": o.name, "role": role, "present": marks.get(o.id)}
        for role, o in await active_members(uow, session.group_id)
    ]
    return {
        "session": session.id,
        "group": session.group_id,
        "starts_at": session.starts_at.isoformat() if session.starts_at else None,
        "members": people,
        "present": sum(1 for p in people if p["present"]),
        "recorded": sum(1 for p in people if p["present"] is not None),
    }


async def officers_by_email(uow: UnitOfWork, emails: list[str]) -> dict[str, Officer]:
    found: dict[str, Officer] = {}
    for email in emails:
        officer = await uow.officers.by_email(email.strip().lower())
        if officer is None:
            raise Refused(f"no officer {email!r}")
        found[email] = officer
    return found


def _attendance_choices(
    content: Content,
    locale: str,
    session: GroupSession,
    people: list[Officer],
    marks: dict[int, bool],
) -> list[Choice]:
    choices = [
        Choice(f"gat:{session.id}:{o.id}", o.name[:60], bool(marks.get(o.id))) for o in people
    ]
    choices.append(
        Choice(f"gat:{session.id}:done", content.t(locale, "groups.life.attendance_done"))
    )
    return choices


@job("group_attendance")
async def ask_attendance(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Ask the mentors of sessions that took place who attended (once per session)."""
    now = core.clock.now()
    asked = 0
    async with core.uow() as uow:
        life = uow.group_life
        for session in await life.held_unasked(now - ASK_AFTER, BATCH):
            if not await life.mark_held(session.id):
                continue
            group = await uow.groups.get(session.group_id)
            if group is None or session.starts_at is None:
                continue
            cycle = await uow.cycles.get(group.cycle_id)
            programme_id = cycle.programme_id if cycle else None
            content = await core.content.of_programme(uow, programme_id)
            members = await active_members(uow, group.id)
            people = [o for _, o in members]
            askers = [o for role, o in members if role == "mentor" and preferred_identity(o)]
            askers = askers or list(await uow.officers.coordinators(programme_id))
            for asker in askers:
                locale = officer_locale(asker, content, preferred_identity(asker))
                asked += await queue_to_officer(
                    uow,
                    content,
                    core.secret,
                    asker,
                    "groups.life.attendance_ask",
                    idempotency_key=f"gsession:{session.id}:attendance:{asker.id}",
                    values={
                        "scheme": content.taxonomy.label("instruments", group.scheme, locale),
                        "when": local_time(session.starts_at, asker.timezone, locale),
                    },
                    choices=_attendance_choices(content, locale, session, people, {}),
                    multi=True,
                    purpose="group_session",
                    ref_id=session.id,
                )
        await uow.commit()
    return asked


@router.choice("gat")
async def press_attendance(event: Incoming, ctx: Ctx) -> None:
    """A mentor ticks who came, then "Done" records everyone else as absent."""
    _, session_id, what = ((event.choice or "") + "::").split(":", 2)
    what = what.rstrip(":")
    session = await ctx.uow.groups.get_session(int(session_id)) if session_id.isdigit() else None
    group = await ctx.uow.groups.get(session.group_id) if session else None
    if session is None or group is None or session.starts_at is None:
        await ctx.reply("errors.expired_choice")
        return
    life = ctx.uow.group_life
    people = [o for _, o in await active_members(ctx.uow, group.id)]
    marks = await life.attendance(session.id)
    try:
        if what == "done":
            absent = {o.id: False for o in people if o.id not in marks or not marks[o.id]}
            found = await record_attendance(
                ctx.uow, session.id, ctx.officer, absent, ctx.clock.now()
            )
            await ctx.reply(
                "groups.life.attendance_saved",
                edit=True,
                present=found["present"],
                total=len(found["members"]),
            )
            return
        if not what.isdigit():
            await ctx.reply("errors.expired_choice")
            return
        here = not marks.get(int(what), False)
        await record_attendance(
            ctx.uow, session.id, ctx.officer, {int(what): here}, ctx.clock.now()
        )
    except Refused:
        await ctx.reply("groups.life.not_allowed")
        return
    marks = await life.attendance(session.id)
    await ctx.reply(
        "groups.life.attendance_ask",
        choices=_attendance_choices(ctx.content, ctx.locale, session, people, marks),
        multi=True,
        edit=True,
        scheme=ctx.content.taxonomy.label("instruments", group.scheme, ctx.locale),
        when=local_time(
            session.starts_at, ctx.officer.timezone if ctx.officer else "UTC", ctx.locale
        ),
    )


# -- notes --------------------------------------------------------------------------------


async def add_note(
    uow: UnitOfWork,
    content: Content,
    group_id: int,
    actor: Officer | None,
    text: str,
    now: datetime,
    session_id: int | None = None,
) -> dict[str, Any]:
    """Keep notes or a summary with a group and post them to its spaces."""
    group = await uow.groups.get(group_id)
    if group is None:
        raise Refused(f"no group #{group_id}")
    if await role_in(uow, group, actor) is None:
        raise Refused("only the group's members and the programme's coordinators post notes")
    text = text.strip()
    if not MIN_NOTE <= len(text) <= MAX_NOTE:
        raise Refused(f"notes have {MIN_NOTE}-{MAX_NOTE} characters")
    if session_id is not None:
        session = await uow.groups.get_session(session_id)
        if session is None or session.group_id != group.id:
            raise Refused(f"session #{session_id} is not one of group #{group.id}")
    life = uow.group_life
    note = await life.add_note(
        GroupNote(
            group_id=group.id,
            session_id=session_id,
            author_id=actor.id if actor else None,
            text=text,
            created_at=now,
        )
    )
    await life.touch(group.id, now)
    author = (
        actor.name if actor else content.t(content.t.resolve(None), "groups.life.the_coordinators")
    )
    for space in await uow.groups.spaces(group.id):
        if not space.chat_id:
            continue
        locale = content.t.resolve(group.language)
        await uow.outbox.enqueue(
            f"group:{group.id}:note:{note.id}:{space.platform}",
            space.platform,
            str(space.chat_id),
            payload(content.t(locale, "groups.life.note_posted", name=author, text=text)),
            thread_id=space.thread_id or None,
            purpose="group_note",
            ref_id=group.id,
        )
    return note_json(note, actor)


def note_json(note: GroupNote, author: Officer | None) -> dict[str, Any]:
    return {
        "id": note.id,
        "group": note.group_id,
        "session": note.session_id,
        "author": author.name if author else None,
        "text": note.text,
        "created_at": note.created_at.isoformat(),
    }


async def list_notes(
    uow: UnitOfWork, group_id: int, actor: Officer | None, limit: int = 50
) -> list[dict[str, Any]]:
    """A group's notes, newest first (for its members and coordinators)."""
    group = await uow.groups.get(group_id)
    if group is None:
        raise Refused(f"no group #{group_id}")
    if await role_in(uow, group, actor) is None:
        raise Refused("only the group's members and the programme's coordinators read its notes")
    found = []
    for note in await uow.group_life.notes(group.id, limit):
        author = await uow.officers.get(note.author_id) if note.author_id else None
        found.append(note_json(note, author))
    return found


async def which_group(ctx: Ctx, words: str) -> tuple[PeerGroup | None, str]:
    """The group a `/notes` or `/visit` is about, and the rest of the words: the group whose
    space this is, the one named `#12`, or the caller's only live group."""
    life = ctx.uow.group_life
    first, _, rest = words.strip().partition(" ")
    if first.startswith("#") and first[1:].isdigit():
        return await ctx.uow.groups.get(int(first[1:])), rest.strip()
    if ctx.event.chat_kind != "dm":
        space = await life.space_at(ctx.event.platform, ctx.event.chat_id, ctx.event.thread_id)
        if space is not None:
            return await ctx.uow.groups.get(space.group_id), words.strip()
    mine = await life.live_groups_of(ctx.officer.id) if ctx.officer else []
    return (mine[0] if len(mine) == 1 else None), words.strip()


async def tell_which(ctx: Ctx, command: str) -> None:
    """The caller is in several groups (or none): say how to name one."""
    mine = await ctx.uow.group_life.live_groups_of(ctx.officer.id) if ctx.officer else []
    if not mine:
        await ctx.reply("groups.life.no_group")
        return
    listing = "\n".join(
        f"#{g.id} {ctx.content.taxonomy.label('instruments', g.scheme, ctx.locale)}" for g in mine
    )
    await ctx.reply("groups.life.which_group", command=command, groups=listing)


@router.command("notes", member=True, group=True)
async def notes(event: Incoming, ctx: Ctx) -> None:
    """`/notes`: the group's notes; `/notes <text>` keeps notes or a summary with the group."""
    group, text = await which_group(ctx, event.args)
    if group is None or group.status not in LIVE:
        await tell_which(ctx, "/notes")
        return
    try:
        if text:
            await add_note(ctx.uow, ctx.content, group.id, ctx.officer, text, ctx.clock.now())
            await ctx.reply("groups.life.note_kept", id=group.id)
            return
        found = await list_notes(ctx.uow, group.id, ctx.officer, SHOWN_NOTES)
    except Refused as exc:
        if "characters" in str(exc):
            await ctx.reply("groups.life.note_length", min=MIN_NOTE, max=MAX_NOTE)
        else:
            await ctx.reply("groups.life.not_allowed")
        return
    scheme = ctx.content.taxonomy.label("instruments", group.scheme, ctx.locale)
    if not found:
        await ctx.reply("groups.life.no_notes", scheme=scheme)
        return
    zone = ctx.officer.timezone if ctx.officer else "UTC"
    lines = [
        ctx.t(
            "groups.life.note_line",
            when=local_time(datetime.fromisoformat(n["created_at"]), zone, ctx.locale),
            name=n["author"] or "—",
            text=n["text"],
        )
        for n in reversed(found)
    ]
    await ctx.reply("groups.life.notes", scheme=scheme, notes="\n\n".join(lines))
