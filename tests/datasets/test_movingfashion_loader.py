"""MovingFashion loader: raw release (mp4 via decord) and CSA-prepared annotations."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from csa_bench.datasets.parsing import AnnotationError


def _mf(root: Path, split: str, **kwargs):
    from plugins.datasets import MovingFashionDataset

    return MovingFashionDataset(data_root=str(root), split=split, **kwargs)


def _all(ds) -> list[dict]:
    return [{k: v for k, v in ds.get_data_info(i).items() if k != 'sample_idx'} for i in range(len(ds))]


def test_raw_train_two_videos_missing_reported(mf_root: Path) -> None:
    ds = _mf(mf_root, 'train')
    pairs = _all(ds)
    assert [p['sample_id'] for p in pairs] == ['p1/v1', 'p1/v2']
    assert pairs[0] == dict(role='pair', sample_id='p1/v1', item_id='i1', gt_ids=[], group_id=None,
                            frame_paths=None,
                            video_path=f'{mf_root}/videos/v1.mp4', img_path=f'{mf_root}/imgs/i1.jpg', label=0,
                            category_id=-1, title='', asr='',
                            meta={'product_id': 'p1', 'source': 1, 'frame_source': 'decord-1fps',
                                  'tracklet': {'0': [1, 2, 10, 12]}})
    assert pairs[1]['meta']['tracklet'] == {'1': [3, 4, 20, 22]}
    # The missing mp4 is named and counted, never dropped silently.
    assert ds.missing_files == ['videos/v3.mp4']


def test_raw_test_shared_video_last_product_wins(mf_root: Path) -> None:
    ds = _mf(mf_root, 'test', test_mode=True)
    samples = _all(ds)
    queries = [s for s in samples if s['role'] == 'query']
    gallery = [s for s in samples if s['role'] == 'gallery']
    assert [(q['sample_id'], q['gt_ids']) for q in queries] == [('s1', ['j2']), ('s2', ['j1'])]
    assert queries[0]['meta']['source'] == 0 and 'tracklet' not in queries[0]['meta']
    assert queries[1]['meta']['tracklet'] == {'0': [0, 0, 5, 5]}
    # Global gallery, one entry per product line, the duplicated image kept.
    assert [(g['sample_id'], g['item_id'], g['group_id']) for g in gallery] == [
        ('j1', 'j1', None), ('j2', 'j2', None), ('j3', 'j3', None), ('j1#1', 'j1', None)]
    assert gallery[1]['img_path'].endswith('imgs/j2.png')
    assert ds.missing_files == ['videos/m1.mp4']
    assert ds.missing_queries == {'m1': ['j3']}
    assert ds.stats['duplicate_gallery_lines'] == 1


def test_raw_test_multi_gt(mf_root: Path) -> None:
    queries = [s for s in _all(_mf(mf_root, 'test', multi_gt=True)) if s['role'] == 'query']
    assert queries[0]['gt_ids'] == ['j1', 'j2']


def test_prepared_annotations(mf_prepared_root: Path) -> None:
    train = _all(_mf(mf_prepared_root, 'train', annotation='prepared'))
    assert train[0]['frame_paths'][0] == f'{mf_prepared_root}/frames/s2/s2.mp4_0001.png'
    assert train[0]['meta']['frame_source'] == 'ffmpeg-1fps'
    ds = _mf(mf_prepared_root, 'test', annotation='prepared')
    samples = _all(ds)
    assert [(s['role'], s['sample_id'], s['gt_ids']) for s in samples] == [
        ('query', 's1', ['j2']), ('gallery', 'j1', []), ('gallery', 'j2', []), ('gallery', 'j3', [])]
    assert ds.missing_queries == {'m1': ['j3']}
    multi = _all(_mf(mf_prepared_root, 'test', annotation='prepared', multi_gt=True))
    assert multi[0]['gt_ids'] == ['j1', 'j2']


@pytest.mark.parametrize('entry, message', [
    ({'img_path': 'imgs/x.jpg', 'source': 1}, r"test.json: product 'bad': missing key 'video_paths'"),
    ({'img_path': 'imgs/x.jpg', 'video_paths': [], 'source': 1}, r"product 'bad': empty video_paths"),
    ({'img_path': 'imgs/x.jpg', 'video_paths': ['videos/a.mp4'], 'source': 2}, r'source must be 0 or 1'),
    ({'img_path': 'imgs/x.jpg', 'video_paths': ['videos/a.mp4'], 'source': 1, 'tracklets': [{}, {}]},
     r'2 tracklets for 1 videos'),
])
def test_malformed_json(mf_root: Path, entry: dict, message: str) -> None:
    (mf_root / 'test.json').write_text(json.dumps({'bad': entry}))
    with pytest.raises(AnnotationError, match=message):
        _mf(mf_root, 'test')


def test_decodes_real_mp4_at_one_fps(mf_root: Path) -> None:
    pipeline = [dict(type='InitVideoReader'), dict(type='SampleFrames', num_frames=10, test_mode=True),
                dict(type='LoadFrames'), dict(type='LoadShopImage'), dict(type='PackRetrievalInputs')]
    ds = _mf(mf_root, 'train', pipeline=pipeline, test_mode=True)
    out = ds[0]  # v1: 30 frames at 2 fps -> 15 one-fps frames -> 10 kept
    assert out['inputs']['video'].shape == (10, 3, 32, 32) and bool(out['inputs']['frame_mask'].all())
    # s2: 1.5 s -> 2 frames (ffmpeg fps=1 rounds the 1.5 s end time up), padded to 10.
    short = _mf(mf_root, 'test', pipeline=pipeline, test_mode=True)[1]
    assert short['inputs']['frame_mask'].tolist() == [True] * 2 + [False] * 8
    assert short['inputs']['video'][2:].abs().sum() == 0
