"""Test-only hook: SIGKILL this process right after the checkpoint of iteration ``at`` is written.

Imported by the victim process of ``test_exact_resume.py`` before it calls the CLI, and added to the
run as ``--cfg-options default_hooks.sigkill.type=SigkillAfterCheckpointHook``; never part of the
shipped package.
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
            # As a scheduler kills a job: the whole process group (dataloader workers included) when
            # this process leads it (the test starts the victim in its own session), else itself.
            if os.getpgrp() == os.getpid():
                os.killpg(os.getpid(), signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)
