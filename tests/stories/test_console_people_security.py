"""Every POST of the console's people actions (officer edit, pause, resume; invites create and
withdraw; swap a proposal's mentor; nudge; reassign) is refused without the session's CSRF
token or from another origin, and alpha's coordinator can neither see nor change beta's
officer, pair or invite by typing a URL, under beta's address or alpha's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from storage.models import Invite, Officer, OfficerStatus, Outbox, Pair, PairStatus
from storage.uow import UnitOfWork
from tests.support.console import (  # noqa: F401
    EVIL,
    Browser,
    Site,
    alice_fixture,
    site_fixture,
)
from tests.support.report_seed import BETA_SECRETS

A, B = "/dashboard/p/alpha", "/dashboard/p/beta"
EDIT = {
    "name": "Taken Over",
    "email": "taken@over.eu",
    "authority": "Nowhere",
    "country": "BE",
    "languages": "en",
}


async def _ids(site: Site) -> dict[str, int]:
    """Alpha's Pieter and active pair; beta's Javier, pair and an invite of beta's."""
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        alpha = await uow.programmes.by_slug("alpha")
        beta = await uow.programmes.by_slug("beta")
        pieter = await uow.officers.by_email("a1@ghent.be")
        javier = await uow.officers.by_email("b1@valencia.es")
        assert alpha and beta and pieter and javier
        pairs = (await uow.session.execute(select(Pair).order_by(Pair.id))).scalars().all()
        beta_pair = next(p for p in pairs if p.programme_id == beta.id)
        alpha_pair = next(
            p for p in pairs if p.programme_id == alpha.id and p.status == PairStatus.ACTIVE
        )
        zagreb = await uow.authorities.get_or_create("Zagreb", "HR")
        invite = Invite(
            code="BETA-ONLY-CODE",
            purpose="join",
            authority_id=zagreb.id,
            programme_id=beta.id,
            expires_at=datetime.now(UTC) + timedelta(days=9),
        )
        uow.session.add(invite)
        await uow.commit()
        return {
            "pieter": pieter.id,
            "javier": javier.id,
            "alpha_pair": alpha_pair.id,
            "beta_pair": beta_pair.id,
            "beta_invite": invite.id,
        }


def _posts(ids: dict[str, int]) -> list[tuple[str, dict[str, str]]]:
    """Every new POST, on alpha's own things."""
    return [
        (f"{A}/roster/officers/{ids['pieter']}", EDIT),
        (f"{A}/roster/officers/{ids['pieter']}/pause", {}),
        (f"{A}/roster/officers/{ids['pieter']}/resume", {}),
        (f"{A}/roster/invites", {"authority": "Bruges", "country": "BE"}),
        (f"{A}/matching/pairs/{ids['alpha_pair']}/swap", {"mentor": "1"}),
        (f"{A}/pairs/{ids['alpha_pair']}/nudge", {}),
        (f"{A}/pairs/{ids['alpha_pair']}/reassign", {"mentor": "1"}),
    ]


async def _nothing_changed(site: Site, ids: dict[str, int]) -> None:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        pieter = await uow.session.get(Officer, ids["pieter"])
        javier = await uow.session.get(Officer, ids["javier"])
        assert pieter is not None and pieter.name == "Pieter"
        assert pieter.status == OfficerStatus.ACTIVE
        assert javier is not None and javier.name == "Javier"
        assert javier.status == OfficerStatus.ACTIVE
        for key in ("alpha_pair", "beta_pair"):
            pair = await uow.session.get(Pair, ids[key])
            assert pair is not None and pair.status == PairStatus.ACTIVE, key
        invite = await uow.session.get(Invite, ids["beta_invite"])
        assert invite is not None and invite.expires_at is not None
        assert invite.expires_at.replace(tzinfo=UTC) > datetime.now(UTC)
        invites = await uow.session.scalar(select(func.count()).select_from(Invite))
        assert invites == 1
        nudges = await uow.session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.purpose == "nudge")
        )
        assert nudges == 0
        ids_all = {p.id for p in await uow.programmes.list()}
        assert await uow.audit.recent(ids_all) == []


async def test_every_new_post_needs_the_csrf_token(site: Site, alice: Browser) -> None:
    ids = await _ids(site)
    for path, data in _posts(ids):
        for csrf in (None, "guessed-token"):
            status, _, _ = await alice.post(path, data, csrf=csrf)
            assert status == 403, (path, csrf)
    await _nothing_changed(site, ids)


async def test_every_new_post_needs_the_consoles_origin(site: Site, alice: Browser) -> None:
    ids = await _ids(site)
    csrf = await alice.csrf()
    for path, data in _posts(ids):
        for origin in (EVIL, None):
            status, _, _ = await alice.post(path, data, csrf=csrf, origin=origin)
            assert status == 403, (path, origin)
    await _nothing_changed(site, ids)


async def test_alpha_cannot_see_betas_people_pairs_or_invites(site: Site, alice: Browser) -> None:
    ids = await _ids(site)
    urls = [
        f"{B}/roster/officers/{ids['javier']}",
        f"{A}/roster/officers/{ids['javier']}",
        f"{B}/matching/pairs/{ids['beta_pair']}",
        f"{A}/matching/pairs/{ids['beta_pair']}",
        f"{A}/roster/officers/999999",
        f"{A}/roster/officers/abc",
    ]
    for url in urls:
        status, body = await alice.get(url)
        assert status == 404, url
        assert not any(s in body for s in BETA_SECRETS), url
    _, roster = await alice.get(f"{A}/roster")
    assert "BETA-ONLY-CODE" not in roster and "Javier" not in roster


async def test_alpha_cannot_change_betas_people_pairs_or_invites(
    site: Site, alice: Browser
) -> None:
    ids = await _ids(site)
    csrf = await alice.csrf()
    forged = [
        (f"{B}/roster/officers/{ids['javier']}", EDIT),
        (f"{A}/roster/officers/{ids['javier']}", EDIT),
        (f"{B}/roster/officers/{ids['javier']}/pause", {}),
        (f"{A}/roster/officers/{ids['javier']}/pause", {}),
        (f"{A}/roster/officers/{ids['javier']}/resume", {}),
        (f"{B}/roster/invites", {"authority": "Bruges", "country": "BE"}),
        (f"{B}/roster/invites/{ids['beta_invite']}/revoke", {}),
        (f"{A}/roster/invites/{ids['beta_invite']}/revoke", {}),
        (f"{B}/matching/pairs/{ids['beta_pair']}/swap", {"mentor": str(ids["pieter"])}),
        (f"{A}/matching/pairs/{ids['beta_pair']}/swap", {"mentor": str(ids["pieter"])}),
        (f"{B}/pairs/{ids['beta_pair']}/nudge", {}),
        (f"{A}/pairs/{ids['beta_pair']}/nudge", {}),
        (f"{B}/pairs/{ids['beta_pair']}/reassign", {"mentor": str(ids["pieter"])}),
        (f"{A}/pairs/{ids['beta_pair']}/reassign", {"mentor": str(ids["pieter"])}),
    ]
    for path, data in forged:
        status, body, _ = await alice.post(path, data, csrf=csrf)
        assert status == 404, path
        assert not any(s in body for s in BETA_SECRETS), path
    await _nothing_changed(site, ids)
