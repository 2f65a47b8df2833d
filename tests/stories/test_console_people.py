"""The console's people actions over real HTTP, as alpha's coordinator does them: edit one
officer with the roster's field rules, pause and resume them; create, copy and withdraw
invites; see who has not pressed Start; swap a proposal's mentor among the eligible ones;
nudge a pair (each officer in their language, through the outbox) and reassign its learner.
Every action lands in the audit log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.models import Invite, Officer, OfficerStatus, Outbox, Pair, PairStatus
from storage.uow import UnitOfWork
from tests.stories.test_console_pages import audit_actions, text_of
from tests.support.console import (  # noqa: F401
    MATCH_ROSTER,
    Browser,
    Site,
    alice_fixture,
    site_fixture,
)

A = "/dashboard/p/alpha"
SWAP_ROSTER = MATCH_ROSTER + "Nina Holm,nina@aarhus.dk,Aarhus,DK,en;da,public_buildings,,esco\n"
"""Two mentors for Ana's ESCO: whichever the round proposes, the other is a choice."""

GOOD = {
    "name": "Pieter Janssens",
    "email": "pieter@ghent.be",
    "authority": "Gent",
    "country": "Belgium",
    "job_title": "Energy manager",
    "languages": "Dutch; en",
    "timezone": "Europe/Brussels",
    "sectors": "public_lighting",
    "wants": "Energy performance contracting",
    "offers": "esco",
}


async def officer_id(site: Site, email: str) -> int:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        found = await uow.officers.by_email(email)
        assert found is not None
        return found.id


async def load(site: Site, model: type, key: int) -> object:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        return await uow.session.get(model, key)


async def test_an_officer_is_edited_with_the_rosters_rules(site: Site, alice: Browser) -> None:
    pid = await officer_id(site, "a1@ghent.be")
    status, page = await alice.get(f"{A}/roster")
    assert f'href="{A}/roster/officers/{pid}"' in page
    status, page = await alice.get(f"{A}/roster/officers/{pid}")
    assert status == 200 and 'value="Pieter"' in page

    bad = {
        **GOOD,
        "name": "x",
        "email": "a2@leuven.be",  # Lotte's
        "country": "Atlantis",
        "languages": "fr; Klingon",
        "wants": "magic_money",
    }
    status, page, _ = await alice.post(f"{A}/roster/officers/{pid}", bad)
    assert status == 400
    for field in ("name", "email", "country", "languages", "wants"):
        assert f'id="{field}-error"' in page, field
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page), field
    words = text_of(page)
    assert "Another officer already has this email" in words and "Klingon" in words
    assert 'value="Atlantis"' in page  # what was typed stays
    officer = await load(site, Officer, pid)
    assert isinstance(officer, Officer) and officer.name == "Pieter"  # nothing saved

    status, _, location = await alice.post(f"{A}/roster/officers/{pid}", GOOD)
    assert status == 303 and location.endswith("done=saved")
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        saved = await uow.officers.get(pid)
        assert saved is not None and saved.name == "Pieter Janssens"
        assert saved.email == "pieter@ghent.be" and saved.languages == ["nl", "en"]
        assert saved.wants == ["epc"] and saved.offers == ["esco"]
        assert saved.authority is not None and saved.authority.country == "BE"
    assert await audit_actions(alice) == ["officer.edit"]
    _, page = await alice.get(f"{A}/audit")
    assert "fields=authority,email,job_title,languages,name,offers,sectors,wants" in page


