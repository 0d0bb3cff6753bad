"""Fault: SIGKILL mid-run. ``csa-bench train --resume`` ends bit-identical to an uninterrupted run.

The tiny ICL config on the synthetic LPR4M benchmark, 2 dataloader workers running the real
training pipeline (random frame sampling with tail cut, random crop, random flip).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from csa_bench.cli import main

from .conftest import TINY_ICL
from .toy import assert_same_weights, state_dict

pytestmark = pytest.mark.slow
OPTIONS = ['train_cfg.max_iters=8', 'train_cfg.val_begin=1000',   # no validation: weights only
           'default_hooks.checkpoint.interval=4', 'default_hooks.logger.interval=1',
           'train_dataloader.num_workers=2', 'global_batch_size=4']


def _env(data_root: Path) -> dict:
    return dict(os.environ, CSA_DATA_ROOT=str(data_root), OMP_NUM_THREADS='1')


def _victim(work_dir: Path, data_root: Path) -> subprocess.Popen:
    """The run that gets SIGKILLed: a real separate process."""
    return subprocess.Popen(
        [sys.executable, '-m', 'csa_bench', 'train', TINY_ICL, '--work-dir', str(work_dir),
         '--cfg-options', *OPTIONS],
        cwd=Path(__file__).resolve().parents[2], env=_env(data_root), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)


def _train_here(work_dir: Path, *extra: str) -> None:
    """The same CLI in this process (saves a ~10 s interpreter start per run).

    A unique experiment name: mmengine names loggers by timestamp, and two Runners started in the
    same second in one process would share one log file.
    """
    name = f'experiment_name={work_dir.name}_{time.monotonic_ns()}'
    argv = ['train', TINY_ICL, '--work-dir', str(work_dir), '--cfg-options', *OPTIONS, name, *extra]
    assert main(argv) == 0


def test_sigkill_then_resume_is_bit_identical(tmp_path, synthetic_root, monkeypatch) -> None:
    monkeypatch.setenv('CSA_DATA_ROOT', str(synthetic_root))
    killed_dir = tmp_path / 'killed'
    victim = _victim(killed_dir, synthetic_root)
    _train_here(tmp_path / 'full')   # the uninterrupted reference, while the victim starts up
    marker = killed_dir / 'last_checkpoint'
    deadline = time.monotonic() + 240
    while not (marker.is_file() and marker.read_text().endswith('iter_4.pth')):
        assert victim.poll() is None, victim.communicate()[0].decode()[-3000:]
        assert time.monotonic() < deadline, 'no iter_4 checkpoint within 240 s'
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    # The kill landed mid-run: the run had not reached its last checkpoint.
    assert not (killed_dir / 'iter_8.pth').exists()

    _train_here(killed_dir, '--resume')
    logs = ''.join(p.read_text() for p in killed_dir.glob('*/*.log'))
    assert 'Advance dataloader 4 steps' in logs   # mmengine replays the data position ...
    assert 'restored python/numpy/torch RNG states of iteration 4' in logs   # ... RNGStateHook the generators
    assert_same_weights(state_dict(tmp_path / 'full' / 'iter_8.pth'), state_dict(killed_dir / 'iter_8.pth'))
