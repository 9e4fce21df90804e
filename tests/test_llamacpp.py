"""The "aligned" prefix cache's choice of what to reuse and where to start evaluating
(rag.llm.llamacpp.exact_end, aligned_start): every prompt token, reused or evaluated, must have gone
through the kernels a cold evaluation gives it."""

import pytest

from rag.llm.llamacpp import aligned_start, exact_end

N_BATCH, ALIGN, MIN_ROWS = 512, 4, 8


def size_class(rows: int) -> int:
    return 0 if rows == 1 else 1 if rows < MIN_ROWS else 2


def cold_batches(n: int) -> list[tuple[int, int]]:
    return [(s, min(s + N_BATCH, n)) for s in range(0, n, N_BATCH)]


def warm_batches(start: int, n: int) -> list[tuple[int, int]]:
    """What LlamaCppLLM._evaluate_aligned and the completion after it evaluate: batches on the cold grid
    up to the cold evaluation's last batch, then the rest in one."""
    last = (n - 1) // N_BATCH * N_BATCH
    out, at = [], start
    while at < last:
        end = (at // N_BATCH + 1) * N_BATCH
        out.append((at, end))
        at = end
    return out + [(at, n)]


@pytest.mark.parametrize("n", [1, 2, 5, 8, 9, 12, 300, 511, 512, 513, 514, 517, 519, 520, 521, 580, 1023, 1024,
                               1025, 1027, 1100])
def test_every_warm_batch_goes_through_the_kernels_of_the_cold_batches_it_overlaps(n):
    for shared in range(n + 1):
        start = aligned_start(shared, n, N_BATCH, ALIGN, MIN_ROWS)
        assert 0 <= start <= min(shared, n - 1) and start % ALIGN == 0, (n, shared, start)
        last = (n - 1) // N_BATCH * N_BATCH
        # a reused token was computed in a large batch (exact_end); a cold evaluation puts it in one too
        assert start <= last or n - last >= MIN_ROWS, (n, shared, start)
        for s, e in warm_batches(start, n):
            assert s % ALIGN == 0 and (e % ALIGN == 0 or e == n), (n, shared, s, e)  # the same groups of rows
            for cs, ce in cold_batches(n):
                if cs < e and s < ce:
                    assert size_class(e - s) == size_class(ce - cs), (n, shared, (s, e), (cs, ce))


def test_it_reuses_nearly_all_it_shares():
    assert aligned_start(386, 541, N_BATCH, ALIGN, MIN_ROWS) == 384
    assert aligned_start(297, 554, N_BATCH, ALIGN, MIN_ROWS) == 296
    assert aligned_start(579, 580, N_BATCH, ALIGN, MIN_ROWS) == 572  # asked again: a batch of 8, as cold
    assert aligned_start(0, 580, N_BATCH, ALIGN, MIN_ROWS) == 0


def test_a_prompt_leaves_for_the_next_one_only_the_tokens_computed_in_large_batches_in_whole_groups():
    assert exact_end(580, N_BATCH, ALIGN, MIN_ROWS) == 580
    assert exact_end(541, N_BATCH, ALIGN, MIN_ROWS) == 540  # the last row went through the leftover kernel
    assert exact_end(517, N_BATCH, ALIGN, MIN_ROWS) == 512  # its last batch, 5 rows, went through small kernels
    assert exact_end(5, N_BATCH, ALIGN, MIN_ROWS) == 0
    assert exact_end(300, N_BATCH, ALIGN, MIN_ROWS) == 300


@pytest.mark.parametrize("n", [517, 518, 519])
def test_nothing_is_reused_inside_a_small_last_batch(n):
    """A cold evaluation computes tokens 512… of these prompts in a batch of 5 to 7 rows, through the small
    batches' kernels; the cache computed them in a large batch."""
    assert aligned_start(n - 1, n, N_BATCH, ALIGN, MIN_ROWS) == 512
