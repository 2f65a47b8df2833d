"""FAQ questions asked: what the follow-up reading needs."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select

from storage.models import FaqQuery
from storage.repositories.base import Repository

SHOWN = ("answer", "picked", "followup")
"""Outcomes after which the officer has an entry's answer in front of them."""


@functools.cache
def _log_statement() -> Any:
    """`INSERT INTO faq_query … RETURNING id`, its values given per call."""
    table = FaqQuery.__table__
    return insert(table).returning(table.c.id)  # type: ignore[arg-type,attr-defined]


class FaqQueryRepo(Repository):
    """The `faq_query` log."""

    async def log(
        self,
        *,
        officer_id: int | None,
        identity_id: int | None,
        text: str,
        lang: str | None,
        entry_id: str | None,
        score: float | None,
        outcome: str,
        created_at: datetime,
    ) -> int:
        """Log a question; its id (the answer's buttons carry it).

        One INSERT … RETURNING through a Core statement built once: the ORM's flush of a new
        object costs the same round trip plus its unit-of-work bookkeeping, and a statement
        built per call its cache key, on every question."""
        values = {
            "officer_id": officer_id,
            "identity_id": identity_id,
            "text": text,
            "lang": lang,
            "entry_id": entry_id,
            "score": score,
            "outcome": outcome,
            "escalated": False,
            "created_at": created_at,
        }
        return int((await self.session.execute(_log_statement(), values)).scalar_one())

    async def get(self, query_id: int) -> FaqQuery | None:
        """One logged question (the 👍/👎 buttons and a coordinator's answer name it)."""
        return await self.session.get(FaqQuery, query_id)

    async def label_candidates(self, limit: int) -> list[FaqQuery]:
        """Questions rated "No" or answered by a coordinator (choices of a suggestion left
        out), oldest first: what a curator may add to the FAQ's dev set."""
        stmt = (
            select(FaqQuery)
            .where(
                FaqQuery.text != "",
                FaqQuery.outcome != "picked",
                or_(FaqQuery.feedback == "no", FaqQuery.answer_text.is_not(None)),
            )
            .order_by(FaqQuery.created_at, FaqQuery.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def last_answer(self, identity_id: int, since: datetime) -> FaqQuery | None:
        """The identity's latest question, if it was answered with an entry after `since`.

        Only the latest one: a question that was not answered in between ends the context.
        """
        stmt = (
            select(FaqQuery)
            .where(FaqQuery.identity_id == identity_id)
            .order_by(FaqQuery.created_at.desc(), FaqQuery.id.desc())
            .limit(1)
        )
        row = (await self.session.execute(stmt)).scalars().first()
        if row is None or row.outcome not in SHOWN or row.entry_id is None:
            return None
        return row if _naive(row.created_at) >= _naive(since) else None

    async def helpful_counts(
        self, visible: ColumnElement[bool] | None = None
    ) -> dict[str, dict[str, int]]:
        """Per entry, how many "Was this helpful?" replies were yes and no (of the questions
        `visible` selects, e.g. one programme's)."""
        stmt = select(FaqQuery.entry_id, FaqQuery.feedback, func.count()).where(
            FaqQuery.entry_id.is_not(None), FaqQuery.feedback.in_(("yes", "no"))
        )
        if visible is not None:
            stmt = stmt.where(visible)
        stmt = stmt.group_by(FaqQuery.entry_id, FaqQuery.feedback)
        counts: dict[str, dict[str, int]] = {}
        for entry_id, feedback, n in (await self.session.execute(stmt)).all():
            counts.setdefault(str(entry_id), {"yes": 0, "no": 0})[str(feedback)] = int(n)
        return counts


def _naive(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes, PostgreSQL aware ones: compare them as naive."""
    return moment.replace(tzinfo=None)
