"""Conversations that last: every question and checked answer (text, sentences, passages with their
article's metadata, timings) kept in SQLite in the project folder (`conversations.db`), with the
reader's 👍/👎 and corrections; exported as Markdown or JSON.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from rag.errors import RagError
from rag.metadata import format_day

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    question TEXT NOT NULL, answer TEXT NOT NULL, created TEXT NOT NULL,
    vote INTEGER, correction TEXT, voted TEXT);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation_id, id);
"""
TITLE_CHARS = 60
# a conversation with its number of answers
_CONVERSATIONS = ("SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) AS n "
                  "FROM conversations c")


class ConversationMissing(RagError):
    """A conversation or answer id that is not (or no longer) in the store."""


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created: str
    updated: str
    turns: int


@dataclass(frozen=True)
class Turn:
    id: int
    question: str
    answer: dict  # Answer.to_dict()
    created: str
    vote: int | None  # +1, -1 or None
    correction: str | None


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(row["id"], row["title"], row["created"], row["updated"], row["n"])


def _turn(row: sqlite3.Row) -> Turn:
    return Turn(row["id"], row["question"], json.loads(row["answer"]), row["created"], row["vote"], row["correction"])


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ConversationStore:
    """One SQLite file; safe to share between the chat's threads (one connection per call)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA foreign_keys = ON")
        db.row_factory = sqlite3.Row
        return db

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock, self._connect() as db:
            return db.execute(sql, args)

    # -- conversations -----------------------------------------------------------------------------
    def create(self, title: str = "Nouvelle conversation") -> str:
        cid = uuid.uuid4().hex[:12]
        now = _now()
        self._write("INSERT INTO conversations VALUES (?, ?, ?, ?)", (cid, title, now, now))
        return cid

    def get(self, cid: str) -> Conversation:
        with self._connect() as db:
            row = db.execute(f"{_CONVERSATIONS} WHERE c.id = ?", (cid,)).fetchone()
        if row is None:
            raise ConversationMissing(f"no conversation {cid!r}")
        return _conversation(row)

    def list(self) -> list[Conversation]:
        """Most recently updated first."""
        with self._connect() as db:
            rows = db.execute(f"{_CONVERSATIONS} ORDER BY c.updated DESC, c.rowid DESC").fetchall()
        return [_conversation(r) for r in rows]

    def rename(self, cid: str, title: str) -> None:
        title = " ".join((title or "").split())[:200]
        if not title:
            raise ConversationMissing("a conversation needs a title")
        if self._write("UPDATE conversations SET title = ? WHERE id = ?", (title, cid)).rowcount == 0:
            raise ConversationMissing(f"no conversation {cid!r}")

    def delete(self, cid: str) -> None:
        if self._write("DELETE FROM conversations WHERE id = ?", (cid,)).rowcount == 0:
            raise ConversationMissing(f"no conversation {cid!r}")

    # -- turns -------------------------------------------------------------------------------------
    def add_turn(self, cid: str, answer: dict) -> int:
        """Keep one checked answer (`Answer.to_dict()`); a new conversation takes its first question as title."""
        conversation = self.get(cid)
        now = _now()
        with self._lock, self._connect() as db:
            turn = db.execute("INSERT INTO turns (conversation_id, question, answer, created) VALUES (?, ?, ?, ?)",
                              (cid, answer["question"], json.dumps(answer, ensure_ascii=False), now)).lastrowid
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, cid))
            if conversation.turns == 0 and conversation.title == "Nouvelle conversation":
                question = " ".join(answer["question"].split())
                title = question if len(question) <= TITLE_CHARS else question[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"
                db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, cid))
        return int(turn)

    def turns(self, cid: str) -> list[Turn]:
        self.get(cid)
        with self._connect() as db:
            rows = db.execute("SELECT * FROM turns WHERE conversation_id = ? ORDER BY id", (cid,)).fetchall()
        return [_turn(r) for r in rows]

    def vote(self, turn_id: int, vote: int | None, correction: str | None = None) -> None:
        """👍 (+1) or 👎 (-1) on one answer, with an optional correction (what the answer should have said)."""
        if vote not in (1, -1, None):
            raise ValueError("vote is +1, -1 or None")
        correction = (correction or "").strip() or None
        cursor = self._write("UPDATE turns SET vote = ?, correction = COALESCE(?, correction), voted = ? WHERE id = ?",
                             (vote, correction, _now(), turn_id))
        if cursor.rowcount == 0:
            raise ConversationMissing(f"no answer {turn_id}")

    def reviewed(self) -> list[Turn]:
        """Answers a reader marked 👎 or corrected, oldest first (what `rag eval --feedback` reads)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM turns WHERE vote = -1 OR correction IS NOT NULL ORDER BY id").fetchall()
        return [_turn(r) for r in rows]

    # -- export ------------------------------------------------------------------------------------
    def export_json(self, cid: str) -> dict:
        c = self.get(cid)
        return {"id": c.id, "title": c.title, "created": c.created, "updated": c.updated,
                "turns": [{"question": t.question, "answer": t.answer, "created": t.created, "vote": t.vote,
                           "correction": t.correction} for t in self.turns(cid)]}

    def export_markdown(self, cid: str, language: str = "fr") -> str:
        """Each question, its answer, then its numbered sources (file, date, outlet, author, URL, quoted
        passage)."""
        c = self.get(cid)
        out = [f"# {c.title}", "", f"_{c.created[:10]}_", ""]
        for n, t in enumerate(self.turns(cid), 1):
            a = t.answer
            out += [f"## {n}. {t.question}", "", a["text"], ""]
            cited = {m for s in a.get("sentences", []) for m in s.get("attributed", [])}
            passages = [p for p in a.get("passages", []) if a.get("abstained") or not cited or p["number"] in cited]
            if passages:
                out += ["Sources :" if language == "fr" else "Sources:", ""]
            for p in passages:
                about = p.get("about") or {}
                facts = [p.get("file", "")]
                if about.get("date"):
                    facts.append(format_day(about["date"], language))
                facts += [about.get(key) for key in ("outlet", "author", "url")]
                quoted = " ".join(p["text"].split())
                out += [f"[{p['number']}] {p['title']} — {', '.join(f for f in facts if f)}", f"> {quoted}", ""]
        return "\n".join(out).rstrip() + "\n"

    def export_file(self, cid: str, fmt: str, folder: Path) -> Path:
        """Write the conversation as `fmt` ("md" or "json") into `folder`; the file's path."""
        c = self.get(cid)
        stem = "".join(ch if ch.isalnum() else "-" for ch in c.title.lower())[:40].strip("-") or "conversation"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}-{cid[:6]}.{fmt}"
        if fmt == "md":
            path.write_text(self.export_markdown(cid), "utf-8")
        elif fmt == "json":
            path.write_text(json.dumps(self.export_json(cid), ensure_ascii=False, indent=1), "utf-8")
        else:
            raise ValueError(f"unknown export format {fmt!r}")
        return path
