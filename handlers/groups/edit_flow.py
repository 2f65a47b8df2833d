"""`/group` for coordinators in chat: the same edits as `peerbot groups move|remove|add|
swap-mentor|takeover` and the console, through `handlers.groups.edits`.

    /group 12                           the group: scheme, state, members
    /group 12 move EMAIL 14             move EMAIL's authority to group 14
    /group 12 remove EMAIL              take EMAIL's authority out
    /group 12 add EMAIL [mentor]        seat an authority that applied (as a learner by default)
    /group 12 swap OLD NEW              replace the mentor authority OLD by NEW
    /group 12 takeover EMAIL            give EMAIL their authority's seat
"""

from __future__ import annotations

from handlers.audit.service import Coordinator, NotAllowed
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.router import router
from handlers.groups import edits
from handlers.groups.service import Refused, show

VERBS = {"move": 2, "remove": 1, "add": 1, "swap": 2, "takeover": 1}


@router.command("group", coordinator=True)
async def edit_group(event: Incoming, ctx: Ctx) -> None:
    """Show or edit one group of a programme the coordinator runs."""
    assert ctx.officer is not None
    words = event.args.split()
    if not words or not words[0].lstrip("#").isdigit():
        await ctx.reply("groups.admin.usage")
        return
    group_id, verb, rest = int(words[0].lstrip("#")), (words[1:2] or [""])[0].lower(), words[2:]
    who = Coordinator(ctx.officer.id, frozenset(ctx.coordinates))
    now, content, secret = ctx.clock.now(), ctx.content, ctx.secret
    try:
        if not verb:
            await edits.check_access(ctx.uow, who, group_id)
            await _show(ctx, group_id)
            return
        if verb not in VERBS or len(rest) < VERBS[verb]:
            await ctx.reply("groups.admin.usage")
            return
        if verb == "move":
            if not rest[1].lstrip("#").isdigit():
                await ctx.reply("groups.admin.usage")
                return
            to = int(rest[1].lstrip("#"))
            await edits.move_member(ctx.uow, who, group_id, rest[0], to, now, content, secret)
        elif verb == "remove":
            await edits.remove_member(ctx.uow, who, group_id, rest[0], now, content, secret)
        elif verb == "add":
            role = rest[1].lower() if len(rest) > 1 else "learner"
            await edits.add_member(ctx.uow, who, group_id, rest[0], role, now, content, secret)
        elif verb == "swap":
            await edits.swap_mentor(ctx.uow, who, group_id, rest[0], rest[1], now, content, secret)
        else:
            await edits.take_over(ctx.uow, who, group_id, rest[0], now, content, secret)
    except NotAllowed:
        await ctx.reply("groups.admin.no_group", id=group_id)
        return
    except Refused as exc:
        await ctx.reply("groups.admin.refused", why=str(exc))
        return
    await ctx.reply("groups.admin.done", id=group_id)
    await _show(ctx, group_id)


async def _show(ctx: Ctx, group_id: int) -> None:
    data = await show(ctx.uow, group_id)
    if data is None:
        await ctx.reply("groups.admin.no_group", id=group_id)
        return

    def names(rows: list[dict[str, str]]) -> str:
        return ", ".join(sorted({r["authority"] for r in rows})) or "—"

    await ctx.reply(
        "groups.admin.show",
        id=group_id,
        scheme=ctx.content.taxonomy.label("instruments", data["scheme"], ctx.locale),
        status=data["status"],
        mentors=names(data["mentors"]),
        learners=names(data["learners"]),
    )
