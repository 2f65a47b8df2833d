"""Learners a matching round left without a peer: why, in words they can act on, and telling them.

`explain` gives each unmatched request a code (`offers`, `language`, `authority`, `excluded`,
`rejected`, `capacity`, `taken`) by the same hard rules the engine applies, plus whether a
coordinator's reject is what stands in the way ("the only mentor was rejected for this
learner", never "all mentors are at capacity"). Once the coordinators have reviewed every
proposal of a programme's latest round (or a round with nothing to review has stood for an
hour), the `unmatched_notices` job tells each unmatched learner of that round, in their
language, why and what happens next; each entry of `match_round.unmatched` records `told_at`,
so nobody hears it twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.delivery.outbox import officer_locale, preferred_identity, queue_to_officer
from handlers.pairing.solver import Person
from handlers.pairing.view import LIVE
from storage.models import OfficerStatus, PairStatus

SETTLE = timedelta(hours=1)
"""A round that proposed nobody is told after this long (a rerun may replace it first)."""
CODES = ("offers", "language", "authority", "excluded", "rejected", "capacity", "taken")


def explain(
    learner: Person,
    topic: str | None,
    people: Sequence[Person],
    excluded: Collection[tuple[int, int]],
    rejected: Collection[tuple[int, int]],
) -> str:
    """Why a request found no mentor: the first hard rule that leaves nobody (see `CODES`)."""
    return Explainer(people, excluded, rejected).code(learner, topic)


@dataclass
class _Group:
    """Mentors offering some topics in some languages: how many, and how many have a slot.

    Counts only: a round of 20,000 meets a group per (topics, languages), and sets of the
    thousands of mentors of each cost over 100 MB."""

    size: int
    free: int


class Explainer:
    """`explain` for a whole round: the mentors offering some topics are counted once by
    their set of languages, so a group costs a pass over those sets, and a request its own
    authority and exclusions, not a pass over every officer (a round may leave thousands
    unmatched among 20,000 officers)."""

    def __init__(
        self,
        people: Sequence[Person],
        excluded: Collection[tuple[int, int]],
        rejected: Collection[tuple[int, int]],
    ) -> None:
        self.mentors = {m.id: m for m in people if m.offers}
        self.of_authority: dict[int, list[Person]] = {}
        for m in self.mentors.values():
            self.of_authority.setdefault(m.authority_id, []).append(m)
        self.excluded: dict[int, set[int]] = {}
        for learner_id, mentor_id in excluded:
            self.excluded.setdefault(learner_id, set()).add(mentor_id)
        self.rejected: dict[int, set[int]] = {}
        for learner_id, mentor_id in rejected:
            self.rejected.setdefault(learner_id, set()).add(mentor_id)
        self._offering: dict[frozenset[str], dict[frozenset[str], _Group]] = {}
        self._groups: dict[tuple[frozenset[str], frozenset[str]], _Group] = {}

    def _offer(self, topics: frozenset[str]) -> dict[frozenset[str], _Group]:
        """The mentors offering one of `topics`, counted by their set of languages."""
        if topics not in self._offering:
            by_languages: dict[frozenset[str], _Group] = {}
            for m in self.mentors.values():
                if m.offers & topics:
                    found = by_languages.setdefault(m.languages, _Group(0, 0))
                    found.size += 1
                    found.free += _has_slot(m)
            self._offering[topics] = by_languages
        return self._offering[topics]

    def _group(self, topics: frozenset[str], languages: frozenset[str]) -> _Group:
        key = (topics, languages)
        if key not in self._groups:
            found = [g for spoken, g in self._offer(topics).items() if spoken & languages]
            self._groups[key] = _Group(sum(g.size for g in found), sum(g.free for g in found))
        return self._groups[key]

    def _at_home(
        self, home: int, topics: frozenset[str], languages: frozenset[str]
    ) -> tuple[int, int]:
        """Mentors of the group who work at `home` (an authority has a few officers)."""
        found = [
            m
            for m in self.of_authority.get(home, [])
            if m.offers & topics and m.languages & languages
        ]
        return len(found), sum(_has_slot(m) for m in found)

    def code(self, learner: Person, topic: str | None) -> str:
        """The first hard rule that leaves this request nobody (see `CODES`)."""
        topics = frozenset({topic} if topic else learner.wants)
        me = self.mentors.get(learner.id)
        self_offers = me is not None and bool(me.offers & topics)
        if sum(g.size for g in self._offer(topics).values()) - self_offers == 0:
            return "offers"
        languages = frozenset(learner.languages)
        group = self._group(topics, languages)
        self_speaks = self_offers and me is not None and bool(me.languages & learner.languages)
        if group.size - self_speaks == 0:
            return "language"
        home = learner.authority_id
        at_home, free_at_home = self._at_home(home, topics, languages)
        others = group.size - at_home
        if not others:
            return "authority"

        def found(mentor_id: int) -> bool:
            m = self.mentors.get(mentor_id)
            return (
                m is not None
                and bool(m.offers & topics)
                and bool(m.languages & languages)
                and m.authority_id != home
            )

        was_rejected = any(found(m) for m in self.rejected.get(learner.id, ()))
        gone = [self.mentors[m] for m in self.excluded.get(learner.id, ()) if found(m)]
        still = others - len(gone)
        free = group.free - free_at_home
        free -= sum(_has_slot(m) for m in gone)
        if not free and was_rejected:
            return "rejected"
        if not still:
            return "excluded"
        return "taken" if free else "capacity"


def _has_slot(mentor: Person) -> bool:
    return mentor.capacity - mentor.active_pairs > 0


def rejected_reason(topic: str | None, names: Sequence[str]) -> str:
    """The coordinators' English line when a reject is what left a learner without a peer."""
    on = f" for {topic.replace('_', ' ')}" if topic else ""
    who = ", ".join(names) or "the only available mentor"
    return f"the only available mentor{on} ({who}) was rejected for this learner by a coordinator"


