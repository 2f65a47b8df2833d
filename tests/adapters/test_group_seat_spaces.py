"""A running group's spaces follow its seats, over HTTP with the real client libraries against
the emulators: a Telegram colleague who takes a seat gets the supergroup's invitation and the
topic's link in their own language; a Slack officer given a seat is invited to the group's
channel; one who leaves is removed from it; a membership change a platform cannot make is
recorded as undeliverable, not retried."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.app import Runtime
from handlers.delivery.outbox import space_change
from handlers.groups import edits
from storage.models import Officer, Outbox, OutboxStatus
from storage.uow import UnitOfWork
from tests.support.emulators.slack_api import SlackApiEmulator
from tests.support.emulators.telegram_api import TelegramEmulator
from tests.support.fakes import Talk
from tests.support.outbox_load import slack_messenger, telegram_messenger
from tests.support.outreach import FORUM, forum_and_workspace, person, programme, seated_group


async def _space_rows(runtime: Runtime) -> list[Outbox]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        rows = (await uow.session.execute(select(Outbox).order_by(Outbox.id))).scalars().all()
    return [r for r in rows if (r.payload or {}).get("space")]


async def test_seats_changing_hands_move_people_in_and_out_of_the_group_spaces(
    runtime: Runtime,
) -> None:
    await programme(runtime)
    giulia = await person(runtime, "Giulia Rossi", user_id="UGIULIA", authority="Milano")
    pieter = await person(
        runtime, "Pieter Janssens", platform="telegram", user_id="1001", authority="Gent"
    )
    marco = await person(runtime, "Marco Bianchi", user_id="UMARCO", authority="Torino")
    lena = await person(
        runtime, "Lena Vogt", platform="telegram", user_id="1003", authority="Gent",
        locale="de", languages=["de", "en"],
    )  # fmt: skip  # Pieter's colleague
    sara = await person(runtime, "Sara Conti", user_id="USARA", authority="Torino")
    group_id = await seated_group(
        runtime, [giulia, pieter, marco], scheme="esco",
        approved_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    )  # fmt: skip

    async with forum_and_workspace(runtime) as (tg, sl, telegram, slack):
        content, secret = runtime.content.current, runtime.core.secret
        await runtime.tick()
        [channel] = [c for c, v in sl.channels.items() if v["private"]]
        [topic] = list(tg.chats[int(FORUM)].topics)
        [invite] = tg.chats[int(FORUM)].invite_links
        assert sl.channels[channel]["members"] >= {"UGIULIA", "UMARCO"}
        assert not {"USARA", "1003"} & sl.channels[channel]["members"]

        # Pieter leaves: Lena, of Gent too, gets the invitation and the topic, in German
        async with runtime.core.uow() as uow:
            seats = await edits.officer_left(
                uow, None, pieter.email or "", runtime.clock.now(), content, secret
            )
            await uow.commit()
        assert [s["to"] for s in seats] == [lena.email]
        await runtime.tick()
        to_lena = tg.shown(1003)[-1]
        assert to_lena.startswith("Pieter Janssens hat das Programm verlassen.")
        assert f"Treten Sie mit dieser Einladung dem Telegram-Chat der Gruppe bei: {invite}" in (
            to_lena
        )
        assert f"Öffnen Sie danach das Thema der Gruppe: https://t.me/c/1234567890/{topic}" in (
            to_lena
        )
        assert "Einige Mitglieder sind über Slack dabei" in to_lena
        assert not sl.calls_to("conversations.kick")  # Pieter was never in the channel

        # a coordinator gives Sara a place on Torino's seat: she is invited to the channel
        async with runtime.core.uow() as uow:
            await edits.take_over(
                uow, None, group_id, sara.email or "", runtime.clock.now(), content, secret
            )
            await uow.commit()
        await runtime.tick()
        assert "USARA" in sl.channels[channel]["members"]
        assert "I have added you to the group's private channel." in sl.transcript(
            sl.dm_channel("USARA")
        )

        # Marco asks to be forgotten; Sara already holds the seat: he leaves the channel
        marco_dm = Talk(
            runtime.core, slack, user_id="UMARCO", name="Marco", platform="slack",  # type: ignore[arg-type]
        )  # fmt: skip
        await marco_dm.handle(text="/forget")
        await runtime.tick()
        message, button = sl.find_button(sl.dm_channel("UMARCO"), "Yes, delete my data")
        await marco_dm.handle(choice=str(button["value"]), message_id=message.ts)
        await runtime.tick()
        async with runtime.core.uow() as uow:
            assert await uow.officers.by_email(marco.email or "") is None
        assert "UMARCO" not in sl.channels[channel]["members"]
        assert {"UGIULIA", "USARA"} <= sl.channels[channel]["members"]
        assert [c.args["user"] for c in sl.calls_to("conversations.kick")] == ["UMARCO"]
        rows = await _space_rows(runtime)
        # Pieter left the programme: he is out of the supergroup too (banned, then unbanned)
        assert [(r.platform, r.payload["space"]["op"], r.status) for r in rows] == [
            ("telegram", "remove", OutboxStatus.SENT),
            ("slack", "add", OutboxStatus.SENT),
            ("slack", "remove", OutboxStatus.SENT),
        ]
        assert rows[0].chat_id == FORUM and rows[0].payload["space"]["user"] == "1001"
        assert all(r.chat_id == channel and r.officer_id is None for r in rows[1:])
        assert [c.params["user_id"] for c in tg.calls_to("banChatMember")] == [1001]
        assert [
            (c.params["user_id"], c.params["only_if_banned"])
            for c in tg.calls_to("unbanChatMember")
        ] == [(1001, True)]


async def test_membership_changes_a_platform_cannot_make_are_not_retried(
    runtime: Runtime,
) -> None:
    async with SlackApiEmulator(auto_users=True) as sl, TelegramEmulator() as tg:
        slack, close_sl = await slack_messenger(sl.base_url)
        telegram, close_tg = await telegram_messenger(tg.base_url)
        runtime.messengers.update(slack=slack, telegram=telegram)
        try:
            made = await slack.create_space("group-7-esco", ["UGIULIA"])
            channel = made[0]
            async with UnitOfWork(runtime.sessionmaker) as uow:
                rows = [
                    ("already", "slack", channel, space_change("add", "UGIULIA")),
                    ("left", "slack", channel, space_change("remove", "UOTHER")),
                    ("nobody", "slack", channel, space_change("remove", "XNOBODY")),
                    ("topic", "telegram", FORUM, space_change("add", "1001")),
                ]
                for key, platform, chat, body in rows:
                    await uow.outbox.enqueue(key, platform, chat, body, purpose="group_space")
                await uow.commit()
            await runtime.tick()
            await runtime.tick()
            async with UnitOfWork(runtime.sessionmaker) as uow:
                found = (await uow.session.execute(select(Outbox))).scalars().all()
            status = {r.idempotency_key: r.status for r in found}
            # already in, already out: done; no such user: never retried; Telegram cannot
            assert status == {
                "already": OutboxStatus.SENT,
                "left": OutboxStatus.SENT,
                "nobody": OutboxStatus.UNDELIVERABLE,
                "topic": OutboxStatus.UNDELIVERABLE,
            }
            assert [c.args["users"] for c in sl.calls_to("conversations.invite")] == [
                "UGIULIA",
                "UGIULIA",
            ]
            assert [c.args["user"] for c in sl.calls_to("conversations.kick")] == [
                "UOTHER",
                "XNOBODY",
            ]
            assert not tg.calls_to("sendMessage")
        finally:
            await close_sl()
            await close_tg()


async def test_coordinators_moving_and_adding_authorities_move_their_officers_channels(
    runtime: Runtime,
) -> None:
    from tests.support.peers import officer
    from tests.unit.features.test_group_edits import apply_all, cycle_with_groups

    async def on_slack(name: str, city: str, country: str, role: str) -> Officer:
        user = "U" + city.upper()[:4]
        kind = {"offers": ("epc",)} if role == "mentor" else {"wants": ("epc",)}
        return await officer(
            runtime, name, authority=city, country=country, platform="slack", user_id=user,
            **kind,  # type: ignore[arg-type]
        )  # fmt: skip

    ghent = await on_slack("Pieter Janssens", "Ghent", "BE", "mentor")
    vienna = await on_slack("Lena Huber", "Vienna", "AT", "mentor")
    lyon = await on_slack("Marie Dubois", "Lyon", "FR", "learner")
    zagreb = await on_slack("Ivana Horvat", "Zagreb", "HR", "learner")
    porto = await on_slack("João Silva", "Porto", "PT", "learner")
    gdansk = await on_slack("Ola Nowak", "Gdańsk", "PL", "learner")
    tallinn = await on_slack("Kadri Tamm", "Tallinn", "EE", "learner")
    riga = await on_slack("Anna Ozola", "Riga", "LV", "learner")
    cycle_id, g = await cycle_with_groups(
        runtime, {"a": [ghent, lyon, zagreb, porto], "b": [vienna, gdansk, tallinn]}, "approved"
    )
    await apply_all(runtime, cycle_id, [ghent, vienna, lyon, zagreb, porto, gdansk, tallinn, riga])
    a, b = g["a"], g["b"]

    async with SlackApiEmulator(auto_users=True) as sl:
        slack, close_sl = await slack_messenger(sl.base_url)
        runtime.messengers["slack"] = slack
        content, secret = runtime.content.current, runtime.core.secret
        try:
            await runtime.tick()
            async with UnitOfWork(runtime.sessionmaker) as uow:
                where = {s.group_id: s.chat_id for s in await uow.groups.spaces(a)}
                where.update({s.group_id: s.chat_id for s in await uow.groups.spaces(b)})
            in_a, in_b = (sl.channels[str(where[x])]["members"] for x in (a, b))
            assert {"UGHEN", "ULYON", "UZAGR", "UPORT"} <= in_a
            assert "UPORT" not in in_b and "URIGA" not in in_a

            async with runtime.core.uow() as uow:  # Porto moves from a to b; Riga joins a
                porto_ref, riga_ref = str(porto.authority_id), str(riga.authority_id)
                now = runtime.clock.now()
                await edits.move_member(uow, None, a, porto_ref, b, now, content, secret)
                await edits.add_member(uow, None, a, riga_ref, "learner", now, content, secret)
                await uow.commit()
            await runtime.tick()
            assert "UPORT" in in_b and "UPORT" not in in_a
            assert "URIGA" in in_a
            told = sl.transcript(sl.dm_channel("URIGA"))
            assert "added your authority to a peer-learning group" in told
            assert "I have added you to the group's private channel." in told
            moved = sl.transcript(sl.dm_channel("UPORT"))
            assert "taken your authority out of the peer-learning group" in moved
            assert "I have added you to the group's private channel." in moved
        finally:
            await close_sl()


async def test_a_seat_changing_hands_while_the_channel_is_being_opened_is_invited(
    runtime: Runtime,
) -> None:
    """The introduction opens the Slack channel with the members it read, outside any
    transaction; a seat that changes hands before the channel is recorded (Marco leaves,
    Sara of Torino takes it) must still end with Sara in the channel and Marco out of it."""
    await programme(runtime)
    giulia = await person(runtime, "Giulia Rossi", user_id="UGIULIA", authority="Milano")
    pieter = await person(runtime, "Pieter Janssens", user_id="UPIETER", authority="Gent")
    marco = await person(runtime, "Marco Bianchi", user_id="UMARCO", authority="Torino")
    await person(runtime, "Sara Conti", user_id="USARA", authority="Torino")
    await seated_group(
        runtime, [giulia, pieter, marco], scheme="esco",
        approved_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    )  # fmt: skip

    async with SlackApiEmulator(auto_users=True) as sl:
        slack, close_sl = await slack_messenger(sl.base_url)
        runtime.messengers["slack"] = slack
        content, secret = runtime.content.current, runtime.core.secret
        create_space = slack.create_space
        invited: list[list[str]] = []

        async def create_then_marco_leaves(
            title: str, users: list[str], parent_chat_id: str | None = None
        ) -> tuple[str, str | None]:
            made = await create_space(title, users, parent_chat_id=parent_chat_id)
            invited.append(sorted(users))
            async with runtime.core.uow() as uow:  # the channel exists, its id is not recorded
                seats = await edits.officer_left(
                    uow, None, marco.email or "", runtime.clock.now(), content, secret
                )
                await uow.commit()
            assert [s["to_name"] for s in seats] == ["Sara Conti"]
            return made

        slack.create_space = create_then_marco_leaves  # type: ignore[method-assign]
        try:
            await runtime.tick()
            await runtime.tick()
            assert invited == [["UGIULIA", "UMARCO", "UPIETER"]]
            [channel] = [c for c, v in sl.channels.items() if v["private"]]
            assert "USARA" in sl.channels[channel]["members"]
            assert "UMARCO" not in sl.channels[channel]["members"]
            assert {"UGIULIA", "UPIETER"} <= sl.channels[channel]["members"]
            assert "peer-learning group" in sl.transcript(sl.dm_channel("USARA"))
        finally:
            await close_sl()


async def test_telegram_leavers_leave_the_supergroup_only_when_they_leave_the_programme(
    runtime: Runtime,
) -> None:
    """A bot cannot take anyone out of one forum topic: an officer whose authority leaves a
    group stays in the programme's supergroup, but what they write in the group's topic no
    longer reaches the group; an officer who leaves the programme is banned and at once
    unbanned (out of the supergroup, free to come back by invitation)."""
    await programme(runtime)
    giulia = await person(runtime, "Giulia Rossi", user_id="UGIULIA", authority="Milano")
    pieter = await person(
        runtime, "Pieter Janssens", platform="telegram", user_id="1001", authority="Gent"
    )
    eleni = await person(
        runtime, "Eleni Pappa", platform="telegram", user_id="1002", authority="Patras",
        country="GR",
    )  # fmt: skip
    marco = await person(
        runtime, "Marco Bianchi", user_id="UMARCO", authority="Torino", country="IT"
    )
    sara = await person(runtime, "Sara Díaz", user_id="USARA", authority="Sevilla", country="ES")
    group_id = await seated_group(
        runtime, [giulia, pieter, eleni, marco, sara], scheme="esco",
        approved_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    )  # fmt: skip

    async with forum_and_workspace(runtime) as (tg, sl, telegram, slack):
        content, secret = runtime.content.current, runtime.core.secret
        forum = tg.chats[int(FORUM)]
        await runtime.tick()
        [channel] = [c for c, v in sl.channels.items() if v["private"]]
        [topic] = list(forum.topics)
        tg.join(int(FORUM), 1001)  # both follow the invitation they were sent
        tg.join(int(FORUM), 1002)

        # a coordinator takes Gent out of the group: Pieter stays in the supergroup
        async with runtime.core.uow() as uow:
            ref = str(pieter.authority_id)
            await edits.remove_member(
                uow, None, group_id, ref, runtime.clock.now(), content, secret
            )
            await uow.commit()
        await runtime.tick()
        assert not tg.calls_to("banChatMember") and 1001 in forum.members
        # ... and what he writes in the group's topic no longer reaches the group
        in_topic = Talk(
            runtime.core, telegram, user_id="1001", name="Pieter", chat_id=FORUM,  # type: ignore[arg-type]
            chat_kind="group", platform="telegram",
        )  # fmt: skip
        await in_topic.handle(text="Still here?", thread_id=str(topic), message_id="90")
        eleni_topic = Talk(
            runtime.core, telegram, user_id="1002", name="Eleni", chat_id=FORUM,  # type: ignore[arg-type]
            chat_kind="group", platform="telegram",
        )  # fmt: skip
        await eleni_topic.handle(text="Patras is in", thread_id=str(topic), message_id="91")
        await runtime.tick()
        said = [m.text for m in sl.messages_to(channel)]
        assert any("Eleni Pappa (Patras): Patras is in" in t for t in said)
        assert not any("Still here?" in t for t in said)

        # Eleni leaves the programme: out of the supergroup, and able to come back later
        async with runtime.core.uow() as uow:
            await edits.officer_left(
                uow, None, eleni.email or "", runtime.clock.now(), content, secret
            )
            await uow.commit()
        await runtime.tick()
        assert [c.params["user_id"] for c in tg.ok_calls("banChatMember")] == [1002]
        assert [
            (c.params["user_id"], c.params["only_if_banned"])
            for c in tg.ok_calls("unbanChatMember")
        ] == [(1002, True)]
        assert 1002 not in forum.members and 1002 not in forum.banned
        assert 1001 in forum.members  # Pieter is untouched
        tg.join(int(FORUM), 1002)
        assert 1002 in forum.members