async def test_a_coordinator_pauses_and_resumes_an_officer(site: Site, alice: Browser) -> None:
    pid = await officer_id(site, "a2@leuven.be")
    status, page, _ = await alice.post(f"{A}/roster/officers/{pid}/pause", {"until": "soon"})
    assert status == 400 and 'id="until-error"' in page
    for wrong in ("2001-01-01", "15.01.2099"):  # past; more than a year away (as /pause)
        status, page, _ = await alice.post(f"{A}/roster/officers/{pid}/pause", {"until": wrong})
        assert status == 400 and 'id="until-error"' in page, wrong
    day = (datetime.now(UTC) + timedelta(days=30)).date()
    status, _, location = await alice.post(
        f"{A}/roster/officers/{pid}/pause", {"until": day.strftime("%d.%m.%Y")}
    )
    assert status == 303 and location.endswith("done=paused")
    officer = await load(site, Officer, pid)
    assert isinstance(officer, Officer) and officer.status == OfficerStatus.PAUSED
    assert officer.paused_reason == "coordinator" and officer.paused_until is not None
    _, page = await alice.get(f"{A}/roster/officers/{pid}")
    assert 'data-status="paused"' in page and day.isoformat() in page
    assert 'id="resume-submit"' in page

    status, _, location = await alice.post(f"{A}/roster/officers/{pid}/resume", {})
    assert status == 303 and location.endswith("done=resumed")
    officer = await load(site, Officer, pid)
    assert isinstance(officer, Officer) and officer.status == OfficerStatus.ACTIVE
    assert officer.paused_reason is None and officer.paused_until is None

    # Imported with consent=no: stays paused until they agree themselves.
    refused = await officer_id(site, "a5@bruges.be")
    _, page = await alice.get(f"{A}/roster/officers/{refused}")
    assert 'id="no-consent"' in page and 'id="resume-submit"' not in page
    status, _, location = await alice.post(f"{A}/roster/officers/{refused}/resume", {})
    assert location.endswith("done=not_paused")
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        told = (
            (
                await uow.session.execute(
                    select(Outbox).where(Outbox.purpose == "pause").order_by(Outbox.id)
                )
            )
            .scalars()
            .all()
        )
    assert [r.officer_id for r in told] == [pid, pid]
    assert "coordinators" in told[0].payload["text"] and "Welcome back" in told[1].payload["text"]
    assert await audit_actions(alice) == ["officer.resume", "officer.pause"]


async def test_invites_are_created_copied_and_withdrawn(site: Site, alice: Browser) -> None:
    status, page, _ = await alice.post(
        f"{A}/roster/invites", {"authority": "B", "country": "Narnia", "count": "x"}
    )
    assert status == 400
    for field in ("authority", "country", "count"):
        assert f'id="invite-{field}-error"' in page, field
    assert 'value="Narnia"' in page

    status, _, location = await alice.post(
        f"{A}/roster/invites", {"authority": "Bruges", "country": "BE", "count": "2", "days": "7"}
    )
    assert status == 303 and "done=invited" in location
    _, page = await alice.get(f"{A}/roster?done=invited")
    rows = re.findall(r'<tr data-invite="(\d+)">(.*?)</tr>', page, re.S)
    assert len(rows) == 2
    for _, row in rows:
        assert 'data-state="unused"' in row and "Bruges (BE)" in row
        link = re.search(r'id="invite-link-\d+" value="([^"]+)" readonly', row)
        code = re.search(r"<code>([^<]+)</code>", row)
        assert link and code and link.group(1).endswith(f"?start={code.group(1)}")
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        alpha = await uow.programmes.by_slug("alpha")
        made = (await uow.session.execute(select(Invite))).scalars().all()
        assert alpha is not None and {i.programme_id for i in made} == {alpha.id}

    first = rows[0][0]
    status, _, location = await alice.post(f"{A}/roster/invites/{first}/revoke", {})
    assert status == 303 and "done=revoked" in location
    _, page = await alice.get(f"{A}/roster")
    row = re.search(rf'<tr data-invite="{first}">.*?</tr>', page, re.S)
    assert row and 'data-state="expired"' in row.group(0) and "invite-link" not in row.group(0)
    status, _, location = await alice.post(f"{A}/roster/invites/{first}/revoke", {})
    assert "done=not_revoked" in location
    assert await audit_actions(alice) == ["invite.revoke", "invite.create"]


async def test_the_roster_lists_who_has_not_pressed_start(alice: Browser) -> None:
    _, page = await alice.get(f"{A}/roster")
    waiting = re.search(r'<ul id="not-started">(.*?)</ul>', page, re.S)
    assert waiting, page
    names = re.findall(r'">([^<]+)</a>', waiting.group(1))
    # Pieter, Lena (and the paused ones) are on Telegram and never wrote; Giulia also has Slack.
    assert "Pieter" in names and "Lena" in names and "Giulia" not in names
    assert "Gone" not in names  # left the programme


async def _proposed(site: Site, alice: Browser) -> tuple[int, int, int]:
    """A round on the swap roster: Ana's proposal id, its mentor and the other ESCO mentor."""
    await alice.post(f"{A}/roster/apply", {"csv": SWAP_ROSTER})
    await alice.post(f"{A}/matching/propose", {})
    ana = await officer_id(site, "ana@ljubljana.si")
    marta = await officer_id(site, "marta@sevilla.es")
    nina = await officer_id(site, "nina@aarhus.dk")
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        pair = (
            await uow.session.execute(
                select(Pair).where(Pair.learner_id == ana, Pair.status == PairStatus.PROPOSED)
            )
        ).scalar_one()
    assert pair.mentor_id in (marta, nina)
    return pair.id, pair.mentor_id, nina if pair.mentor_id == marta else marta


