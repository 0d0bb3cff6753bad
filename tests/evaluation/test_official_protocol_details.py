"""Protocol details against the official scripts (docs/protocols.md).

Official behaviour, in our words:

* SEAM (``evaluate_movingfashion.py``) computes its match probabilities in float16 and ranks a
  query's gallery with ``np.argsort(scores)[::-1]``; the rank of the GT product is its position there.
* CSA's ``movingfashion_eval.py`` divides every R@K by ``len(video_to_gt.json)``: only test videos
  that have frames are queries, so the video missing from the archive is not in the denominator.
* ``lpr_eval.py -c FILE`` reads FILE, takes the first tab-separated field of each line as a clip
  id and restricts both the GT and the predictions to those ids (denominator GT ∩ subset).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from csa_bench.cli import score
from csa_bench.cli.errors import CliError
from csa_bench.evaluation import RetrievalMetric
from csa_bench.evaluation.evaluate import RetrievalInputs, evaluate
from csa_bench.evaluation.protocols import get_protocol
from csa_bench.evaluation.ranking import MatrixScorer, rank_gallery
from csa_bench.evaluation.subset import SubsetError, read_query_subset

from .test_metric import make_predictions, oracle_for


# -- SEAM: float16 scores, numpy argsort reversed -------------------------------------------------
def _tied_scores(n_query: int, n_gallery: int, seed: int) -> torch.Tensor:
    """float32 scores that collide once rounded to float16 (probabilities in a narrow band)."""
    gen = torch.Generator().manual_seed(seed)
    return 0.5 + 0.004 * torch.rand(n_query, n_gallery, generator=gen)


def _official_seam_ranks(scores: torch.Tensor, positives: list[int]) -> list[int]:
    s16 = scores.numpy().astype(np.float16)
    return [int(np.nonzero(np.argsort(s16[q])[::-1] == p)[0][0]) for q, p in enumerate(positives)]


@pytest.mark.parametrize('n_gallery', [9, 16, 40, 1342])
def test_seam_protocol_ranks_ties_like_numpy_argsort_reversed(n_gallery: int) -> None:
    scores = _tied_scores(24, n_gallery, seed=n_gallery)
    positives = [(7 * q) % n_gallery for q in range(24)]
    protocol = get_protocol('movingfashion-seam-aggr')
    assert (protocol.tie_order, protocol.score_dtype) == ('numpy-argsort-reversed', 'float16')
    inputs = RetrievalInputs([f'q{q}' for q in range(24)], [[f'g{p}'] for p in positives],
                             [f'g{j}' for j in range(n_gallery)], [None] * 24, [None] * n_gallery)
    metrics, rankings = evaluate(protocol, inputs, MatrixScorer(scores), topk=5)
    expected = _official_seam_ranks(scores, positives)
    assert rankings.positive_ranks[:, 0].tolist() == expected
    for k in protocol.k_list:
        assert metrics[f'R@{k}'] == pytest.approx(100.0 * sum(r < k for r in expected) / 24)
    s16 = scores.numpy().astype(np.float16)
    heads = [np.argsort(s16[q])[::-1][:5].tolist() for q in range(24)]
    assert rankings.topk_index.tolist() == heads
    # The default order (ties by gallery index on float32) gives other ranks: the test can fail.
    plain = rank_gallery(MatrixScorer(scores), torch.tensor(positives)[:, None], n_gallery)
    assert plain.positive_ranks[:, 0].tolist() != expected


def test_seam_tie_order_on_short_rows_puts_the_later_entry_first() -> None:
    scores = torch.tensor([[0.25, 0.75, 0.75, 0.5, 0.75]])
    numpy_order = rank_gallery(MatrixScorer(scores), torch.tensor([[1], ]), 5, topk=5,
                               tie_order='numpy-argsort-reversed', score_dtype='float16')
    assert numpy_order.topk_index.tolist() == [[4, 2, 1, 3, 0]] and numpy_order.positive_ranks.item() == 2
    stable = rank_gallery(MatrixScorer(scores), torch.tensor([[1]]), 5, topk=5)
    assert stable.topk_index.tolist() == [[1, 2, 4, 3, 0]] and stable.positive_ranks.item() == 0


def test_numpy_tie_order_inside_per_group_scopes() -> None:
    """Packed per-group blocks are -inf padded: numpy must only see each group's real entries."""
    scores = _tied_scores(12, 30, seed=3)
    q_groups = torch.tensor([q % 3 for q in range(12)])
    g_groups = torch.tensor([j % 3 if j < 27 else 0 for j in range(30)])  # groups of 12, 9, 9
    positives = torch.tensor([[next(j for j in range(30) if g_groups[j] == q % 3 and j >= q)] for q in range(12)])
    ranks = rank_gallery(MatrixScorer(scores), positives, 30, query_groups=q_groups, gallery_groups=g_groups,
                         topk=4, tie_order='numpy-argsort-reversed', score_dtype='float16')
    for q in range(12):
        members = [j for j in range(30) if g_groups[j] == q % 3]
        order = [members[i] for i in np.argsort(scores[q, members].numpy().astype(np.float16))[::-1]]
        assert ranks.positive_ranks[q, 0].item() == order.index(positives[q, 0].item())
        assert ranks.topk_index[q].tolist() == order[:4]


