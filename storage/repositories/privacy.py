"""What is stored about people who never consented, and its removal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from storage.models import (
    Announcement,
    Authority,
    Conversation,
    Discussion,
    DiscussionFollower,
    DiscussionMessage,
    FaqQuery,
    GoodPractice,
    GroupMember,
    GroupNote,
    Identity,
    Invite,
    LearningPlan,
    MatchRequest,
    Membership,
    Officer,
    Outbox,
    OutcomeStage,
    Pair,
    PairStatus,
    PollAnswer,
    Programme,
    SatisfactionSurvey,
    StudyVisit,
)
from storage.repositories.base import Repository


class PreConsentRepo(Repository):
    """Identities with no officer: someone wrote to the bot but has not (yet) agreed.

    An identity whose onboarding conversation records `consent_at` has agreed and is only
    finishing onboarding: it is not pre-consent, and the stale-flow rule covers it.
    """

    async def _pending(self) -> list[tuple[int, datetime]]:
        """(identity id, last seen) of pre-consent identities, most recently seen first."""
        seen = func.coalesce(Identity.last_seen_at, Identity.created_at)
        stmt = (
            select(Identity.id, seen, Conversation.data)
            .outerjoin(Conversation, Conversation.identity_id == Identity.id)
            .where(Identity.officer_id.is_(None))
            .order_by(seen.desc(), Identity.id.desc())
        )
        rows = (await self.session.execute(stmt)).all()
        return [(int(i), s) for i, s, data in rows if not (data or {}).get("consent_at")]

    async def count(self) -> int:
        """How many pre-consent identities are stored."""
        return len(await self._pending())

    async def prune(self, seen_before: datetime, keep_at_most: int) -> int:
        """Delete pre-consent identities idle since `seen_before`, and the oldest beyond
        `keep_at_most`; their conversation goes with them (cascade)."""
        pending = await self._pending()
        doomed = [
            i for n, (i, seen) in enumerate(pending) if n >= keep_at_most or seen < seen_before
        ]
        for start in range(0, len(doomed), 500):
            chunk = doomed[start : start + 500]
            await self.session.execute(
                delete(Conversation).where(Conversation.identity_id.in_(chunk))
            )
            await self.session.execute(
                delete(Identity)
                .where(Identity.id.in_(chunk), Identity.officer_id.is_(None))
                .execution_options(synchronize_session=False)
            )
        return len(doomed)


_UNSENT = ("pending", "sending", "failed")


class PersonalDataRepo(Repository):
    """Everything stored about one officer: its export (GDPR Art. 15, 20) and erasure (Art. 17).

    Kept in one place so that a new table holding personal data is added to both at once."""

    async def open_pairs(self, officer_id: int) -> list[Pair]:
        """The officer's pairs that are neither closed nor declined."""
        stmt = select(Pair).where(
            or_(Pair.learner_id == officer_id, Pair.mentor_id == officer_id),
            Pair.status.notin_([PairStatus.CLOSED, PairStatus.DECLINED]),
        )
        return list((await self.session.execute(stmt)).scalars())

    async def export(self, officer: Officer) -> dict[str, Any]:
        """The officer's profile, identities, pairs, questions, practices and participation."""
        session = self.session
        oid = officer.id
        pairs = (
            await session.execute(
                select(Pair).where(or_(Pair.learner_id == oid, Pair.mentor_id == oid))
            )
        ).scalars()
        queries = (
            await session.execute(select(FaqQuery).where(FaqQuery.officer_id == oid))
        ).scalars()
        practices = (
            await session.execute(select(GoodPractice).where(GoodPractice.officer_id == oid))
        ).scalars()
        authority = officer.authority
        return {
            "officer": {
                "name": officer.name,
                "email": officer.email,
                "role": officer.role.value,
                "job_title": officer.job_title,
                "authority": {"name": authority.name, "country": authority.country}
                if authority
                else None,
                "languages": officer.languages,
                "locale": officer.locale,
                "timezone": officer.timezone,
                "sectors": officer.sectors,
                "wants": officer.wants,
                "offers": officer.offers,
                "consent_at": officer.consent_at.isoformat() if officer.consent_at else None,
                "consent_source": officer.consent_source,
                "status": officer.status.value,
                "created_at": officer.created_at.isoformat(),
            },
            "identities": [
                {"platform": i.platform, "user_id": i.user_id, "display_name": i.display_name}
                for i in officer.identities
            ],
            "pairs": [
                {
                    "id": p.id,
                    "role": "learner" if p.learner_id == oid else "mentor",
                    "topic": p.topic,
                    "status": p.status.value,
                }
                for p in pairs
            ],
            "questions": [
                {"text": q.text, "asked_at": q.created_at.isoformat(), "outcome": q.outcome}
                for q in queries
            ],
            "good_practices": [
                {
                    "title": g.title,
                    "status": g.status,
                    "sector": g.sector,
                    "instruments": g.instruments,
                    "year": g.year,
                    "summary": g.summary,
                    "figures": g.figures,
                    "created_at": g.created_at.isoformat(),
                }
                for g in practices
            ],
            "satisfaction_surveys": [
                {
                    "pair_id": v.pair_id,
                    "score": v.score,
                    "comment": v.comment,
                    "answered_at": v.answered_at.isoformat() if v.answered_at else None,
                }
                for v in (
                    await session.execute(
                        select(SatisfactionSurvey).where(SatisfactionSurvey.officer_id == oid)
                    )
                ).scalars()
            ],
            **await self._participation(officer),
        }

    async def _participation(self, officer: Officer) -> dict[str, Any]:
        """Programmes, match requests, poll answers and discussions of the officer."""
        session = self.session
        oid = officer.id
        home = await session.get(Programme, officer.programme_id) if officer.programme_id else None
        joined = (
            await session.execute(
                select(Membership, Programme)
                .join(Programme, Programme.id == Membership.programme_id)
                .where(Membership.officer_id == oid)
            )
        ).all()
        requests = (
            await session.execute(select(MatchRequest).where(MatchRequest.officer_id == oid))
        ).scalars()
        answers = (
            await session.execute(
                select(PollAnswer, Announcement)
                .join(Announcement, Announcement.id == PollAnswer.announcement_id)
                .where(PollAnswer.officer_id == oid)
            )
        ).all()
        messages = (
            await session.execute(
                select(DiscussionMessage, Discussion)
                .join(Discussion, Discussion.id == DiscussionMessage.discussion_id)
                .where(DiscussionMessage.officer_id == oid)
                .order_by(DiscussionMessage.id)
            )
        ).all()
        followed = (
            await session.execute(
                select(DiscussionFollower.discussion_id).where(DiscussionFollower.officer_id == oid)
            )
        ).scalars()
        return {
            "memberships": (
                [{"programme": home.slug, "role": officer.role.value, "home": True}] if home else []
            )
            + [{"programme": p.slug, "role": m.role.value, "home": False} for m, p in joined],
            "match_requests": [
                {"topic": r.topic, "status": r.status, "created_at": r.created_at.isoformat()}
                for r in requests
            ],
            "poll_answers": [
                {
                    "question": (ann.poll or {}).get("question"),
                    "choices": [
                        _option((ann.poll or {}).get("options", []), c) for c in answer.choices
                    ],
                    "text": answer.text,
                    "answered_at": answer.answered_at.isoformat(),
                }
                for answer, ann in answers
            ],
            "discussion_messages": [
                {
                    "discussion": d.topic,
                    "platform": m.platform,
                    "text": m.text,
                    "written_at": m.created_at.isoformat(),
                }
                for m, d in messages
            ],
            "discussions_followed": sorted(followed),
            "group_notes": [
                {"group": n.group_id, "text": n.text, "written_at": n.created_at.isoformat()}
                for n in (
                    await session.execute(
                        select(GroupNote).where(GroupNote.author_id == oid).order_by(GroupNote.id)
                    )
                ).scalars()
            ],
            "study_visits": [
                {
                    "group": v.group_id,
                    "visitors": v.visitors,
                    "place": v.place,
                    "dates": v.dates,
                    "purpose": v.purpose,
                    "status": v.status,
                }
                for v in (
                    await session.execute(
                        select(StudyVisit)
                        .where(StudyVisit.officer_id == oid)
                        .order_by(StudyVisit.id)
                    )
                ).scalars()
            ],
        }

    async def erase(self, officer: Officer) -> None:
        """Delete the officer and what they wrote; keep anonymous traces the figures need.

        Conversations and unsent messages go; sent messages keep no body or chat; relayed
        copies of their discussion, pair and group messages lose their text, their group
        notes go; FAQ questions keep only the
        outcome; unpublished practices go, published ones lose the contact; the authority
        goes when nothing else refers to it (its name is what they typed)."""
        session = self.session
        identity_ids = [i.id for i in officer.identities]
        chat_ids = [i.dm_chat_id for i in officer.identities if i.dm_chat_id]
        await session.execute(
            delete(Conversation).where(Conversation.identity_id.in_(identity_ids))
        )
        await session.execute(
            delete(Outbox).where(
                or_(Outbox.officer_id == officer.id, Outbox.chat_id.in_(chat_ids)),
                Outbox.status.in_(_UNSENT),
            )
        )
        await session.execute(
            update(Outbox).where(Outbox.officer_id == officer.id).values(payload={}, chat_id="")
        )
        # relays are keyed by the source message (handlers/discussions/bridge.py)
        written = await session.execute(
            select(
                DiscussionMessage.discussion_id,
                DiscussionMessage.platform,
                DiscussionMessage.platform_message_id,
            ).where(
                DiscussionMessage.officer_id == officer.id,
                DiscussionMessage.platform_message_id.isnot(None),
            )
        )
        for discussion_id, platform, message_id in written.all():
            relays = Outbox.idempotency_key.like(f"relay:{discussion_id}:{platform}:{message_id}:%")
            await session.execute(delete(Outbox).where(relays, Outbox.status.in_(_UNSENT)))
            await session.execute(update(Outbox).where(relays).values(payload={}))
        # pair and group relays are keyed by their author (handlers/delivery/relay.py)
        authored = Outbox.idempotency_key.like(f"%:relay:o{officer.id}:%")
        await session.execute(delete(Outbox).where(authored, Outbox.status.in_(_UNSENT)))
        await session.execute(update(Outbox).where(authored).values(payload={}))
        notes = await session.execute(
            select(GroupNote.group_id, GroupNote.id).where(GroupNote.author_id == officer.id)
        )
        for group_id, note_id in notes.all():  # posted to the group's spaces (groups/meetings)
            posted = Outbox.idempotency_key.like(f"group:{group_id}:note:{note_id}:%")
            await session.execute(delete(Outbox).where(posted, Outbox.status.in_(_UNSENT)))
            await session.execute(update(Outbox).where(posted).values(payload={}))
        await session.execute(delete(GroupNote).where(GroupNote.author_id == officer.id))
        await session.execute(  # the visit stays the group's; who asked and who travels go
            update(StudyVisit)
            .where(StudyVisit.officer_id == officer.id)
            .values(officer_id=None, visitors="")
        )
        await session.execute(
            update(FaqQuery)
            .where(FaqQuery.officer_id == officer.id)
            .values(text="", officer_id=None, identity_id=None, answer_text=None)
        )
        await session.execute(
            update(FaqQuery)
            .where(FaqQuery.identity_id.in_(identity_ids))
            .values(text="", identity_id=None)
        )
        await self._erase_practices(officer)
        authority_id = officer.authority_id
        await session.delete(officer)
        await session.flush()
        await self._erase_authority(authority_id)

    async def _erase_practices(self, officer: Officer) -> None:
        """Practices never published go whole, with the review requests that carried them; a
        published one stays with the authority, without its personal contact."""
        session = self.session
        practices = (
            (
                await session.execute(
                    select(GoodPractice).where(GoodPractice.officer_id == officer.id)
                )
            )
            .scalars()
            .all()
        )
        for practice in practices:
            if practice.status == "approved":
                practice.figures = {
                    k: v for k, v in (practice.figures or {}).items() if k != "contact"
                }
                continue
            review = (Outbox.purpose == "practice", Outbox.ref_id == practice.id)
            await session.execute(delete(Outbox).where(*review, Outbox.status.in_(_UNSENT)))
            await session.execute(update(Outbox).where(*review).values(payload={}))
            await session.delete(practice)
        await session.flush()

    async def _erase_authority(self, authority_id: int | None) -> None:
        """The authority goes when no officer, practice, invite or group seat refers to it."""
        if authority_id is None:
            return
        # an authority's plan and outcomes stay with it: they keep it too
        for model in (Officer, GoodPractice, Invite, LearningPlan, OutcomeStage, GroupMember):
            used = select(model.id).where(model.authority_id == authority_id).limit(1)
            if (await self.session.execute(used)).first() is not None:
                return
        await self.session.execute(delete(Authority).where(Authority.id == authority_id))


def _option(options: list[Any], index: Any) -> Any:
    """The label of a ticked option (its index when the poll no longer has it)."""
    i = int(index) if str(index).isdigit() else -1
    return options[i] if 0 <= i < len(options) else index
