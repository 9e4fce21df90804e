"""The PIAF questions of one half asked in English, as a question set for `rag eval`: a project folder
holding the half's articles (French), the questions put into English by the default model (kept in
`bench/data/` by `bench/cross_language.py`, so every run asks the same ones) and a `rag.toml` that takes
the models from this project's folder.

    python bench/piaf_english.py /tmp/piaf-en [--split tune] [--articles 40] [--questions 200]
    rag index --home /tmp/piaf-en
    rag eval --home /tmp/piaf-en --set /tmp/piaf-en/questions_en.jsonl

The gold answers stay the French spans of PIAF: an English answer that gives them in English ("cabbage"
for "chou") is counted wrong, so "right" understates what the answers hold, the same way in two runs of
one comparison. Refusals, evidence read and time are not biased by that.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PIAF, ROOT  # noqa: E402

from rag.evaluation import squad_gold  # noqa: E402

DATA = ROOT / "bench" / "data"
QUESTIONS = "questions_en.jsonl"


def write_project(folder: Path, split: str, articles: int, questions: int, squad: Path = PIAF) -> int:
    """Write the half's articles into `folder`/sources, its questions in English into `folder`/QUESTIONS and
    a rag.toml naming this project's models folder; the number of questions written."""
    cache = DATA / f"piaf-{split}-{articles}-{questions}-en.json"
    if not cache.exists():
        raise SystemExit(f"no English questions in {cache}: run `python bench/cross_language.py --split {split} "
                         f"--articles {articles} --questions {questions}` first (it asks the model once)")
    english = json.loads(cache.read_text("utf-8"))
    gold = squad_gold(squad, folder / "sources", articles, questions, split=split)
    with (folder / QUESTIONS).open("w", encoding="utf-8") as out:
        for q in gold:
            line = {**vars(q), "question": english[q.id], "lang": "en"}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    (folder / "rag.toml").write_text(f"models_dir = {json.dumps(str(ROOT / 'models'))}\n", "utf-8")
    return len(gold)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="a new or empty folder for the project")
    ap.add_argument("--split", default="tune", choices=["tune", "test"])
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--questions", type=int, default=200)
    args = ap.parse_args()
    if args.folder.exists() and any(args.folder.iterdir()):
        raise SystemExit(f"{args.folder} is not empty: give a new folder")
    args.folder.mkdir(parents=True, exist_ok=True)
    n = write_project(args.folder, args.split, args.articles, args.questions)
    print(f"{n} questions in {args.folder / QUESTIONS}; now:\n"
          f"  rag index --home {args.folder}\n"
          f"  rag eval --home {args.folder} --set {args.folder / QUESTIONS}")


if __name__ == "__main__":
    main()
