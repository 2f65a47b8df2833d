"""Peer matching around the pure engine (`handlers.pairing.solver`): load, propose, approve.

A round reads the programme's consenting, active officers (learners: open requests, or their
wants when they have no live pair; mentors: offers and approved practices, minus live pairs
against `mentor_capacity`), never repeats a pair that is live, closed or declined, solves the
whole round at once and stores it as a `match_round` with `pair` rows in status `proposed`.
A coordinator approves (`peerbot match approve`, or choices after `/match`); the
`introductions` job (handlers/intros.py) then introduces approved pairs. Officers ask for a
peer with `/match <topic>`, which queues a `match_request` for the next round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.core.taxonomy import fold
from handlers.pairing.reasons import reasons_json, render_reasons
from handlers.pairing.solver import Person, Practice, Request, RoundResult, Weights, solve_round
from handlers.pairing.unmatched import CODES, Explainer, rejected_reason
from handlers.pairing.view import REJECTED_REASON, person_json, state
from storage.models import MatchRound, Officer, OfficerStatus, Pair, PairStatus, Role
from storage.repositories.pairs import RoundOfficer
from storage.repositories.practices import APPROVED
from storage.uow import UnitOfWork

REVIEW_SIZE = 8
"""Pairs shown with their own approve/reject choices in chat (the rest: 'Approve all')."""


@dataclass
class RoundInput:
    """What the engine needs, read from the store, plus the officers by id."""

    people: list[Person]
    requests: list[Request]
    practices: list[Practice]
    excluded: set[tuple[int, int]]
    officers: dict[int, RoundOfficer] = field(default_factory=dict)


def eligible(officer: Officer) -> bool:
    """Takes part in matching: an active officer (not a coordinator) who consented."""
    return (
        officer.role == Role.OFFICER
        and officer.status == OfficerStatus.ACTIVE
        and officer.consent_at is not None
        and officer.authority is not None
    )


async def round_input(uow: UnitOfWork, programme_id: int | None, now: datetime) -> RoundInput:
    """Load learners, mentors, requests, approved practices and exclusions for one round."""
    # Columns, not ORM objects, and no IN list of every officer: a round may hold 20,000.
    officers = {o.id: o for o in await uow.matches.round_officers(programme_id)}
    pairs = uow.pairs
    load = await pairs.mentor_load()
    live_topics = await pairs.live_topics()
    requests_by_officer: dict[int, list[Any]] = {}
    for req in await uow.matches.open_requests():
        if req.officer_id in officers:
            requests_by_officer.setdefault(req.officer_id, []).append(req)
    practices = [
        Practice(
            id=p.id,
            officer_id=p.officer_id,
            authority_name=officers[p.officer_id].authority_name,
            title=p.title,
            sector=p.sector,
            instruments=frozenset(p.instruments),
            year=p.year,
            summary=p.summary,
        )
        for p in await uow.practices.list(status=APPROVED)
        if p.officer_id in officers
    ]
    practised: dict[int, set[str]] = {}
    for practice in practices:
        practised.setdefault(practice.officer_id, set()).update(practice.instruments)
    people, requests = [], []
    for officer in officers.values():
        covered = live_topics.get(officer.id, set())
        wants = frozenset(str(c) for c in officer.wants) - covered
        own = requests_by_officer.get(officer.id, [])
        since = min([r.created_at for r in own] or [officer.created_at])
        people.append(
            Person(
                id=officer.id,
                name=officer.name,
                authority_id=officer.authority_id,
                authority_name=officer.authority_name,
                country=officer.country,
                population=officer.population,
                languages=frozenset(str(c) for c in officer.languages),
                sectors=frozenset(str(c) for c in officer.sectors),
                wants=wants,
                offers=frozenset(str(c) for c in officer.offers) | practised.get(officer.id, set()),
                capacity=officer.mentor_capacity,
                active_pairs=load.get(officer.id, 0),
                waiting_days=max(0, (now - since).days),
            )
        )
        topics = {r.topic for r in own if r.topic not in covered}
        if not own and wants and not covered:
            topics = {None}
        requests += [Request(officer.id, t) for t in sorted(topics, key=lambda t: t or "")]
    return RoundInput(people, requests, practices, await pairs.known_pairs(), officers)


@dataclass
class Proposed:
    """A stored round: its row, its pairs and the officers they name."""

    round: MatchRound
    pairs: list[Pair]
    officers: dict[int, RoundOfficer]


async def propose(
    uow: UnitOfWork, programme_id: int | None, now: datetime, weights: Weights | None = None
) -> Proposed:
    """Solve a round and store it (replacing proposals nobody reviewed); one round at a time."""
    await uow.pairs.lock_rounds(programme_id)
    await uow.pairs.drop_proposed(programme_id)
    data = await round_input(uow, programme_id, now)
    result: RoundResult = await asyncio.to_thread(
        solve_round,
        data.people,
        data.requests,
        data.practices,
        frozenset(data.excluded),
        weights or Weights(),
    )
    found = await uow.matches.add_round(programme_id, now)
    found.unmatched = await _unmatched(uow, programme_id, data, result)
    rows = [
        {
            "round_id": found.id,
            "programme_id": programme_id,
            "learner_id": proposal.learner_id,
            "mentor_id": proposal.mentor_id,
            "topic": proposal.topic,
            "score": proposal.score,
            "reasons": reasons_json(proposal.reasons),
            "status": PairStatus.PROPOSED,
            "created_at": now,
            "updated_at": now,
        }
        for proposal in result.pairs
    ]
    pairs = await uow.pairs.insert_many(rows)
    return Proposed(found, pairs, data.officers)


async def _unmatched(
    uow: UnitOfWork, programme_id: int | None, data: RoundInput, result: RoundResult
) -> list[dict[str, Any]]:
    """The round's unmatched requests with a code (`handlers.pairing.unmatched.explain`); when a
    coordinator's reject is what stands in the way, the reason says so."""
    rejected = {
        (p.learner_id or 0, p.mentor_id or 0)
        for p in await uow.pairs.list(programme_id, statuses=[PairStatus.DECLINED])
        if p.close_reason == REJECTED_REASON
    }
    people = {p.id: p for p in data.people}
    explainer = Explainer(data.people, data.excluded, rejected)
    rows = []
    for u in result.unmatched:
        code = explainer.code(people[u.learner_id], u.topic)
        reason = u.reason
        if code == "rejected":
            names = [
                data.officers[m].name
                for learner, m in sorted(rejected)
                if learner == u.learner_id
                and m in data.officers
                and (u.topic is None or u.topic in people[m].offers)
            ]
            reason = rejected_reason(u.topic, names)
        officer = data.officers[u.learner_id]
        rows.append(
            {
                "officer_id": u.learner_id,
                "email": officer.email,
                "name": officer.name,
                "topic": u.topic,
                "reason": reason,
                "code": code,
            }
        )
    return rows


