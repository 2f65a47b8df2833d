"""A group split across Slack and Telegram, over HTTP with the real client libraries against
the emulators: a private Slack channel for its Slack members, a forum topic and an invitation
link for its Telegram members, messages relayed both ways with the pair relay's escaping and
attribution, and `/forget` erasing what a member had relayed and stopping the relay."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from bot.app import Runtime
from handlers.groups import service
from storage.models import GroupMember, Officer, Outbox
from storage.uow import UnitOfWork
from tests.support.fakes import Talk
from tests.support.outreach import FORUM, forum_and_workspace, person, programme, seated_group

MENTION = "<!channel> <@U0ADMIN> <https://evil.example|click>"
MARKUP = "<b>bold</b> *star* & done"


async def approved_group(runtime: Runtime, people: list[Officer]) -> int:
    return await seated_group(
        runtime,
        people,
        scheme="esco",
        module="public_buildings",
        approved_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    )


async def test_a_group_split_across_slack_and_telegram_talks_both_ways_and_forgets(
    runtime: Runtime,
) -> None:
    home = await programme(runtime)
    giulia = await person(runtime, "Giulia Rossi", user_id="UGIULIA", authority="Milano")
    await person(runtime, "Marco Bianchi", user_id="UMARCO", authority="Torino")
    pieter = await person(
        runtime, "Pieter Janssens", platform="telegram", user_id="1001", authority="Gent"
    )
    await person(runtime, "Eleni Pappa", platform="telegram", user_id="1002", authority="Patras")
    group_id = await approved_group(runtime, [giulia, pieter])
    async with UnitOfWork(runtime.sessionmaker) as uow:  # the two others are learners too
        marco = await uow.officers.by_email("umarco@example.eu")
        eleni = await uow.officers.by_email("1002@example.eu")
        assert marco is not None and eleni is not None
        for o in (marco, eleni):
            uow.session.add(
                GroupMember(
                    group_id=group_id, authority_id=o.authority_id, officer_id=o.id, role="learner"
                )
            )
        await uow.commit()

    async with forum_and_workspace(runtime) as (tg, sl, telegram, slack):
        await runtime.tick()
        await runtime.tick()

        # Slack: one private channel with the two Slack members
        [created] = sl.calls_to("conversations.create")
        assert str(created.args["is_private"]).lower() in ("1", "true")
        [channel] = [c for c, v in sl.channels.items() if v["private"]]
        assert {"UGIULIA", "UMARCO"} <= sl.channels[channel]["members"]
        # Telegram: one forum topic, and an invitation to the supergroup
        [topic] = list(tg.chats[int(FORUM)].topics)
        assert tg.chats[int(FORUM)].topics[topic].startswith("Peer-learning group")
        [invite] = tg.chats[int(FORUM)].invite_links
        to_pieter = "\n".join(tg.shown(1001))
        assert invite in to_pieter and f"https://t.me/c/1234567890/{topic}" in to_pieter
        assert "Some members take part from Slack" in to_pieter
        welcome_tg = [m.text for m in tg.bot_messages(int(FORUM))]
        assert any("Giulia Rossi takes part from Slack" in t for t in welcome_tg)
        assert any(
            "Pieter Janssens takes part from Telegram" in m.text for m in sl.messages_to(channel)
        )

        # Slack -> Telegram: attributed, shown as typed (no parse mode)
        in_channel = Talk(
            runtime.core, slack, user_id="UGIULIA", name="G", chat_id=channel,  # type: ignore[arg-type]
            chat_kind="channel", platform="slack",
        )  # fmt: skip
        await in_channel.handle(text=f"Our ESCO tender {MARKUP}", message_id="1.1")
        await runtime.tick()
        relayed = [m for m in tg.bot_messages(int(FORUM)) if "Our ESCO tender" in m.text]
        assert [m.text for m in relayed] == [f"Giulia Rossi (Milano): Our ESCO tender {MARKUP}"]
        sends = [c for c in tg.calls_to("sendMessage") if "Our ESCO" in str(c.params)]
        assert all("parse_mode" not in c.params for c in sends)
        assert str(sends[0].params.get("message_thread_id")) == str(topic)

        # Telegram -> Slack: mentions and links arrive as inert entities
        in_topic = Talk(
            runtime.core, telegram, user_id="1001", name="Pieter", chat_id=FORUM,  # type: ignore[arg-type]
            chat_kind="group", platform="telegram",
        )  # fmt: skip
        await in_topic.handle(
            text=f"Gent did it with a guarantee {MENTION}",
            thread_id=str(topic),
            message_id="77",
        )
        await runtime.tick()
        [back] = [m for m in sl.messages_to(channel) if "guarantee" in m.text]
        assert back.text.startswith("Pieter Janssens (Gent): Gent did it with a guarantee")
        assert "&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil.example|click&gt;" in back.text
        dumped = json.dumps([c.args for c in sl.calls_to("chat.postMessage")])
        assert "<!channel>" not in dumped and "<@U0ADMIN>" not in dumped

        # the bot's own relay coming back is not relayed again
        before = len(sl.messages_to(channel))
        await in_topic.handle(
            text=relayed[0].text, thread_id=str(topic), message_id=str(relayed[0].message_id)
        )
        await runtime.tick()
        assert len(sl.messages_to(channel)) == before

        # a note written in the topic itself is the group's, and goes to the channel too
        await in_topic.handle(text="/notes Gent's guarantee fund: 2 MEUR", thread_id=str(topic))
        await runtime.tick()
        [note] = [m for m in sl.messages_to(channel) if "guarantee fund" in m.text]
        assert note.text.startswith("📝 Notes from Pieter Janssens:")  # not relayed as well

        # /forget: what Pieter had relayed loses its text; he is relayed no more
        pieter_dm = Talk(
            runtime.core, telegram, user_id="1001", name="Pieter", platform="telegram",  # type: ignore[arg-type]
        )  # fmt: skip
        await pieter_dm.handle(text="/forget")
        await runtime.tick()
        message, data = tg.find_button(1001, "Yes, delete my data")
        await pieter_dm.handle(choice=data, message_id=str(message.message_id))
        await runtime.tick()
        assert "has been deleted" in tg.shown(1001)[-1]
        async with UnitOfWork(runtime.sessionmaker) as uow:
            rows = (await uow.session.execute(select(Outbox))).scalars().all()
        assert not any("guarantee" in json.dumps(r.payload) for r in rows)
        async with UnitOfWork(runtime.sessionmaker) as uow:
            from handlers.groups.meetings import list_notes

            assert await list_notes(uow, group_id, None) == []  # his note went too
        assert any(
            r.idempotency_key.startswith(f"group:{group_id}:relay:o{pieter.id}:") for r in rows
        )
        await in_topic.handle(text="One more thing", thread_id=str(topic), message_id="78")
        await runtime.tick()
        assert not [m for m in sl.messages_to(channel) if "One more thing" in m.text]
        # Giulia's messages still cross
        await in_channel.handle(text="Thanks all", message_id="1.2")
        await runtime.tick()
        assert any(
            m.text == "Giulia Rossi (Milano): Thanks all" for m in tg.bot_messages(int(FORUM))
        )

    async with UnitOfWork(runtime.sessionmaker) as uow:
        shown = await service.show(uow, group_id, runtime.clock.now())
    assert shown is not None and shown["state"] == "active"
    assert set(shown["spaces"]) == {"slack", "telegram"}
    assert home.id


async def test_notes_attendance_and_a_study_visit_over_both_platforms(runtime: Runtime) -> None:
    from datetime import timedelta

    from handlers.groups import sessions
    from storage.models import Role

    await programme(runtime)
    pieter = await person(
        runtime, "Pieter Janssens", platform="telegram", user_id="1001", authority="Gent"
    )
    giulia = await person(runtime, "Giulia Rossi", user_id="UGIULIA", authority="Milano")
    eleni = await person(
        runtime, "Eleni Pappa", platform="telegram", user_id="1002", authority="Patras"
    )
    await person(runtime, "Anna Coordinator", user_id="UANNA", role=Role.COORDINATOR)
    group_id = await approved_group(runtime, [pieter, giulia, eleni])
    starts = runtime.clock.now() + timedelta(days=1, hours=4)  # Wednesday 14:00 UTC

    async with forum_and_workspace(runtime) as (tg, sl, telegram, slack):
        await runtime.tick()
        [channel] = [c for c, v in sl.channels.items() if v["private"]]
        [topic] = list(tg.chats[int(FORUM)].topics)

        # notes from a private chat reach both spaces and stay with the group
        pieter_dm = Talk(
            runtime.core, telegram, user_id="1001", name="Pieter", platform="telegram",  # type: ignore[arg-type]
        )  # fmt: skip
        await pieter_dm.handle(text="/notes Kick-off: Gent shows its EPC contract <b>first</b>")
        await runtime.tick()
        posted = "📝 Notes from Pieter Janssens:\nKick-off: Gent shows its EPC contract"
        assert any(m.text.startswith(posted) for m in tg.bot_messages(int(FORUM)))
        assert any(m.text.startswith(posted) and "&lt;b&gt;" in m.text
                   for m in sl.messages_to(channel))  # fmt: skip
        giulia_dm = Talk(
            runtime.core, slack, user_id="UGIULIA", name="G", platform="slack",  # type: ignore[arg-type]
        )  # fmt: skip
        await giulia_dm.handle(text="/notes")
        await runtime.tick()
        assert "Kick-off: Gent shows" in sl.last(sl.dm_channel("UGIULIA")).text

        # the mentor records attendance with Telegram buttons after the session
        async with runtime.core.uow() as uow:
            made = await sessions.propose_session(
                uow, runtime.content.current, runtime.core.secret, group_id, [starts],
                runtime.clock.now(),
            )  # fmt: skip
            await sessions.schedule_session(
                uow, runtime.content.current, runtime.core.secret, made["session"],
                runtime.clock.now(),
            )  # fmt: skip
            await uow.commit()
        runtime.clock.set(starts + timedelta(hours=1))  # type: ignore[attr-defined]
        await runtime.tick()
        for name in ("Pieter Janssens", "Eleni Pappa"):
            message, data = tg.find_button(1001, name)
            await pieter_dm.handle(choice=data, message_id=str(message.message_id))
        message, data = tg.find_button(1001, "Done")
        await pieter_dm.handle(choice=data, message_id=str(message.message_id))
        await runtime.tick()
        assert "Attendance recorded: 2 of 3 members were there" in tg.shown(1001)[-1]
        assert tg.calls_to("editMessageText")  # the ticks edit the question in place
        async with runtime.core.uow() as uow:
            from handlers.groups.meetings import attendance_json

            marks = await attendance_json(uow, made["session"])
        assert {m["name"]: m["present"] for m in marks["members"]} == {
            "Pieter Janssens": True, "Giulia Rossi": False, "Eleni Pappa": True,
        }  # fmt: skip

        # a Slack member asks for a study visit; the Slack coordinator approves it
        for said in ("/visit", "Giulia Rossi (Milano)", "Gent", "3-4 June 2027",
                     "See the EPC's street lights and the monitoring."):  # fmt: skip
            await giulia_dm.handle(text=said)
        message, button = sl.find_button(sl.dm_channel("UGIULIA"), "Send")
        await giulia_dm.handle(choice=str(button["value"]), message_id=message.ts)
        await runtime.tick()
        request, approve = sl.find_button(sl.dm_channel("UANNA"), "Approve")
        assert f"Study visit request from group #{group_id}" in request.text
        anna = Talk(
            runtime.core, slack, user_id="UANNA", name="Anna", platform="slack",  # type: ignore[arg-type]
        )  # fmt: skip
        await anna.handle(choice=str(approve["value"]), message_id=request.ts)
        await runtime.tick()
        told = "approved the study visit to Gent (3-4 June 2027)"
        assert any(told in t for t in tg.shown(1001)) and any(told in t for t in tg.shown(1002))
        assert told in sl.transcript(sl.dm_channel("UGIULIA"))
