"""A coordinator runs a learning cycle on the command line: creates it, imports applications,
forms groups, reviews and approves them; the running bot opens each group's space on Slack and
Telegram and introduces every member in their own language."""

from __future__ import annotations

import json
from pathlib import Path

from bot.app import Runtime
from bot.config import Settings
from tests.support.cli import invoke as peerbot
from tests.support.cli import with_runtime
from tests.support.peers import FORUM, SpaceMessenger, slack_like, talk, telegram_like

OFFICERS = """name,email,authority,country,role,languages,timezone,sectors,wants,offers,platform,platform_user_id,consent
Pieter Janssens,pieter@gent.be,Ghent,BE,officer,en;nl;fr,Europe/Brussels,public_lighting,,epc,telegram,1001,yes
Marie Dubois,marie@lyon.fr,Lyon,FR,officer,fr;en,Europe/Paris,public_lighting,epc,,slack,UMARIE,yes
Paul Martin,paul@lyon.fr,Lyon,FR,officer,fr,Europe/Paris,public_buildings,,,slack,UPAUL,yes
Ivana Horvat,ivana@zagreb.hr,Zagreb,HR,officer,hr;en,Europe/Zagreb,public_lighting,epc,,telegram,1002,yes
João Silva,joao@porto.pt,Porto,PT,officer,pt;en,Europe/Lisbon,public_lighting,,,slack,UJOAO,yes
Ola Nowak,ola@gdansk.pl,Gdańsk,PL,officer,pl;en,Europe/Warsaw,public_lighting,,,telegram,1004,yes
Kadri Tamm,kadri@tallinn.ee,Tallinn,EE,officer,et;en,Europe/Tallinn,mobility,,,telegram,1005,yes
Nora Nein,nora@oslo.no,Oslo,NO,officer,en,Europe/Oslo,mobility,epc,,telegram,1003,no
"""

APPLICATIONS = """email,wants,offers
pieter@gent.be,,EPC
marie@lyon.fr,epc;green_bond,
paul@lyon.fr,Energy performance contracting,
ivana@zagreb.hr,epc,
joao@porto.pt,epc,
ola@gdansk.pl,epc,
kadri@tallinn.ee,ppp,
nora@oslo.no,epc,
someone@nowhere.eu,epc,
ivana@zagreb.hr,magic money,
"""


