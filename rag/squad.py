"""SQuAD-layout question sets (such as PIAF) turned into a corpus of articles with gold spans."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from rag.errors import SettingsError
from rag.sources import normalise_text, source_id

PARAGRAPH_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: list[str]
    path: str  # article file, relative to the corpus folder
    start: int  # gold answer span in the article text
    end: int
    paragraph: tuple[int, int]  # span of the paragraph holding the answer

    @property
    def source_id(self) -> str:
        return source_id(self.path)


def _file_name(n: int, title: str) -> str:
    safe = "".join(ch if ch.isalnum() else "_" for ch in title)[:50].strip("_")
    return f"{n:03d}_{safe or 'article'}.txt"


SPLIT_SEED = 20261125
SPLITS = ("tune", "test")


def split_articles(n_articles: int, split: str, seed: int = SPLIT_SEED) -> list[int]:
    """Article numbers of one half of a SQuAD file: the articles are shuffled with a fixed seed and cut in
    two, "tune" (where settings may be chosen) and "test" (where figures are reported, never tuned on)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use tune or test")
    order = list(range(n_articles))
    random.Random(seed).shuffle(order)
    half = order[: n_articles // 2] if split == "tune" else order[n_articles // 2:]
    return sorted(half)


# what a SQuAD-layout file holds (what an error about one says was expected)
LAYOUT = ('{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", '
          '"answers": [{"text", "answer_start"}]}]}]}]}')


def load_squad(path: Path, articles: int | None = None,
               split: str | None = None) -> tuple[dict[str, str], list[SquadQuestion]]:
    """Articles (file name -> text: title line, then paragraphs) and questions with their gold span: the
    first `articles` articles of the file, or of its `split` half.

    Texts are written so that loading them as sources changes nothing, keeping the spans exact. A file
    that is not SQuAD's layout is a `SettingsError` saying what is missing."""
    data = _articles(Path(path))
    if split is not None:
        data = [data[i] for i in split_articles(len(data), split)]
    if articles is not None:
        data = data[:articles]
    try:
        return _read_articles(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise SettingsError(f"{path} is not in SQuAD's layout (an article does not fit it: {type(exc).__name__} "
                            f"{exc}); expected {LAYOUT}") from exc


def _articles(path: Path) -> list:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{path} cannot be read as SQuAD-layout JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise SettingsError(f"{path} is not in SQuAD's layout: no \"data\" list of articles; expected {LAYOUT}")
    return data["data"]


def _read_articles(data: list) -> tuple[dict[str, str], list[SquadQuestion]]:
    texts: dict[str, str] = {}
    questions: list[SquadQuestion] = []
    for n, article in enumerate(data):
        name = _file_name(n, article.get("title", ""))
        text = " ".join(article.get("title", name).split())
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            clean = normalise_text(context)
            shift = context.find(clean[:20]) if clean else 0
            text += PARAGRAPH_SEPARATOR
            base = len(text)
            text += clean
            for qa in paragraph["qas"]:
                if not qa.get("answers"):
                    continue
                answer = qa["answers"][0]
                start = base + answer["answer_start"] - max(shift, 0)
                end = start + len(answer["text"])
                if text[start:end] != answer["text"]:
                    continue  # the normalisation moved it; leave the question out rather than guess
                questions.append(SquadQuestion(qa["id"], qa["question"], [a["text"] for a in qa["answers"]],
                                               name, start, end, (base, base + len(clean))))
        texts[name] = text
    return texts, questions


def write_corpus(texts: dict[str, str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, "utf-8")


def sample(questions: list[SquadQuestion], n: int | None, seed: int = 0) -> list[SquadQuestion]:
    if n is None or n >= len(questions):
        return list(questions)
    return random.Random(seed).sample(questions, n)


def piaf_path() -> Path:
    """Where the PIAF dev file is: `$RAG_PIAF`, else `shared/benchmarks/piaf/piaf-dev.json` beside this
    checkout, else in /work/shared (where these machines keep it; a fresh clone elsewhere still finds it)."""
    import os

    relative = Path("shared") / "benchmarks" / "piaf" / "piaf-dev.json"
    candidates = [Path(os.environ["RAG_PIAF"])] if os.environ.get("RAG_PIAF") else []
    candidates += [Path(__file__).resolve().parents[2] / relative, Path("/work") / relative]
    return next((c for c in candidates if c.is_file()), candidates[0])
