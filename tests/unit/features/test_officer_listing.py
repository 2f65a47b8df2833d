"""The officer listing: each officer's JSON text, written straight from its row, is what
`json.dumps(item, ensure_ascii=False)` writes for the same officer, whatever the stored lists
and names hold."""

from __future__ import annotations

import json

from bot.app import Runtime
from handlers.officers.listing import KEYS, OfficerListing, officer_listing
from storage.models import Authority, Identity, Officer
from storage.uow import UnitOfWork
from tests.support.peers import programme

ODD_ROWS = [
    # id, name, email, role, status, authority, country, job_title, languages, locale,
    # timezone, sectors, wants, offers, consent, programme_id
    (1, 'Zoë "Q" \\ B', None, "officer", "active", None, None, "a\nb\tc\x01", '["fr", "en"]',
     None, "Europe/Paris", None, "null", '["epc","esco"]', 0, None),
    (2, "日本 🙂 \u2028 \x7f", "a@b.eu", "coordinator", "paused", "Köln", "DE", None, '["é"]',
     "de", "Europe/Berlin", '["\\u00e9", "x"]', "[1, 2.5]", "[]", 1, 3),
    (3, "", "c@d.eu", "officer", "onboarding", "Lyon", "FR", "", '[{"k": "v"}]', "fr",
     "Europe/Paris", '["a\\"b"]', '{"x": 1}', '[null]', True, 1),
]  # fmt: skip
ODD_ACCOUNTS = [(2, "telegram", "111"), (1, "slack", 'U"1\\'), (2, "console", "ü")]


def test_each_item_is_written_as_json_dumps_writes_it() -> None:
    listing = OfficerListing(ODD_ROWS, ODD_ACCOUNTS)
    items = listing.items()
    assert listing.json_items() == [json.dumps(i, ensure_ascii=False) for i in items]
    assert [list(i) for i in items] == [list(KEYS)] * 3
    assert items[0] == {
        "id": 1,
        "name": 'Zoë "Q" \\ B',
        "email": None,
        "role": "officer",
        "status": "active",
        "authority": None,
        "country": None,
        "job_title": "a\nb\tc\x01",
        "languages": ["fr", "en"],
        "locale": None,
        "timezone": "Europe/Paris",
        "sectors": [],
        "wants": [],
        "offers": ["epc", "esco"],
        "consent": False,
        "programme_id": None,
        "identities": [{"platform": "slack", "user_id": 'U"1\\'}],
    }
    assert items[1]["sectors"] == ["é", "x"] and items[1]["wants"] == [1, 2.5]
    assert items[1]["consent"] is True and len(items[1]["identities"]) == 2
    assert items[2]["wants"] == ["x"] and items[2]["offers"] == [None]
    assert items[2]["identities"] == []


async def test_stored_officers_are_listed_as_json_dumps_writes_them(runtime: Runtime) -> None:
    home = await programme(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        town = Authority(name='Saint-"Étienne"', country="FR")
        uow.add(town)
        await uow.flush()
        odd = Officer(
            name='Zoë\n"Q" \\ 🙂',
            email="zoe@x.eu",
            authority_id=town.id,
            programme_id=home.id,
            job_title="Ingénieure\tén\x01ergie",
            languages=["fr", "en"],
            sectors=["é", 'a"b'],
            wants=["epc"],
            offers=[],
        )
        uow.add(odd)
        uow.add(Officer(name="Bare", email=None))
        await uow.flush()
        uow.session.add(Identity(platform="telegram", user_id="42", officer_id=odd.id))
        uow.session.add(Identity(platform="slack", user_id='U"ß', officer_id=odd.id))
        await uow.commit()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        listing = await officer_listing(uow)
    items = listing.items()
    assert listing.json_items() == [json.dumps(i, ensure_ascii=False) for i in items]
    zoe = next(i for i in items if i["email"] == "zoe@x.eu")
    assert zoe["authority"] == 'Saint-"Étienne"' and zoe["sectors"] == ["é", 'a"b']
    assert [a["user_id"] for a in zoe["identities"]] == ["42", 'U"ß']
    bare = next(i for i in items if i["name"] == "Bare")
    assert bare["languages"] == [] and bare["authority"] is None and bare["identities"] == []