async def test_a_proposals_mentor_is_swapped_for_an_eligible_one(
    site: Site, alice: Browser
) -> None:
    pid, mentor, other = await _proposed(site, alice)
    _, page = await alice.get(f"{A}/matching")
    assert f'href="{A}/matching/pairs/{pid}"' in page
    status, page = await alice.get(f"{A}/matching/pairs/{pid}")
    assert status == 200
    choices = re.findall(r'<tr data-mentor="(\d+)">', page)
    assert choices == [str(other)]  # not the current mentor, not Eva (EPC), not Ana herself
    assert 'class="reasons"' in page

    eva = await officer_id(site, "eva@kosice.sk")
    status, page, _ = await alice.post(f"{A}/matching/pairs/{pid}/swap", {"mentor": str(eva)})
    assert status == 400 and 'id="mentor-error"' in page
    status, page, _ = await alice.post(f"{A}/matching/pairs/{pid}/swap", {})
    assert status == 400 and 'id="mentor-error"' in page

    status, _, location = await alice.post(f"{A}/matching/pairs/{pid}/swap", {"mentor": str(other)})
    assert status == 303 and location.endswith("done=swapped")
    pair = await load(site, Pair, pid)
    assert isinstance(pair, Pair) and pair.mentor_id == other
    assert pair.status == PairStatus.PROPOSED and pair.reasons and pair.score
    _, page = await alice.get(f"{A}/matching/pairs/{pid}")
    assert re.findall(r'<tr data-mentor="(\d+)">', page) == [str(mentor)]  # and back again
    assert await audit_actions(alice) == ["match.swap", "match.propose", "roster.import"]


async def test_swap_reasons_are_in_the_coordinators_language(site: Site, alice: Browser) -> None:
    pid, _, _ = await _proposed(site, alice)
    _, en = await alice.get(f"{A}/matching/pairs/{pid}")
    await alice.post(f"{A}/language", {"lang": "de", "back": f"{A}/matching"})
    _, de = await alice.get(f"{A}/matching/pairs/{pid}")
    assert '<html lang="de">' in de and "Ein anderer Mentor" in de
    reasons_en = re.findall(r'<ul class="reasons">(.*?)</ul>', en, re.S)
    reasons_de = re.findall(r'<ul class="reasons">(.*?)</ul>', de, re.S)
    assert reasons_en and len(reasons_en) == len(reasons_de) and reasons_en != reasons_de


async def test_a_live_pair_is_reassigned_to_another_mentor(site: Site, alice: Browser) -> None:
    pid, mentor, other = await _proposed(site, alice)
    await alice.post(f"{A}/matching/decide", {"action": "approve", "pair": str(pid)})
    async with UnitOfWork(site.runtime.sessionmaker) as uow:  # both on Slack
        for n, officer in enumerate((await officer_id(site, "ana@ljubljana.si"), mentor)):
            identity = await uow.identities.get_or_create("slack", f"U{n}", f"D{n}")
            identity.officer_id = officer
        await uow.commit()
    _, page = await alice.get(f"{A}/pairs/{pid}")
    assert re.findall(r'<tr data-mentor="(\d+)">', page) == [str(other)]
    status, page, _ = await alice.post(f"{A}/pairs/{pid}/reassign", {"mentor": str(mentor)})
    assert status == 400 and 'id="mentor-error"' in page  # the mentor it has: not a choice

    status, _, location = await alice.post(f"{A}/pairs/{pid}/reassign", {"mentor": str(other)})
    assert status == 303 and location.endswith("done=reassigned")
    new_id = int(location.split("/pairs/")[1].split("?")[0])
    old, new = await load(site, Pair, pid), await load(site, Pair, new_id)
    assert isinstance(old, Pair) and isinstance(new, Pair)
    assert old.status == PairStatus.CLOSED and old.close_reason == "reassigned"
    assert new.status == PairStatus.APPROVED and new.mentor_id == other
    assert new.learner_id == old.learner_id and new.topic == old.topic
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        told = {
            r.officer_id: r.payload["text"]
            for r in (await uow.session.execute(select(Outbox).where(Outbox.purpose == "pair")))
            .scalars()
            .all()
        }
    assert set(told) == {old.learner_id, mentor}  # the learner and the former mentor
    assert "another mentor" in told[old.learner_id] and "Thank you" in told[mentor]
    status, _, _ = await alice.post(f"{A}/pairs/{pid}/reassign", {"mentor": str(other)})
    assert status == 400  # ended already
    assert (await audit_actions(alice))[:2] == ["pair.reassign", "match.approve"]