def test_seam_protocol_refuses_shortlist_rerank() -> None:
    inputs = RetrievalInputs(['q'], [['g0']], ['g0', 'g1'], [None], [None, None])
    from csa_bench.evaluation.rerank import RerankConfig

    with pytest.raises(ValueError, match="use rerank mode 'exhaustive'"):
        evaluate(get_protocol('movingfashion-seam-aggr'), inputs, MatrixScorer(torch.zeros(1, 2)),
                 rerank=(RerankConfig(mode='shortlist', k=2), object()))


# -- MovingFashion denominator ---------------------------------------------------------------------
def _mf_predictions(dataset) -> list[dict]:
    """Predict outputs for every sample of ``dataset``: query i's embedding equals its GT image's."""
    samples = [dataset.get_data_info(i) for i in range(len(dataset))]
    gallery_ids = sorted({s['item_id'] for s in samples if s['role'] == 'gallery'})
    basis = torch.eye(8)
    out = []
    for s in samples:
        target = s['gt_ids'][0] if s['role'] == 'query' else s['item_id']
        out.append(dict(role=s['role'], sample_id=s['sample_id'], item_id=s['item_id'], gt_ids=s['gt_ids'],
                        group_id=None, meta=s['meta'], embedding=basis[gallery_ids.index(target)]))
    return out


@pytest.mark.parametrize('policy, n_queries, n_missing, n_excluded', [('exclude', 2, 0, 1), ('miss', 2, 1, 0)])
def test_movingfashion_missing_video_leaves_the_denominator(tmp_path: Path, policy: str, n_queries: int,
                                                            n_missing: int, n_excluded: int) -> None:
    from plugins.datasets import MovingFashionDataset
    from tests.datasets.dataset_fixtures import write_movingfashion

    root = write_movingfashion(tmp_path / 'mf')
    dataset = MovingFashionDataset(data_root=str(root), split='test', missing_queries=policy, test_mode=True)
    assert dataset.missing_queries == {'m1': ['j3']}  # still reported by the loader either way
    metric = RetrievalMetric(protocol='movingfashion-csa')
    metric.dataset_meta = dataset.metainfo
    preds = _mf_predictions(dataset)
    metric.process({}, preds)
    metrics = metric.evaluate(len(preds))
    # Both present videos retrieve their GT first: 2 / 2 officially, 2 / 3 with the missing one as a miss.
    assert metrics['R@1'] == pytest.approx(100.0 * 2 / (2 + n_missing))
    assert (metrics['n_queries'], metrics['n_missing'], metrics['n_excluded']) == (
        n_queries + n_missing, n_missing, n_excluded)
    assert metric.last_result['excluded_queries'] == (['m1'] if policy == 'exclude' else [])
    with pytest.raises(ValueError, match="missing_queries must be 'exclude' or 'miss'"):
        MovingFashionDataset(data_root=str(root), split='test', missing_queries='drop')


def test_samples_skipped_at_run_time_stay_misses_under_exclude() -> None:
    preds = [p for p in make_predictions() if p['role'] == 'gallery' or not p['sample_id'].endswith('5000')]
    skipped = {'11111111-aaaa-bbbb-cccc-000000000001-1690443120000-1690443195000': ['img0']}
    metric = RetrievalMetric(protocol='lpr4m-csa', missing_queries=skipped)
    metric.dataset_meta = {'missing_queries': {}, 'missing_query_policy': 'exclude'}
    metric.process({}, preds)
    metrics = metric.evaluate(len(preds))
    assert (metrics['n_missing'], metrics['n_excluded']) == (1, 0)


# -- query subsets ---------------------------------------------------------------------------------
def _subset_file(path: Path, lines: list[str]) -> Path:
    path.write_text(''.join(line + '\n' for line in lines))
    return path


