"""A coordinator edits a cycle's groups on the command line (`peerbot groups remove|add|move|
swap-mentor|takeover|leave`), each refused with the rule it would break, and reads the cycle's
figures in `peerbot cycles report` and `peerbot report --json`."""

from __future__ import annotations

import json
from pathlib import Path

from bot.config import Settings
from tests.stories.test_cli_groups import APPLICATIONS, OFFICERS
from tests.support.cli import invoke as peerbot


def test_groups_are_edited_with_the_rules_kept_and_reported_per_cycle(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "officers.csv").write_text(OFFICERS, encoding="utf-8")
    (tmp_path / "apply.csv").write_text(APPLICATIONS, encoding="utf-8")
    assert peerbot(settings, "officers", "import", str(tmp_path / "officers.csv")).exit_code == 0
    created = peerbot(
        settings,
        *("cycles", "create", "Cycle 1", "--starts", "2026-12-01", "--ends", "2027-05-31"),
    )
    assert created.exit_code == 0, created.output
    peerbot(settings, "cycles", "apply", str(tmp_path / "apply.csv"))
    proposal = json.loads(peerbot(settings, "groups", "propose", "--json").stdout)
    [group] = proposal["groups"]
    gid = str(group["id"])

    done = peerbot(settings, "groups", "remove", gid, "ivana@zagreb.hr", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"removed": "Zagreb", "group": group["id"]}
    refused = peerbot(settings, "groups", "remove", gid, "joao@porto.pt")
    assert refused.exit_code == 2
    assert (
        f"cannot remove: this change would break a rule: group #{gid} (epc): "
        "2 learner authorities" in refused.output
    )
    refused = peerbot(settings, "groups", "add", gid, "kadri@tallinn.ee")
    assert refused.exit_code == 2 and "Tallinn does not want epc" in refused.output
    done = peerbot(settings, "groups", "add", gid, "ivana@zagreb.hr", "--as", "learner")
    assert done.exit_code == 0 and "added Zagreb" in done.stdout
    refused = peerbot(settings, "groups", "move", gid, "joao@porto.pt", "--to", "9999")
    assert refused.exit_code == 1 and "no such group" in refused.output
    refused = peerbot(settings, "groups", "swap-mentor", gid, "ola@gdansk.pl", "joao@porto.pt")
    assert refused.exit_code == 2 and "Gdańsk does not mentor" in refused.output

    assert peerbot(settings, "groups", "approve", "--all").exit_code == 0
    left = peerbot(settings, "groups", "leave", "marie@lyon.fr", "--json")
    assert left.exit_code == 0, left.output
    [seat] = json.loads(left.stdout)["seats"]
    assert (seat["group"], seat["from"], seat["to"], seat["kept"]) == (
        group["id"], "marie@lyon.fr", "paul@lyon.fr", False
    )  # her colleague already shared Lyon's seat: he keeps it alone  # fmt: skip
    shown = json.loads(peerbot(settings, "groups", "show", gid, "--json").stdout)
    emails = sorted(m["email"] for m in shown["learners"])
    assert emails == ["ivana@zagreb.hr", "joao@porto.pt", "ola@gdansk.pl", "paul@lyon.fr"]
    refused = peerbot(settings, "groups", "takeover", gid, "marie@lyon.fr")
    assert refused.exit_code == 2 and "not active" in refused.output

    cycle = json.loads(peerbot(settings, "cycles", "report", "--json").stdout)
    assert cycle["groups_by_status"] == {"approved": 1}
    assert cycle["groups_by_scheme"] == {"epc": 1}
    assert cycle["applications"] == 7 and cycle["vacant_seats"] == 0
    [row] = cycle["groups"]
    assert (row["seats"], row["health"], row["latest_checkin"]) == (5, "approved", "new")
    text = peerbot(settings, "cycles", "report")
    assert "groups approved 1" in text.stdout and "vacant seats: 0" in text.stdout

    report = json.loads(peerbot(settings, "report", "--json").stdout)
    assert {"participants", "pairs_now", "kpis"} <= set(report)  # the keys before stay
    assert [c["name"] for c in report["cycles"]] == ["Cycle 1"]
    assert report["cycles"][0]["groups_by_module"] == {"public_lighting": 1}
