"""Fault: bad data. Default: a clear error naming the file (and line / key / sample). ``skip``:
the sample is skipped (never replaced by another index), counted, reported in the log, in
``bad_samples.json`` and in the result JSON, and a skipped query stays in the denominator as a miss.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mmengine.config import Config

from csa_bench.cli import main
from csa_bench.datasets import AnnotationError, BadSampleError
from csa_bench.engine import api
from csa_bench.registry import DATASETS

from .conftest import TINY_ICL

TINY_MF = 'configs/rice/rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-movingfashion.py'


@pytest.fixture(scope='module')
def mf_root(tmp_path_factory) -> Path:
    from csa_bench.cli.data import synth

    root = tmp_path_factory.mktemp('mf')
    synth(root / 'synthetic-movingfashion', 'movingfashion', seed=0, size='tiny')
    return root


@pytest.fixture
def data_copy(tmp_path, synthetic_root, mf_root, monkeypatch) -> Path:
    """A private copy of both synthetic trees (the faults are injected into it)."""
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root / 'synthetic-lpr4m', root / 'synthetic-lpr4m')
    shutil.copytree(mf_root / 'synthetic-movingfashion', root / 'synthetic-movingfashion')
    monkeypatch.setenv('CSA_DATA_ROOT', str(root))
    return root


def _dataset(config: str, split: str, **overrides):
    cfg = Config.fromfile(config)
    return DATASETS.build(dict(cfg[f'{split}_dataloader'].dataset, **overrides))


def _truncate(path: str | Path, keep: int | None = None) -> None:
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2 if keep is None else keep])


# --------------------------------------------------------------------------------- media files
def _inject(kind: str) -> tuple[str, str, int, str, str]:
    """Break one sample; returns (config, split, index, path, expected reason)."""
    if kind == 'corrupt-mp4':
        info = _dataset(TINY_MF, 'train').get_data_info(0)
        _truncate(info['video_path'], keep=300)   # moov atom gone
        return TINY_MF, 'train', 0, info['video_path'], 'cannot open video'
    if kind == 'truncated-jpeg-frame':
        info = _dataset(TINY_ICL, 'train').get_data_info(2)
        for frame in info['frame_paths']:   # whichever frames the sampler picks
            _truncate(frame)
        return TINY_ICL, 'train', 2, info['frame_paths'][0], 'truncated JPEG'
    if kind == 'missing-shop-image':
        info = _dataset(TINY_ICL, 'train').get_data_info(3)
        Path(info['img_path']).unlink()
        return TINY_ICL, 'train', 3, info['img_path'], 'file not found'
    assert kind == 'truncated-gallery-image'
    dataset = _dataset(TINY_ICL, 'test')
    index = next(i for i in range(len(dataset)) if dataset.get_data_info(i)['role'] == 'gallery')
    path = dataset.get_data_info(index)['img_path']
    _truncate(path)
    return TINY_ICL, 'test', index, path, 'truncated JPEG'


KINDS = ['corrupt-mp4', 'truncated-jpeg-frame', 'missing-shop-image', 'truncated-gallery-image']


@pytest.mark.parametrize('kind', KINDS)
def test_media_fault_raises_by_default_naming_sample_and_file(data_copy, kind) -> None:
    config, split, index, path, reason = _inject(kind)
    dataset = _dataset(config, split)
    sample_id = dataset.get_data_info(index)['sample_id']
    with pytest.raises(BadSampleError) as info:
        dataset[index]
    assert sample_id in str(info.value) and reason in str(info.value)
    assert Path(info.value.path).parent == Path(path).parent


@pytest.mark.parametrize('kind', KINDS)
def test_media_fault_is_skipped_counted_never_substituted(data_copy, kind) -> None:
    config, split, index, path, reason = _inject(kind)
    dataset = _dataset(config, split, on_bad_sample='skip')
    assert dataset[index] is None   # not the next sample's data (the official loaders' idx + 1)
    neighbour = (index + 1) % len(dataset)
    assert dataset[neighbour]['data_samples']['sample_id'] == dataset.get_data_info(neighbour)['sample_id']
    ((sample_id, bad_path, bad_reason),) = dataset.bad_samples
    assert sample_id == dataset.get_data_info(index)['sample_id'] and reason in bad_reason
    assert Path(bad_path).parent == Path(path).parent
    dataset[index]   # seen again (next epoch): still counted once
    assert len(dataset.bad_samples) == 1


# --------------------------------------------------------------------------------- annotations
def _lpr_ann(root: Path) -> Path:
    return root / 'synthetic-lpr4m' / 'annotations'


def _rewrite(path: Path, edit) -> None:
    path.write_text(edit(path.read_text(encoding='utf-8')), encoding='utf-8')


def _drop_column(text: str, line: int) -> str:
    rows = text.split('\n')
    rows[line - 1] = '\t'.join(rows[line - 1].split('\t')[:-2])
    return '\n'.join(rows)


def _bad_literal(text: str, line: int) -> str:
    rows = text.split('\n')
    fields = rows[line - 1].split('\t')
    fields[1] = '["a.jpg", "b.jpg"'   # unterminated list literal
    rows[line - 1] = '\t'.join(fields)
    return '\n'.join(rows)


ANNOTATION_FAULTS = {
    'malformed-tsv-row': ('train', 'training_videoinfo_750k.txt', lambda t: _drop_column(t, 3),
                          r'training_videoinfo_750k\.txt:3: expected 10 or 11 tab-separated columns, got 8'),
    'bad-list-literal': ('train', 'training_videoinfo_750k.txt', lambda t: _bad_literal(t, 2),
                         r'training_videoinfo_750k\.txt:2: not a list literal'),
    'wrong-json-schema': ('test', 'query_tenframes.json',
                          lambda t: json.dumps({k: {'gt': v['gt']} for k, v in json.loads(t).items()}),
                          r"query_tenframes\.json: key '.*': missing 'frames'"),
    'json-root-type': ('test', 'test_videoid_to_gtimage_20079.json',
                       lambda t: json.dumps(list(json.loads(t))),
                       r"test_videoid_to_gtimage_20079\.json: key '<root>': expected dict, got list"),
    'unknown-query-id': ('test', 'query_tenframes.json',
                         lambda t: json.dumps({**json.loads(t), 'no-such-clip': {'frames': ['x.jpg'],
                                                                                 'gt': []}}),
                         r"test_videoid_to_gtimage_20079\.json: query clip 'no-such-clip' has no "
                         'ground-truth entry'),
    'invalid-json': ('test', 'test_videoid_to_gtimage_20079.json', lambda t: t[: len(t) // 2],
                     r'test_videoid_to_gtimage_20079\.json:\d+: invalid JSON'),
}


@pytest.mark.parametrize('fault', sorted(ANNOTATION_FAULTS))
@pytest.mark.parametrize('policy', ['raise', 'skip'])
def test_annotation_fault_names_file_and_line_or_key(data_copy, fault, policy) -> None:
    """Annotation faults fail the split under both policies: skipping rows would change the benchmark."""
    split, name, edit, expected = ANNOTATION_FAULTS[fault]
    _rewrite(_lpr_ann(data_copy) / name, edit)
    with pytest.raises(AnnotationError, match=expected):
        _dataset(TINY_ICL, split, on_bad_sample=policy).full_init()


def test_mf_product_without_videos_names_product(data_copy) -> None:
    path = data_copy / 'synthetic-movingfashion' / 'train.json'
    content = json.loads(path.read_text())
    first = sorted(content)[0]
    content[first]['video_paths'] = []
    path.write_text(json.dumps(content))
    with pytest.raises(AnnotationError, match=f"train.json: product '{first}': empty video_paths"):
        _dataset(TINY_MF, 'train').full_init()


# --------------------------------------------------------------------------------- end to end
def test_training_skips_reports_and_continues(data_copy, tmp_path) -> None:
    _inject('truncated-jpeg-frame')
    _inject('missing-shop-image')
    work_dir = tmp_path / 'work'
    # 4 iterations x 4 = one shuffled pass over the 16 training clips: both bad samples are met.
    api.train(TINY_ICL, work_dir=str(work_dir), cfg_options={
        'train_cfg.max_iters': 4, 'train_cfg.val_begin': 1000, 'global_batch_size': 4,
        'train_dataloader.dataset.on_bad_sample': 'skip', 'default_hooks.checkpoint.interval': 4,
        'default_hooks.bad_samples.interval': 2,
        'experiment_name': f'skip_{tmp_path.name}'})   # own logger: mmengine names them by the second
    report = json.loads((work_dir / 'bad_samples.json').read_text())['train']
    assert report['count'] == 2 and report['policy'] == 'skip'
    assert {s['reason'] for s in report['samples']} == {'file not found',
                                                         'truncated JPEG (no end-of-image marker FF D9)'}
    log = next(work_dir.glob('*/*.log')).read_text()
    assert 'bad samples (train, on_bad_sample=skip): 2 skipped' in log
    assert (work_dir / 'iter_4.pth').is_file()


def test_training_raises_by_default_as_one_cli_line(data_copy, tmp_path, capsys) -> None:
    _, _, _, path, _ = _inject('missing-shop-image')
    code = main(['train', TINY_ICL, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                 'train_cfg.max_iters=4', 'train_cfg.val_begin=1000', 'global_batch_size=4'])
    err = capsys.readouterr().err
    text = ' '.join(err.split())
    assert code == 2 and 'Traceback' not in err and text.count('error:') == 1
    assert f'{path}: file not found' in text and 'bad sample' in text


def test_skipped_query_is_a_miss_and_in_the_result_json(data_copy, tmp_path) -> None:
    ann = _lpr_ann(data_copy)
    tenframes = json.loads((ann / 'query_tenframes.json').read_text())
    victim = sorted(tenframes)[0]
    for frame in tenframes[victim]['frames']:
        _truncate(data_copy / 'synthetic-lpr4m' / 'query' / frame)
    out = tmp_path / 'result.json'
    code = main(['test', TINY_ICL, '--work-dir', str(tmp_path / 'work'), '--out', str(out),
                 '--cfg-options', 'test_dataloader.dataset.on_bad_sample=skip'])
    assert code == 0
    record = json.loads(out.read_text())
    assert record['bad_samples']['count'] == 1
    assert record['bad_samples']['samples'][0]['sample_id'] == victim
    # lpr4m-csa divides by every GT query: the skipped one is a miss, not a smaller denominator.
    assert record['metrics']['n_queries'] == len(tenframes) and record['metrics']['n_missing'] == 1


def test_empty_gallery_group_counts_its_queries_as_misses(data_copy, tmp_path) -> None:
    ann = _lpr_ann(data_copy)
    lines = (ann / 'gallery_main.txt').read_text().splitlines()
    live = lines[0].split('/')[0]
    kept = [line for line in lines if not line.startswith(live)]
    (ann / 'gallery_main.txt').write_text('\n'.join(kept) + '\n')
    tenframes = json.loads((ann / 'query_tenframes.json').read_text())
    in_live = sum(clip.startswith(live) for clip in tenframes)
    outcome = api.test(TINY_ICL, work_dir=str(tmp_path / 'work'))
    assert in_live > 0
    assert outcome.metrics['n_queries'] == len(tenframes)
    assert outcome.metrics['n_empty_gallery'] == in_live


def test_gt_id_absent_from_the_gallery_is_an_unreachable_miss(data_copy, tmp_path) -> None:
    path = _lpr_ann(data_copy) / 'test_videoid_to_gtimage_20079.json'
    gt = json.loads(path.read_text())
    gt[sorted(gt)[0]] = ['no-such-image-id']
    path.write_text(json.dumps(gt))
    metrics = api.test(TINY_ICL, work_dir=str(tmp_path / 'work')).metrics
    assert metrics['n_queries'] == len(gt) and metrics['n_unreachable_gt'] == 1