@dataclass
class Decided:
    """Pairs a review changed, and the ids it could not (not found or no longer proposed)."""

    done: list[Pair] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)


async def approve(
    uow: UnitOfWork, pair_ids: Collection[int], now: datetime, programme_ids: set[int] | None = None
) -> Decided:
    """Approve proposed pairs (the introductions job takes it from there)."""
    return await _decide(uow, pair_ids, now, PairStatus.APPROVED, programme_ids)


async def reject(
    uow: UnitOfWork, pair_ids: Collection[int], now: datetime, programme_ids: set[int] | None = None
) -> Decided:
    """Reject proposed pairs: shown as `rejected` (never `declined`), never proposed again."""
    return await _decide(uow, pair_ids, now, PairStatus.DECLINED, programme_ids)


async def _decide(
    uow: UnitOfWork,
    pair_ids: Collection[int],
    now: datetime,
    to: PairStatus,
    programme_ids: set[int] | None,
) -> Decided:
    repo = uow.pairs
    decided = Decided()
    for pair_id in dict.fromkeys(pair_ids):
        pair = await repo.get(pair_id)
        visible = pair is not None and (programme_ids is None or pair.programme_id in programme_ids)
        extra: dict[str, Any] = {"updated_at": now}
        if to == PairStatus.DECLINED:
            extra.update(closed_at=now, close_reason=REJECTED_REASON)
        else:
            extra.update(approved_at=now)
        if (
            pair is None
            or not visible
            or not await repo.move(pair_id, [PairStatus.PROPOSED], to, **extra)
        ):
            decided.refused.append(pair_id)
            continue
        if to == PairStatus.APPROVED and pair.learner_id is not None:
            await uow.matches.close_request(pair.learner_id, pair.topic)
        decided.done.append(pair)
    return decided


async def round_to_show(
    uow: UnitOfWork, round_id: int | None, programme_id: int | None
) -> MatchRound | None:
    """The round asked for, else the programme's latest (None: there is none)."""
    repo = uow.matches
    if round_id is not None:
        return await repo.get_round(round_id)
    return await repo.latest_round(programme_id)


async def latest_proposed_ids(uow: UnitOfWork, programme_id: int | None) -> list[int]:
    """The pairs still proposed in the programme's latest round (`--all`)."""
    found = await uow.matches.latest_round(programme_id)
    return await proposed_ids(uow, found.id) if found else []


