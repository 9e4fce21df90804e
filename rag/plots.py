"""Evaluation you can see: the latest run beside the one before, as PNG plots (matplotlib) saved next
to the reports, and a side-by-side table. Used by `rag eval` (the Markdown report embeds the plots)
and by the chat's Évaluation tab.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rag.page_text import text

KS = list(range(1, 11))
# (label key in rag.page_text, summary group, figure): higher is better for all but "refused"
BARS = [("right_answers", "correctness", "alias_hit"), ("cited_evidence", "citations", "quote_in_cited_passage"),
        ("refused_unanswerable", "abstention", "unanswerable_abstained"),
        ("refused_wrongly", "abstention", "answerable_refused")]


@dataclass
class Run:
    path: Path  # the JSON report
    data: dict

    @property
    def stamp(self) -> str:
        return self.path.stem

    @property
    def gold(self) -> str:
        return str(self.data.get("settings", {}).get("gold", ""))

    def figure(self, group: str, name: str) -> float | None:
        value = self.data.get("summary", {}).get(group, {})
        return value.get(name) if isinstance(value, dict) else None

    def hit_at(self, k: int) -> float | None:
        ranks = [q.get("evidence_rank") for q in self.data.get("questions", []) if q.get("has_evidence")]
        return sum(r is not None and r <= k for r in ranks) / len(ranks) if ranks else None

    def latencies_s(self) -> list[float]:
        return [q["total_ms"] / 1000 for q in self.data.get("questions", []) if q.get("total_ms")]


def load_runs(folder: Path) -> list[Run]:
    """Every readable JSON report in `folder`, oldest first."""
    runs = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "summary" in data:
            runs.append(Run(path, data))
    return runs


def latest_two(folder: Path) -> tuple[Run | None, Run | None]:
    """The latest run and the one before it on the same question set (else the one before it at all)."""
    runs = load_runs(folder)
    if not runs:
        return None, None
    latest = runs[-1]
    earlier = [r for r in runs[:-1] if r.gold == latest.gold] or runs[:-1]
    return latest, (earlier[-1] if earlier else None)


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _label(run: Run, role: str) -> str:
    return f"{role} ({run.stamp})"


PLOTS = ("hitk", "bars", "latency")


def plot_paths(latest: Run, folder: Path, language: str = "fr") -> dict[str, Path]:
    """`<stamp>-<name>.png` (French, beside the report), `<stamp>-<name>.en.png` in English."""
    suffix = ".en.png" if language == "en" else ".png"
    return {name: folder / f"{latest.stamp}-{name}{suffix}" for name in PLOTS}


def plots_for(latest: Run, previous: Run | None, folder: Path, language: str = "fr") -> dict[str, Path]:
    """The latest run's plots: those `rag eval` saved beside its report, drawn only when missing."""
    paths = plot_paths(latest, folder, language)
    return paths if all(p.is_file() for p in paths.values()) else plot_runs(latest, previous, folder, language)


def plot_runs(latest: Run, previous: Run | None, folder: Path, language: str = "fr") -> dict[str, Path]:
    """hit@k curve, correctness/citation/abstention bars and latency histogram (`plot_paths`)."""
    plt = _plt()
    paths = plot_paths(latest, folder, language)
    runs = [(latest, text("latest", language), "#2563eb")]
    runs += [(previous, text("previous", language), "#9ca3af")] if previous else []
    out: dict[str, Path] = {}

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for run, role, colour in runs:
        values = [run.hit_at(k) for k in KS]
        if any(v is not None for v in values):
            ax.plot(KS, [v or 0 for v in values], marker="o", color=colour, label=_label(run, role))
    ax.set(xlabel=text("k_retrieved", language), ylabel=text("evidence_in_k", language), ylim=(0, 1.02),
           xticks=KS, title=text("plot_hitk", language))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    out["hitk"] = _save(fig, paths["hitk"], plt)

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    width = 0.38
    for i, (run, role, colour) in enumerate(runs):
        xs = [j + (i - 0.5 * (len(runs) - 1)) * width for j in range(len(BARS))]
        values = [run.figure(group, name) for _, group, name in BARS]
        bars = ax.bar(xs, [v or 0 for v in values], width, color=colour, label=_label(run, role))
        ax.bar_label(bars, labels=["–" if v is None else f"{v:.2f}" for v in values], fontsize=7)  # – : not measured
    ax.set_xticks(range(len(BARS)), [text(label, language) for label, _, _ in BARS], fontsize=8)
    ax.set(ylim=(0, 1.1), title=text("plot_bars", language))
    ax.legend(fontsize=8)
    out["bars"] = _save(fig, paths["bars"], plt)

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for run, role, colour in runs:
        if run.latencies_s():
            ax.hist(run.latencies_s(), bins=20, alpha=0.55, color=colour, label=_label(run, role))
    ax.set(xlabel=text("seconds_per_answer", language), ylabel=text("questions", language),
           title=text("plot_latency", language))
    ax.legend(fontsize=8)
    out["latency"] = _save(fig, paths["latency"], plt)
    return out


def _save(fig, path: Path, plt) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def comparison_markdown(latest: Run, previous: Run | None, worst: int = 5, language: str = "fr") -> str:
    """The two runs side by side, then the latest run's worst questions with their passages."""
    head = [f"| | {text('latest', language)} ({latest.stamp})"
            + (f" | {text('previous', language)} ({previous.stamp})" if previous else "") + " |",
            "|---|---|" + ("---|" if previous else "")]
    rows = [(text("questions", language), "questions", None)]
    rows += [(text(label, language), group, name) for label, group, name in BARS]
    rows += [("hit@5", "retrieval", "hit@5"), ("p50 (ms)", "latency_ms", "p50")]
    for label, group, name in rows:
        def cell(run: Run) -> str:
            value = run.data["summary"].get(group) if name is None else run.figure(group, name)
            return "–" if value is None else str(value)
        head.append(f"| {label} | {cell(latest)}" + (f" | {cell(previous)}" if previous else "") + " |")
    wrong = [q for q in latest.data.get("questions", [])
             if (q.get("answerable") and not q.get("alias_hit")) or (not q.get("answerable") and not q.get("abstained"))]
    lines = head + ["", text("missed", language, n=len(wrong), shown=min(worst, len(wrong))), ""]
    for q in wrong[:worst]:
        lines.append(f"- **{q['question']}** → {q.get('answer', '')}")
        for p in q.get("passages", [])[:3]:
            lines.append(f"  - [{p['n']}] `{p['path']}` : {' '.join(p['text'].split())[:220]}")
    return "\n".join(lines)
