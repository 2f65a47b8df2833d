"""`peerbot programme create|rename|export`: replicate the programme from a folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

if TYPE_CHECKING:
    from bot.app import Runtime

NAME = "programme"
app = typer.Typer(
    help="Stand up or export a programme described by a folder.", no_args_is_help=True
)


@app.command("create")
def create(
    folder: Path,
    coordinator: list[str] = typer.Option([], "--coordinator", help="email of a coordinator"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Validate a programme folder, install it in the data directory and create it.

    The folder is kept under `PEERBOT_DATA_DIR/programmes/<slug>/`, outside the installation.
    """
    from handlers.programmes.folder import check_folder, install
    from handlers.programmes.service import create_programme

    s = settings()
    spec, problems = check_folder(folder, s.content_dir)
    if spec is None or problems:
        for line in problems:
            typer.echo(line, err=True)
        fail(f"{folder}: {len(problems)} problem(s); nothing was created", 1)
    install(folder, s.data_dir, spec.slug)

    async def go(rt: Runtime) -> dict[str, Any]:
        async with rt.core.uow() as uow:
            try:
                programme, created = await create_programme(uow, spec, coordinator)
            except LookupError as exc:
                return {"error": str(exc)}
            return {
                "id": programme.id,
                "slug": programme.slug,
                "created": created,
                "coordinators": coordinator,
            }

    result = arun(with_runtime(s, go))
    if "error" in result:
        fail(result["error"] + "; nothing was created", 1)
    if json_out:
        dump(result)
    else:
        verb = "created" if result["created"] else "updated"
        typer.echo(f"programme {result['slug']} {verb} (id {result['id']})")


@app.command("rename")
def rename_cmd(
    slug: str,
    name: str = typer.Option(None, "--name", help="the new name"),
    languages: str = typer.Option(None, "--languages", help="ISO 639-1 codes, e.g. en,fr,it"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Rename a programme (the default one too) and/or change its languages."""
    from handlers.programmes.service import programme_named, rename_programme

    codes = [c.strip().lower() for c in languages.split(",") if c.strip()] if languages else None

    async def go(rt: Runtime) -> dict[str, Any]:
        async with rt.core.uow() as uow:
            programme = await programme_named(uow, slug)
            if programme is None:
                return {"error": f"no programme {slug!r}; see `peerbot programmes list`"}
            try:
                found = await rename_programme(uow, None, programme.id, name, codes, rt.clock.now())
            except ValueError as exc:
                return {"error": str(exc)}
            return {"slug": found.slug, "name": found.name, "languages": list(found.languages)}

    result = arun(with_runtime(settings(), go))
    if "error" in result:
        fail(f"{result['error']}; nothing was changed", 2)
    if json_out:
        dump(result)
    else:
        spoken = ", ".join(result["languages"])
        typer.echo(f"programme {result['slug']}: {result['name']} ({spoken})")


@app.command("export")
def export_cmd(
    slug: str,
    out: Path = typer.Option(None, help="folder to write (default: ./<slug>)"),
) -> None:
    """Write a programme's folder back (no personal data) so another region can start from it."""
    from handlers.programmes.folder import export
    from handlers.programmes.service import programme_named

    s = settings()

    async def go(rt: Runtime) -> list[Path] | None:
        async with rt.core.uow() as uow:
            programme = await programme_named(uow, slug)
            if programme is None:
                return None
            return export(programme, s.content_dir, out or Path(slug), s.data_dir)

    files = arun(with_runtime(s, go))
    if files is None:
        fail(f"no programme {slug!r}; see `peerbot programmes list`", 2)
    typer.echo(f"wrote {len(files)} file(s) to {out or Path(slug)}")
