"""Faults on work dirs: a second run in a busy work dir, a fresh run over another run's checkpoints,
a copied work dir, and the temporaries a kill mid-save leaves behind.

Expected: the second run is refused naming the holder; the fresh run is refused unless ``--resume`` or
``--overwrite``; a copy resumes from its own checkpoint; stale temporaries of our own files are removed
at the next start and nothing else is.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from csa_bench.cli import main
from csa_bench.engine import workdir

from .conftest import TINY_ICL

MORE = ['--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_begin=1000', 'default_hooks.checkpoint.interval=3']


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    text = ' '.join(err.split())
    assert text.startswith('error: ') and text.count('error:') == 1, text
    return text


@pytest.fixture
def run_copy(icl_run, tmp_path, synthetic_root, monkeypatch) -> Path:
    """A private copy of a work dir where 2 iterations were trained."""
    monkeypatch.setenv('CSA_DATA_ROOT', str(synthetic_root))
    work_dir = tmp_path / 'copy'
    shutil.copytree(icl_run, work_dir)
    return work_dir


def _loaded_from(work_dir: Path) -> list[str]:
    logs = [p for p in work_dir.glob('*/*.log')]
    return [line.split('Load checkpoint from ')[1].strip() for p in logs for line in p.read_text().splitlines()
            if 'Load checkpoint from ' in line]


def test_marker_is_relative_and_a_copy_resumes_from_itself(icl_run, run_copy) -> None:
    assert (icl_run / 'last_checkpoint').read_text() == 'iter_2.pth'
    assert main(['train', TINY_ICL, '--work-dir', str(run_copy), '--resume', *MORE]) == 0
    assert _loaded_from(run_copy)[-1] == str(run_copy / 'iter_2.pth')
    assert torch.load(run_copy / 'iter_3.pth', weights_only=True)['meta']['iter'] == 3


def test_old_absolute_marker_resolves_inside_the_copy(icl_run, run_copy) -> None:
    """A marker written by an older run names the original's absolute path: the copy's own file wins."""
    (run_copy / 'last_checkpoint').write_text(str(icl_run / 'iter_2.pth'))
    assert workdir.resolve_last_checkpoint(run_copy) == run_copy / 'iter_2.pth'
    assert main(['train', TINY_ICL, '--work-dir', str(run_copy), '--resume', *MORE]) == 0
    assert _loaded_from(run_copy)[-1] == str(run_copy / 'iter_2.pth')


def test_dangling_marker_is_named(run_copy, capsys) -> None:
    (run_copy / 'iter_2.pth').unlink()
    assert main(['train', TINY_ICL, '--work-dir', str(run_copy), '--resume', *MORE]) == 2
    assert f'{run_copy / "last_checkpoint"} names iter_2.pth, which does not exist' in _one_error_line(capsys)


def test_second_run_in_a_busy_work_dir_is_refused(run_copy, capsys) -> None:
    with workdir.locked(run_copy):   # a run in progress (the lock is per open file: the same process conflicts)
        assert main(['train', TINY_ICL, '--work-dir', str(run_copy), '--resume', *MORE]) == 2
        text = _one_error_line(capsys)
    assert f'work dir {run_copy} is in use by pid {os.getpid()} on ' in text
    assert not (run_copy / 'iter_3.pth').exists()
    # Released: the same command runs now.
    assert main(['train', TINY_ICL, '--work-dir', str(run_copy), '--resume', *MORE]) == 0


def test_fresh_run_over_another_runs_checkpoints(run_copy, capsys) -> None:
    before = (run_copy / 'iter_2.pth').read_bytes()
    assert main(['train', TINY_ICL, '--work-dir', str(run_copy), *MORE]) == 2
    text = _one_error_line(capsys)
    assert f'work dir {run_copy} already holds checkpoints of another run (iter_2.pth, last_checkpoint)' in text
    assert (run_copy / 'iter_2.pth').read_bytes() == before and not (run_copy / 'iter_3.pth').exists()
    assert main(['train', TINY_ICL, '--work-dir', str(run_copy), '--overwrite', '--resume', *MORE]) == 2
    assert '--overwrite starts over, --resume continues' in _one_error_line(capsys)
    assert main(['train', TINY_ICL, '--work-dir', str(run_copy), '--overwrite', *MORE]) == 0
    assert (run_copy / 'last_checkpoint').read_text() == 'iter_3.pth'
    assert torch.load(run_copy / 'iter_3.pth', weights_only=True)['meta']['iter'] == 3
    assert not _loaded_from(run_copy)   # started from iteration 0, loaded nothing


def test_stale_temporaries_of_a_killed_save_are_removed(run_copy) -> None:
    # What atomic_write leaves when the process dies mid-save: the same mkstemp call it makes.
    fd, ours = tempfile.mkstemp(prefix='.iter_4.pth.', suffix='.tmp', dir=run_copy)
    os.write(fd, b'\0' * 4096)
    os.close(fd)
    fd, marker_tmp = tempfile.mkstemp(prefix='.last_checkpoint.', suffix='.tmp', dir=run_copy)
    os.close(fd)
    users = [run_copy / 'notes.tmp', run_copy / '.notes.abcd1234.tmp', run_copy / '.iter_4.pth.tmp']
    for path in users:
        path.write_text('user data')
    assert main(['train', TINY_ICL, '--work-dir', str(run_copy), '--resume', *MORE]) == 0
    assert not Path(ours).exists() and not Path(marker_tmp).exists()
    assert all(path.read_text() == 'user data' for path in users)
    logs = ''.join(p.read_text() for p in run_copy.glob('*/*.log'))
    assert 'removed 2 temporary file(s) of an interrupted save' in logs
