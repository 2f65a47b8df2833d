"""The coordinator's whole story on the command line: import officers and practices, propose,
review and approve a round; the running bot introduces every pair on its platforms and a
Slack-Telegram pair talks across the bridge."""

from __future__ import annotations

import json
from pathlib import Path

from bot.app import Runtime
from bot.config import Settings
from tests.support.cli import invoke as peerbot
from tests.support.cli import with_runtime
from tests.support.peers import FORUM, SpaceMessenger, slack_like, talk, telegram_like, texts

OFFICERS = """name,email,authority,country,role,languages,timezone,sectors,wants,offers,platform,platform_user_id,consent
Anna Coordinator,anna@energy-cities.eu,Besançon,FR,coordinator,fr;en,Europe/Paris,cross_sector,,,slack,UANNA,yes
Marie Dubois,marie@lyon.fr,Lyon,FR,officer,fr;en,Europe/Paris,public_lighting,epc,,slack,UMARIE,yes
Pieter Janssens,pieter@gent.be,Ghent,BE,officer,en;nl;fr,Europe/Brussels,public_lighting,,epc;esco,telegram,1001,yes
Giulia Rossi,giulia@comune.milano.it,Milano,IT,officer,it;en,Europe/Rome,public_buildings,,revolving_fund;elena,slack,UGIULIA,yes
Ivana Horvat,ivana@zagreb.hr,Zagreb,HR,officer,hr;en,Europe/Zagreb,public_buildings,elena,,telegram,1002,yes
Nora Nein,nora@oslo.no,Oslo,NO,officer,en,Europe/Oslo,mobility,epc,,telegram,1003,no
"""

PRACTICES = """
- title: EPC for 40,000 street lights
  authority: Ghent
  country: BE
  sector: public_lighting
  instruments: [epc]
  year: 2019
  results: 60% less electricity, paid back in 12 years
  officer_email: pieter@gent.be
"""


