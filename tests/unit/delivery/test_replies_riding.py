"""Replies already sent are recorded with the next handler's commit, and given back (recorded
on their own) when that commit fails: never lost, so never sent twice by the outbox."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import Runtime
from handlers.delivery.replies import ReplySender
from storage.models import Outbox, OutboxStatus
from storage.repositories.outbox import row
from storage.uow import UnitOfWork


async def _sent_reply(runtime: Runtime, key: str) -> int:
    """A reply row claimed by a worker (as a handler leaves it), delivered but not recorded."""
    async with UnitOfWork(runtime.sessionmaker) as uow:
        [row_id] = await uow.outbox.enqueue_claimed(
            [row(key, "fake", "chat-1", {"text": "hello"}, purpose="reply")], "worker-1"
        )
        await uow.commit()
    runtime.core.after_commit.give_back([(row_id, f"m-{key}")])
    assert runtime.core.after_commit.take() == [(row_id, f"m-{key}")]
    return row_id


async def _status(runtime: Runtime, row_id: int) -> tuple[str, str | None]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.session.get(Outbox, row_id)
        assert found is not None
        return found.status, found.platform_message_id


async def test_a_handlers_commit_records_the_replies_sent_meanwhile(runtime: Runtime) -> None:
    row_id = await _sent_reply(runtime, "a")
    runtime.core.after_commit._sent.append((row_id, "m-a"))  # sent while the handler ran
    async with runtime.core.uow() as uow:
        await runtime.core._commit_riding(uow, inbox=True)
    assert await _status(runtime, row_id) == (OutboxStatus.SENT, "m-a")
    assert runtime.core.after_commit.take() == []


async def test_a_failed_commit_gives_the_records_back(runtime: Runtime) -> None:
    row_id = await _sent_reply(runtime, "b")
    runtime.core.after_commit._sent.append((row_id, "m-b"))

    async def broken() -> None:
        raise RuntimeError("the database went away")

    async with runtime.core.uow() as uow:
        uow.commit = broken  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            await runtime.core._commit_riding(uow, inbox=True)
    assert await _status(runtime, row_id) == (OutboxStatus.SENDING, None)
    await runtime.core.after_commit.flush()  # given back: recorded on its own
    assert await _status(runtime, row_id) == (OutboxStatus.SENT, "m-b")


async def test_records_the_database_was_not_there_for_are_kept_and_made_later(
    runtime: Runtime,
) -> None:
    row_id = await _sent_reply(runtime, "c")
    calls = 0

    def flaky() -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionRefusedError("the database is restarting")
        return runtime.sessionmaker()

    sender = ReplySender(flaky)  # type: ignore[arg-type]
    sender._sent.append((row_id, "m-c"))  # sent, not yet recorded
    await sender.flush()  # the database is not there: kept, not dropped
    assert await _status(runtime, row_id) == (OutboxStatus.SENDING, None)
    await sender.flush()  # it is back
    assert await _status(runtime, row_id) == (OutboxStatus.SENT, "m-c")
    await sender.close()


async def test_records_a_bad_statement_refused_are_left_to_the_outbox(runtime: Runtime) -> None:
    row_id = await _sent_reply(runtime, "d")

    def broken() -> Any:
        raise RuntimeError("not a lost connection")

    sender = ReplySender(broken)  # type: ignore[arg-type]
    sender._sent.append((row_id, "m-d"))
    await sender.flush()
    assert sender.take() == []  # dropped: the outbox sends the row again after its lease
    await sender.close()
