"""The unit of work's repository attributes: each names a real repository, one per session."""

from __future__ import annotations

from storage.db import make_engine, make_sessionmaker
from storage.repositories.base import Repository
from storage.uow import Repo, UnitOfWork


async def test_each_repository_attribute_is_one_repository_per_session(database_url: str) -> None:
    attrs = [name for name, value in vars(UnitOfWork).items() if isinstance(value, Repo)]
    assert {"officers", "pairs", "announcements", "faq_queries"} <= set(attrs)
    engine = make_engine(database_url)
    uow = UnitOfWork(make_sessionmaker(engine))
    try:
        async with uow:
            first = {name: getattr(uow, name) for name in attrs}
            assert all(isinstance(r, Repository) for r in first.values())
            assert all(getattr(uow, name) is first[name] for name in attrs)
            assert all(r.session is uow.session for r in first.values())
            assert len({type(r) for r in first.values()}) == len(attrs)
        async with uow:
            assert all(getattr(uow, name) is not first[name] for name in attrs)
            assert uow.officers.session is uow.session
    finally:
        await engine.dispose()
