"""Which language the bot writes to an officer in, when they never chose one."""

from __future__ import annotations

from bot.app import Runtime
from handlers.delivery.outbox import officer_locale
from storage.models import Identity, Officer


def test_an_imported_officer_is_written_to_in_a_language_they_speak(runtime: Runtime) -> None:
    content = runtime.content.current
    assert officer_locale(Officer(name="Giulia", languages=["it", "en"]), content) == "it"
    assert officer_locale(Officer(name="Jan", languages=["pl", "de"]), content) == "de"
    assert officer_locale(Officer(name="Ola", languages=["pl"]), content) == "en"
    chosen = Officer(name="Marie", languages=["it"], locale="fr")
    assert officer_locale(chosen, content) == "fr"  # their own choice wins
    platform = Identity(platform="telegram", user_id="1", locale="es")
    assert officer_locale(Officer(name="Ana", languages=["it"]), content, platform) == "it"
    assert officer_locale(Officer(name="Ana", languages=["pl"]), content, platform) == "es"
