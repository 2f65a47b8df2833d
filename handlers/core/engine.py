"""The one entry point adapters call: de-duplicate, identify, route, commit."""

from __future__ import annotations

import asyncio
import logging
import time
import unicodedata
from dataclasses import replace
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.core import choices as signed
from handlers.core.clock import Clock, SystemClock
from handlers.core.content import ContentStore
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.metrics import UPDATES
from handlers.core.ports import Messenger
from handlers.core.router import Router, router
from storage.models import Identity, Programme
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Outcome = Literal["handled", "duplicate", "ignored", "error", "expired"]
MAX_TEXT = 8000


def clean_text(text: str) -> str:
    """Drop NUL and other control characters (PostgreSQL refuses NUL), keep new lines and tabs."""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs"))


def clean_name(text: str) -> str:
    """A name as shown to others: no control or format characters (zero-width, bidi
    overrides and isolates, soft hyphens, tags) that could disguise it, one space between words."""
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))
    return " ".join(kept.split())


# Events handled at once. The pool holds 20 PostgreSQL connections; the outbox workers and the
# scheduler need some too. A burst of 10,000 Slack events once exhausted the pool (30 s
# timeout, handler errors) without this bound. SQLite takes one writer at a time and a handler
# keeps its write transaction while it replies, so concurrent handlers only queue on SQLite's
# busy handler, which is not fair: under a fuzzing burst one of them starved for its whole 30 s
# timeout ("database is locked"). A SQLite process therefore handles one event at a time
# (`SQLITE_CONCURRENT`), in arrival order.
MAX_CONCURRENT = 8
SQLITE_CONCURRENT = 1


class Core:
    """Platform-neutral behaviour: adapters turn payloads into `Incoming` and call `handle`."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        content: ContentStore,
        secret: bytes,
        clock: Clock | None = None,
        routes: Router | None = None,
        default_locale: str = "en",
        max_concurrent: int = MAX_CONCURRENT,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.content = content
        self.secret = secret
        self.clock = clock or SystemClock()
        self.router = routes or router
        self.default_locale = default_locale
        self.slots = asyncio.Semaphore(max_concurrent)

    def uow(self) -> UnitOfWork:
        """A new unit of work on the shared store."""
        return UnitOfWork(self.sessionmaker)

    async def handle(self, event: Incoming, messenger: Messenger) -> Outcome:
        """Handle one incoming event exactly once (per platform update id).

        At most `max_concurrent` events are handled at once; the others wait their turn here
        rather than for a database connection, whose pool would time out under a burst."""
        async with self.slots:
            outcome = await self._handle(event, messenger)
        UPDATES.labels(event.platform, outcome).inc()
        return outcome

    async def _handle(self, event: Incoming, messenger: Messenger) -> Outcome:
        started = time.perf_counter()
        event = replace(event, text=clean_text(event.text or ""))
        if event.display_name:
            event = replace(event, display_name=clean_name(event.display_name) or None)
        if event.choice is not None:
            verified = signed.verify(self.secret, event.chat_id, event.choice)
            event = replace(event, choice=verified if verified is not None else "")
        try:
            async with self.uow() as uow:
                if event.update_id and not await uow.ingress.first_time(
                    event.platform, event.update_id
                ):
                    log.info("duplicate update %s/%s skipped", event.platform, event.update_id)
                    return "duplicate"
                ctx = await self._context(event, messenger, uow)
                if event.choice == "":
                    await ctx.reply("errors.expired_choice")
                    await uow.commit()
                    return "expired"
                route = await self.router.dispatch(event, ctx)
                await uow.commit()
        except Exception:
            log.exception("handler failed for %s update %s", event.platform, event.update_id)
            await self._apologise(event, messenger)
            return "error"
        took = (time.perf_counter() - started) * 1000
        log.info(
            "handled %s %s via %s in %.0f ms",
            event.platform,
            event.update_id or "-",
            route.name if route else "nothing",
            took,
        )
        return "handled" if route else "ignored"

    async def _context(
        self, event: Incoming, messenger: Messenger, uow: UnitOfWork, *, write: bool = True
    ) -> Ctx:
        """The caller's context. `write=False` reads only (an unknown caller gets an identity
        that is never stored), so a lookup outside `handle` takes no write lock."""
        if write:
            identity = await uow.identities.get_or_create(
                event.platform,
                event.user_id,
                dm_chat_id=event.chat_id if event.chat_kind == "dm" else None,
                display_name=event.display_name,
                locale=event.locale,
            )
            identity.last_seen_at = self.clock.now()
        else:
            found = await uow.identities.find(event.platform, event.user_id)
            identity = found or Identity(
                platform=event.platform, user_id=event.user_id, locale=event.locale
            )
        officer = await uow.officers.get(identity.officer_id) if identity.officer_id else None
        programme = (
            await uow.session.get(Programme, officer.programme_id)
            if officer is not None and officer.programme_id
            else None
        )
        coordinates = (
            frozenset(await uow.officers.coordinated_programme_ids(officer))
            if officer is not None
            else frozenset()
        )
        content = self.content.for_programme(programme.slug if programme else None)
        locale = content.t.resolve(
            (officer.locale if officer else None) or identity.locale or self.default_locale
        )
        return Ctx(
            event=event,
            messenger=messenger,
            uow=uow,
            content=content,
            identity=identity,
            officer=officer,
            clock=self.clock,
            secret=self.secret,
            locale=locale,
            programme=programme,
            coordinates=coordinates,
        )

    async def _apologise(self, event: Incoming, messenger: Messenger) -> None:
        from handlers.core.replies import Reply

        text = self.content.current.t(event.locale or self.default_locale, "errors.generic")
        try:
            await messenger.send(event.chat_id, Reply(text=text, thread_id=event.thread_id))
        except Exception:
            log.exception("could not even apologise on %s", event.platform)
