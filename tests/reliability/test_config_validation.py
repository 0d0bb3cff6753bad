"""Fault: unknown keys / wrong types in method and dataset sections fail before any Runner, naming the key."""
from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config

from csa_bench.cli import main
from csa_bench.engine import api
from csa_bench.engine.validation import accepted_params, config_problems, type_matches

TINY = 'configs/rice/rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'


@pytest.fixture
def cfg(repo_root) -> Config:
    return Config.fromfile(str(repo_root / TINY))


# Base fragments are checked through the configs that use them.
REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)


@pytest.mark.parametrize('path', SHIPPED)
def test_every_shipped_config_is_valid(repo_root, path) -> None:
    """No false positives: the checker accepts every config the suite ships."""
    assert config_problems(Config.fromfile(str(repo_root / path))) == []


def test_unknown_key_in_a_loss_names_path_and_valid_keys(cfg) -> None:
    cfg.model.losses[0].num_heads = 8
    (problem,) = config_problems(cfg)
    assert problem.startswith('model.losses[0].num_heads: unknown key for ICLLoss; valid keys: ')
    assert 'loss_weight' in problem and 'scale_init' in problem


def test_wrong_types_are_reported_with_expected_type(cfg) -> None:
    cfg.model.losses[0].loss_weight = '1.0'
    cfg.model.encoder.arch = 5
    cfg.train_dataloader.dataset.on_bad_sample = True
    problems = config_problems(cfg)
    assert "model.losses[0].loss_weight: expected float for ICLLoss, got str '1.0'" in problems
    assert any(p.startswith('model.encoder.arch: expected str') for p in problems)
    assert any(p.startswith('train_dataloader.dataset.on_bad_sample: expected str') for p in problems)


def test_dataset_pipeline_and_hook_sections_are_checked(cfg) -> None:
    cfg.train_dataloader.dataset.pipeline[0].bogus = 1
    cfg.test_dataloader.dataset.splt = 'test'
    cfg.default_hooks.nonfinite_loss.action = 3
    problems = config_problems(cfg)
    assert any(p.startswith('train_dataloader.dataset.pipeline[0].bogus: unknown key') for p in problems)
    assert any(p.startswith('test_dataloader.dataset.splt: unknown key') for p in problems)
    assert any(p.startswith('default_hooks.nonfinite_loss.action: expected str') for p in problems)


def test_unregistered_type_at_a_section_root(cfg) -> None:
    cfg.model.type = 'NoSuchRetriever'
    assert config_problems(cfg) == ["model.type: 'NoSuchRetriever' is not registered in the model registry; "
                                    '`csa-bench list` shows every registered name']


def test_kwargs_forwarded_to_super_extend_valid_keys() -> None:
    from csa_bench.registry import DATASETS, MODELS
    params, is_open = accepted_params(DATASETS.get('LPR4MDataset'))
    assert not is_open and {'on_bad_sample', 'serialize_data', 'layout'} <= set(params)
    _, timm_open = accepted_params(MODELS.get('TimmEncoder'))   # **kwargs go to timm.create_model
    assert timm_open


@pytest.mark.parametrize(('value', 'annotation', 'expected'), [
    (3, int, True), (True, int, False), (3.5, int, False), (3, float, True), ('a', float, False),
    (None, int | None, True), ('x', int | None, False), ([1], list[int], True), ((1, 2), list, True),
    ({'type': 'X'}, dict, True), ('v2', str, True), (object(), 'unknown', None),
])
def test_type_matches(value, annotation, expected) -> None:
    assert type_matches(value, annotation) is expected


def test_api_train_raises_config_error_before_building_a_runner(repo_root, tmp_path, monkeypatch) -> None:
    built = []
    monkeypatch.setattr(api.CheckedRunner, 'from_cfg', classmethod(lambda cls, c: built.append(c)))
    with pytest.raises(api.ConfigError, match=r'model\.losses\[0\]\.num_heads: unknown key for ICLLoss'):
        api.train(repo_root / TINY, work_dir=str(tmp_path), cfg_options={'model.losses.0.num_heads': 8})
    with pytest.raises(api.ConfigError, match=r'model\.pooling\.norm_first: expected bool'):
        api.test(repo_root / TINY, work_dir=str(tmp_path), cfg_options={'model.pooling.norm_first': 'no'})
    assert built == []


def test_cli_prints_one_line(repo_root, tmp_path, capsys) -> None:
    code = main(['train', str(repo_root / TINY), '--work-dir', str(tmp_path),
                 '--cfg-options', 'model.losses.0.num_heads=8'])
    err = capsys.readouterr().err
    text = ' '.join(err.split())   # rich wraps one long line at the terminal width
    assert code == 2
    assert text.startswith('error: ') and text.count('error:') == 1 and 'Traceback' not in err
    assert 'model.losses[0].num_heads: unknown key for ICLLoss' in text
