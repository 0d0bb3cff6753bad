"""Production ranking + metrics against the naive official-style oracle, and hand-computed cases."""

from __future__ import annotations

import math
import random

import pytest
import torch

from csa_bench.evaluation import functional as F
from csa_bench.evaluation.dump import rankings_to_official
from csa_bench.evaluation.evaluate import RetrievalInputs, evaluate
from csa_bench.evaluation.positives import resolve_positives
from csa_bench.evaluation.protocols import get_protocol
from csa_bench.evaluation.ranking import EmbeddingScorer, MatrixScorer, rank_gallery

from .oracle import official_metrics, official_ranked_lists


def _random_case(seed: int, grouped: bool):
    """Integer-valued embeddings (exact fp32 dot products: many exact ties), duplicates, multi-GT."""
    rng = random.Random(seed)
    n_groups = rng.randint(1, 4)
    n_gallery, n_query, dim = rng.randint(1, 30), rng.randint(1, 25), rng.choice([2, 3, 6])
    pool = [f'img{i}' for i in range(rng.randint(1, 20))]
    gallery_ids = [rng.choice(pool) for _ in range(n_gallery)]  # duplicates take their own slot
    gallery_groups = [f'live{rng.randrange(n_groups)}' for _ in range(n_gallery)]
    query_ids = [f'q{i}' for i in range(n_query)]
    query_groups = [f'live{rng.randrange(n_groups + 1)}' for _ in range(n_query)]  # +1: a group w/o gallery
    gt = {q: rng.sample(pool + ['absent'], min(len(pool) + 1, rng.randint(1, 3))) for q in query_ids}
    missing = {f'm{i}': [rng.choice(pool)] for i in range(rng.randint(0, 3))}
    g = torch.randint(-2, 3, (n_gallery, dim)).float()
    q = torch.randint(-2, 3, (n_query, dim)).float()
    return dict(
        query_ids=query_ids,
        gallery_ids=gallery_ids,
        query_groups=query_groups if grouped else None,
        gallery_groups=gallery_groups if grouped else None,
        gt=gt,
        missing=missing,
        q=q,
        g=g,
        qg=query_groups,
        gg=gallery_groups,
    )


@pytest.mark.parametrize(
    'protocol_id', ['lpr4m-csa', 'movingfashion-csa', 'lpr4m-csa-v1', 'movingfashion-sgmn-all']
)
@pytest.mark.parametrize('seed', range(40))
def test_matches_official_oracle(seed: int, protocol_id: str) -> None:
    protocol = get_protocol(protocol_id)
    case = _random_case(seed, grouped=protocol.gallery_scope == 'per-group')
    scores = (case['q'] @ case['g'].T).tolist()
    ranked = official_ranked_lists(
        scores, case['query_ids'], case['gallery_ids'], case['query_groups'], case['gallery_groups']
    )
    full_gt = dict(case['gt'], **case['missing'])
    expected = official_metrics(ranked, full_gt, protocol.k_list, protocol.denominator)
    inputs = RetrievalInputs(
        case['query_ids'],
        [case['gt'][q] for q in case['query_ids']],
        case['gallery_ids'],
        case['qg'],
        case['gg'],
        missing={k: {'gt_ids': v, 'meta': {}} for k, v in case['missing'].items()},
    )
    block = random.Random(seed).choice([1, 7, 50, 1 << 20])  # chunk boundaries, incl. one row per block
    metrics, rankings = evaluate(
        protocol, inputs, EmbeddingScorer(case['q'], case['g']), topk=5, max_block_elems=block, breakdowns=[]
    )
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-9), (key, metrics, expected)
    assert metrics['n_missing'] == len(case['missing'])
    # The dumped head equals the head of the official stable-sorted list, ids and order.
    head = rankings_to_official(
        case['query_ids'], case['gallery_ids'], rankings.topk_index, rankings.topk_score
    )
    for qid in case['query_ids']:
        assert [c[0] for c in head[qid]] == [c[0] for c in ranked[qid][:5]]
        assert [c[1] for c in head[qid]] == pytest.approx([c[1] for c in ranked[qid][:5]])


