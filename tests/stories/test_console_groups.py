"""A coordinator of programme alpha runs a learning cycle in the console over real HTTP:
creates it, enters applications for officers, forms groups, tries an edit that breaks a rule
(refused, nothing changed), seats an unmatched authority, approves, and reads the cycle's
figures; another programme's cycles stay out of reach."""

from __future__ import annotations

import re

from tests.stories.test_console_pages import audit_actions, text_of
from tests.support.console import (  # noqa: F401
    MATCH_ROSTER,
    Browser,
    Site,
    alice_fixture,
    site_fixture,
)

A = "/dashboard/p/alpha"


async def test_a_cycle_is_created_applied_to_grouped_edited_and_approved(
    site: Site, alice: Browser
) -> None:
    await alice.post(f"{A}/roster/apply", {"csv": MATCH_ROSTER})
    status, page = await alice.get(f"{A}/cycles")
    assert status == 200 and 'id="no-cycles"' in page

    bad = {"name": "Cycle 1", "starts": "2027-13-01", "ends": "2027-06-30"}
    status, page, _ = await alice.post(f"{A}/cycles", bad)
    assert status == 400 and 'id="starts-error"' in page and "2027-01-15" in text_of(page)
    form = {
        "name": "Cycle 1: buildings and lighting",
        "starts": "2027-01-15",
        "ends": "2027-06-30",
        "min_learners": "1",
        "max_learners": "2",
    }
    status, _, location = await alice.post(f"{A}/cycles", form)
    assert status == 303 and "done=created" in location
    cycle = re.search(r"/cycles/(\d+)", location)
    assert cycle is not None
    c = f"{A}/cycles/{cycle.group(1)}"

    applications = [
        ("ana@ljubljana.si", ["esco"], []),
        ("marta@sevilla.es", [], ["esco"]),
        ("jonas@malmo.se", ["epc"], []),
        ("eva@kosice.sk", [], ["epc"]),
    ]
    for email, wants, offers in applications:
        status, _, location = await alice.post(
            f"{c}/apply", {"email": email, "wants": wants, "offers": offers}
        )
        assert status == 303 and location.endswith("done=applied"), location
    status, page, _ = await alice.post(f"{c}/apply", {"email": "nobody@x.eu", "wants": ["epc"]})
    assert status == 400 and "No officer of this programme has this e-mail" in text_of(page)
    status, page, _ = await alice.post(f"{c}/apply", {"email": "tomas@tartu.ee"})
    assert status == 400 and 'id="wants-error"' in page

    status, _, location = await alice.post(f"{c}/groups/propose", {})
    assert status == 303 and location.endswith("groups?done=proposed")
    status, page = await alice.get(f"{c}/groups")
    groups = dict(re.findall(r'<h2 id="group-(\d+)">#\d+ · ([^·]+) ·', page))
    assert len(groups) == 2, text_of(page)[:2000]
    epc = next(g for g, label in groups.items() if "EPC" in label)
    esco = next(g for g in groups if g != epc)
    assert "wants to learn about" in text_of(page)  # each member's reasons, in words

    status, page, _ = await alice.post(
        f"{c}/groups/edit",
        {"group": epc, "action": "move", "member": "jonas@malmo.se", "to": esco},
    )
    assert status == 400
    error = re.search(r'<div class="warn" role="alert" id="edit-error">(.*?)</div>', page, re.S)
    assert error is not None
    assert "Nothing was changed" in error.group(1) and "does not want esco" in error.group(1)

    status, _, _ = await alice.post(
        f"{c}/apply", {"email": "tomas@tartu.ee", "wants": ["epc", "green_bond"]}
    )
    assert status == 303
    status, _, location = await alice.post(
        f"{c}/groups/edit",
        {"group": epc, "action": "add", "member": "tomas@tartu.ee", "role": "learner"},
    )
    assert status == 303 and location.endswith("done=edited")
    status, page = await alice.get(f"{c}/groups")
    section = re.search(rf'<section data-group="{epc}".*?</section>', page, re.S)
    assert section is not None and "Tartu" in section.group(0)

    status, _, _ = await alice.post(f"{c}/groups/decide", {"action": "approve_all"})
    assert status == 303
    status, page = await alice.get(c)
    assert status == 200
    assert "approved: 2" in text_of(page) and "Tomas Lind" in text_of(page)
    assert await audit_actions(alice) == [
        "groups.approve",
        "groups.add",
        "cycle.apply",
        "groups.propose",
        "cycle.apply",
        "cycle.apply",
        "cycle.apply",
        "cycle.apply",
        "cycle.create",
        "roster.import",
    ]
    # another programme's pages and a forged form stay out of reach
    assert (await alice.get("/dashboard/p/beta/cycles"))[0] == 404
    assert (await alice.get(f"{A}/cycles/999999/groups"))[0] == 404
    status, _, _ = await alice.post(f"{c}/groups/decide", {"action": "reject_all"}, csrf=None)
    assert status == 403


async def test_the_cycle_pages_speak_each_language(alice: Browser) -> None:
    form = {"name": "Cycle 1", "starts": "2027-01-15", "ends": "2027-06-30"}
    _, _, location = await alice.post(f"{A}/cycles", form)
    c = location.split("?")[0].removeprefix(alice.site.url)
    for lang in ("en", "fr", "de", "es", "it"):
        await alice.post(f"{A}/language", {"lang": lang, "back": f"{A}/cycles"})
        for path in (f"{A}/cycles", c, f"{c}/groups"):
            status, page = await alice.get(path)
            assert status == 200 and f'<html lang="{lang}">' in page
            assert "console." not in text_of(page), (lang, path)
            for field in re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', page):
                assert f'for="{field}"' in page, (path, field)
