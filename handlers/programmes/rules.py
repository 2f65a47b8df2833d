"""Rules for a programme's channels and check-in cadence, as a coordinator types them in the
console (and as programme.yaml bounds them): check-ins every `CHECKIN_DAYS` days, a Slack
channel id (`C…` public, `G…` private, also taken from a pasted channel link) and a Telegram
forum supergroup id (`-100…`, also from a `t.me/c/<id>/…` link). Empty means "none"."""

from __future__ import annotations

import re

CHECKIN_DAYS = (3, 120)
_SLACK = re.compile(r"^[CG][A-Z0-9]{8,20}$")
_SLACK_LINK = re.compile(r"/(?:archives|client/T[A-Z0-9]+)/([CG][A-Z0-9]{8,20})(?:[/?#]|$)")
_TELEGRAM = re.compile(r"^-100\d{6,13}$")
_TELEGRAM_LINK = re.compile(r"t\.me/c/(\d{6,13})(?:[/?#]|$)")


def checkin_days(text: str) -> int | None:
    """Days between check-ins, or None when not a whole number within `CHECKIN_DAYS`."""
    value = text.strip()
    if not re.fullmatch(r"\d{1,3}", value):
        return None
    days = int(value)
    return days if CHECKIN_DAYS[0] <= days <= CHECKIN_DAYS[1] else None


def slack_channel(text: str) -> str | None:
    """A Slack channel id from an id or a channel link; '' for none; None when neither."""
    value = text.strip()
    if not value:
        return ""
    link = _SLACK_LINK.search(value)
    if link:
        return link.group(1)
    value = value.upper()
    return value if _SLACK.fullmatch(value) else None


def telegram_forum(text: str) -> int | None | str:
    """A Telegram supergroup id from an id or a `t.me/c/…` link; '' for none; None when
    neither."""
    value = text.strip().replace(" ", "")
    if not value:
        return ""
    link = _TELEGRAM_LINK.search(value)
    if link:
        return int("-100" + link.group(1))
    return int(value) if _TELEGRAM.fullmatch(value) else None
