"""`peerbot broadcast create|status|results|list|cancel`, with typer's CliRunner."""

from __future__ import annotations

import json

import pytest

from bot.app import Runtime
from bot.config import Settings
from storage.models import Role
from storage.uow import UnitOfWork
from tests.support.cli import invoke as peerbot
from tests.support.cli import with_runtime
from tests.support.fakes import FakeMessenger
from tests.support.outreach import person


@pytest.fixture
def people(settings: Settings) -> Settings:
    async def seed(rt: Runtime) -> None:
        await person(rt, "Anna Coordinator", user_id="UANNA", role=Role.COORDINATOR)
        await person(rt, "Pieter Janssens", platform="telegram", user_id="1001", country="BE")
        await person(rt, "Marie Dubois", platform="telegram", user_id="1002", country="FR")
        await person(rt, "Giulia Rossi", user_id="UGIULIA", country="IT")

    with_runtime(settings, seed)
    return settings


def deliver(settings: Settings) -> dict[str, FakeMessenger]:
    """What a running bot does: tick the jobs and the outbox (twice: send, then report)."""
    fakes = {p: FakeMessenger(platform=p) for p in ("slack", "telegram")}

    async def go(rt: Runtime) -> None:
        rt.messengers.update(fakes)
        await rt.tick()
        await rt.tick()

    with_runtime(settings, go)
    return fakes


def test_preview_without_yes_queues_nothing(people: Settings) -> None:
    done = peerbot(people, "broadcast", "create", "--text", "Webinar", "--json")
    assert done.exit_code == 0, done.output
    preview = json.loads(done.stdout)
    assert preview["status"] == "preview" and preview["id"] is None
    assert preview["recipients"] == 4 and preview["by_platform"] == {"slack": 2, "telegram": 2}
    listed = peerbot(people, "broadcast", "list", "--json")
    assert json.loads(listed.stdout) == []


def test_refusing_the_prompt_queues_nothing(people: Settings) -> None:
    done = peerbot(people, "broadcast", "create", "--text", "Webinar", stdin="n\n")
    assert done.exit_code == 1 and "nothing was queued" in done.output
    assert json.loads(peerbot(people, "broadcast", "list", "--json").stdout) == []


def test_create_send_and_report(people: Settings) -> None:
    done = peerbot(
        people,
        "broadcast",
        "create",
        "--text",
        "The ELENA call closes on 15 January.",
        "--translation",
        "fr=L'appel ELENA ferme le 15 janvier.",
        "--audience",
        "platform=telegram",
        "--author",
        "uanna@example.eu",
        "--yes",
        "--json",
    )
    assert done.exit_code == 0, done.output
    created = json.loads(done.stdout)
    assert created["status"] == "scheduled" and created["recipients"] == 2
    before = json.loads(peerbot(people, "broadcast", "status", str(created["id"]), "--json").stdout)
    assert before == {
        "id": created["id"],
        "total": 2,
        "sent": 0,
        "pending": 2,
        "failed": 0,
        "undeliverable": 0,
        "started_at": None,
        "finished_at": None,
        "not_started": 0,
        "blocked": 0,
        "not_reached": [],
    }
    fakes = deliver(people)
    assert [s.chat_id for s in fakes["telegram"].sent] == ["1001", "1002"]
    after = json.loads(peerbot(people, "broadcast", "status", str(created["id"]), "--json").stdout)
    assert after["sent"] == 2 and after["pending"] == 0 and after["finished_at"]
    assert "is delivered" in fakes["slack"].transcript("UANNA")
    text = peerbot(people, "broadcast", "status", str(created["id"]))
    assert "2/2 sent" in text.stdout


def test_only_coordinators_may_author(people: Settings) -> None:
    done = peerbot(
        people,
        "broadcast",
        "create",
        "--text",
        "Hello",
        "--author",
        "1001@example.eu",
        "--yes",
    )
    assert done.exit_code == 1
    assert "only coordinators" in done.output and "Nothing was queued" in done.output
    assert json.loads(peerbot(people, "broadcast", "list", "--json").stdout) == []


def test_bad_arguments_are_one_clear_line(people: Settings) -> None:
    bad = peerbot(people, "broadcast", "create", "--text", "x", "--audience", "colour=red")
    assert bad.exit_code == 1 and "colour=" in bad.output
    past = peerbot(people, "broadcast", "create", "--text", "x", "--at", "2020-01-01T09:00")
    assert past.exit_code == 2 and "in the past" in past.output
    missing = peerbot(people, "broadcast", "status", "99", "--json")
    assert missing.exit_code == 1 and "no announcement #99" in missing.output


def test_results_of_a_question(people: Settings) -> None:
    done = peerbot(
        people,
        "broadcast",
        "create",
        "--text",
        "Planning 2027",
        "--question",
        "Which instrument interests you most?",
        "--option",
        "EPC",
        "--option",
        "Green bonds",
        "--closes",
        "2099-01-01T00:00:00+00:00",
        "--yes",
        "--json",
    )
    ann_id = json.loads(done.stdout)["id"]
    deliver(people)

    async def answer(rt: Runtime) -> None:
        async with UnitOfWork(rt.sessionmaker) as uow:
            repo = uow.announcements
            for officer in await uow.officers.list():
                if officer.name.startswith(("Pieter", "Marie")):
                    row = await repo.answer_or_new(ann_id, officer.id, rt.clock.now())
                    row.choices = [1]
            await uow.commit()

    with_runtime(people, answer)
    found = json.loads(peerbot(people, "broadcast", "results", str(ann_id), "--json").stdout)
    assert found["answered"] == 2 and found["tallies"]["all"] == {"Green bonds": 2}
    assert found["tallies"]["by_country"] == {"BE": {"Green bonds": 1}, "FR": {"Green bonds": 1}}
    assert found["needs"] == {"green_bond": 2}
    assert "Results of #" in peerbot(people, "broadcast", "results", str(ann_id)).stdout