@pytest.mark.parametrize('seed', range(10))
def test_float_scores_and_ranks_from_lists_agree(seed: int) -> None:
    """A precomputed float matrix through the engine == the same lists through the list path."""
    gen = torch.Generator().manual_seed(seed)
    scores = torch.rand(12, 30, generator=gen).round(decimals=1)  # rounding forces ties
    gallery_ids = [f'g{j % 17}' for j in range(30)]
    query_ids = [f'q{i}' for i in range(12)]
    gt = {q: [f'g{(i * 5) % 19}', f'g{i}'] for i, q in enumerate(query_ids)}
    positives = resolve_positives([gt[q] for q in query_ids], gallery_ids)
    rk = rank_gallery(MatrixScorer(scores), positives, 30, topk=30, max_block_elems=40)
    ranked = official_ranked_lists(scores.tolist(), query_ids, gallery_ids, None, None)
    ids, ranks, sizes, missing = F.positive_ranks_from_lists(
        {q: [c[0] for c in v] for q, v in ranked.items()}, gt
    )
    assert ids == query_ids and not missing
    got = F.summarize(rk.positive_ranks, rk.scope_size, (1, 3, 5, 10))
    want = F.summarize(ranks, sizes, (1, 3, 5, 10))
    assert got == pytest.approx(want)


def test_hand_computed() -> None:
    """Two queries, one group of 3 (fewer than K=5 candidates), one tie, one unreachable GT, one missing."""
    # scores: q0 -> [0.9, 0.5, 0.5]; q1 -> [0.1, 0.2, 0.2] ; gallery ids a, b, c
    scores = torch.tensor([[0.9, 0.5, 0.5], [0.1, 0.2, 0.2]])
    positives = resolve_positives([['c'], ['z']], ['a', 'b', 'c'])
    rk = rank_gallery(MatrixScorer(scores), positives, 3, topk=3)
    assert rk.positive_ranks.tolist() == [[2], [-1]]  # c after b (tie: gallery index); z unreachable
    assert rk.topk_index.tolist() == [[0, 1, 2], [1, 2, 0]]
    m = F.summarize(rk.positive_ranks, rk.scope_size, (1, 3, 5), n_missing=1)
    # denominator 3 (2 predicted + 1 missing); only q0 hits, at rank 2 (within min(5, 3) and K=3)
    assert m['R@1'] == 0.0 and m['R@3'] == pytest.approx(100 / 3) and m['R@5'] == pytest.approx(100 / 3)
    assert m['mAP'] == pytest.approx(100 * (1 / 3) / 3)
    assert math.isinf(m['median_rank'])
    assert (m['n_queries'], m['n_missing'], m['n_unreachable_gt'], m['n_empty_gallery']) == (3, 1, 1, 0)
    m = F.summarize(rk.positive_ranks, rk.scope_size, (3,), n_missing=1, denominator='predicted')
    assert m['R@3'] == 50.0 and m['n_queries'] == 2 and m['median_rank'] == math.inf


def test_duplicates_each_take_a_slot_and_all_copies_are_positives() -> None:
    scores = torch.tensor([[0.3, 0.9, 0.3, 0.8]])
    positives = resolve_positives([['x']], ['x', 'y', 'x', 'y'])
    rk = rank_gallery(MatrixScorer(scores), positives, 4)
    assert rk.positive_ranks.tolist() == [[2, 3]]
    m = F.summarize(rk.positive_ranks, rk.scope_size, (2, 3))
    assert (m['R@2'], m['R@3']) == (0.0, 100.0)
    assert m['mAP'] == pytest.approx(100 * (1 / 3 + 2 / 4) / 2)


def test_positives_are_ascending_and_unique_whatever_the_gt_order() -> None:
    """GT ids out of gallery order, an id listed twice, an unknown id: the fast paths skip sorting only
    when the join is already ordered."""
    gallery = ['a', 'b', 'c', 'a']
    got = resolve_positives([['c', 'a', 'c'], ['b'], ['zz', 'b', 'a']], gallery)
    assert got.tolist() == [[0, 2, 3], [1, -1, -1], [0, 1, 3]]
    assert resolve_positives([['a'], ['b']], ['a', 'b']).tolist() == [[0], [1]]  # already ordered


def test_empty_gallery_group_is_a_miss() -> None:
    protocol = get_protocol('lpr4m-csa')
    inputs = RetrievalInputs(['q0', 'q1'], [['a'], ['a']], ['a'], ['L1', 'L2'], ['L1'])
    metrics, _ = evaluate(protocol, inputs, MatrixScorer(torch.ones(2, 1)), breakdowns=[])
    assert metrics['R@1'] == 50.0 and metrics['n_empty_gallery'] == 1 and metrics['n_unreachable_gt'] == 0


