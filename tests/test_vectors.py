import numpy as np

from rag.vectors import APPROXIMATE_THRESHOLD, VectorIndex, ivf_cells, ivf_probes


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dim))
    x = centres[rng.integers(0, 50, n)] + 0.3 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_the_index_kind_follows_the_corpus_size():
    assert VectorIndex.build(clustered(100)).kind == "flat"
    assert APPROXIMATE_THRESHOLD <= 100_000  # the scale bench's 100k corpus uses the approximate index


def test_ivf_finds_what_exact_search_finds_and_survives_save_and_load(tmp_path):
    vectors = clustered(6000)
    exact = VectorIndex.build(vectors, "flat")
    ivf = VectorIndex.build(vectors, "ivf")
    ivf.save(tmp_path / "dense.faiss")
    loaded = VectorIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == "ivf" and loaded.count() == 6000
    queries = clustered(50, seed=1)
    recall = []
    for q in queries:
        truth_scores, truth = exact.search(q, 10)
        scores, found = loaded.search(q, 10)
        assert np.all(np.diff(scores) <= 1e-6)  # best first, cosine scores like the exact index
        assert scores[0] <= truth_scores[0] + 1e-5
        recall.append(len(set(found.tolist()) & set(truth.tolist())) / 10)
    assert np.mean(recall) >= 0.95


def test_ivf_scans_an_eighth_of_its_cells_but_at_least_32():
    assert ivf_cells(100_000) == 632 and ivf_probes(632) == 79
    assert ivf_probes(ivf_cells(50_000)) == 55 and ivf_probes(100) == 32 and ivf_probes(10) == 10