async def proposed_ids(uow: UnitOfWork, round_id: int) -> list[int]:
    """The pairs of a round still waiting for review."""
    pairs = await uow.pairs.list(round_id=round_id, statuses=[PairStatus.PROPOSED])
    return [p.id for p in pairs]


async def round_json(
    uow: UnitOfWork, found: MatchRound, statuses: Sequence[PairStatus] | None = None
) -> dict[str, Any]:
    """A round as `peerbot match propose --json` prints it."""
    pairs = await uow.pairs.list(round_id=found.id, statuses=statuses)
    people = await uow.matches.round_people(found.id)
    rows = []
    for pair in pairs:
        learner = people.get(pair.learner_id) if pair.learner_id else None
        mentor = people.get(pair.mentor_id) if pair.mentor_id else None
        rows.append(
            {
                "id": pair.id,
                "learner": person_json(learner),
                "mentor": person_json(mentor),
                "topic": pair.topic,
                "score": pair.score,
                "reasons": list(pair.reasons),
                "status": state(pair, None),  # a rejected proposal reads "rejected"
            }
        )
    return {
        "round": found.id,
        "created_at": found.created_at.isoformat(),
        "pairs": rows,
        "unmatched": [
            {
                "email": u.get("email"),
                "name": u.get("name"),
                "topic": u.get("topic"),
                "reason": u.get("reason"),
            }
            for u in found.unmatched or []
        ],
    }


# -- chat ------------------------------------------------------------------------------------


def _programme_of(ctx: Ctx) -> int | None:
    """The programme a coordinator works on: the one they are in, else the first coordinated."""
    if ctx.programme is not None and ctx.programme.id in ctx.coordinates:
        return ctx.programme.id
    return min(ctx.coordinates) if ctx.coordinates else None


@router.command("match", member=True)
async def match(event: Incoming, ctx: Ctx) -> None:
    """Coordinators: propose and review a round. Officers: `/match <topic>` asks for a peer."""
    words = fold(event.args)
    if ctx.is_coordinator:
        if words in ("propose", "round", "run"):
            await propose_in_chat(ctx)
        elif words in ("review", "proposals"):
            await review_in_chat(ctx)
        else:
            await ctx.reply(
                "match.coordinator_menu",
                choices=[
                    Choice("mtc:propose", ctx.t("match.propose")),
                    Choice("mtc:review", ctx.t("match.review")),
                ],
            )
        return
    if not words:
        await ask_topic(ctx)
        return
    topic = ctx.content.taxonomy.match("instruments", event.args)
    if topic is None:
        await ctx.reply("match.topic_unknown", answer=event.args[:60])
        await ask_topic(ctx)
        return
    await request_peer(ctx, topic)


async def ask_topic(ctx: Ctx) -> None:
    """Offer the instruments (the caller's wants first) and 'any of my interests'."""
    assert ctx.officer is not None
    tax = ctx.content.taxonomy
    wants = [str(c) for c in ctx.officer.wants if c in tax.codes("instruments")]
    codes = wants + [c for c in tax.codes("instruments") if c not in wants]
    choices = [Choice(f"mtr:{c}", tax.label("instruments", c, ctx.locale)) for c in codes]
    if wants:
        choices.insert(0, Choice("mtr:any", ctx.t("match.any_topic")))
    await ctx.reply("match.which_topic", choices=choices)


@router.choice("mtr")
async def press_topic(event: Incoming, ctx: Ctx) -> None:
    """The officer picked the topic they want a peer for."""
    code = (event.choice or "").partition(":")[2]
    if ctx.officer is None or ctx.officer.status != OfficerStatus.ACTIVE:
        await ctx.reply("errors.join_first")
        return
    if code != "any" and code not in ctx.content.taxonomy.codes("instruments"):
        await ctx.reply("errors.expired_choice")
        return
    await request_peer(ctx, None if code == "any" else code)


async def request_peer(ctx: Ctx, topic: str | None) -> None:
    """Queue a request for the next round (once per open topic)."""
    assert ctx.officer is not None
    label = (
        ctx.content.taxonomy.label("instruments", topic, ctx.locale)
        if topic
        else ctx.t("match.any_topic")
    )
    live = [
        p
        for p in await ctx.uow.pairs.list(
            officer_id=ctx.officer.id,
            statuses=[PairStatus.APPROVED, PairStatus.INTRODUCED, PairStatus.ACTIVE],
        )
        if p.learner_id == ctx.officer.id and p.topic == topic
    ]
    if live:
        await ctx.reply("match.already_paired", topic=label)
        return
    if topic and topic not in ctx.officer.wants:
        ctx.officer.wants = [*ctx.officer.wants, topic]
    added = await ctx.uow.matches.request(ctx.officer.id, topic, ctx.clock.now())
    await ctx.reply("match.requested" if added else "match.requested_already", topic=label)


