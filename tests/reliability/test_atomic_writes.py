"""Fault: a crash while writing. Checkpoints, result JSONs, annotations and the leaderboard stay whole.

Two injections: the payload write dies halfway (``_HalfWrite``), or the process dies after the
temporary file is complete but before the rename (``os.replace`` raises). Either way the previous
file must be intact and loadable, and no truncated file may appear under the final name.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
import torch

import csa_bench.utils.atomic as atomic
from csa_bench.engine.checkpoint import AtomicLocalBackend
from csa_bench.utils import write_json_atomic

from .toy import make_runner, state_dict, train


class SimulatedCrash(OSError):
    """Stands for the process dying (disk full, power loss, kill) at the injected point."""


@contextlib.contextmanager
def crash_on_replace(match: str):
    """``os.replace`` raises for destinations whose name contains ``match`` (others go through)."""
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if match in os.fspath(dst):
            raise SimulatedCrash(f'simulated crash before renaming onto {dst}')
        return real(src, dst, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atomic.os, 'replace', replace)
        yield


@contextlib.contextmanager
def crash_mid_write():
    """Every atomic write dies after writing half of its first chunk."""
    real_fdopen = os.fdopen

    class _HalfWrite:
        def __init__(self, handle) -> None:
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.handle.close()

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise SimulatedCrash('simulated crash mid-write')

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atomic.os, 'fdopen', lambda *a, **k: _HalfWrite(real_fdopen(*a, **k)))
        yield


def _no_temporaries(folder: Path) -> None:
    assert not list(folder.glob('.*.tmp')), list(folder.glob('.*.tmp'))


# ----------------------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize('inject', ['mid-write', 'before-rename'])
def test_checkpoint_crash_keeps_previous_checkpoints_and_marker(tmp_path, inject) -> None:
    runner = make_runner(tmp_path, max_iters=6, interval=2, max_keep_ckpts=2)
    real_put = AtomicLocalBackend.put

    def put(self, obj, filepath):   # crash only while writing iter_6.pth
        if str(filepath).endswith('iter_6.pth'):
            with crash_mid_write() if inject == 'mid-write' else crash_on_replace('iter_6.pth'):
                return real_put(self, obj, filepath)
        return real_put(self, obj, filepath)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AtomicLocalBackend, 'put', put)
        with pytest.raises(SimulatedCrash):
            train(runner)
    assert not (tmp_path / 'iter_6.pth').exists()
    _no_temporaries(tmp_path)
    # Rotation happens after a successful save: both kept checkpoints survive (mmengine deletes first).
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == ['iter_2.pth', 'iter_4.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == 'iter_4.pth'   # relative to the work dir
    assert torch.load(tmp_path / 'iter_4.pth', weights_only=False)['meta']['iter'] == 4
    # ... and --resume continues from it.
    resumed = make_runner(tmp_path, max_iters=6, interval=2, max_keep_ckpts=2, resume=True)
    train(resumed)
    assert state_dict(tmp_path / 'iter_6.pth').keys() == state_dict(tmp_path / 'iter_4.pth').keys()


def test_stray_temporary_from_a_killed_save_is_ignored_by_resume(tmp_path) -> None:
    train(make_runner(tmp_path, max_iters=4, interval=2))
    stray = tmp_path / '.iter_6.pth.k1ll3d.tmp'   # what SIGKILL mid-save leaves: never the real name
    stray.write_bytes(b'PK\x03\x04 truncated')
    resumed = make_runner(tmp_path, max_iters=6, interval=2, resume=True)
    train(resumed)
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_6.pth')


def test_stock_local_backend_is_replaced() -> None:
    from mmengine.fileio import get_file_backend
    assert isinstance(get_file_backend('/some/work_dir/iter_2.pth'), AtomicLocalBackend)


# ----------------------------------------------------------------------------------- result JSONs
def test_result_json_crash_keeps_previous_result(tmp_path) -> None:
    from csa_bench.results import load_result, make_result, write_result

    path = tmp_path / 'result.json'
    first = make_result({'R@1': 10.0}, protocol='lpr4m-csa', dataset='synthetic-lpr4m', split='test')
    write_result(path, first)
    second = make_result({'R@1': 20.0}, protocol='lpr4m-csa', dataset='synthetic-lpr4m', split='test')
    for injection in (crash_mid_write(), crash_on_replace('result.json')):
        with injection, pytest.raises(SimulatedCrash):
            write_result(path, second)
        assert load_result(path)['metrics'] == {'R@1': 10.0}
        _no_temporaries(tmp_path)


# ----------------------------------------------------------------------------------- annotations
def test_annotation_crash_leaves_no_truncated_file_and_no_completion_marker(tmp_path, synthetic_root) -> None:
    from csa_bench.cli.data import MARKER, synth

    out = tmp_path / 'synthetic-lpr4m'
    with crash_on_replace('test_videoinfo_full.txt'), pytest.raises(SimulatedCrash):
        synth(out, 'lpr4m', seed=0, size='tiny')
    # The generator died in its staging folder inside `out`: nothing reached `out`, nothing marks it
    # complete, and the staging folder is gone (a half-written tree is never visible, never reused).
    assert not (out / MARKER).exists()
    assert list(out.iterdir()) == []
    synth(out, 'lpr4m', seed=0, size='tiny')   # the re-run completes
    ann = out / 'annotations'
    _no_temporaries(ann)
    reference = synthetic_root / 'synthetic-lpr4m' / 'annotations'
    for written in ann.iterdir():        # ... and every file is complete
        assert written.read_bytes() == (reference / written.name).read_bytes(), written.name


# ----------------------------------------------------------------------------------- leaderboard
def test_leaderboard_crash_keeps_previous_markdown(tmp_path) -> None:
    import leaderboard

    results = tmp_path / 'results'
    out = tmp_path / 'LEADERBOARD.md'
    leaderboard.write(leaderboard.build(results), out, figures=False)
    before = out.read_text()
    from csa_bench.results import make_result, write_result
    write_result(results / 'new.json',
                 make_result({'R@1': 33.0}, protocol='lpr4m-csa', dataset='synthetic-lpr4m', split='test'))
    board = leaderboard.build(results)
    assert board.markdown != before
    for injection in (crash_mid_write(), crash_on_replace('LEADERBOARD.md')):
        with injection, pytest.raises(SimulatedCrash):
            leaderboard.write(board, out, figures=False)
        assert out.read_text() == before
        _no_temporaries(tmp_path)
    leaderboard.write(board, out, figures=False)
    assert leaderboard.check(board, out) is None


def test_atomic_json_roundtrip_after_failed_overwrite(tmp_path) -> None:
    path = tmp_path / 'bad_samples.json'
    write_json_atomic(path, {'train': {'count': 1}})
    with crash_mid_write(), pytest.raises(SimulatedCrash):
        write_json_atomic(path, {'train': {'count': 2}})
    assert json.loads(path.read_text()) == {'train': {'count': 1}}