def test_from_a_csv_to_introduced_pairs_that_talk_across_platforms(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "officers.csv").write_text(OFFICERS, encoding="utf-8")
    (tmp_path / "practices.yaml").write_text(PRACTICES, encoding="utf-8")
    done = peerbot(settings, "officers", "import", str(tmp_path / "officers.csv"), "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["created"] == 6
    done = peerbot(settings, "practices", "import", str(tmp_path / "practices.yaml"))
    assert done.exit_code == 0 and "1 created" in done.stdout, done.output

    done = peerbot(settings, "match", "propose", "--json")
    assert done.exit_code == 0, done.output
    proposal = json.loads(done.stdout)
    assert set(proposal) == {"round", "pairs", "unmatched"}
    assert proposal["unmatched"] == []  # Nora did not consent: not in the round at all
    by_topic = {p["topic"]: p for p in proposal["pairs"]}
    assert set(by_topic) == {"epc", "elena"}
    epc = by_topic["epc"]
    assert set(epc) == {"id", "learner", "mentor", "topic", "score", "reasons"}
    assert epc["learner"] == {"email": "marie@lyon.fr", "name": "Marie Dubois", "authority": "Lyon"}
    assert epc["mentor"]["email"] == "pieter@gent.be"
    assert "Ghent ran 'EPC for 40,000 street lights' (2019)" in epc["reasons"]
    assert by_topic["elena"]["mentor"]["name"] == "Giulia Rossi"

    shown = peerbot(settings, "match", "show")
    assert "Marie Dubois (Lyon) <- Pieter Janssens (Ghent)" in shown.stdout
    done = peerbot(settings, "match", "approve", "--all", "--json")
    assert done.exit_code == 0, done.output
    assert sorted(json.loads(done.stdout)["approved"]) == sorted(p["id"] for p in proposal["pairs"])
    again = peerbot(settings, "match", "approve", str(epc["id"]))
    assert again.exit_code == 1 and "already reviewed" in again.output

    slack = SpaceMessenger(platform="slack")
    telegram = SpaceMessenger(platform="telegram")

    async def run_bot(rt: Runtime) -> None:
        nonlocal slack, telegram
        slack = slack_like(rt)
        telegram = telegram_like(rt, forum=True)
        for user in ("UMARIE", "UGIULIA"):  # Slack officers open the app once
            await talk(rt, slack, user).say("/start")
        await rt.tick()
        await rt.tick()
        [marie_channel] = [s for s in slack.spaces if s["members"] == ["UMARIE"]]
        [pieter_topic] = [s for s in telegram.spaces if s["members"] == ["1001"]]
        marie = talk(rt, slack, "UMARIE", chat_id=marie_channel["chat"], chat_kind="channel")
        pieter = talk(rt, telegram, "1001", chat_id=FORUM, chat_kind="group")
        await marie.handle(text="Bonjour! How long did the tender take?", message_id="17.1")
        await rt.tick()
        await pieter.handle(
            text="Nine months, with a dialogue phase.",
            thread_id=pieter_topic["thread"],
            message_id="55",
        )
        await rt.tick()
        topic_texts = [
            s.reply.text
            for s in telegram.sent
            if s.chat_id == FORUM and s.reply.thread_id == pieter_topic["thread"]
        ]
        assert topic_texts[-1] == "Marie Dubois (Lyon): Bonjour! How long did the tender take?"
        channel_texts = texts(slack, marie_channel["chat"])
        assert channel_texts[-1] == "Pieter Janssens (Ghent): Nine months, with a dialogue phase."
        for who, messenger in (("UMARIE", slack), ("1001", telegram)):
            await talk(rt, messenger, who).press("Accept")

    with_runtime(settings, run_bot)
    assert len(slack.spaces) == 2 and len(telegram.spaces) == 2  # a space per pair and platform
    assert "you have a peer! Pieter Janssens" in slack.transcript("UMARIE")
    assert "you have a peer! Marie Dubois" in telegram.transcript("1001")
    assert "you have a peer!" in telegram.transcript("1002")  # Ivana, with Giulia on Slack

    listed = peerbot(settings, "pairs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {r["topic"]: r for r in json.loads(listed.stdout)}
    assert (rows["epc"]["status"], rows["epc"]["health"]) == ("active", "active")
    assert rows["epc"]["next_checkin"] is not None
    assert rows["epc"]["spaces"]["telegram"]["chat_id"] == FORUM
    assert (rows["elena"]["status"], rows["elena"]["last_outcome"]) == ("introduced", None)
    assert rows["epc"].keys() >= {"learner", "mentor", "flagged", "last_checkin", "next_checkin"}
    shown = peerbot(settings, "pairs", "show", str(rows["epc"]["id"]), "--json")
    assert json.loads(shown.stdout)["checkins"] == []


def test_practices_review_and_export_on_the_command_line(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "officers.csv").write_text(OFFICERS, encoding="utf-8")
    peerbot(settings, "officers", "import", str(tmp_path / "officers.csv"))
    pending = PRACTICES.replace("officer_email", "status: pending\n  officer_email")
    (tmp_path / "p.yaml").write_text(pending, encoding="utf-8")
    assert peerbot(settings, "practices", "import", str(tmp_path / "p.yaml")).exit_code == 0
    listed = peerbot(settings, "practices", "review", "--json")
    [waiting] = json.loads(listed.stdout)
    assert waiting["title"] == "EPC for 40,000 street lights" and waiting["status"] == "pending"
    done = peerbot(settings, "practices", "review", "--approve", str(waiting["id"]), "--json")
    assert json.loads(done.stdout)["approved"] == [waiting["id"]]
    assert peerbot(settings, "practices", "review", "--reject", "99").exit_code == 1
    listed = json.loads(peerbot(settings, "practices", "list", "--json").stdout)
    assert [p["status"] for p in listed] == ["approved"]
    out = tmp_path / "out.yaml"
    assert peerbot(settings, "practices", "export", str(out)).exit_code == 0
    assert "officer_email: pieter@gent.be" in out.read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {title: X, authority: Y}\n", encoding="utf-8")
    done = peerbot(settings, "practices", "import", str(bad), "--json")
    assert done.exit_code == 1 and "item 1: country" in done.stdout


def test_wrong_input_is_one_clear_line(settings: Settings) -> None:
    done = peerbot(settings, "match", "propose", "--programme", "nope")
    assert done.exit_code == 2 and "no programme 'nope'" in done.output
    done = peerbot(settings, "match", "approve")
    assert done.exit_code == 2 and "--all" in done.output
    done = peerbot(settings, "pairs", "list", "--status", "sleeping")
    assert done.exit_code == 2 and "unknown status" in done.output
    assert json.loads(peerbot(settings, "pairs", "list", "--json").stdout) == []