async def propose_in_chat(ctx: Ctx) -> None:
    """Run a round for the coordinator's programme and show it for review."""
    proposed = await propose(ctx.uow, _programme_of(ctx), ctx.clock.now())
    await ctx.reply(
        "match.proposed",
        round=proposed.round.id,
        pairs=len(proposed.pairs),
        unmatched=len(proposed.round.unmatched or []),
    )
    await review_in_chat(ctx, proposed.round)


async def review_in_chat(ctx: Ctx, found: MatchRound | None = None) -> None:
    """Show a round's proposals with approve/reject choices."""
    found = found or await ctx.uow.matches.latest_round(_programme_of(ctx))
    if found is None:
        await ctx.reply("match.no_round")
        return
    data = await round_json(ctx.uow, found, [PairStatus.PROPOSED])
    if not data["pairs"]:
        await ctx.reply("match.nothing_to_review", round=found.id)
        return
    tax = ctx.content.taxonomy
    lines = [
        ctx.t(
            "match.pair_line",
            id=p["id"],
            learner=p["learner"]["name"],
            learner_authority=p["learner"]["authority"],
            mentor=p["mentor"]["name"],
            mentor_authority=p["mentor"]["authority"],
            topic=tax.label("instruments", p["topic"], ctx.locale),
            score=f"{p['score']:.2f}",
            reasons="; ".join(render_reasons(ctx.content.t, tax, ctx.locale, p["reasons"])),
        )
        for p in data["pairs"]
    ]
    choices = [Choice(f"mtc:all:{found.id}", ctx.t("match.approve_all", count=len(lines)))]
    for p in data["pairs"][:REVIEW_SIZE]:
        choices.append(Choice(f"mtc:ok:{p['id']}", ctx.t("match.approve_one", id=p["id"])))
        choices.append(Choice(f"mtc:no:{p['id']}", ctx.t("match.reject_one", id=p["id"])))
    if data["unmatched"]:
        choices.append(Choice(f"mtc:why:{found.id}", ctx.t("match.show_unmatched")))
    await ctx.reply("match.review_list", round=found.id, lines="\n\n".join(lines), choices=choices)


@router.choice("mtc", coordinator=True)
async def press_review(event: Incoming, ctx: Ctx) -> None:
    """A coordinator proposes, approves or rejects from the chat."""
    _, action, arg = ((event.choice or "") + "::").split(":", 2)
    arg = arg.rstrip(":")
    now, scope = ctx.clock.now(), set(ctx.coordinates)
    if action == "propose":
        await propose_in_chat(ctx)
    elif action == "review":
        await review_in_chat(ctx)
    elif action in ("ok", "no") and arg.isdigit():
        decide = approve if action == "ok" else reject
        decided = await decide(ctx.uow, [int(arg)], now, scope)
        key = "match.approved" if action == "ok" else "match.rejected"
        await ctx.reply(
            key if decided.done else "match.not_proposed", ids=arg, count=len(decided.done)
        )
    elif action == "all" and arg.isdigit():
        found = await ctx.uow.matches.get_round(int(arg))
        ids = await proposed_ids(ctx.uow, found.id) if found else []
        decided = await approve(ctx.uow, ids, now, scope)
        await ctx.reply(
            "match.approved",
            count=len(decided.done),
            ids=", ".join(f"#{p.id}" for p in decided.done) or "—",
        )
    elif action == "why" and arg.isdigit():
        found = await ctx.uow.matches.get_round(int(arg))
        rows = (found.unmatched or []) if found else []
        lines = "\n".join(_unmatched_line(ctx, u) for u in rows)
        await ctx.reply("match.unmatched_list", lines=lines or "—")
    else:
        await ctx.reply("errors.expired_choice")


def _unmatched_line(ctx: Ctx, row: dict[str, Any]) -> str:
    """A request left without a peer, for a coordinator: the topic's label and why, in words."""
    topic = row.get("topic")
    label = (
        ctx.content.taxonomy.label("instruments", topic, ctx.locale)
        if topic
        else ctx.t("match_why.any_topic")
    )
    code = row.get("code")
    why = ctx.t(f"match_why.{code}") if code in CODES else str(row.get("reason") or "—")
    return ctx.t("match.unmatched_line", name=row.get("name"), topic=label, reason=why)
