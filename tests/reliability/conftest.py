"""Shared fixtures: a tiny synthetic LPR4M benchmark written once per session."""
from __future__ import annotations

from pathlib import Path

import pytest

TINY_ICL = 'configs/rice/rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> Path:
    """``$CSA_DATA_ROOT`` holding ``synthetic-lpr4m`` (size tiny: 16 training clips, 8 queries)."""
    from csa_bench.cli.data import synth

    root = tmp_path_factory.mktemp('data')
    synth(root / 'synthetic-lpr4m', 'lpr4m', seed=0, size='tiny')
    return root


@pytest.fixture(autouse=True)
def _drop_stale_log_streams():
    """After each test, detach mmengine loggers from that test's captured stderr.

    pytest swaps ``sys.stderr`` per test and closes the old one; an MMLogger created in an earlier
    test would print '--- Logging error ---' tracebacks into the next test's captured output.
    """
    yield
    import logging

    from mmengine.logging import MMLogger

    for logger in MMLogger._instance_dict.values():
        for handler in list(logger.handlers):
            if type(handler) is logging.StreamHandler:
                logger.removeHandler(handler)


FULL_RICE = 'configs/rice/rice-icl-pmd-pfr_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'


@pytest.fixture(scope='session')
def icl_run(tmp_path_factory, synthetic_root) -> Path:
    """A work dir where ``csa-bench train TINY_ICL`` ran 2 iterations (``iter_2.pth``, ``last_checkpoint``).

    Read-only for the tests: copy it before training on in it.
    """
    import os

    from csa_bench.cli import main

    work_dir = tmp_path_factory.mktemp('icl_run')
    previous = os.environ.get('CSA_DATA_ROOT')
    os.environ['CSA_DATA_ROOT'] = str(synthetic_root)
    try:
        assert main(['train', TINY_ICL, '--work-dir', str(work_dir), '--cfg-options', 'train_cfg.max_iters=2',
                     'train_cfg.val_begin=1000', 'default_hooks.checkpoint.interval=2',
                     f'experiment_name=icl_run_{os.getpid()}']) == 0
    finally:
        if previous is None:
            os.environ.pop('CSA_DATA_ROOT', None)
        else:
            os.environ['CSA_DATA_ROOT'] = previous
    return work_dir