def test_read_query_subset_official_format(tmp_path: Path) -> None:
    path = _subset_file(tmp_path / 'small.txt', ['a\tsmall\tshort', '', 'b', 'a\tdup', '  c  \textra'])
    assert read_query_subset(path) == {'a': 1, 'b': 3, 'c': 5}
    with pytest.raises(SubsetError, match='lists no query id'):
        read_query_subset(_subset_file(tmp_path / 'empty.txt', ['', '  ']))
    with pytest.raises(SubsetError, match='file not found'):
        read_query_subset(tmp_path / 'nope.txt')


def test_metric_query_subset_equals_official_filtering(tmp_path: Path) -> None:
    preds = make_predictions()
    query_ids = [p['sample_id'] for p in preds if p['role'] == 'query']
    missing = {'11111111-aaaa-bbbb-cccc-000000000001-1690443120000-1690443999999': ['img0']}
    chosen = query_ids[1:6:2] + list(missing)
    subset = _subset_file(tmp_path / 'subset.tsv', [f'{q}\tlarge' for q in chosen])
    metric = RetrievalMetric(protocol='lpr4m-csa', query_subset=str(subset))
    metric.dataset_meta = {'missing_queries': missing}
    metric.process({}, preds)
    metrics = metric.evaluate(len(preds))
    kept = [p for p in preds if p['role'] == 'gallery' or p['sample_id'] in chosen]
    for key, value in oracle_for(kept, missing).items():
        assert metrics[key] == pytest.approx(value)
    assert metrics['n_queries'] == 4 and metrics['n_missing'] == 1


def test_metric_query_subset_rejects_unknown_ids(tmp_path: Path) -> None:
    preds = make_predictions()
    subset = _subset_file(tmp_path / 'subset.txt', [preds[0]['sample_id'], 'no-such-clip'])
    metric = RetrievalMetric(protocol='lpr4m-csa', query_subset=str(subset))
    metric.process({}, preds)
    with pytest.raises(SubsetError, match=r"subset.txt:2: query id 'no-such-clip' is not a query"):
        metric.evaluate(len(preds))
    with pytest.raises(SubsetError, match='file not found'):
        RetrievalMetric(protocol='lpr4m-csa', query_subset=str(tmp_path / 'missing.txt'))


def _score_args(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    score.add_parser(parser.add_subparsers())
    return parser.parse_args(['score'] + [x for k, v in kw.items() for x in (f'--{k}', str(v))])


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    preds = make_predictions()
    metric = RetrievalMetric(protocol='lpr4m-csa', dump_dir=str(tmp_path / 'dump'), dump_topk=100)
    metric.process({}, preds)
    metric.evaluate(len(preds))
    return tmp_path / 'dump'


@pytest.mark.parametrize('pred_name', ['rankings.json', 'embeddings.npz'])
def test_score_queries_option(dump: Path, tmp_path: Path, pred_name: str) -> None:
    gt = json.loads((dump / 'gt.json').read_text())
    chosen = sorted(gt)[::3]
    subset = _subset_file(tmp_path / 'subset.txt', chosen)
    out = tmp_path / 'r.json'
    score.run(_score_args(pred=dump / pred_name, gt=dump / 'gt.json', protocol='lpr4m-csa', queries=subset, out=out))
    record = json.loads(out.read_text())
    ranked = json.loads((dump / 'rankings.json').read_text())
    hits = sum(any(g in gt[q] for g, _ in ranked[q][:1]) for q in chosen)
    assert record['metrics']['n_queries'] == len(chosen)
    assert record['metrics']['R@1'] == pytest.approx(100.0 * hits / len(chosen))
    assert record['source_files']['queries']['sha256']
    bad = _subset_file(tmp_path / 'bad.txt', [chosen[0], 'x-clip'])
    with pytest.raises(CliError, match=r"bad.txt:2: query id 'x-clip' is not a query of the GT file"):
        score.run(_score_args(pred=dump / pred_name, gt=dump / 'gt.json', protocol='lpr4m-csa', queries=bad))


def test_score_queries_still_rejects_a_stray_prediction(dump: Path, tmp_path: Path) -> None:
    gt = json.loads((dump / 'gt.json').read_text())
    first = sorted(gt)[0]
    del gt[sorted(gt)[1]]  # a prediction outside the GT, and outside the subset
    (tmp_path / 'gt.json').write_text(json.dumps(gt))
    subset = _subset_file(tmp_path / 'subset.txt', [first])
    for pred in ('rankings.json', 'embeddings.npz'):
        with pytest.raises(CliError, match='which is not in the GT'):
            score.run(_score_args(pred=dump / pred, gt=tmp_path / 'gt.json', protocol='lpr4m-csa', queries=subset))
        with pytest.raises(CliError, match='which is not in the GT'):
            score.run(_score_args(pred=dump / pred, gt=tmp_path / 'gt.json', protocol='lpr4m-csa'))
