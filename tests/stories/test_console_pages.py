"""Each console action over real HTTP, as a coordinator of programme alpha does it: import a
roster after its preview, run a matching round, answer and promote a question, send an
announcement and read its delivery report, close a pair, change the settings and the console's
language; every action lands in the audit log."""

from __future__ import annotations

import asyncio
import html
import json
import re

import aiohttp
import pytest

from handlers.announcements.flow import send_announcements
from storage.models import FaqQuery, Pair, PairStatus
from storage.uow import UnitOfWork
from tests.stories.test_report import peerbot
from tests.support.console import (  # noqa: F401
    MATCH_ROSTER,
    Browser,
    Site,
    add_practice,
    alice_fixture,
    site_fixture,
)
from tests.support.paths import REPO_ROOT

A = "/dashboard/p/alpha"
ROSTER = (
    "name,email,authority,country,languages,platform,platform_user_id\n"
    "Ana Novak,ana@ljubljana.si,Ljubljana,SI,sl;en,telegram,7001\n"  # line 2: new
    "Pieter,a1@ghent.be,Ghent,BE,nl;en,,\n"  # line 3: already in alpha: updated
    "No Email,,Gent,BE,,,\n"  # line 4: rejected
    "Zed,zed@x.eu,Nowhere,Atlantis,,,\n"  # line 5: rejected
)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def audit_actions(alice: Browser) -> list[str]:
    status, page = await alice.get(f"{A}/audit")
    assert status == 200
    return re.findall(r'data-action="([a-z_.]+)"', page)


