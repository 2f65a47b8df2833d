"""A programme from roster to report: at every stage the dashboard's figures say what is true.

A coordinator imports a roster (one officer without consent), runs a matching round, rejects one
proposal and approves the other; the pair is introduced, accepted by one side then the other,
checked in on ("stuck") and ended. After each step the report (`peerbot report --json`) and the
dashboard page (its `data-figure` cards) give the same, distinct pair states.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from bot.app import Runtime
from bot.web.render import render_report, translator_for
from handlers.core.clock import FrozenClock
from handlers.officers.roster import import_csv
from handlers.pairing.flow import approve, propose, reject
from handlers.pairing.view import STATES
from handlers.report.figures import build_report
from storage.models import Programme
from storage.uow import UnitOfWork
from tests.stories.test_report import peerbot
from tests.support.peers import programme, talk, telegram_like

HEADER = (
    "name,email,authority,country,role,languages,timezone,sectors,wants,offers,platform,"
    "platform_user_id,consent\n"
)
ROSTER = (
    "Anna Coordinator,anna@energy-cities.eu,Energy Cities,FR,coordinator,en;fr,,,,,telegram,anna,yes\n"
    "Marie Dubois,marie@lyon.fr,Lyon,FR,officer,fr;en,Europe/Paris,public_lighting,epc,,telegram,marie,yes\n"
    "Pieter Janssens,pieter@gent.be,Gent,BE,officer,en;nl,,public_lighting,,epc,telegram,pieter,yes\n"
    "Ivana Horvat,ivana@zagreb.hr,Zagreb,HR,officer,en;hr,Europe/Zagreb,public_buildings,elena,,telegram,ivana,yes\n"
    "Lena Weber,lena@freiburg.de,Freiburg,DE,officer,en;de,Europe/Berlin,public_buildings,,elena,telegram,lena,yes\n"
    "Tomas Novak,tomas@brno.cz,Brno,CZ,officer,en;cs,Europe/Prague,mobility,epc,,telegram,tomas,no\n"
)  # fmt: skip


def at(day: int, hour: int, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


async def figures(runtime: Runtime, home: Programme, now: datetime) -> dict[str, Any]:
    """The report's figures, checked against what the dashboard page shows."""
    async with UnitOfWork(runtime.sessionmaker) as uow:
        report = await build_report(uow, {home.id}, now)
    content = runtime.content.current
    page = render_report(report, translator_for(content.t, "en"))
    cards = dict(re.findall(r'data-figure="([\w.]+)">(\d+)<', page))
    assert int(cards["participants"]) == report.participants
    for state in STATES:
        assert int(cards[f"pairs_now.{state}"]) == report.pairs_now[state], state
    found = report.to_json()
    return {
        "participants": found["participants"],
        "pairs": {k: n for k, n in found["pairs_now"].items() if n},
        "waiting": found["introductions_waiting"],
        "asked": (found["checkins_asked"], found["checkins_answered"]),
    }


async def test_a_programme_from_roster_to_report(
    runtime: Runtime, clock: FrozenClock, database_url: str
) -> None:
    telegram = telegram_like(runtime, forum=False)
    home = await programme(runtime, forum=None)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        imported = await import_csv(uow, HEADER + ROSTER, runtime.content.current.taxonomy, home)
        await uow.commit()
    assert imported.errors == []

    # The roster: four participants (not the coordinator, not Tomas who gave no consent).
    assert await figures(runtime, home, clock.now()) == {
        "participants": 4,
        "pairs": {},
        "waiting": {"one": 0, "both": 0},
        "asked": (0, 0),
    }

    # A round proposes two pairs; nothing is a pair yet.
    async with UnitOfWork(runtime.sessionmaker) as uow:
        round_ = await propose(uow, home.id, clock.now())
        await uow.commit()
    by_learner = {p.topic: p.id for p in round_.pairs}
    assert set(by_learner) == {"epc", "elena"}
    assert (await figures(runtime, home, clock.now()))["pairs"] == {"proposed": 2}

    # The coordinator rejects one proposal and approves the other: rejected is not declined.
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await reject(uow, [by_learner["elena"]], clock.now())
        await approve(uow, [by_learner["epc"]], clock.now())
        await uow.commit()
    assert (await figures(runtime, home, clock.now()))["pairs"] == {"rejected": 1, "approved": 1}

    # Introduced: waiting for both, then for one; never counted as active.
    await runtime.tick()
    shown = await figures(runtime, home, clock.now())
    assert shown["pairs"] == {"rejected": 1, "introduced": 1}
    assert shown["waiting"] == {"one": 0, "both": 1}
    marie, pieter = talk(runtime, telegram, "marie"), talk(runtime, telegram, "pieter")
    await marie.press("Accepter")  # Marie reads French, the first of her languages
    shown = await figures(runtime, home, clock.now())
    assert shown["pairs"] == {"rejected": 1, "introduced": 1}
    assert shown["waiting"] == {"one": 1, "both": 0}

    # Both accepted: active, and the check-in comes 14 days later.
    assert "is active" in await pieter.press("Accept")
    assert (await figures(runtime, home, clock.now()))["pairs"] == {"rejected": 1, "active": 1}
    clock.set(at(8, 10))  # Tuesday 8 December, 11:00 in Paris and Gent
    await runtime.tick()
    assert (await figures(runtime, home, clock.now()))["asked"] == (1, 0)

    # "Stuck, need help": stalled, and the coordinator hears of it.
    await marie.press("Bloqué, besoin d'aide")
    shown = await figures(runtime, home, clock.now())
    assert shown["pairs"] == {"rejected": 1, "stalled": 1}
    assert shown["asked"] == (1, 1)
    await runtime.tick()
    assert "needs help" in telegram.transcript("anna")

    # Pieter ends the pair at the check-in: closed.
    await pieter.press("End this pair")
    await pieter.press("Yes, end it")
    final = await figures(runtime, home, clock.now())
    assert final["pairs"] == {"rejected": 1, "closed": 1}
    assert final["participants"] == 4

    # `peerbot pairs list` says the same: the reject reads "rejected", never "declined".
    listed = peerbot("pairs", "list", "--status", "rejected", "--json", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    [rejected] = json.loads(listed.stdout)
    assert (rejected["state"], rejected["topic"]) == ("rejected", "elena")
    every = json.loads(peerbot("pairs", "list", "--json", database_url=database_url).stdout)
    assert sorted(r["state"] for r in every) == ["closed", "rejected"]
