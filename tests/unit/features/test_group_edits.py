"""A coordinator edits a cycle's groups like pairs: moves, removals, additions and mentor swaps,
before and after approval, each refused with the rule it would break; when an officer leaves,
a colleague of the same authority takes over the seat and the group's history stays with it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.groups import edits, service
from handlers.groups.figures import cycle_figures
from storage.models import GroupMember, Officer, OfficerStatus, PeerGroup
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.support.peers import coordinator, officer, programme

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def cycle_with_groups(
    runtime: Runtime, layout: dict[str, list[Officer]], status: str = "proposed"
) -> tuple[int, dict[str, int]]:
    """A cycle (1 mentor, 2-3 learners a group) whose officers all applied, and these groups
    (first officer mentors); the ones left out are unmatched applicants."""
    await programme(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        made = await service.create_cycle(
            uow,
            runtime.content.current.taxonomy,
            name="Cycle 1",
            starts_on=date(2026, 11, 1),
            ends_on=date(2027, 4, 30),
            modules=["public_lighting"],
            programme_slug="prospect",
            sizes={"min_mentors": 1, "max_mentors": 1, "min_learners": 2, "max_learners": 3},
        )
        cycle = await uow.cycles.get(made["id"])
        assert cycle is not None
        ids: dict[str, int] = {}
        for name, people in layout.items():
            group = await uow.groups.add(
                PeerGroup(cycle_id=cycle.id, scheme="epc", language="en", status=status),
                [
                    GroupMember(
                        authority_id=p.authority_id,
                        officer_id=p.id,
                        role="mentor" if n == 0 else "learner",
                    )
                    for n, p in enumerate(people)
                ],
            )
            ids[name] = group.id
        await uow.commit()
        return cycle.id, ids


async def apply_all(runtime: Runtime, cycle_id: int, people: list[Officer]) -> None:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        cycle = await uow.cycles.get(cycle_id)
        assert cycle is not None
        for p in people:
            person = await uow.officers.get(p.id)
            assert person is not None
            await service.apply(uow, cycle, person, list(p.wants), list(p.offers), capacity=1)
        await uow.commit()


async def mentor(runtime: Runtime, name: str, city: str, country: str) -> Officer:
    return await officer(runtime, name, authority=city, country=country, offers=("epc",))


async def learner(
    runtime: Runtime, name: str, city: str, country: str, langs: tuple[str, ...] = ("en",)
) -> Officer:
    return await officer(
        runtime, name, authority=city, country=country, wants=("epc",), languages=langs
    )


async def seats(runtime: Runtime, group_id: int) -> list[tuple[str, str]]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        data = await service.show(uow, group_id)
        assert data is not None
        return [("mentor", m["authority"]) for m in data["mentors"]] + [
            ("learner", m["authority"]) for m in data["learners"]
        ]


async def edit(runtime: Runtime, verb: str, *args: object, **kw: object) -> dict:  # type: ignore[type-arg]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        done = await getattr(edits, verb)(
            uow, None, *args, NOW, runtime.content.current, runtime.core.secret, **kw
        )
        await uow.commit()
        return done  # type: ignore[no-any-return]


async def refused(runtime: Runtime, verb: str, *args: object, **kw: object) -> str:
    with pytest.raises(service.Refused) as caught:
        await edit(runtime, verb, *args, **kw)
    return str(caught.value)


async def test_moves_removals_additions_and_swaps_keep_every_hard_rule(runtime: Runtime) -> None:
    ghent = await mentor(runtime, "Pieter Janssens", "Ghent", "BE")
    vienna = await mentor(runtime, "Lena Huber", "Vienna", "AT")
    madrid = await mentor(runtime, "Carmen Ruiz", "Madrid", "ES")
    lyon = await learner(runtime, "Marie Dubois", "Lyon", "FR")
    zagreb = await learner(runtime, "Ivana Horvat", "Zagreb", "HR")
    porto = await learner(runtime, "João Silva", "Porto", "PT")
    gdansk = await learner(runtime, "Ola Nowak", "Gdańsk", "PL")
    tallinn = await learner(runtime, "Kadri Tamm", "Tallinn", "EE")
    riga = await learner(runtime, "Anna Ozola", "Riga", "LV")
    paris = await learner(runtime, "Paul Martin", "Paris", "FR")
    nantes = await learner(runtime, "Luc Petit", "Nantes", "BE", langs=("fr",))
    everyone = [ghent, vienna, madrid, lyon, zagreb, porto, gdansk, tallinn, riga, paris, nantes]
    cycle_id, g = await cycle_with_groups(
        runtime, {"a": [ghent, lyon, zagreb, porto], "b": [vienna, gdansk, tallinn]}
    )
    await apply_all(runtime, cycle_id, everyone)
    a, b = g["a"], g["b"]

    done = await edit(runtime, "move_member", a, porto.email, b)
    assert done == {"moved": "Porto", "from": a, "to": b, "role": "learner"}
    assert ("learner", "Porto") in await seats(runtime, b)

    why = await refused(runtime, "move_member", a, lyon.email, b)
    assert f"group #{b} (epc): 4 learner authorities" in why
    assert f"group #{a} (epc): 1 learner authorities" in why
    assert "would break a rule" in await refused(
        runtime, "remove_member", a, str(zagreb.authority_id)
    )

    assert (await edit(runtime, "add_member", a, riga.email, "learner"))["added"] == "Riga"
    assert await seats(runtime, a) == [
        ("mentor", "Ghent"),
        ("learner", "Lyon"),
        ("learner", "Zagreb"),
        ("learner", "Riga"),
    ]
    assert "does not speak en" in await refused(runtime, "add_member", b, nantes.email, "learner")
    await edit(runtime, "remove_member", a, riga.email)
    await edit(runtime, "move_member", b, porto.email, a)
    await edit(runtime, "move_member", a, lyon.email, b)
    await edit(runtime, "remove_member", b, gdansk.email)
    why = await refused(runtime, "add_member", b, paris.email, "learner")
    assert why == (
        f"this change would break a rule: group #{b} (epc): 2 learner authorities from FR"
    )

    why = await refused(runtime, "swap_mentor", a, ghent.email, vienna.email)
    assert "Vienna mentors 2 groups (capacity 1)" in why
    assert "does not mentor" in await refused(runtime, "swap_mentor", a, lyon.email, madrid.email)
    swapped = await edit(runtime, "swap_mentor", a, ghent.email, madrid.email)
    assert swapped == {"group": a, "mentor_out": "Ghent", "mentor_in": "Madrid"}
    assert (await seats(runtime, a))[0] == ("mentor", "Madrid")

    why = await refused(runtime, "add_member", a, "nobody@nowhere.example", "learner")
    assert "no officer" in why
    async with UnitOfWork(runtime.sessionmaker) as uow:
        group = await uow.groups.get(a)
        assert group is not None
        authorities = {r.get("authority") for r in group.reasons if r.get("authority")}
        assert authorities == {"Madrid", "Zagreb", "Porto"}  # reasons follow members
        assert group.score > 0


async def test_after_approval_members_are_told_and_closed_groups_do_not_change(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    ghent = await mentor(runtime, "Pieter Janssens", "Ghent", "BE")
    lyon = await learner(runtime, "Marie Dubois", "Lyon", "FR")
    zagreb = await learner(runtime, "Ivana Horvat", "Zagreb", "HR")
    porto = await learner(runtime, "João Silva", "Porto", "PT")
    riga = await learner(runtime, "Anna Ozola", "Riga", "LV")
    cycle_id, g = await cycle_with_groups(
        runtime, {"a": [ghent, lyon, zagreb, porto]}, status="introduced"
    )
    await apply_all(runtime, cycle_id, [ghent, lyon, zagreb, porto, riga])

    await edit(runtime, "remove_member", g["a"], porto.email)
    await edit(runtime, "add_member", g["a"], riga.email, "learner")
    await runtime.tick()
    assert "taken your authority out of the peer-learning group" in messenger.transcript("joão")
    assert "added your authority to a peer-learning group on Energy performance" in (
        messenger.transcript("anna")
    )
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert await uow.groups.move(g["a"], ["introduced"], "closed")
        await uow.commit()
    assert "is closed" in await refused(runtime, "remove_member", g["a"], riga.email)


async def test_a_colleague_takes_over_the_seat_and_the_history_stays_with_it(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    await coordinator(runtime)
    ghent = await mentor(runtime, "Pieter Janssens", "Ghent", "BE")
    marie = await learner(runtime, "Marie Dubois", "Lyon", "FR")
    paul = await officer(runtime, "Paul Martin", authority="Lyon", country="FR", user_id="paul")
    zagreb = await learner(runtime, "Ivana Horvat", "Zagreb", "HR")
    cycle_id, g = await cycle_with_groups(
        runtime, {"a": [ghent, marie, zagreb]}, status="introduced"
    )
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.groups.add_checkin(g["a"], marie.id, 1, NOW)
        checkin = (await uow.groups.checkins(g["a"]))[0]
        checkin.sent_at, checkin.answer, checkin.answered_at = NOW, "good", NOW
        await uow.commit()

    talk = Talk(runtime.core, messenger, user_id="marie", name="Marie Dubois")
    await talk.say("/forget")
    await talk.press("Yes")
    await runtime.tick()

    assert "you now hold Lyon’s seat in the peer-learning group" in messenger.transcript("paul")
    assert "Paul Martin now represents Lyon in the group" in messenger.transcript("ivana")
    assert ("learner", "Lyon") in await seats(runtime, g["a"])
    async with UnitOfWork(runtime.sessionmaker) as uow:
        [history] = await uow.groups.checkins(g["a"])
        assert (history.officer_id, history.answer) == (paul.id, "good")
        assert await uow.authorities.get(int(marie.authority_id or 0)) is not None
        figures = await cycle_figures(uow, await service.find_cycle(uow, cycle_id))
    assert figures["health"] == {"active": 1} and figures["latest_checkins"] == {"good": 1}
    assert figures["checkin_answer_rate"] == 1.0

    # nobody left at Zagreb: the seat stays Zagreb's, vacant, and the coordinators are asked
    async with UnitOfWork(runtime.sessionmaker) as uow:
        seats_left = await edits.officer_left(
            uow, None, zagreb.email or "", NOW, runtime.content.current, runtime.core.secret
        )
        await uow.commit()
    [seat] = seats_left
    assert (seat["group"], seat["from"], seat["to"], seat["kept"]) == (
        g["a"], zagreb.email, None, False
    )  # fmt: skip
    await runtime.tick()
    assert "no colleague of theirs is in the programme" in messenger.transcript("anna")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        figures = await cycle_figures(uow, await service.find_cycle(uow, cycle_id))
        left = await uow.officers.get(zagreb.id)
        assert left is not None and left.status == OfficerStatus.LEFT
    assert figures["vacant_seats"] == 1

    # a new Zagreb officer joins; the coordinator gives them the seat
    newcomer = await officer(runtime, "Ana Kovač", authority="Zagreb", country="HR", user_id="ana")
    done = await edit(runtime, "take_over", g["a"], newcomer.email)
    assert done == {"group": g["a"], "to": newcomer.email, "from": None}  # the seat was vacant
    await runtime.tick()
    assert "You now hold Zagreb’s seat" in messenger.transcript("ana")
    assert "Ana Kovač now represents Zagreb" in messenger.transcript("pieter")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        figures = await cycle_figures(uow, await service.find_cycle(uow, cycle_id))
    assert figures["vacant_seats"] == 0
    assert "already holds the seat" in await refused(runtime, "take_over", g["a"], newcomer.email)


async def test_a_coordinator_edits_a_group_in_chat(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    ghent = await mentor(runtime, "Pieter Janssens", "Ghent", "BE")
    lyon = await learner(runtime, "Marie Dubois", "Lyon", "FR")
    zagreb = await learner(runtime, "Ivana Horvat", "Zagreb", "HR")
    riga = await learner(runtime, "Ilze Ozola", "Riga", "LV")
    cycle_id, g = await cycle_with_groups(runtime, {"a": [ghent, lyon, zagreb]})
    await apply_all(runtime, cycle_id, [ghent, lyon, zagreb, riga])
    anna = Talk(runtime.core, messenger, user_id="anna", name="Anna Coordinator")
    a = g["a"]

    assert "Use: /group ID to see a group" in await anna.say("/group")
    said = await anna.say(f"/group {a}")
    assert f"Group #{a} · Energy performance contracting (EPC) · proposed" in said
    assert "Mentors: Ghent" in said and "Learners: Lyon, Zagreb" in said
    said = await anna.say(f"/group {a} remove {zagreb.email}")
    assert f"Nothing was changed: this change would break a rule: group #{a} (epc)" in said
    said = await anna.say(f"/group #{a} add {riga.email}")
    assert f"Done: group #{a} is changed." in said and "Learners: Lyon, Riga, Zagreb" in said
    assert "There is no group #999" in await anna.say(f"/group 999 remove {riga.email}")

    marie = Talk(runtime.core, messenger, user_id="marie", name="Marie Dubois")
    await marie.say(f"/group {a} remove {riga.email}")  # officers cannot
    assert ("learner", "Riga") in await seats(runtime, a)


async def _lyon_with_a_colleague(
    runtime: Runtime,
) -> tuple[Officer, Officer, Officer, Officer, dict[str, int]]:
    """A running group (Ghent mentoring Lyon, Zagreb and Riga) whose Lyon learner, Marie, has a
    colleague outside it, Paul; returns Marie, Paul, the learners of Zagreb and Riga, and the
    group ids."""
    await coordinator(runtime)
    ghent = await mentor(runtime, "Pieter Janssens", "Ghent", "BE")
    marie = await learner(runtime, "Marie Dubois", "Lyon", "FR")
    paul = await officer(runtime, "Paul Martin", authority="Lyon", country="FR", user_id="paul")
    zagreb = await learner(runtime, "Ivana Horvat", "Zagreb", "HR")
    riga = await learner(runtime, "Liga Ozola", "Riga", "LV")
    _, g = await cycle_with_groups(
        runtime, {"a": [ghent, marie, zagreb, riga]}, status="introduced"
    )
    return marie, paul, zagreb, riga, g


async def test_pausing_without_a_date_hands_the_seat_to_a_colleague_or_keeps_it(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    marie, paul, zagreb, riga, g = await _lyon_with_a_colleague(runtime)

    # a pause until a date keeps the seat: the group carries on, she is back that day
    said = await Talk(runtime.core, messenger, user_id="liga").say("/pause until 2026-12-20")
    assert "paused until" in said and "seat" not in said
    assert ("learner", "Riga") in await seats(runtime, g["a"])
    async with UnitOfWork(runtime.sessionmaker) as uow:
        held = {o.id for _, o in await uow.groups.members(g["a"]) if o is not None}
    assert riga.id in held

    # Marie pauses with no return date: her colleague Paul holds Lyon's seat meanwhile
    said = await Talk(runtime.core, messenger, user_id="marie").say("/pause")
    assert "Write /resume whenever you want to come back" in said
    assert (
        "While you are away, Paul Martin holds Lyon’s seat in the peer-learning group on "
        "Energy performance contracting (EPC); I have told the group."
    ) in said
    await runtime.tick()
    assert "Marie Dubois is taking a break from the programme, so you now hold Lyon’s seat" in (
        messenger.transcript("paul")
    )
    assert "Marie Dubois is taking a break from the programme; Paul Martin now represents Lyon" in (
        messenger.transcript("pieter")
    )
    # Ivana has no colleague: the seat stays hers, and the coordinators are told
    said = await Talk(runtime.core, messenger, user_id="ivana").say("/pause")
    assert "Your seat in the peer-learning group on Energy performance contracting (EPC) stays" in (
        said
    )
    await runtime.tick()
    assert "Ivana Horvat (Zagreb) has paused without a return date" in messenger.transcript("anna")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        held = {o.id: m.authority_id for m, o in await uow.groups.members(g["a"]) if o}
    assert paul.id in held and marie.id not in held and zagreb.id in held


async def test_resume_gives_back_a_kept_or_free_seat_and_says_who_keeps_a_handed_one(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    marie, paul, zagreb, riga, g = await _lyon_with_a_colleague(runtime)
    a = g["a"]
    ivana = Talk(runtime.core, messenger, user_id="ivana")
    said_marie = Talk(runtime.core, messenger, user_id="marie")

    async def holders() -> set[int]:
        async with UnitOfWork(runtime.sessionmaker) as uow:
            return {o.id for _, o in await uow.groups.members(a) if o is not None}

    # Ivana's seat was kept for her: /resume gives it back and the coordinators hear it
    await ivana.say("/pause")
    said = await ivana.say("/resume")
    assert (
        "Your seat in the peer-learning group on Energy performance contracting (EPC) is yours "
        "again; the group’s sessions and check-ins carry on with you."
    ) in said
    await runtime.tick()
    assert f"Group #{a}: Ivana Horvat (Zagreb) is back from their break and holds the seat" in (
        messenger.transcript("anna")
    )
    assert zagreb.id in await holders()

    # Paul took Marie's seat: on /resume he keeps it, and she is told where and how to ask
    await said_marie.say("/pause")
    said = await said_marie.say("/resume")
    assert (
        "While you were away, Paul Martin took over Lyon’s seat in the peer-learning group on "
        f"Energy performance contracting (EPC) (group #{a}) and keeps it. If you and Paul Martin "
        "agree that you should have it back, ask the programme’s coordinators to give you the "
        f"seat in group #{a}."
    ) in said
    assert paul.id in await holders() and marie.id not in await holders()

    # she pauses again with Paul holding the seat; he leaves for good while she is away, and
    # with no active colleague the seat is left free: on /resume she takes it
    await said_marie.say("/pause")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await edits.officer_left(
            uow, None, paul.email or "", NOW, runtime.content.current, runtime.core.secret
        )
        await uow.commit()
    assert paul.id not in await holders() and marie.id not in await holders()
    said = await said_marie.say("/resume")
    assert (
        "Lyon’s seat in the peer-learning group on Energy performance contracting (EPC) was "
        "free, so it is yours again."
    ) in said
    assert marie.id in await holders()
    await runtime.tick()
    assert "You now hold Lyon’s seat in the peer-learning group" in messenger.transcript("marie")
    assert "Marie Dubois now represents Lyon in the group" in messenger.transcript("pieter")
    assert f"Group #{a}: Marie Dubois (Lyon) is back from their break" in (
        messenger.transcript("anna")
    )

    # a pause after silence or until a date never handed seats over: /resume says nothing of them
    liga = Talk(runtime.core, messenger, user_id="liga")
    await liga.say("/pause until 2026-12-20")
    said = await liga.say("/resume")
    assert "Welcome back, Liga Ozola!" in said and "seat" not in said


async def test_a_leaver_stays_in_the_supergroup_while_a_pair_of_theirs_talks_there(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    from sqlalchemy import select

    from storage.models import GroupSpace, Outbox, Pair, PairSpace, PairStatus

    forum = "-1001234567890"
    ghent = await mentor(runtime, "Pieter Janssens", "Ghent", "BE")
    people = {
        name: await officer(
            runtime, name, authority=city, country=cc, platform="telegram", user_id=uid,
            wants=("epc",),
        )
        for name, city, cc, uid in (
            ("Marie Dubois", "Lyon", "FR", "2001"),
            ("Ivana Horvat", "Zagreb", "HR", "2002"),
            ("Liga Ozola", "Riga", "LV", "2003"),
        )
    }  # fmt: skip
    marie, ivana, liga = people.values()
    _, g = await cycle_with_groups(runtime, {"a": [ghent, marie, ivana, liga]}, "introduced")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        uow.session.add(GroupSpace(group_id=g["a"], platform="telegram", chat_id=forum))
        pair = Pair(learner_id=ivana.id, mentor_id=ghent.id, topic="epc", status=PairStatus.ACTIVE)
        uow.session.add(pair)
        await uow.session.flush()
        uow.session.add(PairSpace(pair_id=pair.id, platform="telegram", chat_id=forum))
        await uow.commit()

    async def leaves(who: Officer) -> list[tuple[str, str, str]]:
        async with UnitOfWork(runtime.sessionmaker) as uow:
            await edits.officer_left(
                uow, None, who.email or "", NOW, runtime.content.current, runtime.core.secret
            )
            await uow.commit()
            rows = (await uow.session.execute(select(Outbox))).scalars().all()
        return [
            (r.platform, r.chat_id, r.payload["space"]["user"])
            for r in rows
            if (r.payload or {}).get("space", {}).get("op") == "remove"
        ]

    # Marie leaves the programme: out of the supergroup of the group's topic
    assert await leaves(marie) == [("telegram", forum, "2001")]
    # Ivana's pair with Pieter talks in a topic of the same supergroup: she stays in it
    assert await leaves(ivana) == [("telegram", forum, "2001")]
