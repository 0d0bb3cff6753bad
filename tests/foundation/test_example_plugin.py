"""The worked external plugin package under examples/ (docs/plugin_authoring.md): installed (CI installs
it with `make setup`; here it is put on sys.path when it is not), registered through its config's
``custom_imports``, trained for a few iterations and tested with the real CLI; its own tests pass."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from csa_bench.cli import main

PACKAGE = Path(__file__).resolve().parents[2] / 'examples' / 'csa_bench_maxpool'
CONFIG = PACKAGE / 'configs' / 'rice-icl-maxpool_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'


@pytest.fixture
def installed(monkeypatch) -> None:
    if importlib.util.find_spec('csa_bench_maxpool') is None:   # not pip-installed: the same import by path
        monkeypatch.syspath_prepend(str(PACKAGE))


@pytest.mark.slow
def test_example_plugin_trains_and_tests_through_custom_imports(installed, use_synthetic_data, tmp_path: Path,
                                                                capsys) -> None:
    work = tmp_path / 'work'
    assert main(['train', str(CONFIG), '--work-dir', str(work), '--cfg-options', 'train_cfg.max_iters=3']) == 0
    checkpoint = work / 'iter_3.pth'
    assert checkpoint.is_file()
    assert main(['test', str(CONFIG), str(checkpoint), '--work-dir', str(work), '--out',
                 str(tmp_path / 'result.json')]) == 0
    assert (tmp_path / 'result.json').is_file()
    logs = ''.join(p.read_text() for p in work.rglob('*.log'))
    assert 'MaskedMaxPooling' in logs   # the config dump shows the plugin's pooling was built


@pytest.mark.slow
def test_example_plugin_own_tests_pass() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE), str(PACKAGE.parents[1]),
                                                       os.environ.get('PYTHONPATH', '')]))
    done = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', str(PACKAGE / 'tests')],
                          cwd=PACKAGE, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert '3 passed' in done.stdout
