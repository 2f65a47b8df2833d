"""The console's communication pages over real HTTP, as Alice (coordinator of programme alpha)
uses them: an announcement written side by side in the programme's languages, scheduled in
her time zone and cancelled before it goes; a survey answered by officers, read as bar charts
and downloaded as CSV; the same question asked three times answered once, each asker in their
language; a shared practice corrected before approval; the check-in cadence and channels.
Every action is audit-logged and none reaches programme beta."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from handlers.announcements.flow import send_announcements
from storage.models import Announcement, FaqQuery, Outbox
from storage.uow import UnitOfWork
from tests.stories.test_console_pages import audit_actions, text_of
from tests.support.console import (  # noqa: F401
    Browser,
    Site,
    add_practice,
    alice_fixture,
    site_fixture,
)

A = "/dashboard/p/alpha"
TOKYO = ZoneInfo("Asia/Tokyo")


async def _set_up(site: Site, languages: list[str] | None = None) -> None:
    """Alice works from Tokyo; alpha writes in `languages`."""
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        alice = await uow.officers.by_email("coord-a@alpha.eu")
        alpha = await uow.programmes.by_slug("alpha")
        assert alice is not None and alpha is not None
        alice.timezone = "Asia/Tokyo"
        if languages:
            alpha.languages = languages
        await uow.commit()


async def _announcement(site: Site, ann_id: int) -> Announcement:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        found = await uow.announcements.get(ann_id)
        assert found is not None
        return found


async def _beta_announcement(site: Site) -> int:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        beta = await uow.programmes.by_slug("beta")
        assert beta is not None
        return next(a.id for a in await uow.announcements.recent() if a.programme_id == beta.id)


def form_of(**fields: str | list[str]) -> aiohttp.FormData:
    """A form with repeated fields (several `question`, several `instruments`)."""
    data = aiohttp.FormData()
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            data.add_field(name, one)
    return data


def _local(moment: datetime) -> str:
    """What a `datetime-local` field sends for a moment in Tokyo."""
    return moment.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")


async def test_an_announcement_is_scheduled_in_the_coordinators_time_and_cancelled(
    site: Site, alice: Browser
) -> None:
    await _set_up(site, ["en", "fr", "it"])
    _, page = await alice.get(f"{A}/announcements")
    compose = page.split('id="compose"', 1)[1].split("</form>", 1)[0]
    side, _, more = compose.partition('id="more-langs"')
    # one text area per programme language, side by side; the others folded away
    assert 'name="tr_fr"' in side and 'name="tr_it"' in side and 'name="tr_fr"' not in more
    assert 'name="tr_de"' in more and "Asia/Tokyo" in compose
    assert re.search(r'<option value="en" selected>', compose)
    # in French, the text is French by default and English is one of the translations
    await alice.post(f"{A}/language", {"lang": "fr", "back": f"{A}/announcements"})
    _, page = await alice.get(f"{A}/announcements")
    compose = page.split('id="compose"', 1)[1].split('id="more-langs"', 1)[0]
    assert re.search(r'<option value="fr" selected>', compose) and 'name="tr_en"' in compose
    await alice.post(f"{A}/language", {"lang": "en", "back": f"{A}/announcements"})

    soon = datetime.now(UTC) + timedelta(days=2)
    typed = {"text": "Study visit", "lang": "en", "tr_fr": "Visite d'étude", "audience": "everyone"}
    status, page, _ = await alice.post(
        f"{A}/announcements/send", {**typed, "send_at": _local(soon - timedelta(days=4))}
    )
    assert status == 400 and 'id="send_at-error"' in page and "Visite d'étude" in text_of(page)
    status, page, _ = await alice.post(f"{A}/announcements/send", {**typed, "send_at": "soon"})
    assert status == 400 and 'id="send_at-error"' in page

    status, _, location = await alice.post(
        f"{A}/announcements/send", {**typed, "send_at": _local(soon)}
    )
    assert status == 303
    ann_id = int(location.rsplit("/", 1)[1])
    ann = await _announcement(site, ann_id)
    assert ann.send_at == soon.replace(second=0, microsecond=0)  # typed in Tokyo, kept in UTC
    assert ann.translations == {"fr": "Visite d'étude"}
    _, page = await alice.get(f"{A}/announcements/{ann_id}")
    assert 'data-state="scheduled"' in page and 'id="cancel-submit"' in page
    await send_announcements(site.runtime.core, {})  # not due yet: nothing happens
    assert (await _announcement(site, ann_id)).status == "scheduled"

    status, _, location = await alice.post(f"{A}/announcements/{ann_id}/cancel", {})
    assert status == 303 and location.endswith("done=cancelled")
    assert (await _announcement(site, ann_id)).status == "cancelled"
    status, _, location = await alice.post(f"{A}/announcements/{ann_id}/cancel", {})
    assert status == 303 and location.endswith("error=cancel")
    _, page = await alice.get(location)
    assert 'id="cancel-error"' in page and 'id="cancel-submit"' not in page
    status, _, _ = await alice.post(
        f"{A}/announcements/{await _beta_announcement(site)}/cancel", {}
    )
    assert status == 404
    assert await audit_actions(alice) == ["announcement.cancel", "announcement.schedule"]


async def test_the_live_count_is_broken_down_by_platform_and_language(
    site: Site, alice: Browser
) -> None:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        giulia = await uow.officers.by_email("a3@milano.it")
        assert giulia is not None
        giulia.locale = "it"
        for identity in giulia.identities:
            identity.last_seen_at = datetime.now(UTC)  # she pressed Start
        await uow.commit()
    _, body = await alice.get(f"{A}/announcements/reach.json?audience=everyone")
    found = json.loads(body)
    assert (
        sum(found["by_platform"].values()) == found["total"] == sum(found["by_language"].values())
    )
    assert found["by_language"].get("it") == 1 and found["names"]["it"] == "Italian"
    assert set(found["captions"]) == {"by_platform", "by_language", "not_reached"}
    status, page, _ = await alice.post(f"{A}/announcements/count", {"audience": "lang=it"})
    assert status == 200
    assert re.search(r'<td class="n" data-lang="it">1</td>', page)
    assert re.search(r'<td class="n" data-platform="(telegram|slack)">1</td>', page)


async def test_a_survey_is_answered_charted_and_downloaded(site: Site, alice: Browser) -> None:
    await _set_up(site)
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        giulia = await uow.officers.by_email("a3@milano.it")
        assert giulia is not None
        giulia.locale = "it"
        await uow.commit()
    now = datetime.now(UTC)
    good = {
        "text": "A short survey for the next cycle",
        "lang": "en",
        "question": "Which instrument should the next workshop cover?",
        "kind": "single",
        "options": "EPC\r\nESCO\r\nGreen bonds",
        "closes_at": _local(now + timedelta(days=3)),
        "audience": "everyone",
        "tr_it": "Un breve sondaggio per il prossimo ciclo",
        "qtr_it": "Quale strumento dovrebbe trattare il prossimo workshop?",
    }
    status, page, _ = await alice.post(
        f"{A}/surveys/send",
        {**good, "question": "?", "options": "EPC", "lang": "xx"},
    )
    assert status == 400
    assert 'id="question-error"' in page and 'id="options-error"' in page
    assert 'id="lang-error"' in page
    status, page, _ = await alice.post(
        f"{A}/surveys/send",
        {**good, "send_at": _local(now + timedelta(days=4))},  # closes before it goes
    )
    assert status == 400 and 'id="closes_at-error"' in page and "Green bonds" in page

    status, _, location = await alice.post(f"{A}/surveys/send", good)
    assert status == 303, location
    ann_id = int(location.rsplit("/", 1)[1])
    await send_announcements(site.runtime.core, {})
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        rows = (
            await uow.session.execute(
                Outbox.__table__.select().where(Outbox.purpose == "announcement")
            )
        ).all()
        sent = {r.officer_id: r.payload["text"] for r in rows if r.ref_id == ann_id}
        giulia_id = (await uow.officers.by_email("a3@milano.it")).id  # type: ignore[union-attr]
        assert "Quale strumento" in sent[giulia_id] and "breve sondaggio" in sent[giulia_id]
        assert len(sent) >= 2 and all(
            "Which instrument" in t for o, t in sent.items() if o != giulia_id
        )
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        repo = uow.announcements
        for email, choice, text in (
            ("a2@leuven.be", 0, None),
            ("a3@milano.it", 0, None),
            ("a1@ghent.be", 2, '=HYPERLINK("http://evil.example")'),
        ):
            officer = await uow.officers.by_email(email)
            assert officer is not None
            answer = await repo.answer_or_new(ann_id, officer.id, now)
            answer.choices = [choice]
            answer.text = text
        await uow.commit()

    status, page = await alice.get(f"{A}/surveys/{ann_id}")
    assert status == 200
    chart = re.search(r'<figure class="chart" id="chart-options".*?</figure>', page, re.S)
    assert chart, page
    bars = re.findall(r'<g class="bar" data-label="([^"]+)" data-value="(\d+)">', chart.group(0))
    assert bars == [("EPC", "2"), ("ESCO", "0"), ("Green bonds", "1")]
    widths = [int(w) for w in re.findall(r'<rect [^>]*width="(\d+)"', chart.group(0))]
    assert widths[0] == 2 * widths[2] > 0 and widths[1] == 0
    assert '<svg role="img"' in chart.group(0) and "<desc" in chart.group(0)
    assert 'id="chart-options-table"' in chart.group(0)  # the text alternative
    assert 'id="chart-needs"' in page  # EPC and green bonds map to instruments
    sectors = re.search(r'<table id="by-sector">.*?</table>', page, re.S)
    assert sectors and "Public lighting" in sectors.group(0)  # Pieter's sectors, by label
    assert "3 of " in text_of(page)

    async with alice.http.get(f"{site.url}{A}/surveys/{ann_id}/answers.csv") as resp:
        assert resp.status == 200 and resp.content_type == "text/csv"
        assert "attachment" in resp.headers["Content-Disposition"]
        body = (await resp.read()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sorted(r["choices"] for r in rows) == ["EPC", "EPC", "Green bonds"]
    assert next(r["text"] for r in rows if r["text"]).startswith("'=HYPERLINK")

    _, page = await alice.get(f"{A}/surveys")
    assert f'data-survey="{ann_id}"' in page
    beta = await _beta_announcement(site)
    for url in (
        f"{A}/surveys/{beta}",
        f"{A}/surveys/{beta}/answers.csv",
        "/dashboard/p/beta/surveys",
    ):
        status, _ = await alice.get(url)
        assert status == 404, url
    assert await audit_actions(alice) == ["survey.send"]


async def test_the_same_question_asked_three_times_is_answered_once(
    site: Site, alice: Browser
) -> None:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        giulia = await uow.officers.by_email("a3@milano.it")
        assert giulia is not None
        giulia.locale = "it"
        uow.session.add(
            FaqQuery(
                officer_id=giulia.id, text="How does an ESCO work", lang="it", outcome="unknown"
            )
        )
        await uow.commit()
        ids = {
            q.id: q.text
            for q in (await uow.session.execute(FaqQuery.__table__.select())).all()
            if "ESCO" in q.text and q.answer_text is None
        }
    _, page = await alice.get(f"{A}/questions")
    group = re.search(r'<tbody data-group="(\d+)" data-size="3">.*?</tbody>', page, re.S)
    assert group, text_of(page)
    assert sorted(int(i) for i in re.findall(r'data-question="(\d+)"', group.group(0))) == sorted(
        ids
    )
    assert "What is ELENA?" not in group.group(0)
    form: dict[str, str | list[str]] = {
        "question": [str(i) for i in ids],
        "lang": "en",
        "group": group.group(1),
    }

    status, page, _ = await alice.post(f"{A}/questions/answer-group", form_of(**form, text=" "))
    assert status == 400 and 'aria-invalid="true"' in page and "-text-error" in page
    answer = "An ESCO designs, finances and runs the retrofit, paid back from the savings."
    italian = "Una ESCO progetta, finanzia e gestisce la riqualificazione, ripagata dai risparmi."
    status, _, location = await alice.post(
        f"{A}/questions/answer-group", form_of(**form, text=answer, tr_it=italian)
    )
    assert status == 303 and "sent=" in location
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        rows = (
            await uow.session.execute(Outbox.__table__.select().where(Outbox.purpose == "faq"))
        ).all()
        by_query = {r.ref_id: r.payload["text"] for r in rows}
        assert set(by_query) == set(ids)
        giulias = next(i for i, text in ids.items() if text == "How does an ESCO work")
        assert italian in by_query[giulias]
        assert all(answer in t for i, t in by_query.items() if i != giulias)
    _, page = await alice.get(f"{A}/questions")
    assert "ESCO" not in page.split('id="questions"', 1)[-1]
    assert await audit_actions(alice) == ["faq.answer_group"]


async def test_alpha_cannot_answer_betas_questions_as_a_group(site: Site, alice: Browser) -> None:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        rows = (await uow.session.execute(FaqQuery.__table__.select())).all()
    theirs = [str(q.id) for q in rows if q.text == "Beta secret question"]
    mine = [str(q.id) for q in rows if "ESCO" in q.text]
    for path in (f"{A}/questions/answer-group", "/dashboard/p/beta/questions/answer-group"):
        status, _, _ = await alice.post(path, form_of(question=mine + theirs, text="leak"))
        assert status == 404, path
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        rows = (await uow.session.execute(FaqQuery.__table__.select())).all()
    assert all(q.answer_text is None for q in rows if str(q.id) in mine + theirs)


async def test_a_practice_is_corrected_with_the_chat_rules_before_approval(
    site: Site, alice: Browser
) -> None:
    mine = await add_practice(site, "a1@ghent.be", "Ghent street lighting ESCO")
    theirs = await add_practice(site, "b1@valencia.es", "Valencia secret practice")
    _, page = await alice.get(f"{A}/practices")
    assert f'href="{A}/practices/{mine}/edit"' in page
    status, page = await alice.get(f"{A}/practices/{mine}/edit")
    assert status == 200 and 'value="Ghent street lighting ESCO"' in page
    assert re.search(r'id="instrument-esco"[^>]*checked', page)

    bad = {
        "title": "LED",
        "sector": "public_lighting",
        "results": "LED retrofit of 12,000 street lights paid from the energy savings.",
        "amount": "a lot",
        "year": "1800",
        "co2_t": "plenty",
    }
    status, page, _ = await alice.post(f"{A}/practices/{mine}/edit", bad)
    assert status == 400
    for field in ("title", "instruments", "amount", "year", "co2_t"):
        assert f'id="{field}-error"' in page, field
    assert 'value="LED"' in page  # what was typed comes back
    good: dict[str, str | list[str]] = {
        **bad,
        "title": "Ghent LED street lighting through an ESCO",
        "amount": "2.5 million",
        "year": "2022",
        "instruments": ["esco", "epc"],
        "lessons": "Bundle the districts in one tender.",
        "savings_mwh": "1800 MWh",
        "co2_t": "",
    }
    status, _, location = await alice.post(f"{A}/practices/{mine}/edit", form_of(**good))
    assert status == 303 and location.endswith("done=edited")
    for url in (f"{A}/practices/{theirs}/edit", f"/dashboard/p/beta/practices/{theirs}/edit"):
        status, _ = await alice.get(url)
        assert status == 404, url
        status, _, _ = await alice.post(url, form_of(**good))
        assert status == 404, url
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        edited = await uow.practices.get(mine)
        untouched = await uow.practices.get(theirs)
        assert edited is not None and untouched is not None
        assert edited.title == "Ghent LED street lighting through an ESCO"
        assert edited.instruments == ["esco", "epc"] and edited.year == 2022
        assert edited.investment_eur == 2_500_000 and edited.status == "pending"
        assert edited.figures["lessons"] == "Bundle the districts in one tender."
        assert edited.savings_mwh == 1800.0 and edited.instrument_mix is None
        assert untouched.title == "Valencia secret practice"
    assert await audit_actions(alice) == ["practice.edit"]


async def test_check_ins_and_channels_are_validated_and_saved(site: Site, alice: Browser) -> None:
    wrong = {"checkin_days": "1", "slack_channel": "#general", "telegram_chat": "12345"}
    status, page, _ = await alice.post(f"{A}/settings/channels", wrong)
    assert status == 400
    for field in wrong:
        assert (
            f'id="{field}-error"' in page
            and f'aria-describedby="{field}-help {field}-error"' in page
        )
    assert 'value="#general"' in page
    right = {
        "checkin_days": "21",
        "slack_channel": "https://acme.slack.com/archives/C0123ABCD9",
        "telegram_chat": "https://t.me/c/1234567890/15",
    }
    status, _, location = await alice.post(f"{A}/settings/channels", right, csrf=None)
    assert status == 403
    status, _, location = await alice.post(f"{A}/settings/channels", right)
    assert status == 303 and location.endswith("done=channels")
    status, _, _ = await alice.post("/dashboard/p/beta/settings/channels", right)
    assert status == 404
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        alpha = await uow.programmes.by_slug("alpha")
        beta = await uow.programmes.by_slug("beta")
        assert alpha is not None and beta is not None
        assert (alpha.checkin_days, alpha.slack_channel_id, alpha.telegram_chat_id) == (
            21,
            "C0123ABCD9",
            -1001234567890,
        )
        assert (beta.checkin_days, beta.slack_channel_id, beta.telegram_chat_id) == (14, None, None)
    _, page = await alice.get(f"{A}/settings")
    assert 'value="C0123ABCD9"' in page and 'value="-1001234567890"' in page
    assert await audit_actions(alice) == ["programme.channels"]


@pytest.mark.parametrize("lang", ["en", "fr", "de", "es", "it"])
async def test_the_new_pages_have_labels_and_speak_the_language(
    site: Site, alice: Browser, lang: str
) -> None:
    practice = await add_practice(site, "a1@ghent.be", "Ghent street lighting ESCO")
    survey = {
        "text": "Survey",
        "question": "What do you need?",
        "kind": "text",
        "closes_at": _local(datetime.now(UTC) + timedelta(days=3)),
        "audience": "everyone",
    }
    _, _, location = await alice.post(f"{A}/surveys/send", survey)
    survey_id = location.rsplit("/", 1)[1]
    await alice.post(f"{A}/language", {"lang": lang, "back": f"{A}/roster"})
    pages = (
        "surveys",
        f"surveys/{survey_id}",
        f"announcements/{survey_id}",
        "questions",
        "settings",
        f"practices/{practice}/edit",
        "announcements",
        "audit",
    )
    for path in pages:
        status, page = await alice.get(f"{A}/{path}")
        assert status == 200 and f'<html lang="{lang}">' in page, path
        assert "console." not in text_of(page), path
        for field in re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', page):
            assert f'for="{field}"' in page, (path, field)


async def test_the_new_pages_need_sign_in_and_hide_beta(site: Site, alice: Browser) -> None:
    beta = await _beta_announcement(site)
    mine = await add_practice(site, "a1@ghent.be", "Ghent street lighting ESCO")
    pages = ("surveys", f"practices/{mine}/edit", "settings")
    async with aiohttp.ClientSession() as http:
        for page in pages:
            async with http.get(f"{site.url}{A}/{page}", allow_redirects=False) as resp:
                assert resp.status == 303 and resp.headers["Location"] == "/dashboard", page
    for page in pages:
        status, body = await alice.get(f"/dashboard/p/beta/{page}")
        assert status == 404, page
    for url in (f"{A}/surveys/{beta}", f"{A}/announcements/{beta}"):
        status, body = await alice.get(url)
        assert status == 404 and "Beta-only" not in body, url
    forged = [
        ("/dashboard/p/beta/surveys/send", {"text": "x", "question": "Which?", "kind": "text"}),
        (f"/dashboard/p/beta/announcements/{beta}/cancel", {}),
        (f"/dashboard/p/beta/practices/{mine}/edit", {"title": "Taken over"}),
    ]
    for path, data in forged:
        status, _, _ = await alice.post(path, data)
        assert status == 404, path
    for path, data in forged[1:]:
        status, _, _ = await alice.post(path.replace("/beta/", "/alpha/"), data, csrf=None)
        assert status == 403, path
    assert await audit_actions(alice) == []
