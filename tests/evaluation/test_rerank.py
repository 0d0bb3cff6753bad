"""Pairwise re-ranking (shortlist and exhaustive) against a naive oracle, and the scorer hook."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
import torch

from csa_bench.evaluation import PairwiseScorerHook, RetrievalMetric

from .oracle import official_metrics

W = torch.tensor([1.0, -2.0, 3.0])


class ToyScorer(torch.nn.Module):
    """Pairwise score = Σ w · q · g over integer vectors (exact in fp32, so the oracle can match ties)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(W.clone())

    def score_pairs(self, query_state: dict, gallery_state: dict) -> torch.Tensor:
        return (query_state['v'] * gallery_state['v'] * self.w).sum(-1)


class ToyMatrixScorer(ToyScorer):
    def score_matrix(self, query_state: dict, gallery_state: dict) -> torch.Tensor:
        return (query_state['v'] * self.w) @ gallery_state['v'].T


def _case(seed: int):
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    n_q, n_g = rng.randint(2, 12), rng.randint(3, 20)
    groups = [f'live{rng.randrange(2)}' for _ in range(n_g)]
    preds = []
    for i in range(n_q):
        preds.append(
            dict(
                role='query',
                sample_id=f'q{i}',
                gt_ids=[f'g{rng.randrange(n_g)}'],
                group_id=f'live{i % 2}',
                meta={},
                embedding=torch.randint(-2, 3, (4,), generator=gen).float(),
                pair_state={'v': torch.randint(-2, 3, (3,), generator=gen).float()},
            )
        )
    for j in range(n_g):
        preds.append(
            dict(
                role='gallery',
                sample_id=f'g{j}',
                gt_ids=[],
                group_id=groups[j],
                meta={},
                embedding=torch.randint(-2, 3, (4,), generator=gen).float(),
                pair_state={'v': torch.randint(-2, 3, (3,), generator=gen).float()},
            )
        )
    return preds


def _oracle(preds, mode: str, k: int, alpha: float) -> dict:
    queries = [p for p in preds if p['role'] == 'query']
    gallery = [p for p in preds if p['role'] == 'gallery']
    ranked = {}
    for q in queries:
        scope = [j for j, g in enumerate(gallery) if g['group_id'] == q['group_id']]
        emb = {j: float(q['embedding'] @ gallery[j]['embedding']) for j in scope}
        pair = {j: float((q['pair_state']['v'] * gallery[j]['pair_state']['v'] * W).sum()) for j in scope}
        fused = {j: alpha * pair[j] + (1 - alpha) * emb[j] for j in scope}
        if mode == 'exhaustive':
            order = sorted(scope, key=lambda j: (-fused[j], j))
        else:
            by_emb = sorted(scope, key=lambda j: (-emb[j], j))
            order = sorted(by_emb[:k], key=lambda j: (-fused[j], j)) + by_emb[k:]
        ranked[q['sample_id']] = [(gallery[j]['sample_id'], 0.0) for j in order]
    return official_metrics(ranked, {q['sample_id']: q['gt_ids'] for q in queries}, (1, 3, 5, 10))


@pytest.mark.parametrize('seed', range(12))
@pytest.mark.parametrize(
    'mode, k, alpha, scorer',
    [
        ('shortlist', 3, 0.5, ToyScorer),
        ('shortlist', 50, 1.0, ToyScorer),
        ('shortlist', 2, 0.0, ToyScorer),
        ('exhaustive', 0, 1.0, ToyScorer),
        ('exhaustive', 0, 0.5, ToyMatrixScorer),
        ('exhaustive', 0, 1.0, ToyMatrixScorer),
    ],
)
def test_rerank_matches_oracle(seed, mode, k, alpha, scorer) -> None:
    preds = _case(seed)
    metric = RetrievalMetric(
        protocol='lpr4m-csa',
        rerank=dict(mode=mode, k=max(k, 1), alpha=alpha, pair_chunk=5),
        max_block_elems=7,
    )
    metric.pairwise_scorer = scorer()
    metric.process({}, preds)
    got = metric.evaluate(len(preds))
    for key, value in _oracle(preds, mode, max(k, 1), alpha).items():
        assert got[key] == pytest.approx(value), key
    assert metric.last_result['scoring'] == metric.rerank.label()


def test_labels_and_errors() -> None:
    metric = RetrievalMetric(protocol='lpr4m-csa', rerank=dict(k=50, alpha=0.5))
    assert metric.scoring == 'embedding + rerank@50 (α=0.5)'
    assert (
        RetrievalMetric(protocol='lpr4m-csa', rerank=dict(mode='exhaustive', alpha=1.0)).scoring
        == 'pairwise exhaustive'
    )
    assert RetrievalMetric(protocol='lpr4m-csa').scoring == 'embedding cosine'
    preds = _case(0)
    metric.process({}, preds)
    with pytest.raises(RuntimeError, match='PairwiseScorerHook'):
        metric.evaluate(len(preds))
    with pytest.raises(ValueError, match='rerank mode'):
        RetrievalMetric(protocol='lpr4m-csa', rerank=dict(mode='bogus'))


def test_hook_attaches_scorer() -> None:
    with_rerank = RetrievalMetric(protocol='lpr4m-csa', rerank=dict(k=5))
    plain = RetrievalMetric(protocol='lpr4m-csa')
    scorer = ToyScorer()
    runner = SimpleNamespace(
        model=SimpleNamespace(pairwise_scorer=scorer),
        test_evaluator=SimpleNamespace(metrics=[with_rerank, plain]),
        val_evaluator=SimpleNamespace(metrics=[with_rerank]),
    )
    PairwiseScorerHook().before_test(runner)
    assert with_rerank.pairwise_scorer is scorer and plain.pairwise_scorer is None
    runner.model = SimpleNamespace()
    with pytest.raises(AttributeError, match='pairwise_scorer'):
        PairwiseScorerHook().before_val(runner)


def test_hook_is_found_by_registry_name() -> None:
    """Configs name it in ``custom_hooks``: the HOOKS registry must find it without other imports."""
    from csa_bench.registry import HOOKS

    assert type(HOOKS.build(dict(type='PairwiseScorerHook'))) is PairwiseScorerHook
