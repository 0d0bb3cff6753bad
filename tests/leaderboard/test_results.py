"""Result JSON files: round trip, provenance fields and validation errors naming file and field."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from csa_bench.results import (
    ResultError,
    annotation_checksum,
    config_components,
    config_hash,
    is_zero_shot,
    load_result,
    make_result,
    normalize_metrics,
    validate_result,
    write_result,
)


def _record(**overrides) -> dict:
    kwargs = dict(protocol='lpr4m-csa', dataset='synthetic-lpr4m', split='test', seed=0)
    kwargs.update(overrides)
    return make_result({'R@1': 10.0, 'R@5': 30.0}, **kwargs)


def test_round_trip(tmp_path: Path) -> None:
    ckpt = tmp_path / 'iter_1.pth'
    ckpt.write_bytes(b'weights')
    record = _record(checkpoint=ckpt, components=['PMD', 'ICL'], num_params=123, train_time_s=1.5)
    write_result(tmp_path / 'r.json', record)
    loaded = load_result(tmp_path / 'r.json')
    assert loaded == record
    assert loaded['schema'] == 1 and loaded['components'] == ['ICL', 'PMD']
    assert loaded['checkpoint_sha256'] == hashlib.sha256(b'weights').hexdigest()
    assert loaded['date'].endswith('+00:00')
    assert set(loaded['hardware']) == {'cpu', 'cpu_count', 'gpu', 'gpu_count'}


def test_metric_prefixes_are_stripped_and_conflicts_rejected() -> None:
    assert normalize_metrics({'retrieval/R@1': 1.0, 'retrieval/scale/small/R@1': 2.0, 'ranks': [1]}) == {
        'R@1': 1.0, 'retrieval/scale/small/R@1': 2.0}
    with pytest.raises(ResultError, match=r"metrics\.R@1"):
        normalize_metrics({'a/R@1': 1.0, 'R@1': 2.0})
    # A run that retrieves nothing has an infinite median rank: stored as null (JSON has no inf).
    record = _record()
    record['metrics'] = normalize_metrics({'R@1': 0.0, 'median_rank': float('inf')})
    assert record['metrics'] == {'R@1': 0.0, 'median_rank': None}
    record['metrics']['R@1'] = None
    with pytest.raises(ResultError, match=r"metrics\.R@1"):
        validate_result(record, 'x.json')


@pytest.mark.parametrize('field, value, message', [
    ('protocol', None, 'expected str'),
    ('seed', 'zero', 'expected int'),
    ('metrics', {'R@1': 'high'}, 'finite number'),
    ('components', ['XYZ'], 'unknown component'),
    ('schema', 2, 'expected 1'),
])
def test_validation_names_file_and_field(tmp_path: Path, field: str, value, message: str) -> None:
    record = _record()
    record[field] = value
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(record))
    with pytest.raises(ResultError, match=message) as info:
        load_result(path)
    assert str(path) in str(info.value) and field in str(info.value)


def test_missing_field_and_bad_json(tmp_path: Path) -> None:
    record = _record()
    del record['dataset']
    path = tmp_path / 'missing.json'
    path.write_text(json.dumps(record))
    with pytest.raises(ResultError, match=r"missing\.json: field 'dataset': missing"):
        load_result(path)
    broken = tmp_path / 'broken.json'
    broken.write_text('{"schema": 1,')
    with pytest.raises(ResultError, match=r"broken\.json: field '<json>'"):
        load_result(broken)


def test_annotation_checksum_rule(tmp_path: Path) -> None:
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'annotations' / 'gallery_main.txt').write_text('a\n')
    (tmp_path / 'test.json').write_text('{}')
    (tmp_path / 'frames').mkdir()
    (tmp_path / 'frames' / 'x.jpg').write_bytes(b'jpg')
    first = annotation_checksum(tmp_path)
    assert first['files'] == 2
    (tmp_path / 'frames' / 'x.jpg').write_bytes(b'other')   # media files are not hashed
    assert annotation_checksum(tmp_path) == first
    (tmp_path / 'annotations' / 'gallery_main.txt').write_text('b\n')
    assert annotation_checksum(tmp_path)['sha256'] != first['sha256']
    with pytest.raises(FileNotFoundError, match='does not exist'):
        annotation_checksum(tmp_path / 'nope')


def test_config_helpers() -> None:
    from mmengine.config import Config
    model = dict(type='RICE', losses=[dict(type='ICLLoss'), dict(type='PMDLoss'), dict(type='TripletLoss')])
    cfg = Config(dict(model=model, train_cfg=dict(max_iters=2), work_dir='a', randomness=dict(seed=1)))
    assert config_components(cfg.model) == (['ICL', 'PMD'], ['ICLLoss', 'PMDLoss', 'TripletLoss'])
    other = Config(dict(model=model, train_cfg=dict(max_iters=2), work_dir='b', randomness=dict(seed=2)))
    assert config_hash(cfg) == config_hash(other)   # work dir and seed are not part of the config identity
    other.train_cfg.max_iters = 3
    assert config_hash(cfg) != config_hash(other)
    assert not is_zero_shot(cfg)
    assert is_zero_shot(Config(dict(model=model)))
    assert is_zero_shot(Config(dict(model=model, train_cfg=dict(max_iters=2), zero_shot=True)))


def test_seed_from_checkpoint_meta_and_outcome(tmp_path: Path) -> None:
    """``csa-bench test --out`` without --seed: the seed mmengine stored in the checkpoint's meta."""
    import torch
    from mmengine.config import Config

    from csa_bench.results import result_from_test
    ckpt = tmp_path / 'iter_2.pth'
    torch.save({'meta': {'seed': 7}, 'state_dict': {}}, ckpt)
    data_root = tmp_path / 'synthetic-movingfashion'
    (data_root / 'annotations').mkdir(parents=True)
    (data_root / 'test.json').write_text('[]')
    cfg = Config(dict(
        model=dict(type='X', losses=[dict(type='ICLLoss')]), train_cfg=dict(max_iters=2),
        train_dataloader=dict(dataset=dict(type='MovingFashionDataset', data_root=str(data_root))),
        test_dataloader=dict(dataset=dict(type='MovingFashionDataset', data_root=str(data_root))),
        test_evaluator=dict(type='RetrievalMetric', protocol='movingfashion-csa'), randomness=dict(seed=42)))
    outcome = SimpleNamespace(metrics={'R@1': 5.0}, config=cfg, test_time_s=1.0, num_params=3)
    record = result_from_test(outcome, config_path='configs/x/mf.py', checkpoint=ckpt, train_time_s=9.0)
    assert record['seed'] == 7 and record['dataset'] == 'synthetic-movingfashion'
    assert record['train_data'] == 'synthetic-movingfashion train' and record['annotations']['files'] == 1
    assert record['protocol_info']['gallery_scope'] == 'global'   # from the registered Protocol
    assert record['config'] == 'configs/x/mf.py' and record['num_params'] == 3
    del cfg.test_evaluator['protocol']
    with pytest.raises(ResultError, match="test_evaluator.protocol"):
        result_from_test(outcome, config_path='configs/x/mf.py', checkpoint=None)


def test_git_state_ignores_what_reproduce_writes(tmp_path: Path) -> None:
    """Result files written by earlier runs of one reproduce call leave the code 'clean'; code edits do not."""
    import subprocess

    from csa_bench.results import git_state

    def git(*args: str) -> None:
        subprocess.run(['git', *args], cwd=tmp_path, check=True, capture_output=True)

    git('init', '-q')
    (tmp_path / 'leaderboard' / 'results').mkdir(parents=True)
    (tmp_path / 'leaderboard' / 'results' / 'seed42.json').write_text('{}')
    (tmp_path / 'README.md').write_text('a')
    (tmp_path / 'code.py').write_text('x = 1')
    git('add', '.')
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'c')
    assert git_state(tmp_path)['dirty'] is False
    (tmp_path / 'leaderboard' / 'results' / 'seed42.json').write_text('{"R@1": 1}')
    (tmp_path / 'README.md').write_text('b')
    assert git_state(tmp_path)['dirty'] is False
    (tmp_path / 'code.py').write_text('x = 2')
    assert git_state(tmp_path)['dirty'] is True