def test_errors_name_the_id() -> None:
    with pytest.raises(KeyError, match='qX'):
        F.positive_ranks_from_lists({'qX': ['a']}, {'q0': ['a']})
    with pytest.raises(KeyError, match='q9'):
        RetrievalInputs(['q9'], [[]], ['a'], [None], [None])
    with pytest.raises(ValueError, match='has no group'):
        evaluate(
            get_protocol('lpr4m-csa'),
            RetrievalInputs(['q0'], [['a']], ['a'], [None], ['L']),
            MatrixScorer(torch.ones(1, 1)),
        )
    with pytest.raises(ValueError, match='predicted twice'):
        RetrievalInputs(['q0', 'q0'], [['a'], ['a']], ['a'], [None, None], [None])


def test_cosine_similarity_normalises() -> None:
    a, b = torch.tensor([[3.0, 4.0]]), torch.tensor([[6.0, 8.0], [0.0, -1.0]])
    assert F.cosine_similarity(a, b)[0].tolist() == pytest.approx([1.0, -0.8])


def test_non_finite_inputs_are_errors() -> None:
    bad = torch.ones(2, 3)
    bad[1, 2] = float('nan')
    with pytest.raises(ValueError, match='non-finite'):
        EmbeddingScorer(bad, torch.ones(4, 3))
    bad[1, 2] = float('-inf')
    with pytest.raises(ValueError, match='non-finite'):
        MatrixScorer(bad)


@pytest.mark.parametrize('seed', range(20))
def test_both_scoring_orientations_rank_alike(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small scopes are scored as ``(gallery @ query.T).T``, large ones as ``query @ gallery.T``: same rankings."""
    from csa_bench.evaluation import ranking

    protocol = get_protocol('lpr4m-csa' if seed % 2 else 'movingfashion-csa')
    case = _random_case(seed, grouped=protocol.gallery_scope == 'per-group')
    inputs = RetrievalInputs(
        case['query_ids'], [case['gt'][q] for q in case['query_ids']], case['gallery_ids'], case['qg'], case['gg']
    )
    results = []
    for small_scope in (1 << 20, 0):  # every scope small, then every scope large
        monkeypatch.setattr(ranking, '_SMALL_SCOPE', small_scope)
        results.append(
            evaluate(protocol, inputs, EmbeddingScorer(case['q'], case['g']), topk=5, max_block_elems=7, breakdowns=[])
        )
    (m_small, r_small), (m_large, r_large) = results
    assert m_small == m_large
    for name in ('positive_ranks', 'scope_size', 'topk_index'):
        assert torch.equal(getattr(r_small, name), getattr(r_large, name)), name


def test_embedding_scorer_reuses_the_gallery_of_an_equal_scope() -> None:
    """Row blocks of one scope arrive as new slice objects: the gallery is prepared once per scope, by value."""
    gen = torch.Generator().manual_seed(0)
    scorer = EmbeddingScorer(torch.randn(6, 4, generator=gen), torch.randn(9, 4, generator=gen))
    order = torch.tensor([8, 1, 2, 5, 0])
    first = scorer(torch.tensor([0, 1]), order[1:4].clone())
    prepared = scorer._cached[1]
    second = scorer(torch.tensor([2, 3]), order[1:4].clone())  # equal values, another tensor
    assert scorer._cached[1] is prepared
    scorer(torch.tensor([2]), order[2:5])  # another scope: prepared anew
    assert scorer._cached[1] is not prepared
    want = scorer.query @ scorer.gallery.T
    assert torch.allclose(first, want[[0, 1]][:, [1, 2, 5]]) and torch.allclose(second, want[[2, 3]][:, [1, 2, 5]])


def test_finite_check_survives_an_overflowing_sum() -> None:
    """Huge but finite embeddings overflow a float32 sum: that alone must not read as non-finite."""
    huge = torch.full((2, 3), 3e38)
    assert torch.isinf(huge.sum())
    EmbeddingScorer(huge, huge)  # no error
    huge[0, 1] = float('inf')
    with pytest.raises(ValueError, match='non-finite'):
        EmbeddingScorer(huge, torch.ones(1, 3))
