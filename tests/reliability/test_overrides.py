"""--cfg-options that cannot silently mislead: unknown keys at any depth, file variables, list indices,
the schedule following train_cfg.max_iters, recorded overrides, and a config identity that ignores
where the data and weights live."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from csa_bench.cli import main
from csa_bench.engine import api
from csa_bench.engine.overrides import RUNTIME_KEYS, runner_keys
from csa_bench.identity import config_hash, overrides_tag, result_overrides

TINY = 'configs/rice/rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'
B32 = 'configs/rice/rice-icl_clipvit-b32_10f_4xb24-5k_lpr4m.py'   # references $CSA_PRETRAINED too


@pytest.fixture(autouse=True)
def _in_repo(repo_root, monkeypatch) -> None:
    monkeypatch.chdir(repo_root)


@pytest.mark.parametrize('options, message', [
    ({'trian_cfg.max_iters': 5}, r"trian_cfg\.max_iters: unknown top-level key 'trian_cfg'; did you mean 'train_cfg'"),
    ({'train_cfg.max_itrs': 5}, r"train_cfg\.max_itrs: unknown key for IterBasedTrainLoop; did you mean "
                                r"'max_iters'"),
    ({'model.encoder.archh': 'tiny'}, r"model\.encoder\.archh: unknown key for CLIPViTEncoder; did you mean "
                                      r"'arch'"),
    ({'model.losses.3.loss_weight': 1.0}, r'model\.losses\.3: model\.losses is a list of 1; use an index 0\.\.0'),
    ({'optim_wrapper.optimizer.lrr': 1.0}, r"optim_wrapper\.optimizer\.lrr: unknown key for AdamW; did you "
                                           r"mean 'lr'"),
    ({'default_hooks.loger.interval': 1}, r"default_hooks\.loger: unknown key; did you mean 'logger'"),
    ({'max_iters': 5}, r'max_iters: a variable of the config file.*override train_cfg\.max_iters instead'),
    ({'batch_size': 4}, r'batch_size: a variable of the config file.*train_dataloader\.batch_size'),
    ({'model.type.x': 1}, r"model\.type\.x: model\.type is 'RICERetriever', not a dict"),
])
def test_unknown_or_ignored_keys_are_refused_before_building(options, message, monkeypatch) -> None:
    built = []
    monkeypatch.setattr(api.CheckedRunner, 'from_cfg', classmethod(lambda cls, c: built.append(c)))
    with pytest.raises(api.ConfigError, match=message) as info:
        api.train(TINY, work_dir='unused', cfg_options=options)
    assert str(info.value).startswith(f'{TINY}: --cfg-options: ') and '\n' not in str(info.value)
    assert built == []


def test_keys_a_component_accepts_or_the_runner_reads_are_allowed() -> None:
    cfg = api.load_config(TINY, {
        'model.encoder.img_size': 32,               # absent from the config, a CLIPViTEncoder argument
        'model.skip_padded_frames': True,           # absent, a RICERetriever argument
        'auto_scale_lr.base_batch_size': 16,        # absent top-level key the Runner reads
        'model.losses.0.loss_weight': 0.5, 'global_batch_size': 8})
    assert cfg.model.encoder.img_size == 32 and cfg.model.skip_padded_frames is True
    assert cfg.auto_scale_lr == {'base_batch_size': 16} and cfg.model.losses[0].loss_weight == 0.5


def test_a_new_named_component_needs_its_type() -> None:
    cfg = api.load_config(TINY, {'default_hooks.extra.type': 'RNGStateHook', 'default_hooks.extra.priority': 'LOW'})
    assert cfg.default_hooks.extra == {'type': 'RNGStateHook', 'priority': 'LOW'}
    with pytest.raises(api.ConfigError, match='default_hooks.extra: unknown key'):
        api.load_config(TINY, {'default_hooks.extra.priority': 'LOW'})   # no type: a typo, not a new hook


def test_runtime_keys_cover_the_runner_arguments() -> None:
    assert runner_keys() <= RUNTIME_KEYS


@pytest.mark.parametrize('argv', [['trian_cfg.max_iters=5'], ['train_cfg.max_itrs=5']])
def test_cli_gives_one_line_and_status_2(argv, tmp_path, capsys) -> None:
    code = main(['train', TINY, '--work-dir', str(tmp_path), '--cfg-options', *argv])
    err = capsys.readouterr().err
    text = ' '.join(err.split())
    assert code == 2 and 'Traceback' not in err and text.count('error:') == 1
    assert argv[0].split('=')[0] in text and 'did you mean' in text
    assert not any(tmp_path.iterdir())   # nothing was built or written


def _lrs(cfg, steps: int) -> list[float]:
    """The lr of each iteration under the config's param_scheduler (mmengine schedulers, one param)."""
    from mmengine.optim import OptimWrapper
    from mmengine.registry import PARAM_SCHEDULERS

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    wrapper = OptimWrapper(optimizer)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper)) for s in cfg.param_scheduler]
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]['lr'])
        for scheduler in schedulers:
            scheduler.step()
    return lrs


