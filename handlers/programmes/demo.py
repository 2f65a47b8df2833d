"""The demo programme of `content/demo.yaml`: its schema, so `peerbot content check` catches
what YAML hides, and loading it into an empty store or over a wiped one.

A title with a comma inside a flow mapping (`{title: EPC for 40,000 street lights}`) splits
into `title: EPC for 40` and a stray key `000 street lights`; YAML accepts it silently. Every
mapping here forbids unknown keys, and each problem is reported with its file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storage.models import (
    AuthorityKind,
    GoodPractice,
    Officer,
    OfficerStatus,
    Programme,
    Role,
    utcnow,
)
from storage.repositories.demo import DEMO_LOADED
from storage.uow import UnitOfWork


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DemoProgramme(_Strict):
    slug: str
    name: str
    languages: list[str] = Field(min_length=1)
    checkin_days: int = Field(ge=1)


class DemoAuthority(_Strict):
    name: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    kind: str
    population: int | None = None


class DemoOfficer(_Strict):
    name: str
    email: str
    authority: str
    role: str = "officer"
    languages: list[str]
    timezone: str
    sectors: list[str] = Field(default_factory=list)
    wants: list[str] = Field(default_factory=list)
    offers: list[str] = Field(default_factory=list)
    console: str


class DemoPractice(_Strict):
    authority: str
    officer: str
    sector: str
    instruments: list[str]
    title: str
    year: int | None = None
    summary: str


class DemoFile(_Strict):
    programme: DemoProgramme
    authorities: list[DemoAuthority]
    officers: list[DemoOfficer]
    practices: list[DemoPractice] = Field(default_factory=list)


def _line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at a pydantic error location (its parent's if gone)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            key = next((k for k, _ in node.value if k.value == part), None)
            node = next((v for k, v in node.value if k.value == part), None)
            if key is not None:
                line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
            line = node.start_mark.line + 1 if node is not None else line
        else:
            break
    return line


def check_demo(path: Path) -> list[str]:
    """Every problem of a demo file as `file:line: message` (none when it is valid)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        tree = yaml.compose(text)
    except (OSError, yaml.YAMLError) as exc:
        return [f"{path}: {exc}"]
    try:
        DemoFile.model_validate(data)
    except ValidationError as exc:
        return [
            f"{path}:{_line(tree, tuple(e['loc']))}: {'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors()
        ]
    return []


def demo_data(content_dir: Path) -> dict[str, Any]:
    """The demo file of a content folder, parsed."""
    with (content_dir / "demo.yaml").open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


async def load_demo(uow: UnitOfWork, data: dict[str, Any]) -> None:
    """Create the demo programme, authorities, officers (with console identities), practices."""
    p = data["programme"]
    programme = await uow.programmes.add(
        Programme(
            slug=p["slug"], name=p["name"], languages=p["languages"], checkin_days=p["checkin_days"]
        )
    )
    authorities = {}
    for a in data["authorities"]:
        authorities[a["name"]] = await uow.authorities.get_or_create(
            a["name"], a["country"], AuthorityKind(a["kind"]), a.get("population")
        )
    officers = {}
    for o in data["officers"]:
        officer = await uow.officers.add(
            Officer(
                name=o["name"],
                email=o["email"],
                authority_id=authorities[o["authority"]].id,
                programme_id=programme.id,
                role=Role(o.get("role", "officer")),
                languages=o["languages"],
                timezone=o["timezone"],
                sectors=o.get("sectors", []),
                wants=o.get("wants", []),
                offers=o.get("offers", []),
                consent_at=utcnow(),
                consent_source="demo",
                status=OfficerStatus.ACTIVE,
            )
        )
        officers[o["email"]] = officer
        identity = await uow.identities.get_or_create(
            "console", o["console"], dm_chat_id=o["console"]
        )
        identity.officer_id = officer.id
    for g in data.get("practices", []):
        uow.add(
            GoodPractice(
                authority_id=authorities[g["authority"]].id,
                officer_id=officers[g["officer"]].id,
                sector=g["sector"],
                instruments=g["instruments"],
                title=g["title"],
                summary=g["summary"],
                year=g.get("year"),
                status="approved",
            )
        )
    await uow.kv.put(DEMO_LOADED, "yes")


async def ensure_demo(uow: UnitOfWork, content_dir: Path) -> bool:
    """Load the demo on an empty store that never had it; True when it did (committed)."""
    if await uow.demo.officer_count() or await uow.kv.get(DEMO_LOADED):
        return False
    await load_demo(uow, demo_data(content_dir))
    await uow.commit()
    return True


async def reset_demo(uow: UnitOfWork, content_dir: Path) -> None:
    """Delete every row (the schema and the installation's secret stay), load the demo again."""
    await uow.demo.wipe()
    await load_demo(uow, demo_data(content_dir))
    await uow.commit()