async def test_a_nudge_reaches_both_officers_in_their_languages(site: Site, alice: Browser) -> None:
    lotte = await officer_id(site, "a2@leuven.be")
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        officer = await uow.officers.get(lotte)
        assert officer is not None
        officer.locale = "fr"
        await uow.commit()
    _, page = await alice.get(f"{A}/pairs")
    active = re.search(r'<table data-state="active">.*?<tr data-pair="(\d+)">', page, re.S)
    assert active
    pid = int(active.group(1))
    _, page = await alice.get(f"{A}/pairs/{pid}")
    assert 'id="nudge-submit"' in page
    status, _, location = await alice.post(f"{A}/pairs/{pid}/nudge", {})
    assert status == 303 and location.endswith("done=nudged")
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        rows = (
            (await uow.session.execute(select(Outbox).where(Outbox.purpose == "nudge")))
            .scalars()
            .all()
        )
    texts = {r.officer_id: r.payload["text"] for r in rows}
    assert len(rows) == 2 and all(r.ref_id == pid for r in rows)
    assert texts[lotte].startswith("Bonjour Lotte") and "Pieter" in texts[lotte]
    learner = next(k for k in texts if k != lotte)
    assert texts[learner].startswith("Hello Pieter") and "Lotte" in texts[learner]
    status, _, location = await alice.post(f"{A}/pairs/{pid}/nudge", {})
    assert location.endswith("done=not_nudged")  # once a day
    _, page = await alice.get(f"{A}/pairs")
    closed = re.search(r'<table data-state="closed">.*?<tr data-pair="(\d+)">', page, re.S)
    assert closed
    status, _, location = await alice.post(f"{A}/pairs/{closed.group(1)}/nudge", {})
    assert location.endswith("done=not_live")
    assert await audit_actions(alice) == ["pair.nudge"]


@pytest.mark.parametrize("lang", ["en", "fr", "de", "es", "it"])
async def test_the_new_pages_have_labels_and_speak_each_language(
    site: Site, alice: Browser, lang: str
) -> None:
    pid, _, _ = await _proposed(site, alice)
    await alice.post(f"{A}/roster/invites", {"authority": "Bruges", "country": "BE"})
    await alice.post(f"{A}/language", {"lang": lang, "back": f"{A}/roster"})
    officer = await officer_id(site, "a1@ghent.be")
    for path in (
        "roster",
        f"roster/officers/{officer}",
        f"matching/pairs/{pid}",
        f"pairs/{pid}",
    ):
        if path.startswith("pairs/"):
            await alice.post(f"{A}/matching/decide", {"action": "approve", "pair": str(pid)})
        status, page = await alice.get(f"{A}/{path}")
        assert status == 200 and f'<html lang="{lang}">' in page, path
        assert "console." not in text_of(page), path
        for field in re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', page):
            assert f'for="{field}"' in page, (path, field)


async def test_pairs_by_state_show_each_check_in(alice: Browser) -> None:
    _, page = await alice.get(f"{A}/pairs")
    active = re.search(r'<table data-state="active">.*?</table>', page, re.S)
    stalled = re.search(r'<table data-state="stalled">.*?</table>', page, re.S)
    assert active and stalled
    assert re.findall(r'data-answer="([a-z]*)"', active.group(0)) == ["met", "met"]
    assert "1. We met" in text_of(active.group(0))
    # one stalled pair never answered twice, the other said it is stuck
    answers = re.findall(r'data-answer="([a-z]*)"', stalled.group(0))
    assert sorted(answers) == ["", "", "stuck"]
    await alice.post(f"{A}/language", {"lang": "it", "back": f"{A}/pairs"})
    _, page = await alice.get(f"{A}/pairs")
    assert "1. Ci siamo incontrati" in text_of(page)


async def test_an_officer_who_joined_in_chat_needs_no_email(site: Site, alice: Browser) -> None:
    pid = await officer_id(site, "a3@milano.it")
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        giulia = await uow.officers.get(pid)
        assert giulia is not None
        giulia.email = None
        await uow.commit()
    form = {**GOOD, "name": "Giulia Rossi", "email": "", "authority": "Milano", "country": "IT"}
    status, _, _ = await alice.post(f"{A}/roster/officers/{pid}", form)
    assert status == 303
    saved = await load(site, Officer, pid)
    assert isinstance(saved, Officer) and saved.email is None and saved.name == "Giulia Rossi"
