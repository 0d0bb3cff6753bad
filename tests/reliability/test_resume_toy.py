"""Exact resume on the toy set-up: dropout (main-process torch RNG) + random augmentation in 2 workers."""
from __future__ import annotations

import pytest
from mmengine.hooks import Hook

from .toy import assert_same_weights, make_runner, state_dict, train


class _Crash(Hook):
    """Dies right after the checkpoint of iteration ``at`` is written (CheckpointHook runs before)."""

    priority = 'LOWEST'

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at:
            raise KeyboardInterrupt(f'simulated crash after iteration {self.at}')


def _interrupted_then_resumed(work_dir, *, rng_hook: bool) -> dict:
    first = make_runner(work_dir, max_iters=12, interval=4, num_workers=2, hooks=[_Crash(at=9)])
    with pytest.raises(KeyboardInterrupt):
        train(first)
    assert (work_dir / 'last_checkpoint').read_text().endswith('iter_8.pth')
    second = make_runner(work_dir, max_iters=12, interval=4, num_workers=2, resume=True)
    if not rng_hook:
        second._hooks = [h for h in second._hooks if type(h).__name__ != 'RNGStateHook']
    train(second)
    return state_dict(work_dir / 'iter_12.pth')


@pytest.fixture(scope='module')
def reference(tmp_path_factory) -> dict:
    """Final weights of the uninterrupted run."""
    work_dir = tmp_path_factory.mktemp('full')
    train(make_runner(work_dir, max_iters=12, interval=4, num_workers=2))
    return state_dict(work_dir / 'iter_12.pth')


def test_resume_is_bit_identical_with_workers(tmp_path, reference) -> None:
    assert_same_weights(reference, _interrupted_then_resumed(tmp_path / 'resumed', rng_hook=True))


def test_without_rng_restore_resume_diverges(tmp_path, reference) -> None:
    """The control: mmengine alone re-seeds on resume, so dropout masks differ after iteration 8."""
    resumed = _interrupted_then_resumed(tmp_path / 'resumed', rng_hook=False)
    assert any(not (reference[k] == resumed[k]).all() for k in reference)


@pytest.mark.parametrize('isolated', [True, False])
def test_validation_does_not_move_the_training_generators(tmp_path, reference, isolated, monkeypatch) -> None:
    """Validating every 4 iterations (each run draws a DataLoader seed from the global torch RNG) leaves
    the dropout masks of training unchanged; the control without RNGStateHook's isolation diverges."""
    from csa_bench.engine.hooks import RNGStateHook

    if not isolated:
        monkeypatch.setattr(RNGStateHook, 'before_val', lambda self, runner: None)
    validated = make_runner(tmp_path / 'val', max_iters=12, interval=4, num_workers=2, val_interval=4)
    train(validated)
    weights = state_dict(tmp_path / 'val' / 'iter_12.pth')
    if isolated:
        assert_same_weights(reference, weights)
    else:
        assert any(not (reference[k] == weights[k]).all() for k in reference)
