"""Fault: a checkpoint whose keys do not match the model (an ICL-only checkpoint under the full RICE config).

Expected: ``test``, ``load_from`` and ``--resume`` refuse it with one line giving the counts, the
first key names and the config the checkpoint was saved by; ``--allow-partial`` loads it anyway and
the result file says so.
"""
from __future__ import annotations

import json

import pytest

from csa_bench.cli import main

from .conftest import FULL_RICE, TINY_ICL


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    text = ' '.join(err.split())
    assert text.startswith('error: ') and text.count('error:') == 1, text
    return text


@pytest.fixture(autouse=True)
def _data(synthetic_root, monkeypatch) -> None:
    monkeypatch.setenv('CSA_DATA_ROOT', str(synthetic_root))


def _assert_mismatch(text: str, ckpt) -> None:
    assert f'checkpoint {ckpt} does not fit config {FULL_RICE}' in text
    assert 'model keys missing from it (' in text            # PMD/PFR modules absent from an ICL run
    assert f'it was saved by {TINY_ICL} (config hash ' in text
    assert '--allow-partial' in text


def test_test_refuses_icl_checkpoint_under_full_rice(icl_run, tmp_path, capsys) -> None:
    ckpt = icl_run / 'iter_2.pth'
    out = tmp_path / 'result.json'
    assert main(['test', FULL_RICE, str(ckpt), '--work-dir', str(tmp_path), '--out', str(out)]) == 2
    _assert_mismatch(_one_error_line(capsys), ckpt)
    assert not out.exists()


def test_allow_partial_is_recorded_in_the_result(icl_run, tmp_path) -> None:
    ckpt = icl_run / 'iter_2.pth'
    out = tmp_path / 'result.json'
    assert main(['test', FULL_RICE, str(ckpt), '--work-dir', str(tmp_path), '--out', str(out),
                 '--allow-partial']) == 0
    record = json.loads(out.read_text())
    assert record['allow_partial'] is True
    assert record['partial_load']['missing'] > 0 and record['partial_load']['unexpected'] == 0


def test_matching_checkpoint_records_no_partial_load(icl_run, tmp_path) -> None:
    out = tmp_path / 'result.json'
    assert main(['test', TINY_ICL, str(icl_run / 'iter_2.pth'), '--work-dir', str(tmp_path), '--out', str(out)]) == 0
    record = json.loads(out.read_text())
    assert record.get('allow_partial', False) is False and record.get('partial_load') is None


@pytest.mark.parametrize('entry', ['load_from', 'resume'])
def test_train_refuses_icl_checkpoint_under_full_rice(icl_run, tmp_path, capsys, entry) -> None:
    ckpt = icl_run / 'iter_2.pth'
    argv = ['train', FULL_RICE, '--work-dir', str(tmp_path / 'wd'), '--cfg-options', 'train_cfg.max_iters=3']
    argv += [f'load_from={ckpt}'] if entry == 'load_from' else ['--resume', str(ckpt)]
    assert main(argv) == 2
    _assert_mismatch(_one_error_line(capsys), ckpt)
    assert not list((tmp_path / 'wd').glob('iter_*.pth'))
