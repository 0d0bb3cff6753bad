"""RetrievalMetric: predict outputs in, protocol metrics out; dumps; DDP collection (gloo, 2 processes)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from csa_bench.evaluation import RetrievalMetric
from csa_bench.registry import METRICS

from .oracle import official_metrics, official_ranked_lists

LIVES = ['11111111-aaaa-bbbb-cccc-000000000001', '11111111-aaaa-bbbb-cccc-000000000002']


def make_predictions(seed: int = 0, n_query: int = 9, n_gallery: int = 11, dim: int = 8) -> list[dict]:
    """Predict outputs as the retriever returns them: queries first, then the gallery."""
    gen = torch.Generator().manual_seed(seed)
    emb = torch.nn.functional.normalize(torch.randn(n_query + n_gallery, dim, generator=gen), dim=1)
    out = []
    for i in range(n_query):
        live = LIVES[i % 2]
        out.append(
            dict(
                role='query',
                sample_id=f'{live}-1690443120000-{1690443195000 + i}',
                item_id='',
                gt_ids=[f'img{(i * 3) % n_gallery}', f'img{(i + 1) % n_gallery}'][: 1 + i % 2],
                group_id=live,
                meta={
                    'product_scale': ['small', 'large'][i % 2],
                    'frame_paths': [f'/f/{i}_{t}.jpg' for t in range(3)],
                },
                embedding=emb[i],
            )
        )
    for j in range(n_gallery):
        out.append(
            dict(
                role='gallery',
                sample_id=f'img{j}',
                item_id=f'img{j}',
                gt_ids=[],
                group_id=LIVES[j % 2],
                meta={'img_path': f'/g/img{j}.jpg'},
                embedding=emb[n_query + j],
            )
        )
    return out


def oracle_for(preds: list[dict], missing: dict, protocol_k=(1, 3, 5, 10)) -> dict:
    queries = [p for p in preds if p['role'] == 'query']
    gallery = [p for p in preds if p['role'] == 'gallery']
    scores = torch.stack([q['embedding'] for q in queries]) @ torch.stack([g['embedding'] for g in gallery]).T
    ranked = official_ranked_lists(
        scores.tolist(),
        [q['sample_id'] for q in queries],
        [g['sample_id'] for g in gallery],
        [q['group_id'] for q in queries],
        [g['group_id'] for g in gallery],
    )
    gt = {q['sample_id']: q['gt_ids'] for q in queries}
    gt.update(missing)
    return official_metrics(ranked, gt, protocol_k)


def test_metric_matches_oracle_and_dumps(tmp_path) -> None:
    preds = make_predictions()
    missing = {f'{LIVES[0]}-1690443120000-1690443999999': ['img0']}
    metric = METRICS.build(
        dict(type='RetrievalMetric', protocol='lpr4m-csa', dump_dir=str(tmp_path / 'dump'), dump_topk=4)
    )
    metric.dataset_meta = {'missing_queries': missing}
    for start in range(0, len(preds), 4):
        metric.process({}, preds[start : start + 4])
    metrics = metric.evaluate(len(preds))
    expected = oracle_for(preds, missing)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value)
    assert metrics['n_missing'] == 1 and metric.protocol.id == 'lpr4m-csa'
    assert {'R@1/product_scale=small', 'R@1/product_scale=large', 'R@1/product_scale=unknown'} <= set(metrics)
    dump = tmp_path / 'dump'
    result = json.loads((dump / 'result.json').read_text())
    assert result['protocol'] == 'lpr4m-csa' and result['scoring'] == 'embedding cosine'
    assert result['gallery_images']['img3'] == '/g/img3.jpg' and len(result['query_frames']) == 9
    rankings = json.loads((dump / 'rankings.json').read_text())
    assert len(rankings) == 9 and all(len(v) <= 6 for v in rankings.values())  # 5-6 images per live
    assert json.loads((dump / 'gt.json').read_text()).keys() >= missing.keys()
    npz = np.load(dump / 'embeddings.npz')
    assert npz['query_emb'].shape == (9, 8) and list(npz['gallery_ids'][:2]) == ['img0', 'img1']


def test_metric_rejects_bad_samples() -> None:
    metric = RetrievalMetric(protocol='movingfashion-csa')
    with pytest.raises(ValueError, match="'pair'"):
        metric.process({}, [dict(role='pair', sample_id='x', embedding=torch.zeros(2))])
    with pytest.raises(KeyError, match='unknown protocol'):
        RetrievalMetric(protocol='nope')


def _ddp_worker(rank: int, world: int, port: int, out_file: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    # The store is served by the test process, which outlives both ranks (a rank-0-hosted store can
    # vanish while rank 1 is still tearing down).
    store = dist.TCPStore('127.0.0.1', port, None, is_master=False)
    dist.init_process_group('gloo', store=store, rank=rank, world_size=world)
    try:
        from csa_bench.evaluation import RetrievalMetric

        preds = make_predictions(n_gallery=12)  # 21 samples: the sampler pads rank 1
        # DefaultSampler(shuffle=False) order: rank r gets r, r+world, ... padded to equal length.
        total = -(-len(preds) // world) * world
        indices = (list(range(len(preds))) + list(range(total - len(preds))))[rank:total:world]
        metric = RetrievalMetric(protocol='lpr4m-csa')
        for i in range(0, len(indices), 3):
            metric.process({}, [preds[j] for j in indices[i : i + 3]])
        metrics = metric.evaluate(len(preds))
        if rank == 0:
            with open(out_file, 'w') as handle:
                json.dump(metrics, handle)
    finally:
        dist.destroy_process_group()


def test_ddp_collection_equals_single_process(tmp_path) -> None:
    out_file = str(tmp_path / 'ddp.json')
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    import torch.distributed as dist

    store = dist.TCPStore('127.0.0.1', 0, None, is_master=True, wait_for_workers=False)
    mp.spawn(_ddp_worker, args=(2, store.port, out_file), nprocs=2, join=True)
    del store
    ddp = json.loads(open(out_file).read())
    single = RetrievalMetric(protocol='lpr4m-csa')
    preds = make_predictions(n_gallery=12)
    single.process({}, preds)
    expected = single.evaluate(len(preds))
    assert ddp == pytest.approx(expected)
