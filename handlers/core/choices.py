"""Signed choice ids: a pressed button is trusted only if the bot issued it to that chat."""

from __future__ import annotations

import base64
import hashlib
import hmac

SEP = "~"
SIG_LEN = 10
MAX_ID_BYTES = 64 - len(SEP) - SIG_LEN


def _sig(secret: bytes, chat_id: str, choice_id: str) -> str:
    message = f"{chat_id}\x1f{choice_id}".encode("utf-8", "surrogatepass")
    mac = hmac.digest(secret, message, hashlib.sha256)  # one-shot: no HMAC object per button
    return base64.urlsafe_b64encode(mac).decode()[:SIG_LEN]


def sign(secret: bytes, chat_id: str, choice_id: str) -> str:
    """The wire value of a choice for one chat; at most 64 bytes (Telegram's limit)."""
    if len(choice_id.encode()) > MAX_ID_BYTES:
        raise ValueError(f"choice id too long for the wire: {choice_id!r}")
    if SEP in choice_id:
        raise ValueError(f"choice id may not contain {SEP!r}: {choice_id!r}")
    return f"{choice_id}{SEP}{_sig(secret, chat_id, choice_id)}"


def verify(secret: bytes, chat_id: str, wire: str) -> str | None:
    """The choice id if the signature holds for this chat, else None."""
    choice_id, sep, sig = wire.rpartition(SEP)
    if not sep or not choice_id:
        return None
    # bytes: compare_digest refuses str with non-ASCII characters (forged data may have any)
    given = sig.encode("utf-8", "surrogatepass")
    expected = _sig(secret, chat_id, choice_id).encode()
    return choice_id if hmac.compare_digest(given, expected) else None
