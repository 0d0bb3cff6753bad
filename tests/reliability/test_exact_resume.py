"""Fault: SIGKILL right after a checkpoint, then ``csa-bench train --resume``.

Expected: the resumed run ends with bit-identical weights (``torch.equal`` on every tensor) to an
uninterrupted run, for ``num_workers`` 0 (as the synthetic configs ship) and 2 (the only override of
a loader setting: no shipped synthetic config uses workers), with in-training validation on
(validation at iterations 2, 4, 6: before the checkpoint, right after it, at the end) and off.
The shipped tiny ICL config with its real training pipeline (random frame sampling, crop, flip)
and its own batch size; only the schedule is shortened (6 iterations, a checkpoint every 3).

The victims are separate processes that a test-only hook (``sigkill_hook.py``) SIGKILLs right after
iteration 3's checkpoint is written; they run in parallel while the references train here.
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
REPO = Path(__file__).resolve().parents[2]
SCHEDULE = ['train_cfg.max_iters=6', 'default_hooks.checkpoint.interval=3', 'default_hooks.logger.interval=1']
VALIDATION = {'val': ['train_cfg.val_interval=2'], 'noval': ['train_cfg.val_begin=1000']}
WORKERS = {0: [], 2: ['train_dataloader.num_workers=2']}
KILL = ['default_hooks.sigkill.type=SigkillAfterCheckpointHook', 'default_hooks.sigkill.at=3']
# The victim: the CLI's main() in a fresh interpreter that first registers the test-only hook.
VICTIM = ('import sys; import tests.reliability.sigkill_hook; from csa_bench.cli import main; '
          'sys.exit(main(sys.argv[1:]))')
CASES = [(w, v) for w in WORKERS for v in VALIDATION]


def _options(workers: int, validation: str) -> list[str]:
    return [*SCHEDULE, *VALIDATION[validation], *WORKERS[workers]]


def _argv(work_dir: Path, options: list[str], *extra: str) -> list[str]:
    # A unique experiment name: mmengine names loggers by timestamp (two Runners in one second share one).
    name = f'experiment_name={work_dir.name}_{time.monotonic_ns()}'
    return ['train', TINY_ICL, '--work-dir', str(work_dir), '--cfg-options', *options, name, *extra]


@pytest.fixture(scope='module')
def runs(tmp_path_factory, synthetic_root) -> dict:
    """``{(workers, validation): (uninterrupted work dir, killed-then-resumed work dir)}``."""
    root = tmp_path_factory.mktemp('exact_resume')
    env = dict(os.environ, CSA_DATA_ROOT=str(synthetic_root), OMP_NUM_THREADS='1')
    victims = {}
    for case in CASES:
        work_dir = root / f'killed_w{case[0]}_{case[1]}'
        with open(root / f'victim_w{case[0]}_{case[1]}.out', 'wb') as out:   # a file: a pipe could fill up
            victims[case] = subprocess.Popen(   # its own session: the hook kills its whole process group
                [sys.executable, '-c', VICTIM, *_argv(work_dir, [*_options(*case), *KILL])],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    previous = os.environ.get('CSA_DATA_ROOT')
    os.environ['CSA_DATA_ROOT'] = str(synthetic_root)
    try:
        for case in CASES:   # the uninterrupted references, while the victims run
            assert main(_argv(root / f'full_w{case[0]}_{case[1]}', _options(*case))) == 0
        for case, victim in victims.items():
            victim.wait(timeout=300)
            output = (root / f'victim_w{case[0]}_{case[1]}.out').read_text(errors='replace')
            assert victim.returncode == -signal.SIGKILL, output[-3000:]
            killed = root / f'killed_w{case[0]}_{case[1]}'
            assert (killed / 'last_checkpoint').read_text() == 'iter_3.pth'
            assert not (killed / 'iter_6.pth').exists()
            assert main(_argv(killed, _options(*case), '--resume')) == 0
    finally:
        for victim in victims.values():
            if victim.poll() is None:   # a victim that never reached its kill: stop it and its workers
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait()
        if previous is None:
            os.environ.pop('CSA_DATA_ROOT', None)
        else:
            os.environ['CSA_DATA_ROOT'] = previous
    return {case: (root / f'full_w{case[0]}_{case[1]}', root / f'killed_w{case[0]}_{case[1]}') for case in CASES}


@pytest.mark.parametrize(('workers', 'validation'), CASES)
def test_sigkill_then_resume_is_bit_identical(runs, workers, validation) -> None:
    full, killed = runs[(workers, validation)]
    logs = ''.join(p.read_text() for p in killed.glob('*/*.log'))
    assert 'Advance dataloader 3 steps' in logs   # mmengine replays the data position ...
    assert 'restored python/numpy/torch RNG states of iteration 3' in logs   # ... then the generators
    if validation == 'val':
        assert logs.count('Iter(val)') >= 2   # validation ran in the resumed part (iterations 4 and 6)
    assert_same_weights(state_dict(full / 'iter_6.pth'), state_dict(killed / 'iter_6.pth'))


@pytest.mark.parametrize('workers', list(WORKERS))
def test_validation_does_not_move_training(runs, workers) -> None:
    """In-training validation leaves the training generators alone: the same weights with and without it."""
    assert_same_weights(state_dict(runs[(workers, 'val')][0] / 'iter_6.pth'),
                        state_dict(runs[(workers, 'noval')][0] / 'iter_6.pth'))
