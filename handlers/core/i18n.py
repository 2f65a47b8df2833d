"""Message catalogues (`content/messages/<locale>.yaml`) and the `t()` that renders them."""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from handlers.core import yamlfile

FALLBACK = "en"


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested YAML mappings to dotted keys."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, full + "."))
        else:
            flat[full] = "" if value is None else str(value)
    return flat


def load_catalogues(folder: Path) -> dict[str, dict[str, str]]:
    """Every `<locale>.yaml` and `<locale>.<area>.yaml` of a folder, merged per locale.

    Raises ValueError naming the file on a broken or duplicate-key catalogue.
    """
    catalogues: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.yaml")):
        locale = path.name.split(".", 1)[0]
        try:
            with path.open(encoding="utf-8") as fh:
                tree = yamlfile.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        if not isinstance(tree, Mapping):
            raise ValueError(f"{path}: a message catalogue must be a mapping")
        merged = catalogues.setdefault(locale, {})
        flat = flatten(tree)
        clash = sorted(set(flat) & set(merged))
        if clash:
            raise ValueError(f"{path}: keys defined twice for {locale}: {', '.join(clash[:5])}")
        merged.update(flat)
    return catalogues


def placeholders(text: str) -> set[str]:
    """The `{name}` fields a message uses."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Translator:
    """Renders message keys in a locale, falling back to English, then to the key."""

    def __init__(self, catalogues: dict[str, dict[str, str]]) -> None:
        self.catalogues = catalogues

    @property
    def locales(self) -> list[str]:
        return sorted(self.catalogues)

    def resolve(self, locale: str | None) -> str:
        """The best supported locale for a platform or profile locale like `fr-BE`."""
        if locale:
            base = locale.replace("_", "-").split("-")[0].lower()
            if base in self.catalogues:
                return base
        return FALLBACK

    def has(self, key: str) -> bool:
        return key in self.catalogues.get(FALLBACK, {})

    def __call__(self, locale: str | None, key: str, /, **values: Any) -> str:
        lang = self.resolve(locale)
        text = self.catalogues.get(lang, {}).get(key) or self.catalogues.get(FALLBACK, {}).get(key)
        if text is None:
            return key
        # str.format_map: the same fields as string.Formatter, in C (a reply renders several)
        return text.format_map(_Missing(values))