@job("unmatched_notices")
async def tell_unmatched(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Tell the learners of a reviewed round that it found them no peer, once each."""
    now = core.clock.now()
    told = 0
    async with core.uow() as uow:
        programmes = {p.id: p.slug for p in await uow.programmes.list()}
    for programme_id, slug in programmes.items():
        async with core.uow() as uow:
            found = await uow.matches.latest_round(programme_id)
            rows: list[dict[str, Any]] = list(found.unmatched or []) if found else []
            if found is None or all(r.get("told_at") or not r.get("officer_id") for r in rows):
                continue
            pairs = await uow.pairs.list(round_id=found.id)
            if any(p.status == PairStatus.PROPOSED for p in pairs):
                continue  # not reviewed yet: a new round may still replace it
            if not pairs and found.created_at > now - SETTLE:
                continue  # a round with nothing to review: give the coordinators time to rerun
            content = core.content.for_programme(slug)
            changed = []
            for row in rows:
                officer = await uow.officers.get(int(row.get("officer_id") or 0))
                if row.get("told_at") or officer is None:
                    changed.append(row)
                    continue
                live = await uow.pairs.list(officer_id=officer.id, statuses=LIVE)
                topic = row.get("topic")
                covered = any(p.learner_id == officer.id and p.topic == topic for p in live)
                if officer.status == OfficerStatus.ACTIVE and not covered:
                    locale = officer_locale(officer, content, preferred_identity(officer))
                    code = row.get("code") if row.get("code") in CODES else "taken"
                    codes = [topic] if topic else [str(c) for c in officer.wants]
                    label = ", ".join(
                        content.taxonomy.label("instruments", c, locale) for c in codes
                    ) or content.t(locale, "unmatched.any_topic")
                    told += await queue_to_officer(
                        uow,
                        content,
                        core.secret,
                        officer,
                        "unmatched.told",
                        idempotency_key=f"round:{found.id}:unmatched:{officer.id}:{topic or '*'}",
                        values={
                            "name": officer.name,
                            "topic": label,
                            "why": content.t(locale, f"unmatched.why_{code}"),
                        },
                        purpose="match",
                        ref_id=found.id,
                    )
                changed.append({**row, "told_at": now.isoformat()})
            found.unmatched = changed
            await uow.commit()
    return told
