"""Quiet by default (issue 17): a short header, no config/environment dumps on the console (they stay in
the log file), metrics once and in K order; ``-v`` restores the dumps."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from csa_bench.cli import main
from csa_bench.cli.test import metrics_table
from csa_bench.engine.console_log import QuietConsoleFilter, quiet_console

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'rice' / 'rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'
ENV_DUMP = '\n' + '-' * 60 + '\nSystem environment:\n    sys.platform: linux'


def test_metrics_table_is_in_k_order() -> None:
    metrics = {'R@1': 1.0, 'R@10': 10.0, 'R@3': 3.0, 'R@5': 5.0, 'mAP': 2.0, 'R@1/scale=large': 4.0,
               'R@10/scale=large': 4.0, 'R@3/scale=large': 4.0}
    table = metrics_table(metrics, 'x')
    assert list(table.columns[0].cells) == ['R@1', 'R@3', 'R@5', 'R@10', 'mAP', 'R@1/scale=large',
                                            'R@3/scale=large', 'R@10/scale=large']


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord('x', logging.INFO, __file__, 1, message, None, None)


@pytest.mark.parametrize(('message', 'shown'), [
    (ENV_DUMP, False), ('Config:\nmodel = dict(...)', False), ('Hooks will be executed in the following order:', False),
    ('Iter(test) [1/1]    R@1: 12.5000  R@3: 75.0000', False), ('Iter(val) [1/1]    R@1: 12.5', False),
    ('Iter(train) [ 50/200]  lr: 1e-3  loss: 2.0', True), ('Saving checkpoint at 20 iterations', True),
    ('[lpr4m-csa | embedding cosine] R@1=37.50 R@3=75.00', True)])
def test_filter_keeps_progress_and_drops_dumps(message: str, shown: bool) -> None:
    assert QuietConsoleFilter().filter(_record(message)) is shown
    summary = message.startswith('[lpr4m-csa')
    assert QuietConsoleFilter(metric_summary=False).filter(_record(message)) is (shown and not summary)


def test_only_console_handlers_are_filtered(tmp_path: Path) -> None:
    logger = logging.getLogger('csa_bench.test_quiet')
    console, file = logging.StreamHandler(), logging.FileHandler(tmp_path / 'run.log')
    logger.handlers[:] = [console, file]
    quiet_console(logger)
    quiet_console(logger)                      # idempotent: one filter per handler
    assert len(console.filters) == 1 and not file.filters
    file.close()


@pytest.mark.slow
def test_train_prints_a_header_not_the_dumps(tmp_path: Path) -> None:
    data = tmp_path / 'data'
    assert main(['data', 'synth', '--format', 'lpr4m', '--size', 'tiny', '--out', str(data / 'synthetic-lpr4m')]) == 0
    env = dict(os.environ, PYTHONPATH=str(REPO), CSA_DATA_ROOT=str(data), OMP_NUM_THREADS='1')
    work = tmp_path / 'work'
    done = subprocess.run([sys.executable, '-m', 'csa_bench', 'train', str(CONFIG), '--work-dir', str(work),
                           '--cfg-options', 'train_cfg.max_iters=4'], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    console = done.stdout + done.stderr
    assert f'config:   {CONFIG}' in console and f'work dir: {work}' in console
    assert 'System environment' not in console and 'Config:\n' not in console and 'Iter(val)' not in console
    assert len(console.splitlines()) <= 30
    log = next(work.glob('*/*.log')).read_text()
    assert 'System environment' in log and 'Config:' in log and 'Iter(val)' in log   # the file keeps it all


@pytest.mark.parametrize('command', ['train', 'test'])
def test_verbose_restores_the_console_dumps(command: str, monkeypatch, capsys) -> None:
    from csa_bench.cli import build_parser
    from csa_bench.engine import api
    from csa_bench.engine.strict_load import CheckedRunner

    module = __import__(f'csa_bench.cli.{command}', fromlist=['_announce'])
    monkeypatch.setattr(CheckedRunner, 'console_dumps', False)
    monkeypatch.setattr(CheckedRunner, 'console_metric_summary', True)
    module._announce(build_parser().parse_args([command, str(CONFIG), '-v']), api)
    assert CheckedRunner.console_dumps is True and CheckedRunner.console_metric_summary is True
    module._announce(build_parser().parse_args([command, str(CONFIG)]), api)
    assert CheckedRunner.console_dumps is False
    assert CheckedRunner.console_metric_summary is (command == 'train')   # test prints its own table
    assert f'config:   {CONFIG}' in capsys.readouterr().out


def test_metrics_table_orders_prefixed_names() -> None:
    metrics = {'mf/R@20': 4.0, 'mf/R@1': 1.0, 'mf/R@5': 2.0, 'mf/mAP': 0.5, 'mf/R@1/source=hard': 3.0}
    assert list(metrics_table(metrics, 'x').columns[0].cells) == ['mf/R@1', 'mf/R@5', 'mf/R@20', 'mf/mAP',
                                                                  'mf/R@1/source=hard']