def test_a_cycle_from_applications_to_introduced_groups_on_both_platforms(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "officers.csv").write_text(OFFICERS, encoding="utf-8")
    (tmp_path / "apply.csv").write_text(APPLICATIONS, encoding="utf-8")
    assert peerbot(settings, "officers", "import", str(tmp_path / "officers.csv")).exit_code == 0

    done = peerbot(
        settings,
        *("cycles", "create", "Cycle 1: street lighting"),
        *("--starts", "2026-12-01", "--ends", "2027-05-31", "--module", "public_lighting"),
        "--json",
    )
    assert done.exit_code == 0, done.output
    cycle = json.loads(done.stdout)
    assert cycle["modules"] == ["public_lighting"] and cycle["sizes"]["max_learners"] == 6

    done = peerbot(settings, "cycles", "apply", str(tmp_path / "apply.csv"), "--json")
    assert done.exit_code == 1  # bad rows are reported, good rows kept
    report = json.loads(done.stdout)
    assert report["created"] == 7
    assert report["errors"] == [
        "line 9: nora@oslo.no: no consent",
        "line 10: no officer someone@nowhere.eu; import the roster first",
        "line 11: unknown scheme 'magic money' in wants",
    ]
    listed = json.loads(peerbot(settings, "cycles", "list", "--json").stdout)
    assert [(c["name"], c["applications"]) for c in listed] == [("Cycle 1: street lighting", 7)]

    done = peerbot(settings, "groups", "propose", "--json")
    assert done.exit_code == 0, done.output
    proposal = json.loads(done.stdout)
    assert {"cycle", "groups", "unmatched"} <= set(proposal)
    assert proposal["cycle"]["id"] == cycle["id"]
    [group] = proposal["groups"]
    assert {"id", "scheme", "module", "mentors", "learners", "score", "reasons"} <= set(group)
    assert (group["scheme"], group["module"]) == ("epc", "public_lighting")
    assert group["mentors"] == [{"email": "pieter@gent.be", "authority": "Ghent"}]
    learners = sorted((m["authority"], m["email"]) for m in group["learners"])
    assert learners == [  # both officers of Lyon take Lyon's seat
        ("Gdańsk", "ola@gdansk.pl"),
        ("Lyon", "marie@lyon.fr"),
        ("Lyon", "paul@lyon.fr"),
        ("Porto", "joao@porto.pt"),
        ("Zagreb", "ivana@zagreb.hr"),
    ]
    assert "Working language: English" in group["reasons"]
    assert "Ghent: can mentor on Energy performance contracting (EPC)" in group["reasons"]
    assert (
        "Lyon: wants to learn about Energy performance contracting (EPC) (choice no. 1)"
        in (group["reasons"])
    )
    assert proposal["unmatched"] == [
        {
            "email": "kadri@tallinn.ee",
            "reason": "no mentor authority offers the schemes they want to learn",
        }
    ]

    shown = peerbot(settings, "groups", "show", str(group["id"]))
    assert "mentors: Ghent; learners: Gdańsk, Lyon, Porto, Zagreb" in shown.stdout
    done = peerbot(settings, "groups", "approve", "--all", "--json")
    assert json.loads(done.stdout) == {"approved": [group["id"]], "refused": []}
    again = peerbot(settings, "groups", "approve", str(group["id"]))
    assert again.exit_code == 1 and "already reviewed" in again.output

    slack = SpaceMessenger(platform="slack")
    telegram = SpaceMessenger(platform="telegram")

    async def run_bot(rt: Runtime) -> None:
        nonlocal slack, telegram
        slack = slack_like(rt)
        telegram = telegram_like(rt, forum=True)
        for user in ("UMARIE", "UPAUL", "UJOAO"):  # Slack officers open the app once
            await talk(rt, slack, user).say("/start")
        await rt.tick()
        await rt.tick()

    with_runtime(settings, run_bot)
    [channel] = slack.spaces
    assert sorted(channel["members"]) == ["UJOAO", "UMARIE", "UPAUL"]
    [topic] = telegram.spaces
    assert sorted(topic["members"]) == ["1001", "1002", "1004"] and topic["chat"] == FORUM
    link = f"https://t.me/c/777/{topic['thread']}"
    assert "peer-learning group on Energy performance contracting (EPC)" in telegram.transcript(
        "1002"
    )
    assert link in telegram.transcript("1002")
    assert "Your authority is a mentor" in telegram.transcript("1001")
    assert "I have added you to the group's private channel." in slack.transcript("UJOAO")
    assert "• Paul Martin (Lyon, FR)" in slack.transcript("UMARIE")  # her colleague, same seat
    assert "Welcome to this peer-learning group" in slack.transcript(channel["chat"])
    assert "Pieter Janssens (Ghent, BE), mentor" in slack.transcript(channel["chat"])

    shown = json.loads(peerbot(settings, "groups", "show", str(group["id"]), "--json").stdout)
    assert shown["status"] == "introduced"
    assert shown["spaces"]["telegram"] == {"chat_id": FORUM, "thread_id": topic["thread"]}
    assert shown["spaces"]["slack"]["chat_id"] == channel["chat"]


def test_wrong_input_is_one_clear_line(settings: Settings, tmp_path: Path) -> None:
    done = peerbot(settings, "groups", "propose")
    assert done.exit_code == 2 and "no such cycle" in done.output
    done = peerbot(
        settings, "cycles", "create", "C", "--starts", "2027-01-01", "--ends", "2026-01-01"
    )
    assert done.exit_code == 2 and "name has 2-200 characters" in done.output
    done = peerbot(
        settings, "cycles", "create", "Cycle", "--starts", "2027-01-01", "--ends", "2026-01-01"
    )
    assert done.exit_code == 2 and "ends after it starts" in done.output
    done = peerbot(
        settings,
        *("cycles", "create", "Cycle", "--starts", "2027-01-01", "--ends", "2027-06-01"),
        *("--min-learners", "5", "--max-learners", "4"),
    )
    assert done.exit_code == 2 and "learners: need 1 <= min <= max" in done.output
    (tmp_path / "a.csv").write_text("email,wants\nx@y.eu,epc\n", encoding="utf-8")
    peerbot(settings, "cycles", "create", "Cycle", "--starts", "2027-01-01", "--ends", "2027-06-01")
    done = peerbot(settings, "cycles", "apply", str(tmp_path / "a.csv"))
    assert done.exit_code == 1 and "missing column(s) offers" in done.output
    assert peerbot(settings, "groups", "approve").exit_code == 2
    assert peerbot(settings, "groups", "show", "99").exit_code == 1
