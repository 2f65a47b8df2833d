"""The schema of `content/demo.yaml`, so `peerbot content check` catches what YAML hides.

A title with a comma inside a flow mapping (`{title: EPC for 40,000 street lights}`) splits
into `title: EPC for 40` and a stray key `000 street lights`; YAML accepts it silently. Every
mapping here forbids unknown keys, and each problem is reported with its file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


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