def upload(text: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("roster", text.encode(), filename="roster.csv", content_type="text/csv")
    return form


async def test_a_roster_is_previewed_then_applied(site: Site, alice: Browser) -> None:
    status, page, _ = await alice.post(f"{A}/roster/preview", upload(ROSTER))
    assert status == 200, page[:500]
    assert re.findall(r'data-line="(\d+)"', page) == ["4", "5"]
    assert "missing email" in page and "unknown country" in page
    assert re.findall(r'<li data-email="([^"]+)"', page) == ["ana@ljubljana.si", "a1@ghent.be"]
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        assert await uow.officers.by_email("ana@ljubljana.si") is None  # nothing written yet

    # The same preview from the CLI's dry run (the same service).
    csv_file = site.data_dir.parent / "roster.csv"
    csv_file.write_text(ROSTER, encoding="utf-8")
    done = await asyncio.to_thread(
        peerbot,
        "officers",
        "import",
        str(csv_file),
        "--programme",
        "alpha",
        "--dry-run",
        "--json",
        database_url=site.database_url,
    )
    assert done.returncode == 1, done.stderr  # rejected rows: exit 1, as a real import
    assert json.loads(done.stdout) == {
        "new": ["ana@ljubljana.si"],
        "updated": ["a1@ghent.be"],
        "rejected": [
            {"line": 4, "reason": "missing email"},
            {"line": 5, "reason": "unknown country 'Atlantis' (a name or ISO code, e.g. BE)"},
        ],
    }

    status, page, _ = await alice.post(f"{A}/roster/apply", {"csv": ROSTER})
    assert status == 200
    assert 'id="import-result"' in page
    assert "1 created, 1 updated, 2 rejected" in text_of(page)
    assert 'data-email="ana@ljubljana.si"' in page
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        ana = await uow.officers.by_email("ana@ljubljana.si")
        alpha = await uow.programmes.by_slug("alpha")
        assert ana is not None and alpha is not None and ana.programme_id == alpha.id
    # Ana is on Telegram but never pressed Start: the roster says so.
    row = re.search(r'<tr data-email="ana@ljubljana.si">.*?</tr>', page, re.S)
    assert row and "not-started" in row.group(0)
    assert await audit_actions(alice) == ["roster.import"]


async def test_an_upload_problem_is_shown_next_to_the_field(alice: Browser) -> None:
    status, page, _ = await alice.post(f"{A}/roster/preview", upload(""))
    assert status == 400
    assert 'id="roster-error"' in page and 'aria-describedby="roster-error"' in page
    form = aiohttp.FormData()
    form.add_field("roster", "é".encode("latin-1"), filename="r.csv")
    status, page, _ = await alice.post(f"{A}/roster/preview", form)
    assert status == 400 and "UTF-8" in text_of(page)


async def test_a_round_is_proposed_reviewed_and_approved(site: Site, alice: Browser) -> None:
    status, page = await alice.get(f"{A}/matching")
    assert 'id="no-round"' in page
    await alice.post(f"{A}/roster/apply", {"csv": MATCH_ROSTER})
    status, _, location = await alice.post(f"{A}/matching/propose", {})
    assert status == 303 and location.endswith("matching?done=proposed")
    status, page = await alice.get(f"{A}/matching?done=proposed")
    pairs = re.findall(r'<tr data-pair="(\d+)" data-status="proposed">', page)
    assert pairs, text_of(page.split("<main", 1)[1])[:3000]
    assert len(pairs) == 2 and 'class="reasons"' in page  # reasons in words
    unmatched = re.search(r'<table id="unmatched">.*?</table>', page, re.S)
    assert unmatched and "Tomas Lind" in unmatched.group(0)
    status, _, _ = await alice.post(f"{A}/matching/decide", {"action": "approve", "pair": pairs[0]})
    assert status == 303
    status, page = await alice.get(f"{A}/matching")
    assert f'<tr data-pair="{pairs[0]}" data-status="approved">' in page
    status, _, _ = await alice.post(f"{A}/matching/decide", {"action": "approve_all"})
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        for pid in pairs:
            pair = await uow.session.get(Pair, int(pid))
            assert pair is not None and pair.status == PairStatus.APPROVED
    assert await audit_actions(alice) == [
        "match.approve",
        "match.approve",
        "match.propose",
        "roster.import",
    ]


async def test_reasons_are_in_the_coordinators_language(alice: Browser) -> None:
    await alice.post(f"{A}/roster/apply", {"csv": MATCH_ROSTER})
    await alice.post(f"{A}/matching/propose", {})
    _, en = await alice.get(f"{A}/matching")
    await alice.post(f"{A}/language", {"lang": "fr", "back": f"{A}/matching"})
    _, fr = await alice.get(f"{A}/matching")
    assert '<html lang="fr">' in fr and "Proposer un tour" in fr
    reasons_en = re.findall(r'<ul class="reasons">(.*?)</ul>', en, re.S)
    reasons_fr = re.findall(r'<ul class="reasons">(.*?)</ul>', fr, re.S)
    assert reasons_en and len(reasons_en) == len(reasons_fr) and reasons_en != reasons_fr


async def test_an_unanswered_question_is_answered_and_promoted(site: Site, alice: Browser) -> None:
    status, page = await alice.get(f"{A}/questions")
    ids = re.findall(r'<tr data-question="(\d+)">', page)
    assert "What is ELENA?" in page
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        rows = [await uow.session.get(FaqQuery, int(i)) for i in ids]
    elena = next(q for q in rows if q is not None and q.text == "What is ELENA?")

    status, page, _ = await alice.post(f"{A}/questions/{elena.id}/answer", {"answer": "  "})
    assert status == 400 and 'id="answer-error"' in page
    answer = "ELENA is the EIB's technical assistance for energy-efficiency investments."
    status, _, location = await alice.post(f"{A}/questions/{elena.id}/answer", {"answer": answer})
    assert status == 303 and location.endswith("done=sent")
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        assert (await uow.outbox.counts("faq", elena.id))["pending"] == 1
    status, page = await alice.get(f"{A}/questions")
    assert "What is ELENA?" not in page

    status, page = await alice.get(f"{A}/questions/{elena.id}")
    assert "id: what-is-elena" in html.unescape(page)  # the draft entry's preview
    status, _, location = await alice.post(f"{A}/questions/{elena.id}/promote", {})
    assert status == 303
    draft = site.data_dir / "faq-drafts" / "alpha" / "what-is-elena.yaml"
    assert answer in draft.read_text(encoding="utf-8")
    assert await audit_actions(alice) == ["faq.promote", "faq.answer"]


async def test_an_announcement_is_counted_sent_and_reported(site: Site, alice: Browser) -> None:
    async with aiohttp.ClientSession(cookie_jar=alice.http.cookie_jar) as http:
        async with http.get(
            f"{site.url}{A}/announcements/reach.json", params={"audience": "everyone"}
        ) as resp:
            everyone = await resp.json()
        async with http.get(
            f"{site.url}{A}/announcements/reach.json", params={"audience": "country=Mars"}
        ) as resp:
            wrong = await resp.json()
    # alpha's active consenting officers: Pieter (telegram, never started), Lotte (slack),
    # Giulia (telegram + slack) and Lena (telegram, never started), plus Alice herself.
    assert everyone["total"] + sum(everyone["not_reached"].values()) == 5
    assert "country=Mars" in wrong["error"]

    status, page, _ = await alice.post(
        f"{A}/announcements/count", {"text": "Hello", "audience": "country=Mars"}
    )
    assert 'id="audience-error"' in page and "Hello" in page  # typed text kept

    status, page, _ = await alice.post(
        f"{A}/announcements/send", {"text": "", "audience": "everyone", "lang": "en"}
    )
    assert status == 400 and 'id="text-error"' in page
    status, _, location = await alice.post(
        f"{A}/announcements/send",
        {
            "text": "Workshop on Thursday",
            "lang": "en",
            "tr_fr": "Atelier jeudi",
            "audience": "everyone",
        },
    )
    assert status == 303
    report_url = location.removeprefix(site.url)
    _, page = await alice.get(report_url)
    assert 'data-state="scheduled"' in page
    await send_announcements(site.runtime.core, {})  # the bot's job expands it
    _, page = await alice.get(report_url)
    assert 'data-state="sending"' in page
    missed = re.findall(r'<tr data-why="([a-z_]+)"><td>([^<]+)</td>', page)
    assert ("not_started", "Pieter") in missed
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        ann_id = int(report_url.rsplit("/", 1)[1])
        ann = await uow.announcements.get(ann_id)
        assert ann is not None and ann.translations == {"fr": "Atelier jeudi"}
    assert await audit_actions(alice) == ["announcement.send"]


async def test_a_pair_shows_its_check_ins_and_closes_with_a_reason(
    site: Site, alice: Browser
) -> None:
    _, page = await alice.get(f"{A}/pairs")
    assert 'data-state="active"' in page and 'data-state="stalled"' in page
    active = re.search(r'<table data-state="active">.*?<tr data-pair="(\d+)">', page, re.S)
    assert active
    pid = active.group(1)
    _, page = await alice.get(f"{A}/pairs/{pid}")
    assert page.count('<td class="n">') >= 2  # two check-ins
    status, page, _ = await alice.post(f"{A}/pairs/{pid}/close", {"reason": ""})
    assert status == 400 and 'id="reason-error"' in page
    status, _, location = await alice.post(f"{A}/pairs/{pid}/close", {"reason": "goal_reached"})
    assert status == 303 and location.endswith("done=closed")
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        pair = await uow.session.get(Pair, int(pid))
        assert pair is not None and pair.status == PairStatus.CLOSED
        assert pair.close_reason == "goal_reached"
    assert await audit_actions(alice) == ["pair.close"]


async def test_settings_use_the_rules_of_programme_rename(site: Site, alice: Browser) -> None:
    status, page, _ = await alice.post(f"{A}/settings", {"name": "", "languages": "en"})
    assert status == 400 and 'id="name-error"' in page
    status, page, _ = await alice.post(f"{A}/settings", {"name": "Alpha"})
    assert status == 400 and 'id="languages-error"' in page
    form = aiohttp.FormData()
    form.add_field("name", "Alpha cities")
    form.add_field("languages", "en")
    form.add_field("languages", "fr")
    status, _, _ = await alice.post(f"{A}/settings", form)
    assert status == 303
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        alpha = await uow.programmes.by_slug("alpha")
        assert alpha is not None and alpha.name == "Alpha cities"
        assert list(alpha.languages) == ["en", "fr"]
    assert await audit_actions(alice) == ["programme.settings"]


async def test_a_good_practice_is_approved_and_its_author_told(site: Site, alice: Browser) -> None:
    mine = await add_practice(site, "a1@ghent.be", "Ghent street lighting ESCO")
    theirs = await add_practice(site, "b1@valencia.es", "Valencia secret practice")
    _, page = await alice.get(f"{A}/practices")
    assert re.findall(r'<tr data-practice="(\d+)">', page) == [str(mine)]
    assert "Valencia secret practice" not in page
    status, _, location = await alice.post(f"{A}/practices/{mine}", {"action": "approve"})
    assert status == 303 and location.endswith("done=approved")
    status, _, _ = await alice.post(f"{A}/practices/{theirs}", {"action": "approve"})
    assert status == 404
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        approved = await uow.practices.get(mine)
        untouched = await uow.practices.get(theirs)
        assert approved is not None and approved.status == "approved"
        assert untouched is not None and untouched.status == "pending"
        assert (await uow.outbox.counts("practice", mine))["pending"] == 1
    _, page = await alice.get(f"{A}/practices")
    assert 'id="no-practices"' in page
    assert await audit_actions(alice) == ["practice.approve"]


@pytest.mark.parametrize("lang", ["en", "fr", "de", "es", "it"])
async def test_every_page_has_labels_and_speaks_each_language(alice: Browser, lang: str) -> None:
    await alice.post(f"{A}/language", {"lang": lang, "back": f"{A}/roster"})
    pages = ("roster", "matching", "pairs", "questions", "announcements", "practices", "settings")
    for page_name in pages:
        status, page = await alice.get(f"{A}/{page_name}")
        assert status == 200 and f'<html lang="{lang}">' in page
        assert "console." not in text_of(page)  # no message key left untranslated
        for field in re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', page):
            assert f'for="{field}"' in page, (page_name, field)


def test_the_messages_have_the_same_keys_in_the_five_languages() -> None:
    import yaml

    folder = REPO_ROOT / "content" / "messages"
    keys = {
        lang: set(yaml.safe_load((folder / f"{lang}.console.yaml").read_text())["console"])
        for lang in ("en", "fr", "de", "es", "it")
    }
    assert all(k == keys["en"] for k in keys.values())
