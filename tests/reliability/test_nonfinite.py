"""Fault: a NaN / inf loss term. Raise names iteration and term before the step; skip leaves the weights."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from mmengine.hooks import Hook

from csa_bench.engine.checkpoint import NonFiniteWeightsError
from csa_bench.engine.hooks import NonFiniteLossError, NonFiniteLossHook, nonfinite_terms

from .toy import ToyModel, assert_same_weights, make_runner, state_dict


class _Snapshot(Hook):
    """Keeps the weights and optimizer state around one iteration (1-based ``at``)."""

    priority = 'LOWEST'

    def __init__(self, at: int) -> None:
        self.at, self.before, self.after = at, None, None

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter + 1 == self.at:
            self.before = copy.deepcopy((runner.model.state_dict(), runner.optim_wrapper.state_dict()))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at:
            self.after = copy.deepcopy((runner.model.state_dict(), runner.optim_wrapper.state_dict()))
            self.outputs = dict(outputs)


def test_nonfinite_terms_picks_loss_keys_only() -> None:
    losses = {'loss_a': torch.tensor(1.0), 'loss_b': torch.tensor(math.inf), 'acc': torch.tensor(math.nan),
              'loss_list': [torch.tensor(1.0), torch.tensor(math.nan)]}
    bad = nonfinite_terms(losses)
    assert set(bad) == {'loss_b', 'loss_list'}


@pytest.mark.parametrize('value', [math.nan, math.inf])
def test_raise_names_iteration_and_term_and_keeps_last_good_checkpoint(tmp_path, value) -> None:
    runner = make_runner(tmp_path, max_iters=8, interval=2, model=ToyModel(poison={5: ('loss_b', value)}))
    expected = r'iteration 5/8: non-finite loss \(loss_b=(nan|inf)\)'
    with pytest.raises(NonFiniteLossError, match=expected) as info:
        runner.train()
    assert 'iter_4.pth' in str(info.value)   # names the last good checkpoint
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == ['iter_2.pth', 'iter_4.pth']
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_4.pth')
    # Raised before update_params: the model still holds finite weights of step 4.
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    assert_same_weights(state_dict(tmp_path / 'iter_4.pth'), runner.model.state_dict())


def test_skip_leaves_weights_and_optimizer_untouched(tmp_path) -> None:
    snap = _Snapshot(at=3)
    runner = make_runner(tmp_path, max_iters=6, interval=3, model=ToyModel(poison={3: ('loss_a', math.nan)}),
                         hooks=[snap])
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteLossHook))
    hook.action = 'skip'
    runner.train()
    assert hook.skipped == [3]
    assert_same_weights(snap.before[0], snap.after[0])
    before_opt, after_opt = snap.before[1]['state'], snap.after[1]['state']
    for key in before_opt:   # AdamW moments and step counts unchanged by the skipped step
        for name, tensor in before_opt[key].items():
            assert torch.equal(tensor, after_opt[key][name]), name
    assert 'loss_a' not in snap.outputs and snap.outputs['nonfinite_skips'] == 1.0
    final = state_dict(tmp_path / 'iter_6.pth')
    assert all(torch.isfinite(t).all() for t in final.values())
    assert 'parse_losses' not in vars(runner.model)   # the guard is removed after training


def test_skip_gives_up_after_consecutive_nonfinite_steps(tmp_path) -> None:
    poison = {i: ('loss_b', math.nan) for i in range(2, 9)}
    runner = make_runner(tmp_path, max_iters=8, interval=100, model=ToyModel(poison=poison))
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteLossHook))
    hook.action, hook.max_consecutive_skips = 'skip', 3
    with pytest.raises(NonFiniteLossError, match='iteration 4/8.*3 consecutive steps skipped'):
        runner.train()


def test_checkpoint_of_nonfinite_weights_is_refused(tmp_path) -> None:
    class _Corrupt(Hook):   # a NaN reaching the weights by another route (e.g. an inf gradient)
        priority = 'NORMAL'

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            if runner.iter + 1 == 4:
                with torch.no_grad():
                    runner.model.linear.weight[0, 0] = math.nan

    runner = make_runner(tmp_path, max_iters=6, interval=2, hooks=[_Corrupt()])
    with pytest.raises(NonFiniteWeightsError, match=r"step 4: parameter/buffer 'linear.weight'.*iter_2.pth"):
        runner.train()
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == ['iter_2.pth']
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_2.pth')


def test_invalid_action_is_rejected() -> None:
    with pytest.raises(ValueError, match="one of \\('raise', 'skip'\\)"):
        NonFiniteLossHook(action='ignore')


def test_cli_diverging_icl_stops_naming_iteration_and_term(tmp_path, synthetic_root, monkeypatch,
                                                           capsys) -> None:
    """The real retriever: sigma = 1e30 overflows the ICL logits (sigma^2 * cos) to inf -> NaN loss."""
    from csa_bench.cli import main

    from .conftest import TINY_ICL

    monkeypatch.setenv('CSA_DATA_ROOT', str(synthetic_root))
    code = main(['train', TINY_ICL, '--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_iters=4',
                 'global_batch_size=4', 'model.losses.0.scale_init=1e30'])
    err = capsys.readouterr().err
    text = ' '.join(err.split())
    assert code == 2 and 'Traceback' not in err and text.count('error:') == 1
    assert 'error: iteration 1/4: non-finite loss (loss_icl=nan)' in text
    assert not list(tmp_path.glob('iter_*.pth'))
