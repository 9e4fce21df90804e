"""Evaluation reports: a JSON file with everything and a Markdown file a person can read alone."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from rag import plots
from rag.evaluation import QuestionResult

WORST = 10


def _badness(r: QuestionResult) -> tuple:
    if r.answerable:
        return (r.alias_hit, not r.abstained, r.f1, r.citation.supported_sentences)
    return (r.abstained, 1, 1, 1)


def markdown(settings: dict, summary: dict, results: list[QuestionResult], gold_errors: list) -> str:
    lines = ["# Evaluation report", "", f"Run {settings.get('when', '')}", "", "## Settings", ""]
    lines += [f"- **{k}**: `{v}`" for k, v in settings.items() if k != "when"]
    lines += ["", "## Summary", "", "| figure | value | counts |", "|---|---|---|"]
    groups = {k: v for k, v in summary.items() if k not in ("by_type", "by_language", "misses")}
    for group, values in groups.items():
        if isinstance(values, dict):
            counts = values.get("counts", "")
            for name, value in values.items():
                if name != "counts":
                    lines.append(f"| {group}.{name} | {value} | {counts if name == next(iter(values)) else ''} |")
        else:
            lines.append(f"| {group} | {values} | |")
    for key, title in (("by_type", "By question type"), ("by_language", "By question language")):
        if summary.get(key):
            lines += ["", f"## {title}", "", "| group | right | counts |", "|---|---|---|"]
            lines += [f"| {name} | {v['right']} | {v['counts']} |" for name, v in summary[key].items()]
    if summary.get("misses"):
        lines += ["", "## Misses by kind", "", "| what went wrong | questions |", "|---|---|"]
        lines += [f"| {kind} | {n} |" for kind, n in summary["misses"].items()]
    if gold_errors:
        lines += ["", "## Gold file problems", ""] + [f"- {e}" for e in gold_errors]
    lines += ["", f"## Worst questions (up to {WORST})", ""]
    for r in sorted(results, key=_badness)[:WORST]:
        verdict = ("correct" if r.alias_hit else "refused" if r.abstained else "wrong") if r.answerable \
            else ("abstained (right)" if r.abstained else "answered an unanswerable question")
        lines += [f"### {r.id}: {r.question}", "",
                  f"- verdict: **{verdict}**; evidence rank {r.evidence_rank}; F1 {r.f1:.2f}; "
                  f"{r.total_ms / 1000:.1f} s; {r.attempts} generation(s), last verdict {r.reason or '–'}",
                  f"- answer: {r.answer}"]
        for s in r.sentences:
            mark = "supported" if s["supported"] else "UNSUPPORTED"
            lines.append(f"  - {mark} ({s['support']}) cites {s['cited']} → {s['attributed']}: {s['text']}")
        lines.append("- passages:")
        for p in r.passages:
            lines.append(f"  - [{p['n']}] `{p['path']}` {p['start']}–{p['end']}: {p['text']}")
        lines.append("")
    return "\n".join(lines) + "\n"


def write(folder: Path, settings: dict, summary: dict, results: list[QuestionResult], gold_errors: list,
          stamp: str | None = None) -> tuple[Path, Path]:
    """Write `<stamp>.json` and `<stamp>.md` in `folder`; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = stamp or datetime.now().strftime("%Y-%m-%d-%H%M%S")
    payload = {"settings": settings, "summary": summary, "gold_errors": [asdict(e) for e in gold_errors],
               "questions": [asdict(r) for r in results]}
    json_path = folder / f"{stamp}.json"
    json_path.write_text(json.dumps(payload, indent=1, ensure_ascii=False), "utf-8")
    md_path = folder / f"{stamp}.md"
    text = markdown(settings, summary, results, gold_errors)
    latest, previous = plots.latest_two(folder)
    if latest is not None and latest.path == json_path:
        pictures = plots.plot_runs(latest, previous, folder)
        against = f" beside the previous run ({previous.stamp})" if previous else ""
        text = text.replace("\n## Summary\n", f"\n## Plots{against}\n\n" + "\n".join(
            f"![{name}]({path.name})" for name, path in pictures.items()) + "\n\n## Summary\n", 1)
    md_path.write_text(text, "utf-8")
    return json_path, md_path