def test_schedule_follows_max_iters() -> None:
    cfg = api.load_config(TINY, {'train_cfg.max_iters': 200})
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 20)                         # 10% warmup, as the file's 101/1000
    assert (cosine.begin, cosine.end, cosine.T_max) == (20, 200, 180)    # cosine to the new last iteration
    assert cfg.train_cfg.val_interval == 200 and cfg.max_iters == 200
    assert cfg.cfg_options == {'train_cfg.max_iters': 200}
    lrs = _lrs(cfg, 200)
    # The lr warms up, peaks, and decays to ~0 by the last iteration (before: it never decayed).
    assert max(lrs) == pytest.approx(1.0, abs=1e-3) and lrs[-1] < 1e-3 and lrs[100] < 0.8


def test_schedule_of_a_two_iteration_smoke_run_stays_valid() -> None:
    cfg = api.load_config(TINY, {'train_cfg.max_iters': 2})
    assert [(s.begin, s.end) for s in cfg.param_scheduler] == [(0, 1), (0, 2)]
    assert all(math.isfinite(lr) for lr in _lrs(cfg, 2))


def test_explicit_schedule_keys_win() -> None:
    cfg = api.load_config(TINY, {'train_cfg.max_iters': 200, 'param_scheduler.0.end': 5,
                                 'train_cfg.val_interval': 7})
    assert cfg.param_scheduler[0].end == 5 and cfg.param_scheduler[1].end == 200
    assert cfg.train_cfg.val_interval == 7


def test_epoch_based_scheduler_cannot_follow(tmp_path: Path) -> None:
    config = tmp_path / 'epochs.py'
    config.write_text(f"_base_ = ['{Path(TINY).resolve()}']\n"
                      "param_scheduler = [dict(type='MultiStepLR', milestones=[3], by_epoch=True)]\n")
    with pytest.raises(api.ConfigError, match=r'param_scheduler\.0 \(MultiStepLR\) counts epochs'):
        api.load_config(config, {'train_cfg.max_iters': 50})
    api.load_config(config)   # without the override nothing has to be derived


def test_data_root_and_pretrained_dir_do_not_change_the_hash(monkeypatch, tmp_path) -> None:
    hashes = []
    for root, weights in (('data', 'pretrained'), (str(tmp_path / 'a'), '/opt/w'), (str(tmp_path) + '/b/', 'w/')):
        monkeypatch.setenv('CSA_DATA_ROOT', root)
        monkeypatch.setenv('CSA_PRETRAINED', weights)
        cfg = api.load_config(B32)
        assert cfg.test_dataloader.dataset.data_root.startswith(root.rstrip('/'))
        hashes.append(config_hash(cfg))
    monkeypatch.delenv('CSA_DATA_ROOT')
    monkeypatch.delenv('CSA_PRETRAINED')
    hashes.append(config_hash(api.load_config(B32)))   # unset: the file's defaults
    assert len(set(hashes)) == 1
    # What changes results changes the hash; logging and the seed do not.
    changed = api.load_config(B32, {'optim_wrapper.optimizer.lr': 1e-5})
    assert config_hash(changed) != hashes[0]
    moved = api.load_config(B32, {'test_dataloader.dataset.data_root': '/other/lpr4m'})
    assert config_hash(moved) != hashes[0]   # an explicit path is not the env prefix: it is identity
    neutral = api.load_config(B32, {'default_hooks.logger.interval': 1, 'randomness.seed': 3})
    assert config_hash(neutral) == hashes[0]


