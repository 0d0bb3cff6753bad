"""A seconds-sized mmengine training set-up for fault injection: toy model, random-augmenting dataset.

The model has dropout and the dataset draws from python ``random``, numpy and torch in every
``__getitem__`` (random augmentation in the dataloader workers), so exact resume is only possible
when every RNG stream and the data position are restored.
"""
from __future__ import annotations

import random
import uuid
from pathlib import Path

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset


class NoisyDataset(Dataset):
    """``n`` fixed vectors, each returned with fresh random noise from all three generators."""

    def __init__(self, n: int = 16, dim: int = 4) -> None:
        self.base = torch.linspace(-1, 1, n * dim).view(n, dim)
        self.metainfo = {'name': 'noisy'}

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, idx: int) -> dict:
        noise = (random.random() + float(np.random.rand()) + torch.rand(1).item()) * 0.01
        return {'inputs': self.base[idx] + noise, 'data_samples': {'idx': idx}}


class ToyModel(BaseModel):
    """Linear model with dropout and two loss terms; ``poison`` makes one term non-finite.

    Args:
        poison: ``{forward_call_index (1-based): (term, value)}``: e.g. ``{5: ('loss_b', nan)}``.
    """

    def __init__(self, poison: dict[int, tuple[str, float]] | None = None) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        # Built before the Runner seeds: initialise from a private generator so every run starts equal.
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            self.linear.weight.copy_(torch.randn(4, 4, generator=generator) * 0.5)
            self.linear.bias.zero_()
        self.dropout = nn.Dropout(0.5)
        self.poison = dict(poison or {})
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        x = self.dropout(self.linear(torch.stack(list(inputs))))
        if mode != 'loss':
            return x
        self.calls += 1
        losses = {'loss_a': (x ** 2).mean(), 'loss_b': x.abs().mean() * 0.1}
        if self.calls in self.poison:
            term, value = self.poison[self.calls]
            losses[term] = losses[term] * value
        return losses


class CountMetric(BaseMetric):
    """A metric that only counts the validation samples (validation runs, nothing is judged)."""

    def process(self, data_batch, data_samples) -> None:
        self.results.append(len(data_samples))

    def compute_metrics(self, results: list) -> dict:
        return {'samples': float(sum(results))}


def make_runner(work_dir: Path, *, max_iters: int = 8, interval: int = 2, model: nn.Module | None = None,
                num_workers: int = 0, hooks: list | None = None, resume: bool = False,
                max_keep_ckpts: int = -1, seed: int = 0, val_interval: int | None = None) -> Runner:
    """A Runner with the reliability hooks of ``configs/_base_/default_runtime.py``.

    ``val_interval``: validate every that many iterations (on ``NoisyDataset``), else never.
    """
    validation = {} if val_interval is None else dict(
        val_dataloader=dict(dataset=NoisyDataset(8), sampler=dict(type='DefaultSampler', shuffle=False),
                            batch_size=4, num_workers=0, collate_fn=dict(type='pseudo_collate')),
        val_cfg=dict(), val_evaluator=[CountMetric()])
    return Runner(
        model=model if model is not None else ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'toy_{uuid.uuid4().hex[:8]}',   # one logger per Runner in one process
        train_dataloader=dict(dataset=NoisyDataset(), sampler=dict(type='InfiniteSampler', shuffle=True),
                              batch_size=4, num_workers=num_workers, persistent_workers=False,
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=val_interval or 10 ** 6),
        **validation,
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.05, weight_decay=0.01)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=max_iters)],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=interval,
                            max_keep_ckpts=max_keep_ckpts),
            nonfinite_loss=dict(type='NonFiniteLossHook', action='raise'),
            rng_state=dict(type='RNGStateHook')),
        custom_hooks=hooks or [],
        default_scope='csa_bench',
        randomness=dict(seed=seed),
        resume=resume,
        env_cfg=dict(mp_cfg=dict(mp_start_method='fork')),
        log_level='WARNING',
    )


def train(runner: Runner) -> None:
    """``runner.train()``, then stop its dataloader workers at once (even when training raised).

    A killed process takes its workers along; in-process, a dropped iterator's ``__del__`` waits
    for them for ~10 s on a busy machine.
    """
    try:
        runner.train()
    finally:
        loop = runner._train_loop
        iterator = getattr(getattr(loop, 'dataloader_iterator', None), '_iterator', None)
        if hasattr(iterator, '_shutdown_workers'):
            iterator._shutdown_workers()


def state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The model weights stored in a checkpoint file."""
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f'{key} differs'
