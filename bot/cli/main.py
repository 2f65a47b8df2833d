"""The `peerbot` command line (typer)."""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:  # imported when a command runs: `peerbot --help` starts without them
    from bot.app import Runtime
    from bot.config import Settings
    from handlers.audit.service import UnitOfWork

T = TypeVar("T")

app = typer.Typer(
    help="peerbot: a peer-learning bot for financing local climate plans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
officers_app = typer.Typer(help="Import, export and list officers.", no_args_is_help=True)
programmes_app = typer.Typer(help="Programmes (cohorts).", no_args_is_help=True)
demo_app = typer.Typer(help="Demo content for a first look.", no_args_is_help=True)
content_app = typer.Typer(help="Curated content.", no_args_is_help=True)
invites_app = typer.Typer(help="Invite codes and deep links.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(officers_app, name="officers")
app.add_typer(programmes_app, name="programmes")
app.add_typer(demo_app, name="demo")
app.add_typer(content_app, name="content")
app.add_typer(invites_app, name="invites")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line on stderr and exit."""
    typer.echo(f"peerbot: {message}", err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    """The settings, or exit 2 naming the bad one."""
    from bot.config import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        fail(f"invalid setting {exc}", 2)


_collector = {"paused": False}


def work_starts() -> None:
    """The command has imported what it needs: cyclic garbage collection resumes (`main`
    paused it), with every object made so far frozen out of later collections. A command
    calls it through `arun`, or itself when it runs no coroutine."""
    if _collector["paused"]:
        _collector["paused"] = False
        gc.freeze()
        gc.enable()


def arun(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; a database that cannot be reached is one clear line, exit 1."""
    import asyncio

    from bot.config import SettingsError

    work_starts()
    result: list[T] = []

    async def keep() -> None:
        # The task itself returns None: asyncio.run has its task's result formatted when it
        # puts the SIGINT handler back (signal's enum lookup fails with a repr of the handler,
        # which holds the task), and a dataclass is formatted whole, rows and all.
        result.append(await coro)

    try:
        asyncio.run(keep())
        return result[0]
    except SettingsError as exc:  # an adapter found a setting unusable at start-up
        fail(f"invalid setting {exc}", 2)
    except Exception as exc:
        # Only a command that ran migrations can raise MigrationError; the others never
        # import Alembic (half a second of start-up).
        migrate = sys.modules.get("storage.migrate")
        if migrate is not None and isinstance(exc, migrate.MigrationError):
            fail(str(exc), 1)
        from bot.store import database_problem

        detail = database_problem(exc)
        if detail is None:
            raise
        fail(f"cannot use the database ({detail}); check DATABASE_URL", 1)


LONG_LIST = 200
"""A JSON list longer than this prints one item per line (json's compact C encoder) instead
of indented: indenting 20,000 officers alone takes 1.4 s."""
_ONE_LINE = json.JSONEncoder(ensure_ascii=False, default=str).encode
"""`json.dumps(item, ensure_ascii=False, default=str)` without building an encoder per item."""


def dump(data: Any) -> None:
    """One JSON document on stdout."""
    if isinstance(data, list) and len(data) > LONG_LIST:
        dump_encoded([_ONE_LINE(item) for item in data])
        return
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def dump_encoded(items: Sequence[str]) -> None:
    """A list whose items are JSON text already (as `json.dumps(item, ensure_ascii=False)`
    writes them), laid out as `dump` lays out the list."""
    if len(items) > LONG_LIST:
        sys.stdout.write("[\n  " + ",\n  ".join(items) + "\n]\n")
        return
    dump([json.loads(item) for item in items])


async def with_runtime(s: Settings, fn: Callable[[Runtime], Awaitable[T]]) -> T:
    from bot.app import build, prepare_database

    await prepare_database(s.database_url)
    runtime = await build(s)
    try:
        return await fn(runtime)
    finally:
        await runtime.close()


@app.command()
def run(
    as_: str = typer.Option(
        None, "--as", help="console: 'coordinator' to act as the demo coordinator"
    ),
    user: str = typer.Option(None, "--user", help="console: who you are (a user name)"),
) -> None:
    """Upgrade the database and run every adapter with credentials (else the console)."""
    s = settings()
    console = not (s.telegram_enabled or s.slack_enabled)
    from bot.logs import configure, secrets_of

    quiet = "WARNING" if console and s.log_level in ("DEBUG", "INFO") else s.log_level
    configure(quiet if console else s.log_level, s.log_format, secrets_of(s))
    from bot.app import prepare_database
    from bot.app import run as run_bot
    from bot.store import with_unit
    from handlers.programmes.demo import ensure_demo

    async def go() -> None:
        await prepare_database(s.database_url)
        if console:
            await with_unit(s.database_url, lambda uow: ensure_demo(uow, s.content_dir))
        console_user = user or ("coordinator" if as_ == "coordinator" else None)
        await run_bot(s, console_user=console_user)

    arun(go())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    s = settings()
    from bot.store import upgrade_database

    head = arun(upgrade_database(s.database_url))
    typer.echo(f"database at migration {head}")


async def _with_db(s: Settings, fn: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `fn(uow)` on the upgraded database without building the bot: a listing or an import
    starts in well under 1 s."""
    from bot.store import with_unit

    return await with_unit(s.database_url, fn)


def _taxonomy(content_dir: Path, slug: str) -> Any:
    """The taxonomy a programme's roster is checked against (base plus its folder's codes)."""
    from handlers.core.taxonomy import Taxonomy

    taxonomy = Taxonomy.load(content_dir / "taxonomy.yaml")
    from handlers.programmes.folder import installed_folder

    folder = installed_folder(slug, content_dir, settings().data_dir)
    extra = folder / "taxonomy.yaml" if folder else None
    return taxonomy.merged(Taxonomy.load(extra)) if extra and extra.is_file() else taxonomy


def _progress_bar(done: int, total: int) -> None:
    """One self-overwriting line on a terminal's stderr."""
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\rimporting [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
    sys.stderr.flush()


@officers_app.command("import")
def officers_import(
    file: Path,
    json_out: bool = typer.Option(False, "--json"),
    programme_slug: str = typer.Option(None, "--programme", help="programme slug (default: first)"),
    move: bool = typer.Option(
        False,
        "--move",
        help="officers who belong to another programme move to this one "
        "(without it they join this one as well)",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="only show what would be created, updated and rejected"
    ),
) -> None:
    """Import officers from CSV; bad rows are reported by line, good rows kept."""
    s = settings()
    if not file.exists():
        fail(f"no such file: {file}", 2)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text; save the CSV as UTF-8", 2)
    from datetime import UTC, datetime

    from handlers.officers.service import import_roster, preview_roster
    from handlers.programmes.service import programme_or_default

    show = _progress_bar if sys.stderr.isatty() and not json_out else None

    async def go(uow: UnitOfWork) -> Any:
        programme = await programme_or_default(uow, programme_slug)
        if programme is None:
            return None
        taxonomy = _taxonomy(s.content_dir, programme.slug)
        if dry_run:
            return await preview_roster(uow, None, programme, text, taxonomy)
        return await import_roster(
            uow, None, programme, text, taxonomy, datetime.now(UTC), move=move, progress=show
        )

    report = arun(_with_db(s, go))
    if report is None:
        fail(f"no programme {programme_slug!r}; see `peerbot programmes list`", 2)
    if dry_run:
        _print_preview(file, report, json_out)
        return
    if json_out:
        dump(
            {
                "created": report.created,
                "updated": report.updated,
                "errors": report.errors,
                "notes": report.notes,
            }
        )
    else:
        for line in report.errors:
            typer.echo(f"{file}: {line}", err=True)
        for line in report.notes:
            typer.echo(f"{file}: {line}", err=True)
        typer.echo(
            f"imported: {report.created} created, {report.updated} updated, "
            f"{len(report.errors)} rejected"
        )
    if report.errors:
        raise typer.Exit(1)


def _print_preview(file: Path, preview: Any, json_out: bool) -> None:
    """The dry run of an import: the same lines the console's preview shows."""
    if json_out:
        dump(
            {
                "new": [r.email for r in preview.new],
                "updated": [r.email for r in preview.updated],
                "rejected": [{"line": n, "reason": why} for n, why in preview.rejected],
            }
        )
    else:
        for r in preview.new:
            typer.echo(f"new      line {r.line}: {r.email}")
        for r in preview.updated:
            typer.echo(f"updated  line {r.line}: {r.email}")
        for n, why in preview.rejected:
            typer.echo(f"{file}: line {n}: {why}", err=True)
        typer.echo(
            f"would import: {len(preview.new)} new, {len(preview.updated)} updated, "
            f"{len(preview.rejected)} rejected (nothing written)"
        )
    if preview.rejected:
        raise typer.Exit(1)


@officers_app.command("list")
def officers_list(json_out: bool = typer.Option(False, "--json")) -> None:
    """List officers with their profiles and platform identities."""
    s = settings()
    from handlers.officers.listing import officer_listing

    listing = arun(_with_db(s, officer_listing))
    if json_out:
        dump_encoded(listing.json_items())
        return
    for r in listing.items():
        platforms = ",".join(i["platform"] for i in r["identities"])
        typer.echo(
            f"{r['id']:>4}  {r['name']:<28} {r['authority'] or '-':<20} "
            f"{r['role']:<11} {r['status']:<10} {platforms}"
        )


@officers_app.command("export")
def officers_export(file: Path) -> None:
    """Write all officers to a CSV file in the import format (cells a spreadsheet would run
    as formulas start with ')."""
    s = settings()
    from handlers.officers.roster import stream_csv

    partial = file.with_name(file.name + ".partial")

    async def go(uow: UnitOfWork) -> None:
        with partial.open("w", encoding="utf-8", newline="") as out:
            async for chunk in stream_csv(uow):
                out.write(chunk)

    try:
        arun(_with_db(s, go))
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    typer.echo(f"wrote {file}")


@programmes_app.command("list")
def programmes_list(json_out: bool = typer.Option(False, "--json")) -> None:
    """List programmes."""
    s = settings()

    from handlers.programmes.listing import every_programme

    rows = arun(_with_db(s, every_programme))
    if json_out:
        dump(rows)
    else:
        for r in rows:
            typer.echo(f"{r['id']:>3}  {r['slug']:<20} {r['name']}")


@demo_app.command("reset")
def demo_reset() -> None:
    """Wipe the database and load the demo programme again."""
    s = settings()
    from bot.store import upgrade_database, with_unit
    from handlers.programmes.demo import reset_demo

    async def go() -> None:
        await upgrade_database(s.database_url)
        await with_unit(s.database_url, lambda uow: reset_demo(uow, s.content_dir))

    arun(go())
    typer.echo("demo content restored")


@content_app.command("check")
def content_check(
    folder: Path = typer.Option(None, help="content folder (default: settings)"),
) -> None:
    """Validate content/; every problem with file and line; exit 1 if any."""
    s = settings()
    from handlers.core.content import load_content
    from handlers.faq.content import faq_index
    from handlers.registry import load_content_parts

    load_content_parts()
    work_starts()
    root = folder or s.content_dir
    try:
        content = load_content(root)
    except Exception as exc:  # noqa: BLE001 - report any broken file in one line
        fail(f"{root}: {exc}", 1)
    from handlers.core.i18n import placeholders

    problems = [f"{p.file}:{p.line}: {p.message}" for p in content.problems]
    from handlers.programmes.demo import check_demo

    if (root / "demo.yaml").is_file():
        problems += check_demo(root / "demo.yaml")
    english = content.t.catalogues["en"]
    for locale, catalogue in content.t.catalogues.items():
        for key in english:
            if key not in catalogue:
                problems.append(f"{root}/messages/{locale}.yaml: missing key {key}")
            elif placeholders(catalogue[key]) != placeholders(english[key]):
                problems.append(f"{root}/messages/{locale}.yaml: {key} has other placeholders")
    for p in problems:
        typer.echo(p)
    entries = len(faq_index(content))
    typer.echo(
        f"{entries} FAQ entries, {len(content.t.catalogues)} catalogues, {len(problems)} problems"
    )
    if problems:
        raise typer.Exit(1)


@invites_app.command("create")
def invites_create(
    authority: str = typer.Option(..., help="authority name"),
    country: str = typer.Option(..., help="ISO country code of the authority"),
    count: int = typer.Option(1, min=1, max=500),
    days: int = typer.Option(30, min=1, max=366, help="days the codes stay valid"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Create one-time invite codes tied to an authority, with Telegram deep links."""
    s = settings()
    from handlers.officers.service import InviteProblems, create_invites, telegram_link

    async def go(rt: Runtime) -> list[str] | InviteProblems:
        async with rt.core.uow() as uow:
            try:
                return await create_invites(
                    uow, None, None, authority, country, rt.clock.now(), count=count, days=days
                )
            except InviteProblems as exc:
                return exc

    codes = arun(with_runtime(s, go))
    if isinstance(codes, InviteProblems):
        wrong = {"authority": authority, "country": country, "days": days}
        fail("; ".join(f"unknown {k} {wrong.get(k)!r}" for k in sorted(codes.problems)), 2)
    rows = [
        {
            "code": c,
            "telegram": telegram_link(s.telegram_bot_username, c),
            "slack": f"/peerbot join {c}",
        }
        for c in codes
    ]
    if json_out:
        dump({"authority": authority, "invites": rows})
    else:
        for r in rows:
            typer.echo(f"{r['code']}  {r['telegram']}")


@invites_app.command("list")
def invites_list(
    state: str = typer.Option(None, "--state", help="used|unused|expired (default: all)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Join invites with their authority and state: used, unused or expired."""
    if state is not None and state not in ("used", "unused", "expired"):
        fail(f"unknown state {state!r}; use used, unused or expired", 2)
    s = settings()
    bot_name = s.telegram_bot_username

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        from handlers.officers.service import join_invites, telegram_link

        async with rt.core.uow() as uow:
            found = await join_invites(uow, rt.clock.now())
        return [
            {
                "code": i.code,
                "authority": i.authority,
                "country": i.country,
                "state": i.state,
                "created_at": i.created_at.isoformat(),
                "expires_at": i.expires_at.isoformat() if i.expires_at else None,
                "used_at": i.used_at.isoformat() if i.used_at else None,
                "telegram": telegram_link(bot_name, i.code),
            }
            for i in found
        ]

    rows = [r for r in arun(with_runtime(s, go)) if state is None or r["state"] == state]
    if json_out:
        counts = {k: sum(r["state"] == k for r in rows) for k in ("used", "unused", "expired")}
        dump({"invites": rows, "counts": counts})
        return
    for r in rows:
        typer.echo(f"{r['code']}  {r['state']:<8} {r['authority'] or '-'} ({r['country'] or '-'})")


def register_command_modules() -> None:
    """Add the typer sub-apps of `bot/cli/<area>.py` (each exposes `NAME` and `app`), once."""
    import importlib
    import pkgutil

    import bot.cli

    known = {group.name for group in app.registered_groups}
    for info in sorted(pkgutil.iter_modules(bot.cli.__path__), key=lambda i: i.name):
        if info.name == "main":
            continue
        module = importlib.import_module(f"bot.cli.{info.name}")
        if module.NAME not in known:
            app.add_typer(module.app, name=module.NAME)


def main() -> None:
    """Entry point of the console script."""
    # Start-up makes some 70,000 objects that live as long as the process (typer, pydantic,
    # SQLAlchemy, the command's own modules); the cyclic collector would walk them about 160
    # times for nothing, 0.05-0.1 s of a listing. It is paused until `work_starts`.
    gc.disable()
    _collector["paused"] = True
    logging.basicConfig(level=logging.WARNING)
    register_command_modules()
    app()


if __name__ == "__main__":
    main()
