"""The five message catalogues: complete, consistent with English, and used by the real bot."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.app import Runtime, build
from bot.config import Settings
from bot.telegram.adapter import bot_commands, create_telegram
from handlers.core.clock import FrozenClock
from handlers.core.i18n import FALLBACK, Translator, load_catalogues, placeholders
from handlers.core.taxonomy import language_name
from tests.support.emulators.telegram_api import TelegramEmulator
from tests.support.fakes import FakeMessenger, Talk
from tests.support.paths import REPO_ROOT
from tests.unit.features.test_onboarding import onboard

MESSAGES = REPO_ROOT / "content" / "messages"
LOCALES = ["en", "fr", "de", "es", "it"]
TRANSLATED = [loc for loc in LOCALES if loc != FALLBACK]
# A platform locale per language, as Telegram or Slack would send it.
PLATFORM = {"fr": "fr-BE", "de": "de-AT", "es": "es-ES", "it": "it-CH"}
# Slack caps modal titles and submit labels at 24 characters, button labels at 75.
MODAL_TEXTS = ["slack.join_title", "slack.edit_title", "slack.submit"]


@pytest.fixture(scope="module")
def catalogues() -> dict[str, dict[str, str]]:
    return load_catalogues(MESSAGES)


def test_the_five_locales_are_present(catalogues: dict[str, dict[str, str]]) -> None:
    assert set(LOCALES) <= set(catalogues), sorted(catalogues)
    assert len(catalogues[FALLBACK]) > 300  # the English catalogue is the full reference


def test_every_catalogue_area_exists_in_every_locale() -> None:
    areas = {p.name.removeprefix(f"{FALLBACK}") for p in MESSAGES.glob(f"{FALLBACK}.*yaml")}
    for locale in TRANSLATED:
        missing = sorted(a for a in areas if not (MESSAGES / f"{locale}{a}").exists())
        assert not missing, f"{locale}: no catalogue file for {missing}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_catalogue_has_every_english_key(
    catalogues: dict[str, dict[str, str]], locale: str
) -> None:
    missing = sorted(set(catalogues[FALLBACK]) - set(catalogues.get(locale, {})))
    assert not missing, f"{locale} misses {len(missing)} key(s) English has: {missing}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_catalogue_has_no_key_english_lacks(
    catalogues: dict[str, dict[str, str]], locale: str
) -> None:
    extra = sorted(set(catalogues.get(locale, {})) - set(catalogues[FALLBACK]))
    assert not extra, f"{locale} has key(s) English lacks: {extra}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_translation_keeps_the_placeholders(
    catalogues: dict[str, dict[str, str]], locale: str
) -> None:
    english, other = catalogues[FALLBACK], catalogues.get(locale, {})
    wrong = {
        key: (sorted(placeholders(english[key])), sorted(placeholders(other[key])))
        for key in sorted(set(english) & set(other))
        if placeholders(english[key]) != placeholders(other[key])
    }
    assert not wrong, f"{locale}: placeholders differ (English, {locale}): {wrong}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_renders_and_is_not_empty(
    catalogues: dict[str, dict[str, str]], locale: str
) -> None:
    t = Translator(catalogues)
    empty = sorted(k for k, v in catalogues[locale].items() if not v.strip())
    assert not empty, f"{locale}: empty messages {empty}"
    for key, text in catalogues[locale].items():
        values = {name: f"<{name}>" for name in placeholders(text)}
        rendered = t(locale, key, **values)  # raises on a broken brace
        assert all(v in rendered for v in values.values()), key
        assert "{" not in rendered and "}" not in rendered, f"{locale} {key}: {rendered!r}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_translation_fits_the_platform_limits(
    catalogues: dict[str, dict[str, str]], locale: str
) -> None:
    english, other = catalogues[FALLBACK], catalogues[locale]
    too_long = {k: other.get(k) for k in MODAL_TEXTS if len(other.get(k, "")) > 24}
    assert not too_long, f"{locale}: Slack modal texts over 24 characters: {too_long}"
    commands = {k: v for k, v in other.items() if k.startswith("commands.")}
    assert all(1 <= len(v) <= 256 for v in commands.values()), commands
    # short English texts are button labels: their translations must stay under Slack's 75
    labels = {
        k: other[k]
        for k, v in english.items()
        if len(v) <= 40 and "\n" not in v and len(other[k]) > 75
    }
    assert not labels, f"{locale}: button-sized texts over 75 characters: {labels}"


@pytest.mark.parametrize("locale", TRANSLATED)
async def test_the_platform_locale_picks_the_language_of_start_and_help(
    runtime: Runtime, messenger: FakeMessenger, locale: str
) -> None:
    t = runtime.content.current.t
    talk = Talk(runtime.core, messenger, user_id=f"u-{locale}", locale=PLATFORM[locale])
    welcome = await talk.say("/start")
    assert t(locale, "start.welcome") in welcome
    assert t(locale, "start.welcome") != t(FALLBACK, "start.welcome")
    assert [c.label for c in talk.last().choices] == [
        t(locale, "onboarding.consent_yes"),
        t(locale, "onboarding.consent_no"),
    ]
    shown = await talk.say("/help")
    assert shown.startswith(t(locale, "help.intro").split("\n")[0])
    assert t(locale, "commands.profile") in shown and t(FALLBACK, "commands.profile") not in shown


async def test_an_unsupported_platform_locale_falls_back_to_english(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    talk = Talk(runtime.core, messenger, user_id="u-pt", locale="pt-BR")
    assert "Welcome to the peer-learning programme" in await talk.say("/start")


async def test_language_offers_the_five_and_the_choice_outranks_the_platform(
    runtime: Runtime, talk: Talk
) -> None:
    t = runtime.content.current.t
    await onboard(talk)  # platform locale "en": the profile is English
    await talk.say("/language")
    labels = [c.label for c in talk.last().choices]
    assert labels == [language_name(code, code) for code in sorted(LOCALES)]
    assert {"English", "Français", "Deutsch", "Español", "Italiano"} == set(labels)
    assert "Langue choisie : Français." in await talk.press("Français")
    shown = await talk.say("/help")
    assert shown.startswith("Voici ce que je peux faire")
    assert t("fr", "commands.match") in shown
    assert "Sprache auf Deutsch eingestellt." in await talk.say("/language de")
    assert await talk.say("/cancel") == t("de", "cancel.nothing")
    assert await talk.say("/language pt") == t(
        "de", "language.unknown", code="pt", known=", ".join(sorted(LOCALES))
    )
    assert "Lingua impostata: Italiano." in await talk.say("/language it")
    assert (await talk.say("/profile")).startswith("Il Suo profilo")


async def test_telegram_publishes_the_command_menu_in_every_locale(
    settings: Settings, clock: FrozenClock
) -> None:
    async with TelegramEmulator(per_chat_rate=None) as api:
        update = {"telegram_bot_token": api.token, "telegram_api_base_url": api.base_url}
        runtime = await build(settings.model_copy(update=update), clock=clock)
        try:
            menus = bot_commands(runtime)
            assert set(LOCALES) <= set(menus)
            adapter = await create_telegram(runtime, web.Application())
            await adapter.publish_commands()
        finally:
            await runtime.close()
        t = runtime.content.current.t
        english = api.commands[("default", "en")]
        assert api.commands[("default", "")] == english
        for locale in TRANSLATED:
            menu = api.commands[("default", locale)]
            assert [c["command"] for c in menu] == [c["command"] for c in english]
            assert {"command": "help", "description": t(locale, "commands.help")} in menu
            assert "broadcast" not in [c["command"] for c in menu]


async def test_a_newcomer_who_chose_french_joins_in_french(runtime: Runtime, talk: Talk) -> None:
    """The /language choice of someone without a profile survives the next update."""
    t = runtime.content.current.t
    assert "Langue choisie : Français." in await talk.say("/language fr")
    welcome = await talk.say("/start")  # the platform still says "en"
    assert t("fr", "start.welcome") in welcome
    assert t("fr", "onboarding.name") in await talk.press("J'accepte")
