"""HTML views of answers and their evidence for the chat. Every piece of text that comes from a
source or from the model is escaped: an article cannot inject markup or script into the page."""

from __future__ import annotations

from html import escape

from typing import TYPE_CHECKING

from rag.answer import Answer
from rag.build import BuildSummary
from rag.citations import CITATION, parse_numbers
from rag.index import Index
from rag.messages import say
from rag.metadata import FILE_DATE, ArticleMeta, format_day
from rag.page_text import text

if TYPE_CHECKING:
    from rag.conversations import Turn
    from rag.library import AddReport, SourceRow

CONTEXT_CHARS = 220

CSS = """
.rag-unsupported { text-decoration: underline wavy #d97706; background: #fef3c7; color: inherit; }
.rag-abstain { border-left: 4px solid #6b7280; padding: 4px 10px; background: #f3f4f6; color: #374151;
               font-style: italic; }
a.rag-cite { font-weight: 600; text-decoration: none; padding: 0 1px; }
.rag-card { border: 1px solid #d1d5db; border-radius: 8px; padding: 8px 12px; margin: 8px 0;
            background: var(--background-fill-primary); scroll-margin-top: 12px; }
.rag-card.rag-active, .rag-card:target { outline: 3px solid #2563eb; }
.rag-card .rag-meta { font-size: 0.85em; color: #6b7280; }
.rag-card .rag-about { font-size: 0.9em; color: #1f2937; font-weight: 500; }
#sources-table table { table-layout: fixed; width: 100%; }
#sources-table td { white-space: normal; overflow-wrap: anywhere; }
.rag-card mark { background: #fde68a; color: inherit; }
.rag-turn { font-weight: 600; margin-top: 14px; }
"""

