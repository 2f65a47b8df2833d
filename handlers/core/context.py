"""The context a handler receives: who, where, the store, the content, the clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.core import choices as signed
from handlers.core.clock import Clock
from handlers.core.content import Content
from handlers.core.events import Incoming
from handlers.core.outbound import Notifier, Outgoing
from handlers.core.ports import Messenger
from handlers.core.replies import Choice, Reply
from storage.models import Conversation, Identity, Officer, Programme
from storage.uow import UnitOfWork

_UNREAD = object()


@dataclass
class Ctx:
    """Per-event context; handlers talk to the user and the store only through it.

    Replies are collected in `outgoing`, not sent: the core sends them once the handler's
    transaction has committed, so no handler talks to a platform while it holds the database
    and an officer never sees a reply whose state change was rolled back.
    """

    event: Incoming
    messenger: Messenger
    uow: UnitOfWork
    content: Content
    identity: Identity
    officer: Officer | None
    clock: Clock
    secret: bytes
    notifier: Notifier
    """Queues messages to other officers (delivery's outbox, wired in by the composition root)."""
    locale: str = "en"
    programme: Programme | None = None
    coordinates: frozenset[int] = frozenset()
    sent: list[str] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)
    inbox_item_id: int | None = None
    """The inbox row being handled (None on the direct path)."""
    recent_questions: int | None = None
    """Questions asked in the rate limit's window, read with the caller (None: not read)."""
    _state: Conversation | None | object = field(default=_UNREAD, repr=False)

    def prefetch(self, state: Conversation | None, recent_questions: int | None) -> None:
        """What the core read with the caller: the open flow (served to the first `state()`,
        which routing asks for at once) and the recent questions count."""
        self._state = state
        self.recent_questions = recent_questions

    def t(self, key: str, /, **values: Any) -> str:
        """A message of the catalogue in the caller's language."""
        return self.content.t(self.locale, key, **values)

    @property
    def is_coordinator(self) -> bool:
        """Coordinates at least one programme (checked against the store on every event)."""
        return self.officer is not None and bool(self.coordinates)

    def sign(
        self, choices: tuple[Choice, ...] | list[Choice], chat_id: str | None = None
    ) -> tuple[Choice, ...]:
        """Choices whose ids are signed for a chat (this one by default)."""
        chat = chat_id or self.event.chat_id
        return tuple(
            Choice(signed.sign(self.secret, chat, c.id), c.label, c.selected) for c in choices
        )

    async def reply(
        self,
        key: str,
        /,
        *,
        choices: tuple[Choice, ...] | list[Choice] = (),
        multi: bool = False,
        edit: bool = False,
        **values: Any,
    ) -> None:
        """Render a catalogue message and send it where the event came from (after commit)."""
        await self.send(self.t(key, **values), choices=choices, multi=multi, edit=edit)

    async def send(
        self,
        text: str,
        *,
        choices: tuple[Choice, ...] | list[Choice] = (),
        multi: bool = False,
        edit: bool = False,
    ) -> None:
        """Send text (already rendered) to the event's chat and thread, after the commit."""
        reply = Reply(
            text=text,
            choices=self.sign(choices),
            multi=multi,
            thread_id=self.event.thread_id,
            edit=edit,
        )
        self.sent.append(text)
        editing = edit and self.event.message_id and self.messenger.capabilities.edit
        self.outgoing.append(
            Outgoing(
                self.messenger.platform,
                self.event.chat_id,
                reply,
                self.event.message_id if editing else None,
            )
        )

    async def notify(self, officer: Officer, key: str, /, **options: Any) -> bool:
        """Queue a message to another officer, in their language, through the outbox.

        The options are those of `Notifier` (`idempotency_key` required); False when they
        cannot be reached or it is queued already."""
        return await self.notifier(self.uow, self.content, self.secret, officer, key, **options)

    async def state(self) -> Conversation | None:
        """The open multi-step flow of this identity."""
        if self._state is not _UNREAD:
            state, self._state = self._state, _UNREAD  # read with the caller; later ones re-read
            return state  # type: ignore[return-value]
        return await self.uow.conversations.get(self.identity.id)

    async def set_state(self, flow: str, step: str, data: Mapping[str, Any]) -> None:
        """Move this identity's flow to a step; `data` is the flow's own typed state (a
        TypedDict), stored as its JSON object."""
        self._state = _UNREAD
        await self.uow.conversations.set(self.identity.id, flow, step, data)

    async def clear_state(self) -> None:
        self._state = _UNREAD
        await self.uow.conversations.clear(self.identity.id)
