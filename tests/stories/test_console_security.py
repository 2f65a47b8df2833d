"""The console's frame, over real HTTP: every POST needs the session's CSRF token and the
console's own origin, and a coordinator of programme alpha can neither see nor change
anything of programme beta, whatever URL they type."""

from __future__ import annotations

import aiohttp

from storage.models import FaqQuery, Pair, PairStatus
from storage.uow import UnitOfWork
from tests.support.console import (  # noqa: F401
    EVIL,
    Browser,
    Site,
    alice_fixture,
    site_fixture,
    token_for,
)
from tests.support.report_seed import BETA_SECRETS, COORD_A

CONSOLE_PAGES = (
    "roster",
    "matching",
    "pairs",
    "questions",
    "announcements",
    "announcements/reach.json?audience=everyone",
    "practices",
    "settings",
    "audit",
)


async def _beta(site: Site) -> dict[str, int]:
    """Ids of beta's pair, question and announcement, and its programme id."""
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        beta = await uow.programmes.by_slug("beta")
        assert beta is not None
        (pair,) = await uow.pairs.list(programme_id=beta.id)
        announcement = next(
            a for a in await uow.announcements.recent() if a.programme_id == beta.id
        )
        questions = [
            q
            for q in (await uow.session.execute(FaqQuery.__table__.select())).all()
            if q.text == "Beta secret question"
        ]
        return {
            "programme": beta.id,
            "pair": pair.id,
            "question": questions[0].id,
            "announcement": announcement.id,
        }


async def _audit_count(site: Site) -> int:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        ids = {p.id for p in await uow.programmes.list()}
        return len(await uow.audit.recent(ids))


async def test_signed_out_visitors_are_sent_to_the_sign_in_page(site: Site) -> None:
    async with aiohttp.ClientSession() as http:
        for page in CONSOLE_PAGES:
            async with http.get(
                f"{site.url}/dashboard/p/alpha/{page}", allow_redirects=False
            ) as resp:
                assert resp.status == 303 and resp.headers["Location"] == "/dashboard", page


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    site: Site, alice: Browser
) -> None:
    for csrf in (None, "guessed-token"):
        status, body, _ = await alice.post("/dashboard/p/alpha/matching/propose", {}, csrf=csrf)
        assert status == 403, body
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        alpha = await uow.programmes.by_slug("alpha")
        assert alpha is not None
        assert await uow.matches.latest_round(alpha.id) is None
    assert await _audit_count(site) == 0


async def test_a_post_from_another_origin_is_refused_even_with_the_token(
    site: Site, alice: Browser
) -> None:
    for origin in (EVIL, None):  # another site; no Origin and no Referer at all
        status, _, _ = await alice.post(
            "/dashboard/p/alpha/settings",
            {"name": "Hijacked", "languages": "en"},
            origin=origin,
        )
        assert status == 403
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        alpha = await uow.programmes.by_slug("alpha")
        assert alpha is not None and alpha.name == "Alpha cohort"


async def test_a_bearer_token_reads_but_cannot_post_forms(site: Site) -> None:
    token = await token_for(site, COORD_A)
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {token}", "Origin": site.url}
        async with http.get(f"{site.url}/dashboard/p/alpha/roster", headers=headers) as resp:
            assert resp.status == 200
        async with http.post(
            f"{site.url}/dashboard/p/alpha/matching/propose",
            data={"csrf": "x"},
            headers=headers,
            allow_redirects=False,
        ) as resp:
            assert resp.status == 403


async def test_alpha_cannot_see_beta_through_any_url(site: Site, alice: Browser) -> None:
    beta = await _beta(site)
    urls = [f"/dashboard/p/beta/{page}" for page in CONSOLE_PAGES]
    urls += [
        f"/dashboard/p/beta/pairs/{beta['pair']}",
        f"/dashboard/p/beta/questions/{beta['question']}",
        f"/dashboard/p/beta/announcements/{beta['announcement']}",
        # beta's things under alpha's own address
        f"/dashboard/p/alpha/pairs/{beta['pair']}",
        f"/dashboard/p/alpha/questions/{beta['question']}",
        f"/dashboard/p/alpha/announcements/{beta['announcement']}",
        "/dashboard/p/nonexistent/roster",
    ]
    for url in urls:
        status, body = await alice.get(url)
        assert status == 404, url
        assert not any(secret in body for secret in BETA_SECRETS), url
    # and alpha's own pages never show beta's people, questions or announcements
    for page in CONSOLE_PAGES:
        status, body = await alice.get(f"/dashboard/p/alpha/{page}")
        assert status == 200, page
        assert not any(secret in body for secret in BETA_SECRETS), page
        assert "Javier" not in body and "Ivana" not in body, page


async def test_alpha_cannot_change_beta_through_any_url(site: Site, alice: Browser) -> None:
    beta = await _beta(site)
    csrf = await alice.csrf()
    forged = [
        ("/dashboard/p/beta/matching/propose", {}),
        ("/dashboard/p/beta/matching/decide", {"action": "approve_all"}),
        ("/dashboard/p/beta/settings", {"name": "Taken over", "languages": "en"}),
        ("/dashboard/p/beta/roster/apply", {"csv": "name,email,authority,country\nX,x@x.eu,X,BE"}),
        ("/dashboard/p/beta/announcements/send", {"text": "hi", "audience": "everyone"}),
        (f"/dashboard/p/beta/pairs/{beta['pair']}/close", {"reason": "other"}),
        (f"/dashboard/p/alpha/pairs/{beta['pair']}/close", {"reason": "other"}),
        (f"/dashboard/p/beta/questions/{beta['question']}/answer", {"answer": "leak"}),
        (f"/dashboard/p/alpha/questions/{beta['question']}/answer", {"answer": "leak"}),
        (f"/dashboard/p/alpha/questions/{beta['question']}/promote", {}),
    ]
    for path, data in forged:
        status, _, _ = await alice.post(path, data, csrf=csrf)
        assert status == 404, path
    # approving beta's pair id from alpha's own page does nothing either
    status, _, _ = await alice.post(
        "/dashboard/p/alpha/matching/decide",
        {"action": "approve", "pair": str(beta["pair"])},
        csrf=csrf,
    )
    assert status == 303
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        programme = await uow.programmes.by_slug("beta")
        assert programme is not None and programme.name == "Beta cohort"
        pair = await uow.session.get(Pair, beta["pair"])
        assert pair is not None and pair.status == PairStatus.ACTIVE
        question = await uow.session.get(FaqQuery, beta["question"])
        assert question is not None and question.answer_text is None
        assert await uow.officers.by_email("x@x.eu") is None
        assert await uow.matches.latest_round(beta["programme"]) is None
        assert len(await uow.announcements.recent()) == 3
    assert await _audit_count(site) == 0
    assert not (site.data_dir / "faq-drafts").exists()
