"""Test-only hook: SIGKILL this process right after the checkpoint of iteration ``at`` is written.

Imported by a victim run through ``--cfg-options custom_imports.imports=[...,tests.reliability.sigkill_hook]``
and added as ``default_hooks.sigkill``; never part of the shipped package.
"""
from __future__ import annotations

import os
import signal

from mmengine.hooks import Hook

from csa_bench.registry import HOOKS


@HOOKS.register_module()
class SigkillAfterCheckpointHook(Hook):
    """``after_train_iter`` at the lowest priority: the checkpoint hook (VERY_LOW) has saved by then."""

    priority = 'LOWEST'

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), signal.SIGKILL)
