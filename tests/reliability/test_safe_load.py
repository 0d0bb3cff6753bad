"""Fault: a checkpoint that carries code (a pickled ``__reduce__`` payload), and a legacy full-pickle one.

Expected: every entry point that reads a checkpoint (``test``, ``train --resume`` explicit and
automatic, ``load_from``, the result provenance) refuses the payload with one line naming the file,
and the payload never runs (it would create a marker file). Our own checkpoints load with
``torch.load(weights_only=True)``; a legacy full pickle loads only with ``--unsafe-load``, with a warning.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from csa_bench.cli import main
from csa_bench.engine.checkpoint import UnsafeCheckpointError

from .conftest import TINY_ICL


class _Payload:
    """Unpickling this runs ``exec``: it would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f'open({str(self.marker)!r}, "w").close()',)


def _evil(path: Path, marker: Path, like: Path) -> Path:
    """A copy of the real checkpoint ``like`` with a payload in its meta."""
    state = torch.load(like, map_location='cpu', weights_only=True)
    state['meta']['note'] = _Payload(marker)
    torch.save(state, path)
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    text = ' '.join(err.split())
    assert text.startswith('error: ') and text.count('error:') == 1, text
    return text


@pytest.fixture
def env(tmp_path, synthetic_root, monkeypatch):
    monkeypatch.setenv('CSA_DATA_ROOT', str(synthetic_root))
    return SimpleNamespace(marker=tmp_path / 'PAYLOAD_RAN', tmp=tmp_path)


def test_our_checkpoint_is_plain_data(icl_run) -> None:
    """A checkpoint `csa-bench train` wrote loads with torch's safe loader, and imports nothing."""
    path = icl_run / 'iter_2.pth'
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    state = torch.load(path, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == 2 and 'rng_state' in state and 'message_hub' in state


@pytest.mark.parametrize('entry', ['test', 'resume', 'auto-resume', 'load_from'])
def test_payload_is_refused_and_never_runs(env, icl_run, capsys, entry) -> None:
    work_dir = env.tmp / 'wd'
    work_dir.mkdir()
    evil = _evil(work_dir / 'iter_2.pth', env.marker, icl_run / 'iter_2.pth')
    if entry == 'test':
        argv = ['test', TINY_ICL, str(evil), '--work-dir', str(work_dir), '--out', str(env.tmp / 'r.json')]
    elif entry == 'resume':
        argv = ['train', TINY_ICL, '--work-dir', str(work_dir), '--resume', str(evil)]
    elif entry == 'auto-resume':
        (work_dir / 'last_checkpoint').write_text('iter_2.pth')
        argv = ['train', TINY_ICL, '--work-dir', str(work_dir), '--resume']
    else:
        argv = ['train', TINY_ICL, '--work-dir', str(env.tmp / 'fresh'), '--cfg-options', f'load_from={evil}']
    argv += ['--cfg-options', 'train_cfg.max_iters=4'] if entry in ('resume', 'auto-resume') else []
    assert main(argv) == 2
    text = _one_error_line(capsys)
    assert f'checkpoint {evil} is not plain weights' in text and 'builtins.exec' in text
    assert not env.marker.exists()
    assert not (env.tmp / 'r.json').exists()


def test_result_provenance_refuses_payload(env, icl_run) -> None:
    """``result_from_test`` reads the seed back from the checkpoint: the same refusal, no payload run."""
    from csa_bench.engine.api import load_config
    from csa_bench.results import result_from_test

    evil = _evil(env.tmp / 'iter_2.pth', env.marker, icl_run / 'iter_2.pth')
    outcome = SimpleNamespace(metrics={'R@1': 1.0}, config=load_config(TINY_ICL), test_time_s=1.0, num_params=1)
    with pytest.raises(UnsafeCheckpointError, match='iter_2.pth is not plain weights'):
        result_from_test(outcome, config_path=TINY_ICL, checkpoint=evil)
    assert not env.marker.exists()


def _legacy(path: Path, like: Path) -> Path:
    """The same weights as mmengine wrote them before: numpy RNG state and message hub pickled as objects."""
    from csa_bench.engine.checkpoint import from_plain

    state = from_plain(torch.load(like, map_location='cpu', weights_only=True))
    state.pop('csa_bench_format')
    assert isinstance(state['rng_state']['numpy'][1], np.ndarray)
    torch.save(state, path)
    return path


def test_legacy_checkpoint_needs_unsafe_load(env, icl_run, capsys) -> None:
    legacy = _legacy(env.tmp / 'legacy.pth', icl_run / 'iter_2.pth')
    out = env.tmp / 'result.json'
    argv = ['test', TINY_ICL, str(legacy), '--work-dir', str(env.tmp / 'wd'), '--out', str(out)]
    assert main(argv) == 2
    text = _one_error_line(capsys)
    assert f'checkpoint {legacy} is not plain weights' in text and '--unsafe-load' in text
    assert main([*argv, '--unsafe-load']) == 0
    logs = capsys.readouterr().out + ''.join(p.read_text() for p in (env.tmp / 'wd').glob('*/*.log'))
    assert f'--unsafe-load: fully unpickling checkpoint {legacy}' in ' '.join(logs.split())
    assert json.loads(out.read_text())['seed'] == 42   # read back from the legacy meta


def test_resume_from_legacy_checkpoint_with_unsafe_load(env, icl_run, capsys) -> None:
    """``train --resume --unsafe-load`` continues a run whose checkpoint predates the plain format."""
    work_dir = env.tmp / 'wd'
    shutil.copytree(icl_run, work_dir)
    _legacy(work_dir / 'iter_2.pth', icl_run / 'iter_2.pth')
    argv = ['train', TINY_ICL, '--work-dir', str(work_dir), '--resume', '--cfg-options', 'train_cfg.max_iters=3',
            'train_cfg.val_begin=1000', 'default_hooks.checkpoint.interval=3']
    assert main(argv) == 2
    assert 'is not plain weights' in _one_error_line(capsys)
    assert main([*argv, '--unsafe-load']) == 0
    assert torch.load(work_dir / 'iter_3.pth', weights_only=True)['meta']['iter'] == 3
