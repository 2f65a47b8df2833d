"""Test doubles: a messenger that records a transcript, and a user who talks to the core."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

from handlers.core.engine import Core, Outcome
from handlers.core.events import ChatKind, Incoming
from handlers.core.ports import Capabilities
from handlers.core.replies import Choice, Reply


@dataclass
class Sent:
    chat_id: str
    reply: Reply
    message_id: str
    edited: bool = False


@dataclass
class FakeMessenger:
    """Records every message; `transcript(chat)` reads like the conversation."""

    platform: str = "fake"
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(edit=True))
    sent: list[Sent] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        mid = str(next(self._ids))
        self.sent.append(Sent(chat_id, reply, mid))
        return mid

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> str | None:
        self.sent.append(Sent(chat_id, reply, message_id, edited=True))
        return message_id

    def to(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def transcript(self, chat_id: str) -> str:
        return "\n".join(s.reply.text for s in self.to(chat_id))


@dataclass
class Talk:
    """A user in a private chat: `await talk.say("/start")`, `await talk.press("I agree")`."""

    core: Core
    messenger: FakeMessenger
    user_id: str = "u1"
    name: str = "Tester"
    chat_id: str | None = None
    locale: str | None = "en"
    chat_kind: ChatKind = "dm"
    platform: str = "fake"

    @property
    def chat(self) -> str:
        return self.chat_id or self.user_id

    def _event(self, **kw: object) -> Incoming:
        return Incoming(
            platform=self.platform,
            user_id=self.user_id,
            chat_id=self.chat,
            chat_kind=self.chat_kind,
            locale=self.locale,
            display_name=self.name,
            update_id=f"{self.user_id}-{uuid.uuid4().hex[:12]}",
            **kw,  # type: ignore[arg-type]
        )

    async def say(self, text: str) -> str:
        """Send text; returns what the bot replied to it."""
        before = len(self.messenger.sent)
        await self.core.handle(self._event(text=text), self.messenger)
        return "\n".join(
            s.reply.text for s in self.messenger.sent[before:] if s.chat_id == self.chat
        )

    def last(self) -> Reply:
        return self.messenger.to(self.chat)[-1].reply

    def choice(self, label: str) -> Choice:
        """The choice with this label (or containing it) in the latest message that has choices."""
        for sent in reversed(self.messenger.to(self.chat)):
            for c in sent.reply.choices:
                if c.label == label or label.lower() in c.label.lower():
                    return c
        raise AssertionError(
            f"no choice {label!r} in {[c.label for s in self.messenger.to(self.chat) for c in s.reply.choices][-12:]}"
        )

    async def press(self, label: str) -> str:
        """Press a choice by its label; returns the reply."""
        before = len(self.messenger.sent)
        mid = self.messenger.to(self.chat)[-1].message_id
        outcome = await self.core.handle(
            self._event(choice=self.choice(label).id, message_id=mid), self.messenger
        )
        assert outcome != "error", "the handler failed"
        return "\n".join(
            s.reply.text for s in self.messenger.sent[before:] if s.chat_id == self.chat
        )

    async def handle(self, **kw: object) -> Outcome:
        return await self.core.handle(self._event(**kw), self.messenger)
