"""A coordinator follows a group's life on the command line: attendance of a session that took
place, notes kept with the group, study visit requests decided, the group's health in
`peerbot groups show`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import Runtime
from bot.config import Settings
from handlers.groups import sessions
from handlers.groups.visits import request_visit
from tests.support.cli import invoke as peerbot
from tests.support.cli import with_runtime
from tests.support.peers import officer
from tests.unit.features.test_group_sessions import introduced_group

PAST = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_attendance_notes_visits_and_health_on_the_command_line(settings: Settings) -> None:
    async def seed(rt: Runtime) -> dict[str, Any]:
        people = [
            await officer(rt, "Pieter Janssens", authority="Ghent", country="BE"),
            await officer(rt, "Marie Dubois", authority="Lyon", country="FR"),
            await officer(rt, "Ivana Horvat", authority="Zagreb", country="HR"),
        ]
        group_id = await introduced_group(rt, people)
        async with rt.core.uow() as uow:
            before = PAST - timedelta(days=2)
            made = await sessions.propose_session(
                uow, rt.content.current, rt.core.secret, group_id, [PAST], before
            )
            await sessions.schedule_session(
                uow, rt.content.current, rt.core.secret, made["session"], before
            )
            group = await uow.groups.get(group_id)
            marie = await uow.officers.get(people[1].id)
            assert group is not None and marie is not None
            visit = await request_visit(
                uow, rt.content.current, rt.core.secret, group, marie,
                {"visitors": "Marie Dubois", "place": "Ghent", "dates": "May 2027",
                 "purpose": "The ESCO contract in practice."},
                PAST,
            )  # fmt: skip
            await uow.commit()
        return {"group": group_id, "session": made["session"], "visit": visit.id}

    ids = with_runtime(settings, seed)
    session = str(ids["session"])

    done = peerbot(
        settings, "groups", "attendance", session,
        "--present", "pieter@ghent.example", "--present", "marie@lyon.example",
        "--absent", "ivana@zagreb.example", "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert (data["present"], data["recorded"]) == (2, 3)
    assert {m["email"]: m["present"] for m in data["members"]} == {
        "pieter@ghent.example": True,
        "marie@lyon.example": True,
        "ivana@zagreb.example": False,
    }
    shown = peerbot(settings, "groups", "attendance", session)
    assert "absent   ivana@zagreb.example (learner)" in shown.stdout
    wrong = peerbot(settings, "groups", "attendance", session, "--present", "nobody@x.eu")
    assert wrong.exit_code == 2 and "no officer 'nobody@x.eu'" in wrong.output

    group = str(ids["group"])
    added = peerbot(settings, "groups", "notes", group, "--add", "Summary: tender next.")
    assert added.exit_code == 0, added.output
    listed = json.loads(peerbot(settings, "groups", "notes", group, "--json").stdout)
    assert [n["text"] for n in listed] == ["Summary: tender next."]
    assert peerbot(settings, "groups", "notes", group, "--add", "x").exit_code == 2

    no_reason = peerbot(settings, "groups", "visit-decide", str(ids["visit"]), "--decline")
    assert no_reason.exit_code == 2 and "say why" in no_reason.output
    decided = peerbot(
        settings, "groups", "visit-decide", str(ids["visit"]), "--decline",
        "--reason", "No budget left", "--json",
    )  # fmt: skip
    assert json.loads(decided.stdout)["status"] == "declined"
    again = peerbot(settings, "groups", "visit-decide", str(ids["visit"]), "--approve")
    assert again.exit_code == 2 and "already declined" in again.output
    visits = json.loads(peerbot(settings, "groups", "visits", "--group", group, "--json").stdout)
    assert [(v["place"], v["status"], v["reason"]) for v in visits["visits"]] == [
        ("Ghent", "declined", "No budget left")
    ]

    show = peerbot(settings, "groups", "show", group, "--json")
    data = json.loads(show.stdout)
    assert data["state"] == "active" and data["escalated_at"] is None
    assert set(data["silence"]) == {"why", "idle_days", "unanswered"}
    assert "health: active" in peerbot(settings, "groups", "show", group).stdout
