"""The one entry point adapters call: store, identify, route, commit, and only then reply.

Two doors lead here. `accept` stores a platform update in the durable inbox and commits it
before the adapter acknowledges the platform; `process` then handles an inbox row (called by
the inbox workers, in order within one conversation). `handle` runs an event directly, for
tests and tools, with the same rules. Either way a handler's replies are collected on its
`Ctx` and sent after its transaction committed: on the inbox path they are written to the
outbox in the handler's transaction, already claimed by this worker, and sent right after the
commit (a crash in between leaves them to the outbox, which sends them once its lease ran out);
on the direct path they are sent after the commit and handed to the outbox if sending fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

from handlers.core import choices as signed
from handlers.core.clock import Clock, SystemClock
from handlers.core.content import ContentStore
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.metrics import UPDATES
from handlers.core.outbound import Notifier, Outgoing, ReplySink, ReplySinkFactory
from handlers.core.ports import Messenger
from handlers.core.replies import Reply
from handlers.core.router import Route, Router, router
from handlers.core.writer import WriterLock
from storage.models import Identity, InboxStatus, Role
from storage.repositories.inbox import Claimed
from storage.repositories.officers import Caller
from storage.uow import SessionFactory, UnitOfWork

log = logging.getLogger(__name__)

Outcome = Literal["handled", "duplicate", "ignored", "error", "expired"]
MAX_TEXT = 8000
MAX_RAW = 16_000
"""How much of a malformed payload the inbox keeps, to diagnose it."""


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
"""Unicode's control (Cc) and surrogate (Cs) code points but new line and tab: one C-level pass
instead of a category lookup per character (an 8000-character text costs ~0.1 ms, not ~2 ms)."""


def clean_text(text: str) -> str:
    """Drop NUL and other control characters (PostgreSQL refuses NUL), keep new lines and tabs."""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    return _CONTROL.sub("", text)


def clean_name(text: str) -> str:
    """A name as shown to others: no control or format characters (zero-width, bidi
    overrides and isolates, soft hyphens, tags) that could disguise it, one space between words."""
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))
    return " ".join(kept.split())


# Events handled at once per process. The pool holds 20 PostgreSQL connections; the outbox
# workers and the scheduler need some too. No handler talks to a platform inside its
# transaction, so a SQLite write lock is held for milliseconds and a few handlers can share the
# single writer without starving one another on SQLite's busy handler.
LAST_SEEN_PRECISION = timedelta(minutes=1)
QUESTIONS_WINDOW = timedelta(minutes=10)
"""The window of the questions rate limit (handlers/core/middleware.py), read with the caller."""
MAX_CONCURRENT = 8
SQLITE_CONCURRENT = 4


# The inbox's own times (receipt, due, lease, retry) are the wall clock, never `self.clock`:
# they are about processes and platforms, not the programme's calendar that tests move.


class Handled(NamedTuple):
    """An event handled in a transaction, what to send once it committed."""

    event: Incoming
    messenger: Messenger
    outgoing: list[Outgoing]
    route: Route | None
    outcome: Outcome
    claimed: list[int]


class LostClaim(Exception):
    """The inbox row was taken by another worker while this one handled it (lease ran out)."""


class Core:
    """Platform-neutral behaviour: adapters store updates (`accept`), workers `process` them."""

    def __init__(
        self,
        sessionmaker: SessionFactory,
        content: ContentStore,
        secret: bytes,
        *,
        notify: Notifier,
        replies: ReplySinkFactory,
        clock: Clock | None = None,
        routes: Router | None = None,
        default_locale: str = "en",
        max_concurrent: int = MAX_CONCURRENT,
        serial_writes: bool = False,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.content = content
        self.secret = secret
        self.clock = clock or SystemClock()
        self.router = routes or router
        self.default_locale = default_locale
        self.max_concurrent = max_concurrent
        self.slots = asyncio.Semaphore(max_concurrent)
        self._writer = WriterLock() if serial_writes else None
        self.notify = notify
        """Queues messages to officers through the outbox (`Ctx.notify`)."""
        self.after_commit: ReplySink = replies(
            sessionmaker, lambda: self.writing(urgent=True), lambda: self._towards_commit > 0
        )
        """Sends handlers' replies after their commit and records them."""
        self.inbox_retention = timedelta(days=7)
        """Handled inbox rows (and the text they hold) are deleted after this."""
        self.accepted: list[Callable[[], None]] = []
        """Called after each new inbox row (the workers of this process wake up)."""
        self._towards_commit = 0
        """Inbox handlers running whose commit has not ended (each records the sent replies)."""

    def uow(self) -> UnitOfWork:
        """A new unit of work on the shared store."""
        return UnitOfWork(self.sessionmaker)

    def writing(self, urgent: bool = False) -> contextlib.AbstractAsyncContextManager[Any]:
        """Held around this process's write transactions on SQLite, one at a time.

        SQLite has one writer; concurrent writers wait on its busy handler, which sleeps and
        polls (measured: 40-230 ms per contended first write), so queueing them here is both
        fairer and faster. PostgreSQL takes them in parallel (no lock). `urgent` (storing an
        update the platform waits to have acknowledged, recording replies already delivered)
        goes before every waiting handler."""
        if self._writer is None:
            return contextlib.nullcontext()
        return self._writer.hold(urgent)

    # -- in: the inbox ---------------------------------------------------------------------

    async def accept(self, event: Incoming) -> bool:
        """Store an update in the inbox and commit; False for one stored before.

        Raises when the store cannot take it: the adapter must then answer with an error so
        that the platform delivers the update again."""
        return (await self.accept_many([event]))[0]

    async def accept_many(self, events: list[Incoming]) -> list[bool]:
        """Store several updates in one transaction (a long-polling batch); which were new."""
        if not events:
            return []
        # urgent: the platform waits for this commit before it gets its answer (Telegram's
        # webhook delivers one update at a time per connection, Slack allows 3 seconds)
        async with self.writing(urgent=True), self.uow() as uow:
            news = await uow.inbox.add_many(
                [
                    (
                        event.platform,
                        event.update_id or f"local:{uuid.uuid4().hex}",
                        event.conversation,
                        event.to_json(),
                    )
                    for event in events
                ]
            )
            await uow.commit()
        if any(news):
            for wake in self.accepted:
                wake()
        for event, new in zip(events, news, strict=True):
            if not new:
                UPDATES.labels(event.platform, "duplicate").inc()
        return news

    async def accept_malformed(self, platform: str, key: str, raw: str, error: str) -> bool:
        """Keep an update that cannot be read, with its error, never to be handled (the
        platform is acknowledged so it does not deliver it again forever)."""
        async with self.writing(), self.uow() as uow:
            new = await uow.inbox.add(
                platform,
                key,
                f"{platform}:malformed",
                None,
                status=InboxStatus.MALFORMED,
                error=f"{error}\n{raw[:MAX_RAW]}",
            )
            await uow.commit()
        UPDATES.labels(platform, "malformed").inc()
        return new

    async def process(
        self,
        item: Claimed,
        messenger: Messenger,
        worker: str,
        event: Incoming | None = None,
        committed: Callable[[int], None] | None = None,
    ) -> Outcome:
        """Handle one claimed inbox row (`event`: the row's event, completed by the adapter);
        its replies go out after the commit (`committed(1)` is called between the two).

        Raises when the handler failed (the worker retries the row, then parks it)."""
        if item.event is None:  # erased by /forget before its turn
            async with self.writing(), self.uow() as uow:
                await uow.inbox.finish(item.id, worker)
                await uow.commit()
            return "ignored"
        event = event or Incoming.from_json(item.event)
        outcome = await self._run(event, messenger, item=item, worker=worker, committed=committed)
        UPDATES.labels(event.platform, outcome).inc()
        return outcome

    # -- the direct door -------------------------------------------------------------------

    async def handle(self, event: Incoming, messenger: Messenger) -> Outcome:
        """Handle one event now, exactly once per platform update id (tests, tools).

        At most `max_concurrent` events are in their transaction at once; the others wait
        their turn here rather than for a database connection, whose pool would time out under
        a burst. Sending the replies after the commit holds no turn: a platform pacing them
        (30 messages/s on Telegram) keeps no other event from its transaction."""
        try:
            outcome = await self._run(event, messenger)
        except Exception:
            log.exception("handler failed for %s update %s", event.platform, event.update_id)
            await self.apologise(event, messenger)
            outcome = "error"
        UPDATES.labels(event.platform, outcome).inc()
        return outcome

    # -- one event ---------------------------------------------------------------------------

    def sanitise(self, event: Incoming) -> Incoming:
        """Clean text and names, and verify a pressed choice ("" when forged or expired)."""
        event = replace(event, text=clean_text(event.text or ""))
        if event.display_name:
            event = replace(event, display_name=clean_name(event.display_name) or None)
        if event.choice is not None:
            verified = signed.verify(self.secret, event.chat_id, event.choice)
            if verified is None and event.chat_kind == "dm" and event.chat_id != event.user_id:
                # A button sent to the person's user id: Slack shows it in the app's DM, whose
                # (D...) id is not the one it was signed for. Pressed by that very person in
                # their own DM, it is theirs.
                verified = signed.verify(self.secret, event.user_id, event.choice)
            event = replace(event, choice=verified if verified is not None else "")
        return event

    def deep_link(self, event: Incoming) -> Incoming:
        """`/start profile` (a Telegram deep link from a group) is the command it names."""
        if event.chat_kind == "dm" and event.command in ("start", "join"):
            word = event.args.strip().lower()
            if word not in ("", "start", "join", "__unknown__") and word in self.router.commands:
                return replace(event, text="/" + word)
        return event

    async def process_many(
        self,
        batch: Sequence[tuple[Claimed, Messenger, Incoming]],
        worker: str,
        committed: Callable[[int], None] | None = None,
    ) -> list[Outcome]:
        """Handle claimed rows of different conversations (each with its completed event) in
        one transaction, in turn, each with its own context; replies go out after the commit
        (`committed(len(batch))` is called between the two).

        Under a backlog this shares a transaction's fixed cost (begin, commit, on SQLite the
        writer's turn) among the rows. Raises when a handler failed or a claim was lost: then
        nothing of the group was kept and the caller handles each row alone (`process`)."""
        started = time.perf_counter()
        done: list[Handled] = []
        async with self.slots, self._on_way_to_commit(True), self.writing(), self.uow() as uow:
            uow.hold_commits()
            for n, (item, messenger, event) in enumerate(batch):
                if n:
                    await uow.next_unit()
                done.append(await self._within(uow, event, messenger, item, worker))
            uow.hold_commits(False)
            await self._commit_riding(uow, True)
        if committed is not None:
            committed(len(batch))
        await asyncio.gather(*(self._send(handled, True) for handled in done))
        for handled in done:
            UPDATES.labels(handled.event.platform, handled.outcome).inc()
            self._log(handled, started)
        return [handled.outcome for handled in done]

    async def _run(
        self,
        event: Incoming,
        messenger: Messenger,
        *,
        item: Claimed | None = None,
        worker: str = "",
        committed: Callable[[int], None] | None = None,
    ) -> Outcome:
        started = time.perf_counter()
        async with (
            self.slots,
            self._on_way_to_commit(item is not None),
            self.writing(),
            self.uow() as uow,
        ):
            fresh = item is not None or not event.update_id
            if not fresh and not await uow.ingress.first_time(event.platform, str(event.update_id)):
                log.info("duplicate update %s/%s skipped", event.platform, event.update_id)
                return "duplicate"
            handled = await self._within(uow, event, messenger, item, worker)
            await self._commit_riding(uow, item is not None)
        if committed is not None:
            committed(1)
        await self._send(handled, item is not None)
        self._log(handled, started)
        return handled.outcome

    async def _within(
        self,
        uow: UnitOfWork,
        event: Incoming,
        messenger: Messenger,
        item: Claimed | None,
        worker: str,
    ) -> Handled:
        """Run the event's handler in `uow`'s transaction; on the inbox path queue its replies
        claimed and finish its row (LostClaim when another worker took it)."""
        event = self.deep_link(self.sanitise(event))
        route: Route | None = None
        outcome: Outcome = "handled"
        claimed: list[int] = []
        ctx = await self.context(event, messenger, uow)
        if item is not None:
            ctx.inbox_item_id = item.id
        if event.choice == "":
            await ctx.reply("errors.expired_choice")
            outcome = "expired"
        elif event.form is not None:
            outcome = await self._submit(ctx, event.form)
        elif event.chat_kind != "dm" and event.command is not None:
            route = self.router.commands.get(event.command)
            if route is None:
                outcome = "ignored"  # in a group, a command we do not know is not ours
            elif not route.group:
                await self._answer_privately(ctx)
                route = None
            else:
                route = await self.router.dispatch(event, ctx)
        else:
            route = await self.router.dispatch(event, ctx)
            outcome = "handled" if route else "ignored"
        if item is not None:
            claimed = await self.after_commit.queue_claimed(uow, ctx.outgoing, str(item.id), worker)
            if not await uow.inbox.finish(item.id, worker):
                raise LostClaim(f"inbox row {item.id} was taken by another worker")
        return Handled(event, messenger, ctx.outgoing, route, outcome, claimed)

    async def _send(self, handled: Handled, inbox: bool) -> None:
        """Send a handled event's replies (its transaction committed)."""
        if inbox:
            await self.after_commit.send_claimed(
                handled.messenger, handled.claimed, handled.outgoing
            )
        else:
            await self.after_commit.send_direct(handled.messenger, handled.outgoing)

    def _log(self, handled: Handled, started: float) -> None:
        route = handled.route
        log.info(
            "handled %s %s via %s in %.0f ms",
            handled.event.platform,
            handled.event.update_id or "-",
            route.name if route else handled.outcome,
            (time.perf_counter() - started) * 1000,
        )

    @contextlib.asynccontextmanager
    async def _on_way_to_commit(self, riding: bool) -> AsyncIterator[None]:
        """Counts inbox handlers until their commit ended: replies sent meanwhile wait for one
        of them (`_commit_riding`) rather than take a transaction of their own."""
        self._towards_commit += riding
        try:
            yield
        finally:
            self._towards_commit -= riding

    async def _commit_riding(self, uow: UnitOfWork, inbox: bool) -> None:
        """Commit; on the inbox path the replies other handlers sent meanwhile are recorded in
        this transaction (no transaction of their own; a failed commit hands them back)."""
        riding = self.after_commit.take() if inbox else []
        try:
            if riding:
                await uow.outbox.mark_sent_many(riding)
            await uow.commit()
        except BaseException:
            self.after_commit.give_back(riding)
            raise

    async def _answer_privately(self, ctx: Ctx) -> None:
        """A personal command written in a group: one short public line, and the rest in
        the private chat (on Telegram only the person can open it: a deep link does)."""
        link = ctx.event.hints.get("private_link")
        if link:
            await ctx.reply("groups.answer_privately", link=link)
        else:
            await ctx.reply("groups.write_privately")

    async def _submit(self, ctx: Ctx, form: dict[str, Any]) -> Outcome:
        name = str(form.get("name") or "")
        handler = self.router.forms.get(name)
        if handler is None:
            log.warning("form %r has no handler", name)
            return "ignored"
        await handler(ctx, dict(form.get("answers") or {}))
        return "handled"

    async def context(
        self, event: Incoming, messenger: Messenger, uow: UnitOfWork, *, write: bool = True
    ) -> Ctx:
        """The caller's context. `write=False` reads only (an unknown caller gets an identity
        that is never stored), so a lookup outside a handler takes no write lock."""
        since = self.clock.now() - QUESTIONS_WINDOW
        found = await uow.identities.caller(event.platform, event.user_id, questions_since=since)
        prefetched: Caller | None = found
        if found is not None:
            identity = found.identity
        elif write:  # first contact: stored now
            identity = await uow.identities.get_or_create(event.platform, event.user_id)
            prefetched = await uow.identities.caller(event.platform, event.user_id, since)
        else:
            identity = Identity(platform=event.platform, user_id=event.user_id, locale=event.locale)
        if write:  # what the platform tells and "last seen": one UPDATE when anything changed
            await uow.identities.note(
                identity,
                dm_chat_id=event.chat_id if event.chat_kind == "dm" else None,
                display_name=event.display_name,
                locale=event.locale,
                seen_at=self._seen(identity),
            )
        officer = prefetched.officer if prefetched is not None else None
        programme = prefetched.programme if prefetched is not None else None
        coordinates: frozenset[int] = frozenset()
        if officer is not None and prefetched is not None:
            if prefetched.coordinates_by_membership:
                coordinates = frozenset(await uow.officers.coordinated_programme_ids(officer))
            elif officer.role == Role.COORDINATOR and officer.programme_id is not None:
                coordinates = frozenset({officer.programme_id})
        content = self.content.for_programme(programme.slug if programme else None)
        locale = content.t.resolve(
            (officer.locale if officer else None) or identity.locale or self.default_locale
        )
        ctx = Ctx(
            event=event,
            messenger=messenger,
            uow=uow,
            content=content,
            identity=identity,
            officer=officer,
            clock=self.clock,
            secret=self.secret,
            notifier=self.notify,
            locale=locale,
            programme=programme,
            coordinates=coordinates,
        )
        if prefetched is not None:
            ctx.prefetch(prefetched.conversation, prefetched.questions_since)
        return ctx

    def _seen(self, identity: Identity) -> datetime | None:
        """Now, when the account's "last seen" is to be moved (to the minute: no write per
        message); else None."""
        now = self.clock.now()
        seen = identity.last_seen_at
        if seen is None or now - seen > LAST_SEEN_PRECISION or now < seen:
            return now
        return None

    async def apologise(self, event: Incoming, messenger: Messenger) -> None:
        """Tell the person something went wrong (best effort: never raises)."""
        text = self.content.current.t(event.locale or self.default_locale, "errors.generic")
        try:
            await messenger.send(event.chat_id, Reply(text=text, thread_id=event.thread_id))
        except Exception:
            log.exception("could not even apologise on %s", event.platform)
