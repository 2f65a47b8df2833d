"""`peerbot faq …`: ask the FAQ from the shell, list it, evaluate it, see and promote unanswered."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime, work_starts

if TYPE_CHECKING:
    from bot.app import Runtime

NAME = "faq"
app = typer.Typer(help="The financing FAQ.", no_args_is_help=True)


PROGRAMME_HELP = "a programme's slug: its own FAQ entries are searched too"
SEMANTIC_HELP = (
    "score on meaning as well as words (loads the sentence encoder, ~3 s; default: "
    "PEERBOT_FAQ_SEMANTIC)"
)


def faq_index(content: Any) -> Any:
    """The FAQ index of a content, imported on use: every other command starts without the
    FAQ's modules (a third of a second)."""
    from handlers.faq.content import faq_index as index_of

    return index_of(content)


def _semantic(content: Any, on: bool | None) -> None:
    """Load the FAQ's meaning layer now (entry vectors cached in PEERBOT_DATA_DIR/faq-vectors)
    when `on`, or when unset and the setting says so; exits 2 naming a missing package."""
    from handlers.faq.semantic import SemanticUnavailable

    s = settings()
    if not (s.faq_semantic if on is None else on) or faq_index(content).hybrid_ready:
        return
    try:
        faq_index(content).attach_semantic(s.data_dir / "faq-vectors", background=False)
    except SemanticUnavailable as exc:
        fail(str(exc), 2)


def _content(programme: str | None = None) -> Any:
    """The base content, with a programme folder's FAQ and overrides when one is named."""
    from handlers.core.content import load_content
    from handlers.programmes.folder import installed_folder
    from handlers.registry import load_content_parts

    load_content_parts()
    work_starts()
    s = settings()
    if programme is None:
        return load_content(s.content_dir, cache_dir=s.data_dir / "cache")
    folder = installed_folder(programme, s.content_dir, s.data_dir)
    if folder is None:
        typer.echo(f"programme {programme!r} has no folder of its own: the base FAQ", err=True)
    return load_content(s.content_dir, folder, s.data_dir / "cache")


def result_json(question: str, result: Any, index: Any, lang: str | None) -> dict[str, Any]:
    """One `faq ask --json` object; "lang" is the language of "text" (or of the suggestions).

    The answer is in `lang` (the officer's locale) when translated, else in the language the
    question was matched in, else in English with one line saying so.
    """
    from handlers.faq.content import render_answer

    best = result.best
    entry = index.get(best.entry_id) if best and result.status == "answer" else None
    shown = entry.answer_lang(lang, result.lang) if entry is not None else None
    asked = best.lang if best else (lang or result.lang or "en")
    siblings = index.sibling_question(result)
    return {
        "question": question,
        "question_lang": result.lang,
        "status": result.status,
        "id": best.entry_id if best and result.status == "answer" else None,
        "score": round(best.score, 1) if best else 0.0,
        "lang": shown or asked,
        "text": render_answer(entry, shown if shown != entry.lang else lang)
        if entry and shown
        else None,
        "suggestions": [
            {"id": h.entry_id, "question": h.question, "score": round(h.score, 1)}
            for h in result.suggestions
        ],
        # the question that tells confusable entries apart (ESCO or EPC?), when it applies
        "ask": siblings[0].get(lang or "en", siblings[0]["en"]) if siblings else None,
        "semantic": bool(index.hybrid_ready),  # scored on meaning as well as words
    }


@app.command("ask")
def ask(
    questions: list[str],
    lang: str = typer.Option(
        None, help="the officer's language (en fr de es it); the question's language if omitted"
    ),
    json_out: bool = typer.Option(False, "--json"),
    programme: str = typer.Option(None, "--programme", help=PROGRAMME_HELP),
    semantic: bool = typer.Option(None, "--semantic/--no-semantic", help=SEMANTIC_HELP),
) -> None:
    """Ask one or more questions; prints the answer, the suggestions or 'unknown'."""
    if lang is not None and lang not in ("en", "fr", "de", "es", "it"):
        fail(f"--lang must be one of en fr de es it, not {lang!r}", 2)
    content = _content(programme)
    _semantic(content, semantic)
    rows = [
        result_json(q, faq_index(content).search(q, lang), faq_index(content), lang)
        for q in questions
    ]
    if json_out:
        dump(rows)
        return
    for row in rows:
        status = f"{row['status']} {row['id'] or ''} ({row['score']}, {row['lang']})"
        typer.echo(f"? {row['question']}\n  {status}")
        if row["text"]:
            typer.echo("  " + row["text"].replace("\n", "\n  "))
        for s in row["suggestions"]:
            typer.echo(f"  - {s['id']}: {s['question']} ({s['score']})")


@app.command("list")
def list_entries(
    json_out: bool = typer.Option(False, "--json"),
    programme: str = typer.Option(None, "--programme", help=PROGRAMME_HELP),
) -> None:
    """List the FAQ entries (with a programme's own entries when one is named), their
    languages and the "Was this helpful?" counts."""
    from handlers.faq.content import load_faq
    from handlers.faq.flow import feedback_counts

    async def counts(rt: Runtime) -> dict[str, dict[str, int]]:

        async with rt.core.uow() as uow:
            return await feedback_counts(uow)

    entries = (
        faq_index(_content(programme)).entries
        if programme
        else load_faq(settings().content_dir / "faq").entries
    )
    helpful = arun(with_runtime(settings(), counts))
    rows: list[dict[str, Any]] = [
        {
            "id": e.id,
            "question": e.question,
            "sectors": list(e.sectors),
            "instruments": list(e.instruments),
            "languages": e.languages(),
            "reviewed": str(e.reviewed),
            "helpful": helpful.get(e.id, {"yes": 0, "no": 0}),
        }
        for e in entries
    ]
    if json_out:
        dump(rows)
        return
    for r in rows:
        votes = f"+{r['helpful']['yes']}/-{r['helpful']['no']}"
        typer.echo(f"{r['id']:<40} {votes:>8}  {r['question']}")


