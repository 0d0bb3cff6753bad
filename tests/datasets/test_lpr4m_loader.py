"""LPR4M / LPR750K loader on real-format fixture trees: exact samples and precise errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from csa_bench.datasets.parsing import AnnotationError

from . import dataset_fixtures as fx


def _lpr(root: Path, split: str, **kwargs):
    from plugins.datasets import LPR4MDataset

    return LPR4MDataset(data_root=str(root), split=split, **kwargs)


def _all(ds) -> list[dict]:
    return [{k: v for k, v in ds.get_data_info(i).items() if k != 'sample_idx'} for i in range(len(ds))]


def test_train_rows_10_and_11_columns(lpr750k_root: Path) -> None:
    ds = _lpr(lpr750k_root, 'train')
    a, b, c = _all(ds)
    r = str(lpr750k_root)
    assert a == dict(role='pair', sample_id=fx.CA, item_id=fx.I1, gt_ids=[], group_id=fx.L1,
                     frame_paths=[f'{r}/training_video_00/{fx.CA}/{fx.CA}-{i:04d}.jpg' for i in (1, 2, 3)],
                     video_path=None, img_path=f'{r}/training_image/{fx.I1}.jpg', label=0, category_id=3,
                     title='red round plate', asr='a red plate',
                     meta={'spu_id': 'spu9', 'category_name': 'plates'})
    # 11 columns, single-quoted list: paths from the full-release convention, difficulty kept.
    assert b['frame_paths'] == [f'{r}/frames/{fx.CB}/{fx.CB}-0001.jpg',
                                f'{r}/frames/{fx.CB}/{fx.CB}-0002.jpg']
    assert b['img_path'] == f'{r}/images/{fx.I2}.jpg'
    assert b['label'] == 1 and b['category_id'] == 5 and b['asr'] == 'look at this star'
    assert b['meta'] == {'product_scale': 'small', 'visible_duration': 'short', 'product_number': 'single',
                         'boxes': [[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.6]], 'category_name': 'ornaments'}
    # An empty last field (empty ASR) survives: only the newline is stripped.
    assert c['asr'] == '' and c['meta']['spu_id'] == '' and c['group_id'] == fx.L2


def test_test_split_queries_then_main_gallery(lpr750k_root: Path) -> None:
    ds = _lpr(lpr750k_root, 'test', test_mode=True)
    samples = _all(ds)
    assert [s['role'] for s in samples] == ['query', 'query', 'gallery', 'gallery', 'gallery']
    q1, q2, g1, g2, g3 = samples
    r = str(lpr750k_root)
    assert q1['sample_id'] == fx.Q1 and q1['gt_ids'] == [fx.G1, fx.G2] and q1['item_id'] == fx.G1
    assert q1['group_id'] == fx.L1 and len(q1['frame_paths']) == 12
    assert q1['frame_paths'][0] == f'{r}/query/{fx.Q1}/{fx.Q1}-0001.jpg'
    assert q1['meta'] == {'product_scale': 'large', 'visible_duration': 'long', 'product_number': 'multiple',
                          'boxes': [], 'category_name': 'tiles'}
    assert q1['category_id'] == 4 and q1['asr'] == 'asr of q1' and q1['title'] == ''
    assert q2['gt_ids'] == [fx.G3] and q2['group_id'] == fx.L2 and len(q2['frame_paths']) == 3
    # gallery_main.txt line order, the -1 view excluded, item id = first 5 dash fields.
    assert [(g['item_id'], g['group_id']) for g in (g1, g2, g3)] == [(fx.G1, fx.L1), (fx.G2, fx.L1), (fx.G3,
                                                                                                      fx.L2)]
    assert g1['sample_id'] == f'{fx.L1}/{fx.G1}-0' and g1['img_path'] == f'{r}/gallery/{fx.L1}/{fx.G1}-0.jpg'
    assert ds.stats['excluded_non_main'] == 1
    # Q3 has ground truth but no query frames: kept for the metric's denominator.
    assert ds.missing_queries == {fx.Q3: [fx.G3]} and ds.metainfo['missing_queries'] == {fx.Q3: [fx.G3]}


def test_gallery_all_keeps_non_main_views(lpr750k_root: Path) -> None:
    ds = _lpr(lpr750k_root, 'test', gallery='all')
    items = [s['item_id'] for s in _all(ds) if s['role'] == 'gallery']
    assert items == [fx.G1, fx.G1, fx.G2, fx.G3]


def test_full_release_layout(lpr4m_full_root: Path) -> None:
    train = _all(_lpr(lpr4m_full_root, 'train'))
    assert train[0]['frame_paths'] == [f'{lpr4m_full_root}/frames/{fx.CB}/{fx.CB}-0001.jpg']
    assert train[0]['meta']['visible_duration'] == 'long'
    ds = _lpr(lpr4m_full_root, 'test')
    assert ds.metainfo['layout'] == 'full'
    q, g3, g2 = _all(ds)
    assert [Path(p).name for p in q['frame_paths']] == [f'{fx.Q2}-0001.jpg', f'{fx.Q2}-0002.jpg']  # sorted
    assert (g3['item_id'], g2['item_id']) == (fx.G3, fx.G2) and g3['img_path'].endswith(f'images/{fx.G3}.jpg')


def _rewrite(path: Path, line: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text('\n'.join(lines) + '\n')


@pytest.mark.parametrize('line_text, message', [
    ('a\tb\tc', r'training_videoinfo_750k.txt:2: expected 10 or 11 tab-separated columns, got 3'),
    (f'{fx.CA}\t[broken\t[]\t{fx.I1}\tp\tt\t3\tn\ts\tasr',
     r'training_videoinfo_750k.txt:2: not a list literal'),
    (f'{fx.CA}\t["x.jpg"]\t[]\t{fx.I1}\tp\tt\tthree\tn\ts\tasr',
     r'training_videoinfo_750k.txt:2: column category_id: expected an integer'),
])
def test_malformed_training_rows(lpr750k_root: Path, line_text: str, message: str) -> None:
    _rewrite(lpr750k_root / 'annotations' / 'training_videoinfo_750k.txt', 2, line_text)
    with pytest.raises(AnnotationError, match=message):
        _lpr(lpr750k_root, 'train')


def test_no_eval_of_list_literals(lpr750k_root: Path) -> None:
    _rewrite(lpr750k_root / 'annotations' / 'training_videoinfo_750k.txt', 1,
             f'{fx.CA}\t__import__("os").getcwd()\t[]\t{fx.I1}\tp\tt\t3\tn\ts\tasr')
    with pytest.raises(AnnotationError, match='training_videoinfo_750k.txt:1: not a list literal'):
        _lpr(lpr750k_root, 'train')


def test_malformed_gallery_and_query_files(lpr750k_root: Path) -> None:
    ann = lpr750k_root / 'annotations'
    _rewrite(ann / 'gallery_main.txt', 3, f'{fx.L1}/extra/{fx.G2}-0.jpg')
    with pytest.raises(AnnotationError,
                       match=r'gallery_main.txt:3: expected "<live_id>/<file>" with exactly one'):
        _lpr(lpr750k_root, 'test')
    fx.write_lpr750k(lpr750k_root.parent / 'again')
    ann = lpr750k_root.parent / 'again' / 'annotations'
    content = json.loads((ann / 'query_tenframes.json').read_text())
    del content[fx.Q2]['gt']
    (ann / 'query_tenframes.json').write_text(json.dumps(content))
    with pytest.raises(AnnotationError, match=rf"query_tenframes.json: key '{fx.Q2}': missing 'gt'"):
        _lpr(ann.parent, 'test')
    (ann / 'query_tenframes.json').write_text('{"a": ')
    with pytest.raises(AnnotationError, match=r'query_tenframes.json:1: invalid JSON'):
        _lpr(ann.parent, 'test')


def test_query_without_ground_truth_is_an_error(lpr750k_root: Path) -> None:
    gt = lpr750k_root / 'annotations' / 'test_videoid_to_gtimage_20079.json'
    gt.write_text(json.dumps({fx.Q1: [fx.G1]}))
    with pytest.raises(AnnotationError, match=f'query clip {fx.Q2!r} has no ground-truth entry'):
        _lpr(lpr750k_root, 'test')


def test_converter_11_to_10(lpr4m_full_root: Path, tmp_path: Path) -> None:
    from plugins.datasets.lpr4m_format import convert_tsv_11_to_10, read_rows

    src = lpr4m_full_root / 'annotations' / 'training_videoinfo_full_part_00.txt'
    dst = tmp_path / 'training_videoinfo_750k.txt'
    assert convert_tsv_11_to_10(src, dst) == 1
    fields = dst.read_text().rstrip('\n').split('\t')
    assert len(fields) == 10
    assert fields[3] == fx.I2 and fields[4] == f'images/{fx.I2}.jpg' and fields[8] == '' and fields[9] == 'asr'
    converted, original = read_rows(dst)[0], read_rows(src)[0]
    for key in ('clip_id', 'frame_paths', 'image_id', 'image_path', 'title', 'category_id', 'asr'):
        assert converted[key] == original[key]