# Clicking [n] in an answer brings its card into view and outlines it.
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a.rag-cite, a[href^="#rag-src-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const id = (link.getAttribute('href') || '').slice(1);
    const card = document.getElementById(id);
    if (!card) return;
    document.querySelectorAll('.rag-card.rag-active').forEach((c) => c.classList.remove('rag-active'));
    card.classList.add('rag-active');
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
  }, true);
}
"""


def empty_evidence(language: str = "fr") -> str:
    """The evidence column before any answer."""
    return f"<p><i>{text('evidence_empty', language)}</i></p>"


def card_id(turn: int, number: int) -> str:
    return f"rag-src-{turn}-{number}"


def _cite_links(turn: int, numbers: list[int]) -> str:
    return "".join(f'<a class="rag-cite" href="#{card_id(turn, n)}">[{n}]</a>' for n in numbers)


def answer_html(result: Answer, turn: int, language: str = "fr") -> str:
    """The checked answer: `[n]` links to cards, unsupported sentences marked, abstention set apart."""
    if result.abstained:
        return f'<div class="rag-abstain">{escape(result.text)}</div>'
    parts = []
    for s in result.sentences:
        sentence = escape(s.text)
        if CITATION.search(s.text):  # citations written inside the sentence (sources that disagree)
            parts.append(CITATION.sub(lambda m: _cite_links(turn, parse_numbers(m.group(1))), sentence))
            continue
        links = _cite_links(turn, s.attributed)
        if not s.supported:
            unsupported = text("unsupported", language)
            sentence = f'<span class="rag-unsupported" title="{unsupported}">⚠ {sentence}</span>'
        parts.append(f"{sentence} {links}".strip())
    return " ".join(parts)


def cards_html(result: Answer, turn: int, index: Index | None = None, language: str = "fr") -> str:
    """Numbered source cards: title, file, and the passage highlighted in its surrounding text."""
    cited = {n for s in result.sentences for n in s.attributed}
    heading = text("closest" if result.abstained else "sources", language)
    characters = text("characters", language)
    out = [f'<div class="rag-turn">{escape(result.question)} — {heading}</div>']
    for p in result.passages:
        if not result.abstained and cited and p.number not in cited:
            continue
        before = after = ""
        if index is not None and p.source_id in index.sources:
            whole = index.source_text(p.source_id)
            before = whole[max(0, p.start - CONTEXT_CHARS):p.start]
            after = whole[p.end:p.end + CONTEXT_CHARS]
            passage = whole[p.start:p.end]
        else:
            passage = p.text
        out.append(
            f'<div class="rag-card" id="{card_id(turn, p.number)}">'
            f"<div><b>[{p.number}] {escape(p.title)}</b></div>"
            f"{about_html(p.about, language)}"
            f'<div class="rag-meta">{escape(p.path)} · {characters} {p.start}–{p.end}</div>'
            f"<div>…{escape(before)}<mark>{escape(passage)}</mark>{escape(after)}…</div></div>"
        )
    return "\n".join(out)


def about_html(meta: ArticleMeta, language: str = "fr") -> str:
    """"Bloomberg · 29 juillet 2025", the outlet linking to the article when its URL is known."""
    line = meta.line(language)
    if not line:
        return ""
    if meta.url and meta.url.startswith(("http://", "https://")):
        line_html = (f'<a href="{escape(meta.url, quote=True)}" target="_blank" rel="noopener noreferrer">'
                     f"{escape(line)}</a>")
    else:
        line_html = escape(line)
    return f'<div class="rag-about">{line_html}</div>'


def sources_rows(rows: list["SourceRow"], language: str = "fr") -> list[list]:
    """The Sources table: headline, outlet, author, date, file (and its copies), passages."""
    out = []
    for r in rows:
        day = format_day(r.meta.date, language) if r.meta.date else ""
        if r.meta.date_guessed and day:
            day += f" ({FILE_DATE[language]})"
        files = r.path + "".join(f" (= {c})" for c in r.copies)
        out.append([r.title, r.meta.outlet or "", r.meta.author or "", day, files, r.chunks])
    return out


def restore_chat(turns: list["Turn"], index: Index | None, language: str = "fr"
                 ) -> tuple[list[dict], list[tuple[str, str]], str]:
    """A stored conversation as the chat shows it: messages, the (question, answer) history the model
    reads for follow-ups, and the source cards (newest first)."""
    messages: list[dict] = []
    history: list[tuple[str, str]] = []
    cards: list[str] = []
    for n, t in enumerate(turns, 1):
        answer = Answer.from_dict(t.answer)
        messages += [{"role": "user", "content": escape(t.question)},
                     {"role": "assistant", "content": answer_html(answer, n, language)}]
        history.append((answer.question, answer.text))
        cards.insert(0, cards_html(answer, n, index, language))
    return messages, history, "\n".join(cards) or empty_evidence(language)


def build_markdown(summary: BuildSummary | None, language: str = "fr") -> str:
    """What a build did, for the Sources tab (file names and reasons escaped)."""
    if summary is None:
        return ""
    lines = [text("index_ready", language, n_added=summary.added, n_changed=summary.changed,
                  n_removed=summary.removed, n_unchanged=summary.unchanged, n_embedded=summary.chunks_embedded,
                  n_total=summary.chunks_total, seconds=f"{summary.seconds:.1f}")]
    lines += ["- " + warning(note, language) for note in summary.notes]
    lines += ["- " + text("copy_of", language, copy=escape(copy), original=escape(original))
              for copy, original in summary.copies]
    colon = ": " if language == "en" else " : "
    lines += [f"- ⚠ {escape(s.path)}{colon}{escape(say(s.reason, language))}" for s in summary.skipped]
    return "\n".join(lines)


def warning(message: str, language: str = "fr") -> str:
    """A message of the library (English) as the page shows it: in the page's language, escaped, marked ⚠."""
    return f"⚠ {escape(say(message, language))}"


def add_report_markdown(report: "AddReport", language: str = "fr") -> str:
    """What became of each uploaded file: stored (under which name), already there, or refused."""
    lines = [build_markdown(report.summary, language)] if report.summary else []
    lines += ["- " + text("stored_as", language, uploaded=escape(uploaded), stored=escape(stored))
              for uploaded, stored in report.stored if uploaded != stored]
    lines += ["- " + text("already_there", language, uploaded=escape(uploaded), existing=escape(existing))
              for uploaded, existing in report.already_there]
    lines += ["- " + warning(problem, language) for problem in report.problems]
    return "\n".join(lines) or text("nothing_added", language)
