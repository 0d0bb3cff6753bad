"""Uncertainty (``csa_bench.evaluation.uncertainty``) against plain-Python oracles, and how the
leaderboard uses it: per-query data in result files, intervals in cells, significant-only bold marks."""
from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

import leaderboard
from csa_bench.evaluation import uncertainty as U
from csa_bench.evaluation.functional import per_query_outcome, summarize
from csa_bench.results import ResultError, load_result, make_result, validate_result

from .conftest import write_run


# ----------------------------------------------------------------------------- slow oracles
def oracle_replicates(hits: list[list[bool]], n_resamples: int, seed: int, scale: float = 100.0) -> list[float]:
    """The documented hierarchical bootstrap, one replicate at a time (same generator streams)."""
    n_seeds, n_queries = len(hits), len(hits[0])
    query_rng, seed_rng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    seed_draws = seed_rng.integers(0, n_seeds, (n_resamples, n_seeds)).tolist()
    out = []
    for b in range(n_resamples):
        queries = query_rng.integers(0, n_queries, n_queries).tolist()
        rates = []
        for s in seed_draws[b]:
            rates.append(sum(1 for q in queries if hits[s][q]) / n_queries)
        out.append(sum(rates) / len(rates) * scale)
    return out


def oracle_percentile(values: list[float], pct: float) -> float:
    """numpy's default (linear) percentile, by hand."""
    ordered = sorted(values)
    pos = pct / 100 * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def oracle_sign_test(a: list[list[bool]], b: list[list[bool]]) -> float:
    wins = losses = 0
    for q in range(len(a[0])):
        da = sum(row[q] for row in a) / len(a)
        db = sum(row[q] for row in b) / len(b)
        wins += da > db
        losses += da < db
    n = wins + losses
    if n == 0:
        return 1.0
    return sum(math.comb(n, i) for i in range(wins, n + 1)) / 2 ** n


def _random_hits(rng: random.Random, seeds: int, queries: int, p: float) -> list[list[bool]]:
    return [[rng.random() < p for _ in range(queries)] for _ in range(seeds)]


# ----------------------------------------------------------------------------- the module
@pytest.mark.parametrize('seeds, queries', [(1, 37), (3, 50), (2, 1)])
def test_bootstrap_matches_the_oracle(seeds: int, queries: int) -> None:
    hits = _random_hits(random.Random(seeds * 100 + queries), seeds, queries, 0.3)
    got = U.bootstrap_replicates(np.array(hits), n_resamples=300, seed=7)
    want = oracle_replicates(hits, 300, 7)
    assert got == pytest.approx(want, abs=1e-9)
    interval = U.bootstrap_interval(np.array(hits), n_resamples=300, seed=7)
    assert interval.low == pytest.approx(oracle_percentile(want, 2.5))
    assert interval.high == pytest.approx(oracle_percentile(want, 97.5))
    mean = sum(sum(row) / queries for row in hits) / seeds * 100
    assert interval.mean == pytest.approx(mean) and interval.low <= mean <= interval.high
    assert (interval.n_queries, interval.n_seeds) == (queries, seeds)


def test_bootstrap_is_deterministic_and_chunking_does_not_change_it(monkeypatch) -> None:
    hits = np.array(_random_hits(random.Random(1), 3, 400, 0.4))
    first = U.bootstrap_interval(hits)
    assert U.bootstrap_interval(hits) == first
    monkeypatch.setattr(U, '_BLOCK_ELEMS', 400 * 7)   # 7 resamples per block instead of all at once
    assert U.bootstrap_interval(hits) == first
    assert U.bootstrap_interval(hits, seed=1) != first


def test_all_ks_at_once_equal_one_call_per_k() -> None:
    ranks = np.array([[random.Random(s * 1000 + q).randint(0, 12) for q in range(150)] for s in range(3)])
    together = U.bootstrap_intervals(ranks, (1, 5, 10), n_resamples=400)
    for k in (1, 5, 10):
        assert together[k] == U.bootstrap_interval(U.hits_at_k(ranks, k), n_resamples=400)
    assert U.bootstrap_intervals(ranks, ()) == {}


def test_interval_width_follows_binomial_arithmetic() -> None:
    """~1,000 queries at R@1 ≈ 30: the 95% interval is about ±1.96·sqrt(p(1-p)/n) ≈ ±2.8 points."""
    hits = np.zeros(1000, dtype=bool)
    hits[:300] = True
    interval = U.bootstrap_interval(hits)
    half = (interval.high - interval.low) / 2
    assert interval.mean == pytest.approx(30.0)
    assert 2.4 < half < 3.2
    # 90 queries (the old synthetic benchmark) gave about ±9.5.
    small = U.bootstrap_interval(hits[::11][:90])
    assert (small.high - small.low) / 2 > 8


