"""Introductions nobody finished accepting: remind once after 9 days, then tell the coordinators.

The `intro_followups` job reads what is due from the pair's own marks (`introduced_at`,
`intro_reminded_at`, `intro_escalated_at`), so a restart or a second process never reminds
twice: each reminder is an outbox row with the key `pair:<id>:intro_reminder:<officer>`, the
coordinators' note `pair:<id>:intro_unanswered`. Reminders go out in the officer's working
hours, like check-ins; only the side that has not accepted is reminded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.replies import Choice
from handlers.delivery.outbox import officer_locale, preferred_identity, queue_to_officer
from handlers.pairing.view import notify_coordinators, topic_label, waiting_for, who, working_slot
from handlers.pairing.view import zone as officer_zone
from storage.models import Officer, OfficerStatus, Pair, PairStatus
from storage.uow import UnitOfWork

REMIND_AFTER = timedelta(days=9)
"""An introduction unanswered this long gets one reminder."""
ESCALATE_AFTER = timedelta(days=3)
"""Still unanswered this long after the reminder: the coordinators are told."""


@job("intro_followups")
async def follow_up_introductions(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Remind and escalate unanswered introductions; returns how many things it did."""
    now = core.clock.now()
    return await remind_unanswered(core, now) + await escalate_unanswered(core, now)


async def _sides(uow: UnitOfWork, pair: Pair) -> list[tuple[str, Officer]]:
    """(side, officer) of those who have not accepted yet and can still be asked."""
    found = []
    for side in waiting_for(pair):
        officer_id = pair.learner_id if side == "learner" else pair.mentor_id
        officer = await uow.officers.get(officer_id) if officer_id else None
        if officer is not None and officer.status == OfficerStatus.ACTIVE:
            found.append((side, officer))
    return found


def reminder_key(pair: Pair, officer: Officer) -> str:
    return f"pair:{pair.id}:intro_reminder:{officer.id}"


async def remind_unanswered(core: JobCtx, now: datetime) -> int:
    """One reminder per officer who has not accepted, 9 days after the introduction."""
    async with core.uow() as uow:
        ids = [p.id for p in await uow.intro_followups.to_remind(now - REMIND_AFTER)]
    queued = 0
    for pair_id in ids:
        async with core.uow() as uow:
            pair = await uow.pairs.get(pair_id)
            if pair is None or pair.status != PairStatus.INTRODUCED or pair.intro_reminded_at:
                continue
            content = await core.content.of_programme(uow, pair.programme_id)
            waiting = False
            for _, officer in await _sides(uow, pair):
                if working_slot(now, officer_zone(officer)) > now:
                    waiting = True  # after hours where they live: at the next working tick
                    continue
                other_id = pair.mentor_id if officer.id == pair.learner_id else pair.learner_id
                other = await uow.officers.get(other_id) if other_id else None
                locale = officer_locale(officer, content, preferred_identity(officer))
                queued += await queue_to_officer(
                    uow,
                    content,
                    core.secret,
                    officer,
                    "intro.reminder",
                    idempotency_key=reminder_key(pair, officer),
                    values={
                        "name": officer.name,
                        "partner": who(other),
                        "topic": topic_label(content, locale, pair.topic),
                        "days": (now - (pair.introduced_at or now)).days,
                    },
                    choices=[
                        Choice(f"pair:ok:{pair.id}", content.t(locale, "intro.accept")),
                        Choice(f"pair:no:{pair.id}", content.t(locale, "intro.decline")),
                    ],
                    purpose="intro",
                    ref_id=pair.id,
                )
            if not waiting:
                pair.intro_reminded_at = now
            await uow.commit()
    return queued


async def escalate_unanswered(core: JobCtx, now: datetime) -> int:
    """Tell the coordinators, once, about introductions still unanswered after the reminder."""
    async with core.uow() as uow:
        ids = [p.id for p in await uow.intro_followups.to_escalate(now - ESCALATE_AFTER)]
    told = 0
    for pair_id in ids:
        async with core.uow() as uow:
            pair = await uow.pairs.get(pair_id)
            if pair is None or pair.status != PairStatus.INTRODUCED or pair.intro_escalated_at:
                continue
            content = await core.content.of_programme(uow, pair.programme_id)
            learner = await uow.officers.get(pair.learner_id) if pair.learner_id else None
            mentor = await uow.officers.get(pair.mentor_id) if pair.mentor_id else None
            silent = [learner if side == "learner" else mentor for side in waiting_for(pair)]
            await notify_coordinators(
                uow,
                content,
                core.secret,
                pair.programme_id,
                "intro.unanswered_coordinators",
                idempotency=f"pair:{pair.id}:intro_unanswered",
                values={
                    "id": pair.id,
                    "topic": topic_label(content, "en", pair.topic),
                    "days": (now - (pair.introduced_at or now)).days,
                    "waiting": ", ".join(who(o) for o in silent),
                    "learner": who(learner),
                    "mentor": who(mentor),
                },
                ref_id=pair.id,
            )
            pair.intro_escalated_at = now
            await uow.commit()
            told += 1
    return told
