"""The console adapter: talk to the bot in a terminal (stdin lines in, replies printed)."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from handlers.core.events import Incoming
from handlers.core.ports import Capabilities
from handlers.core.replies import Choice, Reply


class ConsoleMessenger:
    """Prints replies; numbered choices can be pressed by typing their number."""

    platform = "console"
    capabilities = Capabilities(edit=False, max_text=100_000)

    def __init__(self, out: TextIO | None = None, me: str = "you") -> None:
        self.out = out or sys.stdout
        self.me = me
        self.last_choices: list[Choice] = []
        self.counter = 0

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        self.counter += 1
        prefix = "" if chat_id == self.me else f"[to {chat_id}] "
        print(f"{prefix}{reply.text}", file=self.out)
        if reply.choices:
            for number, choice in enumerate(reply.choices, start=1):
                tick = {True: "[x] ", False: "[ ] ", None: ""}[choice.selected]
                print(f"  {number}. {tick}{choice.label}", file=self.out)
            if chat_id == self.me:
                self.last_choices = list(reply.choices)
        print(file=self.out)
        self.out.flush()
        return str(self.counter)

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> str | None:
        return await self.send(chat_id, reply)

    def to_event(self, line: str, counter: int) -> Incoming:
        """A typed line: a number presses the matching choice of the last message."""
        text = line.rstrip("\n")
        stripped = text.strip()
        if stripped.isdigit() and 1 <= int(stripped) <= len(self.last_choices):
            choice = self.last_choices[int(stripped) - 1]
            return Incoming("console", self.me, self.me, choice=choice.id, update_id=None)
        return Incoming("console", self.me, self.me, text=text, display_name=self.me.title())


async def run_console(runtime: object, user: str) -> None:
    """Read lines until EOF; each becomes an event for the core."""
    from bot.app import Runtime

    assert isinstance(runtime, Runtime)
    from handlers.delivery.inbox import Door, InboxWorker

    messenger = ConsoleMessenger(me=user)
    runtime.messengers["console"] = messenger
    runtime.doors["console"] = Door(messenger)
    inbox = InboxWorker(runtime.core, {"console": runtime.doors["console"]})
    async with runtime.core.uow() as uow:  # the buttons shown before a restart still work
        shown = await uow.outbox.last_choices("console", user)
    messenger.last_choices = [Choice(c["id"], c["label"], c.get("selected")) for c in shown]
    print(runtime.content.current.t.__call__(None, "console.banner", user=user))
    counter = 0
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        if not line.strip():
            continue
        counter += 1
        # the same door as every platform: stored first, then handled, replies after commit
        await runtime.core.accept(messenger.to_event(line, counter))
        await inbox.drain()
        await runtime.tick()
    await inbox.stop()
