"""The bad-sample policy of RetrievalDataset: raise (default) or skip-and-report, never substitute."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from csa_bench.datasets import BadSampleError, RetrievalDataset, retrieval_collate

from . import dataset_fixtures as fx

PIPELINE = [dict(type='SampleFrames', num_frames=4, test_mode=True), dict(type='LoadFrames'),
            dict(type='LoadShopImage'), dict(type='PackRetrievalInputs')]


def _generic(tmp_path: Path) -> Path:
    """A generic-format annotation file with two samples, the second pointing at a truncated JPEG."""
    fx.jpeg(tmp_path / 'f0.jpg')
    fx.jpeg(tmp_path / 'img.jpg')
    fx.jpeg(tmp_path / 'f1.jpg')
    data = (tmp_path / 'f1.jpg').read_bytes()
    (tmp_path / 'f1.jpg').write_bytes(data[: len(data) // 2])
    samples = [dict(role='pair', sample_id='good', item_id='p', frame_paths=['f0.jpg'], img_path='img.jpg',
                    label=0),
               dict(role='pair', sample_id='bad', item_id='p', frame_paths=['f1.jpg'], img_path='img.jpg',
                    label=0)]
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps({'metainfo': {'dataset_name': 'generic'}, 'data_list': samples}))
    return ann


def test_raise_names_sample_and_file(tmp_path: Path) -> None:
    ds = RetrievalDataset(ann_file=str(_generic(tmp_path)), data_root=str(tmp_path), pipeline=PIPELINE)
    assert ds[0]['data_samples']['sample_id'] == 'good'
    with pytest.raises(BadSampleError, match=r"bad sample 'bad': .*f1.jpg: truncated JPEG"):
        ds[1]


def test_skip_returns_none_counts_and_collate_drops(tmp_path: Path) -> None:
    log = tmp_path / 'bad.jsonl'
    ds = RetrievalDataset(ann_file=str(_generic(tmp_path)), data_root=str(tmp_path), pipeline=PIPELINE,
                          on_bad_sample='skip', bad_sample_log=str(log))
    items = [ds[0], ds[1], ds[1]]
    assert items[1] is None and items[2] is None  # never replaced by another index
    assert ds.bad_samples == [('bad', str(tmp_path / 'f1.jpg'),
                               'truncated JPEG (no end-of-image marker FF D9)')]
    assert '1 bad sample(s) skipped' in ds.bad_sample_report()
    batch = retrieval_collate(items)
    assert [s['sample_id'] for s in batch['data_samples']] == ['good'] and len(batch['inputs']) == 1
    assert retrieval_collate([None]) == {'inputs': [], 'data_samples': []}


def test_skip_reports_across_worker_processes(tmp_path: Path) -> None:
    ds = RetrievalDataset(ann_file=str(_generic(tmp_path)), data_root=str(tmp_path), pipeline=PIPELINE,
                          on_bad_sample='skip')
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=1, collate_fn=retrieval_collate)
    batches = list(loader)
    assert [s['sample_id'] for s in batches[0]['data_samples']] == ['good']
    assert [b[0] for b in ds.bad_samples] == ['bad']  # recorded by the worker, read in the main process


def test_generic_format_errors(tmp_path: Path) -> None:
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps({'data_list': [{'role': 'pair'}]}))
    with pytest.raises(ValueError,
                       match=r"ann.json: data_list\[0\]: sample is missing the required key 'sample_id'"):
        RetrievalDataset(ann_file=str(ann))
    with pytest.raises(ValueError, match='on_bad_sample must be one of'):
        RetrievalDataset(ann_file=str(ann), on_bad_sample='retry')
