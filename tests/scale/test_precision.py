"""Mixed precision: CPU bf16 autocast for real on CPU; fp16/bf16 AmpOptimWrapper on a GPU when present."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from csa_bench.cli import main
from csa_bench.engine import api
from csa_bench.engine.precision import CPUAutocastOptimWrapper, PrecisionError, configure_amp

REPO = Path(__file__).resolve().parents[2]
ITERS = 3

CONFIG = '''
_base_ = ['{repo}/configs/_base_/default_runtime.py',
          '{repo}/configs/_base_/models/rice-icl-pmd_clipvit-tiny.py',
          '{repo}/configs/_base_/datasets/synthetic_lpr4m.py']
data_root = '{data}'
global_batch_size = 4
train_dataloader = dict(batch_size=None, dataset=dict(data_root=data_root))
test_dataloader = None
test_evaluator = None
val_dataloader = None
val_cfg = None
val_evaluator = None
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))
train_cfg = dict(type='IterBasedTrainLoop', max_iters={iters})
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(by_epoch=False, interval={iters}))
log_processor = dict(by_epoch=False, window_size=1)
'''


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory) -> Path:
    from plugins.datasets.synthetic import write_lpr4m

    tmp = tmp_path_factory.mktemp('amp')
    write_lpr4m(tmp / 'data', seed=0, size='tiny')
    config = tmp / 'rice_amp.py'
    config.write_text(CONFIG.format(repo=REPO, data=tmp / 'data', iters=ITERS))
    return config


def _train_losses(work_dir: Path) -> list[float]:
    (scalars,) = work_dir.glob('*/vis_data/scalars.json')
    return [json.loads(line)['loss'] for line in scalars.read_text().splitlines() if 'loss' in line]


def test_cpu_wrapper_runs_the_forward_under_bf16_autocast() -> None:
    model = torch.nn.Linear(4, 4)
    wrapper = CPUAutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu') and torch.get_autocast_dtype('cpu') == torch.bfloat16
        out = model(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16 and model.weight.dtype == torch.float32  # weights stay fp32
    with pytest.raises(PrecisionError, match='bfloat16 only'):
        CPUAutocastOptimWrapper(dtype='float16', optimizer=torch.optim.SGD(model.parameters(), lr=0.1))


@pytest.mark.parametrize(('dtype', 'cuda', 'expected'), [
    ('bfloat16', False, 'CPUAutocastOptimWrapper'),
    ('float16', True, 'AmpOptimWrapper'),
    (None, True, 'AmpOptimWrapper'),
])
def test_configure_amp_picks_the_wrapper_for_the_host(dtype, cuda, expected, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: True)
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    assert configure_amp(cfg, dtype, cuda=cuda) == expected
    assert cfg.optim_wrapper.type == expected
    assert cfg.optim_wrapper.dtype == (dtype or 'float16')
    assert ('loss_scale' in cfg.optim_wrapper) == cuda


def test_fp16_without_cuda_is_refused() -> None:
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))))
    with pytest.raises(PrecisionError, match='use --amp-dtype bfloat16'):
        configure_amp(cfg, 'float16', cuda=False)
    with pytest.raises(PrecisionError, match='use --amp-dtype bfloat16'):
        configure_amp(cfg, None, cuda=False)


def test_amp_dtype_without_amp_is_one_line(capsys, tiny_config, tmp_path) -> None:
    assert main(['train', str(tiny_config), '--amp-dtype', 'bfloat16', '--work-dir', str(tmp_path)]) == 2
    assert '--amp-dtype needs --amp' in capsys.readouterr().err


def test_cpu_bf16_training_has_finite_losses(tiny_config, tmp_path) -> None:
    outcome = api.train(tiny_config, work_dir=str(tmp_path / 'bf16'), amp=True, amp_dtype='bfloat16')
    wrapper = outcome.config.optim_wrapper.type
    assert wrapper == ('AmpOptimWrapper' if torch.cuda.is_available() else 'CPUAutocastOptimWrapper')
    losses = _train_losses(tmp_path / 'bf16')
    assert len(losses) == ITERS and all(math.isfinite(x) for x in losses)
    assert outcome.checkpoint and Path(outcome.checkpoint).is_file()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='AmpOptimWrapper needs CUDA')
@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_gpu_amp_training_has_finite_losses(dtype, tiny_config, tmp_path) -> None:
    if dtype == 'bfloat16' and not torch.cuda.is_bf16_supported():
        pytest.skip('this GPU has no bfloat16')
    outcome = api.train(tiny_config, work_dir=str(tmp_path / dtype), amp=True, amp_dtype=dtype)
    assert outcome.config.optim_wrapper.type == 'AmpOptimWrapper'
    assert outcome.config.optim_wrapper.dtype == dtype
    losses = _train_losses(tmp_path / dtype)
    assert len(losses) == ITERS and all(math.isfinite(x) for x in losses)


def test_plain_optim_wrapper_is_untouched_without_amp(tiny_config) -> None:
    cfg = api.load_config(tiny_config)
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert issubclass(CPUAutocastOptimWrapper, OptimWrapper)