def read_rows(file: Path) -> tuple[list[tuple[str, str | None]], list[str], int]:
    """(rows, their languages, rows skipped as unlabelled) of a dev-set JSONL file."""
    rows: list[tuple[str, str | None]] = []
    langs: list[str] = []
    skipped = 0
    try:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            item = json.loads(line)
            if not isinstance(item, dict) or "q" not in item:
                fail(f"{file}:{number}: each line must be an object with 'q' and 'id'", 2)
            if item.get("needs_label"):
                skipped += 1
                continue
            rows.append((str(item["q"]), item.get("id")))
            langs.append(str(item.get("lang") or "en"))
    except (OSError, json.JSONDecodeError) as exc:
        fail(f"{file}: {exc}", 2)
    return rows, langs, skipped


@app.command("eval")
def evaluate(
    file: Path,
    baseline: bool = typer.Option(False, help="also the plain-WRatio baseline"),
    cv: bool = typer.Option(False, "--cv", help="5-fold cross-validated figures per language"),
    export_candidates: Path = typer.Option(
        None,
        "--export-candidates",
        help="write questions rated 'No' and those coordinators answered, as dev rows to label",
    ),
    semantic: bool = typer.Option(None, "--semantic/--no-semantic", help=SEMANTIC_HELP),
    per_language: bool = typer.Option(
        False, "--per-language", help="with --cv: thresholds fitted per detected language"
    ),
) -> None:
    """Top-1/top-3 accuracy, off-topic refusal and latency on a labelled JSONL file."""
    from handlers.faq.search import (
        baseline_search,
        cross_validated_outcomes,
        figures_by_language,
    )
    from handlers.faq.search import evaluate as run_eval

    rows, langs, skipped = read_rows(file)
    content = _content()
    _semantic(content, semantic)
    if skipped:
        typer.echo(f"{skipped} rows skipped: they still need a label (needs_label)")
    reports = {"pipeline": run_eval(faq_index(content), rows)}
    if baseline:
        reports["baseline"] = run_eval(
            faq_index(content), rows, lambda q: baseline_search(faq_index(content), q)
        )
    for name, report in reports.items():
        figures = asdict(report)
        typer.echo(
            f"{name}: n={figures['n']} top1={figures['top1']:.3f} top3={figures['top3']:.3f} "
            f"offtopic_refused={figures['refused_offtopic']:.3f} "
            f"direct={figures['answered_direct']:.3f} "
            f"p50={figures['p50_ms']:.2f}ms p95={figures['p95_ms']:.2f}ms"
        )
    if cv:
        outs, _ = cross_validated_outcomes(
            faq_index(content), rows, folds=5, per_language=per_language, groups=langs
        )
        typer.echo("5-fold cross-validated, per language (direct = answered right / on-topic):")
        for lang, (n, fig) in figures_by_language(outs, [lab for _, lab in rows], langs).items():
            typer.echo(
                f"  {lang:<4} n={n:<4} direct={fig.direct_share:.3f} top1={fig.top1:.3f} "
                f"top3={fig.top3:.3f} offtopic_refused={fig.refused_offtopic:.3f} "
                f"direct_precision={fig.direct_precision:.3f}"
            )
    if export_candidates is not None:
        export(export_candidates)


def export(path: Path) -> None:
    """Write candidate dev rows (see handlers.faq.flow.candidate_rows) as JSONL to `path`."""
    from handlers.faq.flow import candidate_rows

    async def go(rt: Runtime) -> list[dict[str, Any]]:

        async with rt.core.uow() as uow:
            return await candidate_rows(uow)

    found = arun(with_runtime(settings(), go))
    try:
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in found), encoding="utf-8"
        )
    except OSError as exc:
        fail(f"{path}: {exc}", 2)
    typer.echo(f"wrote {len(found)} candidate rows to {path} (label them, then add to the dev set)")


@app.command("unanswered")
def unanswered(json_out: bool = typer.Option(False, "--json"), limit: int = 50) -> None:
    """Questions the FAQ could not answer (or answered unhelpfully), without a human answer yet."""
    from handlers.faq.flow import unanswered_rows

    async def go(rt: Runtime) -> list[dict[str, Any]]:

        async with rt.core.uow() as uow:
            return [
                {
                    "id": q.id,
                    "text": q.text,
                    "outcome": q.outcome,
                    "feedback": q.feedback,
                    "escalated": q.escalated,
                    "asked_at": q.created_at.isoformat(),
                }
                for q in await unanswered_rows(uow, limit)
            ]

    rows = arun(with_runtime(settings(), go))
    if json_out:
        dump(rows)
        return
    for r in rows:
        typer.echo(f"#{r['id']:<5} {'⚑' if r['escalated'] else ' '} {r['text'][:100]}")


@app.command("promote")
def promote(
    query_id: int,
    out: Path = typer.Option(
        Path("content/faq-drafts"), help="folder for drafts (not loaded by the bot)"
    ),
) -> None:
    """Turn an answered question into a draft FAQ entry for a curator to complete."""
    from handlers.faq.service import draft_of, write_draft

    async def go(rt: Runtime) -> dict[str, Any] | None:

        async with rt.core.uow() as uow:
            return await draft_of(uow, None, None, query_id, rt.content.current.taxonomy)

    draft = arun(with_runtime(settings(), go))
    if draft is None:
        fail(f"question #{query_id} does not exist or has no coordinator answer yet", 1)
    path = write_draft(draft, out)
    typer.echo(f"wrote {path}")
