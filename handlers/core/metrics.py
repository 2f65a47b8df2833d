"""Prometheus metrics of what the bot does; `bot/http.py` serves them at `/metrics`.

Counters live in the default registry and count per process (Prometheus sums the processes).
Labels carry only platform names and fixed outcome words: never a user, chat or text.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, disable_created_metrics

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series: they double the output for nothing

UPDATES = Counter(
    "peerbot_updates",
    "Incoming updates by platform and outcome (handled, ignored, duplicate, expired, error)",
    ["platform", "outcome"],
)
FAQ_QUESTIONS = Counter(
    "peerbot_faq_questions",
    "Financing questions by FAQ result: answer, suggest (did you mean) or unknown",
    ["result"],
)
FAQ_COORDINATOR_ANSWERS = Counter(
    "peerbot_faq_coordinator_answers",
    "Questions the FAQ could not answer that a coordinator answered",
)
OUTBOX_MESSAGES = Counter(
    "peerbot_outbox_messages",
    "Outbox deliveries by platform and result (sent, retried, failed, undeliverable, "
    "rate_limited, migrated)",
    ["platform", "result"],
)
OUTBOX_PENDING = Gauge(
    "peerbot_outbox_pending",
    "Outbox rows waiting to be sent (pending or being sent), all platforms",
)
INBOX_RETRIED = Counter(
    "peerbot_inbox_retried",
    "Inbox rows whose handler failed and that will be tried again",
    ["platform"],
)
INBOX_POISON = Counter(
    "peerbot_inbox_poisoned",
    "Inbox rows parked as poison after failing every attempt",
    ["platform"],
)
INBOX_DEPTH = Gauge("peerbot_inbox_depth", "Stored updates not yet handled (all processes)")
INBOX_OLDEST = Gauge(
    "peerbot_inbox_oldest_age_seconds", "Age of the oldest stored update not yet handled"
)
INBOX_POISON_ROWS = Gauge("peerbot_inbox_poison_rows", "Inbox rows parked as poison (kept)")
ADAPTER_UP = Gauge("peerbot_adapter_up", "1 when a platform adapter is running", ["adapter"])

for _result in ("answer", "suggest", "unknown"):
    FAQ_QUESTIONS.labels(_result)