@pytest.mark.parametrize('config', ['configs/baselines/timesformer/timesformer_vit-b16_10f_4xb24-5k_lpr4m.py',
                                    'configs/baselines/nvan/nvan_resnet50_10f_4xb24-5k_movingfashion.py',
                                    TINY])
def test_hash_stable_across_machines(config, monkeypatch) -> None:
    monkeypatch.delenv('CSA_DATA_ROOT', raising=False)
    monkeypatch.delenv('CSA_PRETRAINED', raising=False)
    here = config_hash(api.load_config(config))
    monkeypatch.setenv('CSA_DATA_ROOT', '/mnt/datasets/')
    monkeypatch.setenv('CSA_PRETRAINED', '/opt/weights')
    assert config_hash(api.load_config(config)) == here


@pytest.mark.slow
def test_python_m_cli_one_line(tmp_path) -> None:
    """The reproduction as a user types it: a misspelt nested key through ``python -m csa_bench``."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, '-m', 'csa_bench', 'train', TINY, '--work-dir', str(tmp_path / 'w'),
                           '--cfg-options', 'train_cfg.max_itrs=5'], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and 'Traceback' not in done.stderr
    text = ' '.join(done.stderr.split())
    assert text.startswith('error: ') and "train_cfg.max_itrs: unknown key for IterBasedTrainLoop; did you mean " \
        "'max_iters'?" in text
    assert not (tmp_path / 'w').exists()


def test_override_identity_helpers() -> None:
    options = {'randomness.seed': 43, 'train_cfg.max_iters': 200, 'default_hooks.checkpoint.interval': 2,
               'model.encoder.frozen_stem': (1, 2)}
    assert result_overrides(options) == {'model.encoder.frozen_stem': [1, 2], 'train_cfg.max_iters': 200}
    assert overrides_tag({'randomness.seed': 1}) == '' and overrides_tag(options).startswith('@')
    assert overrides_tag(options) == overrides_tag(dict(reversed(options.items())))


def test_test_out_records_the_overrides(use_synthetic_data) -> None:
    from types import SimpleNamespace

    from csa_bench.results import result_from_test
    cfg = api.load_config(TINY, {'train_cfg.max_iters': 200, 'default_hooks.logger.interval': 5})
    outcome = SimpleNamespace(metrics={'R@1': 5.0}, config=cfg, test_time_s=1.0, num_params=3)
    record = result_from_test(outcome, config_path=TINY, checkpoint=None, seed=42)
    assert record['cfg_options'] == {'train_cfg.max_iters': 200, 'default_hooks.logger.interval': 5}


def test_pretrained_weights_are_identified_by_content(monkeypatch, tmp_path) -> None:
    """The weights folder is not identity (hash); the weight file's bytes are (result field)."""
    from csa_bench.results import pretrained_files
    monkeypatch.setenv('CSA_PRETRAINED', str(tmp_path))
    assert pretrained_files(api.load_config(B32)) == {'{{$CSA_PRETRAINED}}/ViT-B-32.pt': None}   # absent
    (tmp_path / 'ViT-B-32.pt').write_bytes(b'weights v1')
    first = pretrained_files(api.load_config(B32))
    (tmp_path / 'ViT-B-32.pt').write_bytes(b'weights v2')
    second = pretrained_files(api.load_config(B32))
    assert first.keys() == second.keys() and first != second
    assert pretrained_files(api.load_config(TINY)) == {}   # the synthetic rows train from scratch
