"""Retention: old message bodies and update ids are dropped."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.delivery.housekeeping import prune_old_data
from storage.models import Outbox, OutboxStatus
from storage.uow import UnitOfWork


async def test_sent_message_bodies_are_blanked_after_30_days(
    runtime: Runtime, clock: FrozenClock
) -> None:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.outbox.enqueue("k1", "fake", "chat", {"text": "hello"})
        await uow.session.execute(
            Outbox.__table__.update().values(status=OutboxStatus.SENT.value, created_at=clock.now())
        )
        await uow.commit()
    await prune_old_data(runtime.core, runtime.messengers)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert (await uow.session.execute(select(Outbox.payload))).scalar_one() == {"text": "hello"}
    clock.advance(days=31, hours=2)
    await prune_old_data(runtime.core, runtime.messengers)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        row = (await uow.session.execute(select(Outbox))).scalar_one()
    assert row.payload == {} and row.chat_id == ""
