"""The story of one learning cycle, end to end, over HTTP with the real client libraries
(python-telegram-bot, slack_sdk) against the emulators: applications, groups proposed and
approved, a Slack channel and a Telegram forum topic, a session vote across three time zones,
reminders at each member's own working time, attendance, a group check-in, and an officer who
leaves and whose colleague of the same authority takes the seat, with the group's history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.app import Runtime
from handlers.groups import edits, service, sessions
from handlers.groups.meetings import attendance_json
from storage.models import OfficerStatus, Role
from storage.uow import UnitOfWork
from tests.support.fakes import Talk
from tests.support.outreach import FORUM, forum_and_workspace, person, programme

EPC = "Energy performance contracting (EPC)"
TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WEDNESDAY_8 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
"""08:00 in Lisbon, 09:00 in Milan and Ghent, 10:00 in Athens."""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_a_cycle_from_applications_to_a_replaced_officer(runtime: Runtime) -> None:
    clock = runtime.clock
    await programme(runtime)
    pieter = await person(
        runtime, "Pieter Janssens", platform="telegram", user_id="1001", authority="Gent",
        country="BE", timezone="Europe/Brussels",
    )  # fmt: skip
    eleni = await person(
        runtime, "Eleni Pappa", platform="telegram", user_id="1002", authority="Patras",
        country="GR", timezone="Europe/Athens",
    )  # fmt: skip
    giulia = await person(
        runtime, "Giulia Rossi", user_id="UGIULIA", authority="Milano", country="IT",
        timezone="Europe/Rome",
    )  # fmt: skip
    joao = await person(
        runtime, "João Silva", user_id="UJOAO", authority="Porto", country="PT",
        timezone="Europe/Lisbon",
    )  # fmt: skip
    marco = await person(
        runtime, "Marco Bianchi", user_id="UMARCO", authority="Milano", country="IT",
        timezone="Europe/Rome",
    )  # fmt: skip  # Giulia's colleague: he does not apply
    await person(runtime, "Anna Coordinator", user_id="UANNA", role=Role.COORDINATOR)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        made = await service.create_cycle(
            uow, runtime.content.current.taxonomy, name="Cycle 2: public buildings",
            starts_on=date(2026, 11, 23), ends_on=date(2027, 6, 30),
            modules=["public_buildings"], programme_slug="prospect",
        )  # fmt: skip
        await uow.commit()
    cycle_id = int(made["id"])

    async with forum_and_workspace(runtime) as (tg, sl, telegram, slack):

        def dm(user: str) -> Talk:
            on_slack = user.startswith("U")
            return Talk(
                runtime.core, slack if on_slack else telegram, user_id=user, name=user,  # type: ignore[arg-type]
                platform="slack" if on_slack else "telegram",
            )  # fmt: skip

        async def press(user: str, label: str) -> None:
            if user.startswith("U"):
                message, button = sl.find_button(sl.dm_channel(user), label)
                await dm(user).handle(choice=str(button["value"]), message_id=message.ts)
            else:
                found, data = tg.find_button(int(user), label)
                await dm(user).handle(choice=data, message_id=str(found.message_id))
            await runtime.tick()

        def told(user: str) -> str:
            if user.startswith("U"):
                return sl.transcript(sl.dm_channel(user))
            return "\n".join(tg.shown(int(user)))

        # 1. applications: Giulia in Slack's chat, with buttons; the others as entered
        await dm("UGIULIA").handle(text="/cycle")
        await runtime.tick()
        assert "Which financing schemes would you like to learn about" in told("UGIULIA")
        await press("UGIULIA", EPC)
        await press("UGIULIA", "Next")
        await press("UGIULIA", "Next")  # nothing to mentor
        await press("UGIULIA", "Send my application")
        assert "has been received" in told("UGIULIA")
        async with UnitOfWork(runtime.sessionmaker) as uow:
            cycle = await uow.cycles.get(cycle_id)
            assert cycle is not None
            await service.apply(uow, cycle, pieter, [], ["epc"], capacity=1)
            for learner in (eleni, joao):
                await service.apply(uow, cycle, learner, ["epc"], [])
            await uow.commit()
            found = await uow.cycles.application(cycle_id, giulia.id)
            assert found is not None and list(found.wants) == ["epc"]
            assert await uow.cycles.count_applications(cycle_id) == 4

        # 2. groups proposed (HiGHS, with its bound) and approved by the coordinator
        async with UnitOfWork(runtime.sessionmaker) as uow:
            cycle = await uow.cycles.get(cycle_id)
            assert cycle is not None
            proposed = await service.propose(uow, cycle, clock.now(), time_limit=10)
            await uow.commit()
        [group] = proposed["groups"]
        assert proposed["unmatched"] == []
        assert [m["authority"] for m in group["mentors"]] == ["Gent"]
        assert sorted(m["authority"] for m in group["learners"]) == [
            "Milano", "Patras", "Porto",
        ]  # fmt: skip
        assert proposed["figures"]["broken"] == []
        assert proposed["figures"]["objective"] >= proposed["figures"]["greedy"]
        group_id = int(group["id"])
        async with UnitOfWork(runtime.sessionmaker) as uow:
            await service.decide(uow, [group_id], clock.now())
            await uow.commit()

        # 3. spaces on both platforms: a private channel, a forum topic with an invitation
        await runtime.tick()
        await runtime.tick()
        [channel] = [c for c, v in sl.channels.items() if v["private"]]
        assert {"UGIULIA", "UJOAO"} <= sl.channels[channel]["members"]
        assert "UMARCO" not in sl.channels[channel]["members"]
        [topic] = list(tg.chats[int(FORUM)].topics)
        [invite] = tg.chats[int(FORUM)].invite_links
        assert invite in told("1001") and invite in told("1002")
        assert f"https://t.me/c/1234567890/{topic}" in told("1002")
        assert "I have added you to the group's private channel" in told("UJOAO")
        in_channel = Talk(
            runtime.core, slack, user_id="UJOAO", name="João", chat_id=channel,  # type: ignore[arg-type]
            chat_kind="channel", platform="slack",
        )  # fmt: skip
        await in_channel.handle(text="Olá! Porto is tendering an EPC.", message_id="1.1")
        await runtime.tick()
        assert any(
            m.text == "João Silva (Porto): Olá! Porto is tendering an EPC."
            for m in tg.bot_messages(int(FORUM))
        )

        # 4. a session vote: the same slots, each shown in the member's own time zone
        async with runtime.core.uow() as uow:
            vote = await sessions.propose_session(
                uow, runtime.content.current, runtime.core.secret, group_id,
                [TUESDAY_9, WEDNESDAY_8], clock.now(),
            )  # fmt: skip
            await uow.commit()
        await runtime.tick()
        for user, zone in (("UJOAO", "Europe/Lisbon"), ("UGIULIA", "Europe/Rome")):
            message, _ = sl.find_button(sl.dm_channel(user), "Wed 2 Dec")
            shown_slots = [b["text"]["text"] for b in message.buttons()]
            hour = "08:00" if zone.endswith("Lisbon") else "09:00"
            assert f"Wed 2 Dec 2026, {hour} ({zone})" in shown_slots
        found_vote, _ = tg.find_button(1002, "Wed 2 Dec")
        assert "Wed 2 Dec 2026, 10:00 (Europe/Athens)" in [t for t, _ in found_vote.buttons]
        for user, slot in (("UJOAO", "08:00"), ("UGIULIA", "09:00"), ("1002", "10:00"),
                           ("1001", "09:00"), ("1001", "Tue 1 Dec")):  # fmt: skip
            await press(user, f"Wed 2 Dec 2026, {slot}" if ":" in slot else slot)
        async with runtime.core.uow() as uow:
            done = await sessions.schedule_session(
                uow, runtime.content.current, runtime.core.secret, vote["session"],
                clock.now(),
            )  # fmt: skip
            await uow.commit()
        assert done["starts_at"] == WEDNESDAY_8.isoformat() and done["votes"] == 4
        await runtime.tick()
        # only the reminders that will go out are promised
        assert "I will remind you on Tuesday 1 December at 09:00." in told("UJOAO")
        assert "I will remind you the day before." in told("UGIULIA")
        assert "I will remind you the day before and an hour before." in told("1002")

        # 5. reminders, each at the member's own working time (never before 09:00 local)
        def reminders(user: str) -> list[str]:
            return [line for line in told(user).split("\n")
                    if "Reminder" in line or "in an hour" in line]  # fmt: skip

        clock.set(utc(2026, 12, 1, 7, 59))  # type: ignore[attr-defined]
        await runtime.tick()
        assert not any(reminders(u) for u in ("UJOAO", "UGIULIA", "1001", "1002"))
        clock.set(utc(2026, 12, 1, 8, 0))  # type: ignore[attr-defined]
        await runtime.tick()
        await runtime.tick()
        assert reminders("UGIULIA") == [
            f"Reminder: your {EPC} group meets tomorrow, Wed 2 Dec 2026, 09:00 (Europe/Rome)."
        ]
        assert len(reminders("1001")) == 1 and len(reminders("1002")) == 1
        assert reminders("UJOAO") == []  # 08:00 in Lisbon: not yet
        clock.set(utc(2026, 12, 1, 9, 0))  # type: ignore[attr-defined]
        await runtime.tick()
        await runtime.tick()
        assert reminders("UJOAO") == [
            f"Reminder: your {EPC} group meets tomorrow, Wed 2 Dec 2026, 08:00 (Europe/Lisbon)."
        ]
        clock.set(utc(2026, 12, 2, 7, 0))  # type: ignore[attr-defined]
        await runtime.tick()
        await runtime.tick()
        assert reminders("1002")[-1] == (
            f"Your {EPC} group meets in an hour: Wed 2 Dec 2026, 10:00 (Europe/Athens)."
        )
        for user in ("UJOAO", "UGIULIA", "1001"):  # 07:00 or 08:00 there: no hour reminder
            assert not any("in an hour" in line for line in reminders(user))

        # 6. attendance: the mentor ticks who came, once the session is over
        clock.set(WEDNESDAY_8 + timedelta(hours=1))  # type: ignore[attr-defined]
        await runtime.tick()
        await runtime.tick()
        for name in ("Pieter Janssens", "Giulia Rossi", "Eleni Pappa"):
            await press("1001", name)
        await press("1001", "Done")
        assert "Attendance recorded: 3 of 4 members were there" in told("1001")
        async with runtime.core.uow() as uow:
            marks = await attendance_json(uow, vote["session"])
        assert {m["name"]: m["present"] for m in marks["members"]} == {
            "Pieter Janssens": True, "Giulia Rossi": True, "Eleni Pappa": True,
            "João Silva": False,
        }  # fmt: skip

        # 7. the group check-in, two weeks after the introduction
        clock.set(utc(2026, 12, 8, 10, 0))  # type: ignore[attr-defined]
        await runtime.tick()
        await runtime.tick()
        for user in ("UGIULIA", "UJOAO", "1001", "1002"):
            assert f"How is your {EPC} group going?" in told(user)
        await press("UGIULIA", "Going well")
        await press("1002", "Slowly")
        async with runtime.core.uow() as uow:
            shown = await service.show(uow, group_id, clock.now())
            assert shown is not None
            answers = {c.officer_id: c.answer for c in await uow.groups.checkins(group_id)}
        assert shown["state"] == "active" and shown["health"] == "slow"
        assert answers[giulia.id] == "good" and answers[eleni.id] == "slow"

        # 8. Giulia leaves; Marco, of Milano too, takes the seat and its history
        async with runtime.core.uow() as uow:
            seats = await edits.officer_left(
                uow, None, giulia.email or "", clock.now(), runtime.content.current,
                runtime.core.secret,
            )  # fmt: skip
            await uow.commit()
        assert [(s["group"], s["to"]) for s in seats] == [(group_id, marco.email)]
        await runtime.tick()
        assert "you now hold Milano’s seat in the peer-learning group on" in told("UMARCO")
        # ... and Marco is in the group's Slack channel, Giulia no longer
        assert "I have added you to the group's private channel" in told("UMARCO")
        assert "UMARCO" in sl.channels[channel]["members"]
        assert "UGIULIA" not in sl.channels[channel]["members"]
        assert [c.args["users"] for c in sl.calls_to("conversations.invite")][-1] == "UMARCO"
        assert [c.args["user"] for c in sl.calls_to("conversations.kick")] == ["UGIULIA"]
        assert any(
            "Marco Bianchi now represents Milano in the group" in m.text
            for m in sl.messages_to(channel)
        )
        assert any(
            "Marco Bianchi now represents Milano in the group" in m.text
            for m in tg.bot_messages(int(FORUM))
        )
        async with runtime.core.uow() as uow:
            members = {o.name: (m.role, m.authority_id)
                       for m, o in await uow.groups.members(group_id) if o}  # fmt: skip
            history = {c.officer_id: c.answer for c in await uow.groups.checkins(group_id)}
            left = await uow.officers.get(giulia.id)
            marks = await attendance_json(uow, vote["session"])
        assert members["Marco Bianchi"] == ("learner", giulia.authority_id)
        assert "Giulia Rossi" not in members
        assert left is not None and left.status == OfficerStatus.LEFT
        assert history[marco.id] == "good" and giulia.id not in history  # it stays
        assert {m["name"] for m in marks["members"]} >= {"Marco Bianchi"}
