"""Routes commands, choices, flow steps and free text to handlers, through middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from handlers.core.events import Incoming

if TYPE_CHECKING:
    from handlers.core.context import Ctx

Handler = Callable[[Incoming, "Ctx"], Awaitable[None]]
FormHandler = Callable[["Ctx", dict[str, Any]], Awaitable[None]]
Next = Callable[[], Awaitable[None]]
Middleware = Callable[[Incoming, "Ctx", "Route", Next], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    """A handler and what it requires of the caller."""

    handler: Handler
    name: str
    coordinator: bool = False
    member: bool = False
    dm_only: bool = False
    group: bool = False
    """A command also answered in a group or channel; every other one is personal and
    continues in the person's private chat."""


@dataclass
class Router:
    """Command words are the same on every platform; choices route by id prefix."""

    commands: dict[str, Route] = field(default_factory=dict)
    choices: dict[str, Route] = field(default_factory=dict)
    flows: dict[str, Route] = field(default_factory=dict)
    fallback: Route | None = None
    group_fallback: Route | None = None
    middleware: list[Middleware] = field(default_factory=list)
    forms: dict[str, FormHandler] = field(default_factory=dict)

    def command(
        self, *names: str, coordinator: bool = False, member: bool = False, group: bool = False
    ) -> Callable[[Handler], Handler]:
        """Register a handler for `/name` (and its aliases); `group=True` when it may be
        answered in a group or channel in front of everyone."""

        def register(fn: Handler) -> Handler:
            for name in names:
                self.commands[name] = Route(
                    fn, name, coordinator=coordinator, member=member, group=group
                )
            return fn

        return register

    def choice(self, prefix: str, coordinator: bool = False) -> Callable[[Handler], Handler]:
        """Register a handler for pressed choices whose id starts with `prefix:`."""

        def register(fn: Handler) -> Handler:
            self.choices[prefix] = Route(fn, f"choice:{prefix}", coordinator=coordinator)
            return fn

        return register

    def flow(self, name: str) -> Callable[[Handler], Handler]:
        """Register the handler of a multi-step flow (free text while the flow is open)."""

        def register(fn: Handler) -> Handler:
            self.flows[name] = Route(fn, f"flow:{name}")
            return fn

        return register

    def text(self, dm_only: bool = True) -> Callable[[Handler], Handler]:
        """Register the handler of free text that nothing else claimed."""

        def register(fn: Handler) -> Handler:
            self.fallback = Route(fn, "text", dm_only=dm_only)
            return fn

        return register

    def group_text(self) -> Callable[[Handler], Handler]:
        """Register the handler of non-command text in groups, channels and threads (relays)."""

        def register(fn: Handler) -> Handler:
            self.group_fallback = Route(fn, "group_text")
            return fn

        return register

    def form(self, name: str) -> Callable[[FormHandler], FormHandler]:
        """Register the handler of a submitted form (answers already validated by the door)."""

        def register(fn: FormHandler) -> FormHandler:
            self.forms[name] = fn
            return fn

        return register

    def use(self, mw: Middleware) -> Middleware:
        """Add a middleware; they run in the order added, around the handler."""
        self.middleware.append(mw)
        return mw

    async def resolve(self, event: Incoming, ctx: Ctx) -> Route | None:
        """The route an event goes to, or None when nothing wants it."""
        if event.choice is not None:
            prefix = event.choice.split(":", 1)[0]
            return self.choices.get(prefix)
        command = event.command
        if command is not None:
            return self.commands.get(command) or self.commands.get("__unknown__")
        # a flow's state belongs to the officer, and flows run in private chats only: what they
        # write in a group or a pair's thread meanwhile is conversation, not the flow's answer
        state = await ctx.state() if event.chat_kind == "dm" else None
        if state is not None and state.flow in self.flows:
            return self.flows[state.flow]
        if self.fallback and (event.chat_kind == "dm" or not self.fallback.dm_only):
            return self.fallback
        if event.chat_kind != "dm":
            return self.group_fallback
        return None

    async def dispatch(self, event: Incoming, ctx: Ctx) -> Route | None:
        """Run the event's route through the middleware chain."""
        route = await self.resolve(event, ctx)
        if route is None:
            return None

        async def call(index: int) -> None:
            if index == len(self.middleware):
                await route.handler(event, ctx)
                return
            await self.middleware[index](event, ctx, route, lambda: call(index + 1))

        await call(0)
        return route


router = Router()
"""The router every handler module registers on."""
