"""CLI sub-commands by area; each module exposes `NAME` (the word) and `app` (a typer.Typer).

Shared helpers for them live in `bot.cli.main` (`settings`, `arun`, `dump`, `fail`,
`with_runtime`).
"""
