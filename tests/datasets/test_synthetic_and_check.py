"""The synthetic generator (determinism, both loaders read it, configs build on it) and ``data check``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from csa_bench.cli import main
from csa_bench.registry import DATA_TOOLS

from . import dataset_fixtures as fx

REPO = Path(__file__).resolve().parents[2]


def _annotation_bytes(root: Path) -> dict[str, bytes]:
    files = sorted((root / 'annotations').glob('*')) + sorted(root.glob('*.json'))
    return {p.name: p.read_bytes() for p in files}


@pytest.mark.parametrize('fmt', ['lpr4m', 'movingfashion'])
def test_generator_is_deterministic(fmt: str, tmp_path: Path) -> None:
    tool = DATA_TOOLS.get(fmt)
    tool.synthesize(tmp_path / 'a', 7, 'tiny')
    tool.synthesize(tmp_path / 'b', 7, 'tiny')
    tool.synthesize(tmp_path / 'c', 8, 'tiny')
    a, b, c = (_annotation_bytes(tmp_path / n) for n in 'abc')
    assert a and a == b
    assert a != c


def _build(config: str, root: Path, split: str):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from torch.utils.data import DataLoader

    from csa_bench.registry import DATASETS, FUNCTIONS

    cfg = Config.fromfile(str(REPO / 'configs' / '_base_' / 'datasets' / config))
    loader_cfg = cfg.train_dataloader if split == 'train' else cfg.test_dataloader
    with DefaultScope.overwrite_default_scope('csa_bench'):
        dataset = DATASETS.build(dict(loader_cfg.dataset, data_root=str(root)))
        collate = FUNCTIONS.get(loader_cfg.collate_fn['type'])
    return dataset, DataLoader(dataset, batch_size=len(dataset), collate_fn=collate)


def test_synthetic_lpr4m_through_its_config(synth_lpr4m: Path) -> None:
    train, loader = _build('synthetic_lpr4m.py', synth_lpr4m, 'train')
    batch = next(iter(loader))
    assert len(batch['inputs']) == len(train) == 16  # tiny: 2 lives x 4 products x 2 clips
    assert batch['inputs'][0]['video'].shape == (4, 3, 64, 64) and batch['inputs'][0]['image'].shape == (3, 64, 64)
    test, loader = _build('synthetic_lpr4m.py', synth_lpr4m, 'test')
    batch = next(iter(loader))
    roles = [s['role'] for s in batch['data_samples']]
    assert roles.count('gallery') == 8 and roles.count('query') == 8
    queries = [s for s in batch['data_samples'] if s['role'] == 'query']
    assert all(q['asr'] and q['meta']['product_scale'] in ('small', 'medium', 'large') for q in queries)
    assert all(s['title'] for s in batch['data_samples'] if s['role'] == 'gallery')


def test_synthetic_movingfashion_through_its_config(synth_mf: Path) -> None:
    train, loader = _build('synthetic_movingfashion.py', synth_mf, 'train')
    batch = next(iter(loader))
    assert batch['inputs'][0]['video'].shape == (4, 3, 64, 64) and len(train) >= 6
    test, loader = _build('synthetic_movingfashion.py', synth_mf, 'test')
    batch = next(iter(loader))
    queries = [s for s in batch['data_samples'] if s['role'] == 'query']
    assert queries and all(s['group_id'] is None for s in batch['data_samples'])
    assert max(len(q['gt_ids']) for q in queries) == 1  # the shared video keeps one GT (parity)
    assert len(test.missing_queries) == 0


def test_cli_synth_reuses_complete_output_and_check_passes(tmp_path: Path, capsys) -> None:
    out = tmp_path / 'synthetic-lpr4m'
    assert main(['data', 'synth', '--format', 'lpr4m', '--out', str(out), '--size', 'tiny', '--seed',
                 '1']) == 0
    marker = json.loads((out / '.csa_bench_synth.json').read_text())
    assert marker['seed'] == 1 and marker['format'] == 'lpr4m' and marker['summary']['lives'] == 2
    assert main(['data', 'synth', '--format', 'lpr4m', '--out', str(out), '--size', 'tiny', '--seed',
                 '1']) == 0
    assert 'reusing' in capsys.readouterr().out
    assert main(['data', 'check', str(out), '--format', 'lpr4m', '--workers', '2']) == 0
    assert 'OK' in capsys.readouterr().out
    # A non-empty folder without a marker is never wiped.
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'keep.txt').write_text('x')
    assert main(['data', 'synth', '--format', 'lpr4m', '--out', str(tmp_path / 'other'), '--size',
                 'tiny']) == 2


def test_check_passes_on_synthetic_movingfashion(synth_mf: Path) -> None:
    report = DATA_TOOLS.get('movingfashion').check(synth_mf, workers=1, progress=False)
    assert report.ok, report.errors
    assert report.counts['test/query'] >= 1 and report.files_checked > 0


def _check_lpr(root: Path):
    return DATA_TOOLS.get('lpr4m').check(root, workers=1, progress=False)


def test_check_passes_on_the_fixture(lpr750k_root: Path) -> None:
    report = _check_lpr(lpr750k_root)
    assert report.ok, report.errors
    assert report.warnings == [f'test: ground-truth clip {fx.Q3} has no query frames (counted as a miss)']
    assert report.per_group[fx.L1] == {'pair': 2, 'query': 1, 'gallery': 2}


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])


@pytest.mark.parametrize('breakage, expected', [
    (lambda r: _truncate(r / 'query' / fx.Q1 / f'{fx.Q1}-0003.jpg'),
     f'{fx.Q1}-0003.jpg: truncated JPEG (no end-of-image marker FF D9)'),
    (lambda r: (r / 'gallery' / fx.L1 / f'{fx.G2}-0.jpg').unlink(), f'{fx.G2}-0.jpg: file not found'),
    (lambda r: (r / 'annotations' / 'training_videoinfo_750k.txt').write_text('a\tb\n'),
     'training_videoinfo_750k.txt:1: expected 10 or 11 tab-separated columns, got 2'),
    (lambda r: (r / 'annotations' / 'test_videoid_to_gtimage_20079.json').write_text(
        json.dumps({fx.Q1: [fx.G1, 'f0000000-0000-0000-0000-000000000000'], fx.Q2: [fx.G3]})),
     f'query {fx.Q1}: ground-truth id f0000000-0000-0000-0000-000000000000 is not in the gallery of live {fx.L1}'),
    (lambda r: (r / 'annotations' / 'gallery_main.txt').write_text(f'{fx.L1}/{fx.G1}-0.jpg\n{fx.L1}/{fx.G2}-0.jpg\n'),
     f'test: empty gallery for live {fx.L2} (1 queries)'),
])
def test_check_fails_precisely(lpr750k_root: Path, breakage, expected: str, capsys) -> None:
    breakage(lpr750k_root)
    report = _check_lpr(lpr750k_root)
    assert not report.ok
    assert any(expected in line for line in report.errors), report.errors
    assert main(['data', 'check', str(lpr750k_root), '--format', 'lpr4m', '--workers', '1']) == 1
    assert expected.split(':')[0] in capsys.readouterr().out.replace('\n', '')


def test_check_movingfashion_missing_videos(mf_root: Path) -> None:
    report = DATA_TOOLS.get('movingfashion').check(mf_root, workers=1, progress=False)
    assert sorted(e for e in report.errors if 'not found' in e) == [
        f'test: {mf_root}/videos/m1.mp4: file not found', f'train: {mf_root}/videos/v3.mp4: file not found']
    # A file the official archive is known to lack is a warning, not an error.
    known = 'videos/bd6186ecf66d1a5c2d65ff3c891c7e44.mp4'
    content = json.loads((mf_root / 'test.json').read_text())
    content['t3']['video_paths'] = [known]
    (mf_root / 'test.json').write_text(json.dumps(content))
    report = DATA_TOOLS.get('movingfashion').check(mf_root, workers=1, progress=False)
    assert not any('m1.mp4' in e or known in e for e in report.errors)
    assert f'test: {known} is missing (known absent from the official archive)' in report.warnings


def test_movingfashion_shop_scale_scales_counts(tmp_path: Path) -> None:
    from plugins.datasets.synthetic.movingfashion import SHOP_SCALE, write_movingfashion

    default = write_movingfashion(tmp_path / 'd', 3, 'tiny')
    explicit = write_movingfashion(tmp_path / 'e', 3, 'tiny', shop_scale=SHOP_SCALE)
    assert default == explicit and _annotation_bytes(tmp_path / 'd') == _annotation_bytes(tmp_path / 'e')
    bigger = write_movingfashion(tmp_path / 'b', 3, 'tiny', shop_scale=2 * SHOP_SCALE)
    assert bigger['shops'] == 2 * default['shops']
    assert bigger['test_products'] > default['test_products']
    assert bigger['train_products'] > default['train_products']
    with pytest.raises(ValueError, match='shop_scale'):
        write_movingfashion(tmp_path / 'x', 3, 'tiny', shop_scale=0)