def test_seed_spread_widens_the_interval() -> None:
    rng = random.Random(3)
    base = [rng.random() < 0.3 for _ in range(600)]
    same = np.array([base, base, base])
    spread = np.array([base, [h or rng.random() < 0.25 for h in base], [h and rng.random() < 0.6 for h in base]])
    tight, wide = U.bootstrap_interval(same), U.bootstrap_interval(spread)
    single = U.bootstrap_interval(np.array([base]))
    assert (tight.low, tight.high) == (single.low, single.high)   # identical seeds add no spread
    assert (wide.high - wide.low) > (tight.high - tight.low)


@pytest.mark.parametrize('case', range(6))
def test_sign_test_matches_the_oracle(case: int) -> None:
    rng = random.Random(case)
    a = _random_hits(rng, 1 + case % 3, 60, 0.5)
    b = _random_hits(rng, 1 + (case + 1) % 3, 60, 0.35)
    assert U.paired_sign_test(np.array(a), np.array(b)) == pytest.approx(oracle_sign_test(a, b), rel=1e-12)


def test_sign_test_edge_cases() -> None:
    same = np.array([True, False, True])
    assert U.paired_sign_test(same, same) == 1.0
    # McNemar: A wins all 6 discordant queries -> p = 1/64; B wins them -> p = 1.
    a = np.array([1, 1, 1, 1, 1, 1, 0, 1], dtype=bool)
    b = np.array([0, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
    assert U.paired_sign_test(a, b) == pytest.approx(1 / 64) and U.paired_sign_test(b, a) == 1.0
    assert U.binomial_tail(0, 0) == 1.0 and U.binomial_tail(5, 4) == 0.0
    assert U.binomial_tail(60, 60) == 2.0 ** -60 and U.binomial_tail(0, 3000) == 1.0
    with pytest.raises(ValueError, match='different numbers of queries'):
        U.paired_sign_test(np.ones(3, bool), np.ones(4, bool))


def test_rank_matrix_and_hits() -> None:
    ids, ranks = U.rank_matrix([{'query_ids': ['a', 'b', 'c'], 'first_rank': [1, None, 4]},
                                {'query_ids': ['a', 'b', 'c'], 'first_rank': [2, 3, None]}])
    assert ids == ('a', 'b', 'c') and ranks.tolist() == [[1, 0, 4], [2, 3, 0]]
    assert U.hits_at_k(ranks, 1).tolist() == [[True, False, False], [False, False, False]]
    assert U.hits_at_k(ranks, 3).tolist() == [[True, False, False], [True, True, False]]
    with pytest.raises(ValueError, match='other queries'):
        U.rank_matrix([{'query_ids': ['a'], 'first_rank': [1]}, {'query_ids': ['b'], 'first_rank': [1]}])


# ----------------------------------------------------------------------------- per-query data in results
def test_per_query_outcome_reproduces_summarize() -> None:
    import torch
    ranks = torch.tensor([[0, 3], [4, -1], [-1, -1], [1, 2]])
    ids = ['q3', 'q1', 'q2', 'q0']
    for denominator in ('all-gt', 'predicted'):
        out = per_query_outcome(ids, ranks, ['q9'], denominator=denominator)
        metrics = summarize(ranks, torch.tensor([5, 5, 5, 5]), (1, 3, 5), n_missing=1, denominator=denominator)
        assert out['query_ids'] == sorted(out['query_ids']) and len(out['query_ids']) == metrics['n_queries']
        for k in (1, 3, 5):
            hits = sum(1 for r in out['first_rank'] if r is not None and r <= k)
            assert 100 * hits / len(out['query_ids']) == pytest.approx(metrics[f'R@{k}'])
        assert 100 * sum(out['ap']) / len(out['ap']) == pytest.approx(metrics['mAP'], abs=1e-3)
    out = per_query_outcome(ids, ranks, ['q9'])
    assert dict(zip(out['query_ids'], out['first_rank'], strict=True)) == {
        'q0': 2, 'q1': 5, 'q2': None, 'q3': 1, 'q9': None}


def _record(per_query: dict, r1: float = 50.0) -> dict:
    return make_result({'R@1': r1, 'n_queries': len(per_query['query_ids'])}, protocol='lpr4m-csa',
                       dataset='synthetic-lpr4m', split='test', per_query=per_query)


def test_result_validation_of_per_query(tmp_path: Path) -> None:
    record = _record({'query_ids': ['a', 'b'], 'first_rank': [1, None], 'ap': [1.0, 0.0]})
    assert record['per_query']['first_rank'] == [1, None]
    bad = [({'query_ids': ['b', 'a'], 'first_rank': [1, None]}, 'sorted and unique'),
           ({'query_ids': ['a', 'b'], 'first_rank': [1]}, 'one per query'),
           ({'query_ids': ['a', 'b'], 'first_rank': [0, None]}, r'first_rank\[0\]'),
           ({'query_ids': ['a', 'b'], 'first_rank': [1, 1]}, 'does not belong to these metrics'),
           ({'query_ids': ['a', 'b'], 'first_rank': [1, None], 'ap': [2.0, 0]}, 'per_query.ap'),
           ({'query_ids': ['a', 'b'], 'first_rank': [1, None], 'x': 1}, 'unknown key')]
    for per_query, message in bad:
        with pytest.raises(ResultError, match=message):
            validate_result(dict(record, per_query=per_query), tmp_path / 'r.json')
    with pytest.raises(ResultError, match='n_queries'):
        validate_result(dict(record, metrics={'R@1': 50.0, 'n_queries': 3}), 'r.json')
    old = {k: v for k, v in record.items() if k != 'per_query'}
    assert validate_result(old, 'old.json') is old   # files without per-query data stay valid


# ----------------------------------------------------------------------------- leaderboard
def _per_query(first_ranks: list[int | None]) -> dict:
    return {'query_ids': [f'q{i:04d}' for i in range(len(first_ranks))], 'first_rank': first_ranks}


def _metrics(ranks: list[int | None]) -> dict:
    return {f'R@{k}': 100 * sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in (1, 3, 5, 10)}


def _write(root: Path, stem: str, seed: int, ranks: list[int | None], cfg_hash: str) -> None:
    write_run(root, stem, seed, _metrics(ranks), cfg_hash=cfg_hash, per_query=_per_query(ranks))


def test_leaderboard_intervals_bold_only_when_significant(tmp_path: Path) -> None:
    rng = random.Random(0)
    n = 400
    strong = [1 if rng.random() < 0.6 else 7 for _ in range(n)]
    weak = [1 if rng.random() < 0.3 else 7 for _ in range(n)]
    hit_at = [i for i, r in enumerate(strong) if r == 1]
    miss_at = [i for i, r in enumerate(strong) if r != 1]
    close = list(strong)   # 10 of strong's hits missed, 8 of its misses hit: 10 vs 8 discordant queries
    for i in hit_at[:10]:
        close[i] = 7
    for i in miss_at[:8]:
        close[i] = 1
    for seed in (0, 1):
        _write(tmp_path, 'strong_synthetic-lpr4m', seed, strong, 'a' * 64)
        _write(tmp_path, 'weak_synthetic-lpr4m', seed, weak, 'b' * 64)
    board = leaderboard.build(tmp_path, reported=None)
    table = board.tables[0]
    strong_row = next(r for r in table.reproduced if r.label.startswith('strong'))
    stat = strong_row.recall[1]
    assert stat.low < stat.mean < stat.high and stat.high - stat.low < 12
    assert (strong_row.key, 1) in table.best and not table.tied   # marks are keyed by Row.key
    assert f'**{stat.mean:.1f} [{stat.low:.1f}, {stat.high:.1f}]**' in board.markdown
    # R@10: every row at 100 -> nobody marked.
    assert not any(k == 10 for _, k in table.best | table.tied)
    # A close runner-up: no bold, both marked as tied; the weak row stays unmarked.
    for seed in (0, 1):
        _write(tmp_path, 'close_synthetic-lpr4m', seed, close, 'c' * 64)
    table = leaderboard.build(tmp_path, reported=None).tables[0]
    assert not any(k == 1 for _, k in table.best)
    assert {key for key, k in table.tied if k == 1} == {'configs/x/strong_synthetic-lpr4m.py',
                                                       'configs/x/close_synthetic-lpr4m.py'}


def test_rows_mixing_old_and_new_files_render_without_interval(tmp_path: Path) -> None:
    ranks = [1, 2, None, 1]
    _write(tmp_path, 'new_synthetic-lpr4m', 0, ranks, 'a' * 64)
    write_run(tmp_path, 'old_synthetic-lpr4m', 0, _metrics(ranks), cfg_hash='b' * 64)
    board = leaderboard.build(tmp_path, reported=None)
    old = next(r for r in board.tables[0].reproduced if r.label.startswith('old'))
    assert old.ranks is None and old.recall[1].low is None
    assert '50.00 †' in board.markdown and '50.0 [' in board.markdown
    assert not board.tables[0].best and not board.tables[0].tied   # the old row cannot be tested
    out = tmp_path / 'board' / 'LEADERBOARD.md'
    assert leaderboard.write(board, out)   # figures with and without intervals render
    assert load_result(tmp_path / 'new_synthetic-lpr4m' / 'seed0.json')['per_query']['first_rank'] == ranks
