"""Fault: a corrupt checkpoint (truncated, empty, not a torch file) under ``train --resume`` and ``test``.

Expected: exit status 2 and one line naming the file; no traceback.
"""
from __future__ import annotations

import pytest
import torch

from csa_bench.cli import main

from .conftest import TINY_ICL


def _corrupt(path, kind: str) -> None:
    torch.save({'meta': {'iter': 4}, 'state_dict': {'w': torch.zeros(64, 64)}}, path)
    data = path.read_bytes()
    path.write_bytes({'truncated': data[: len(data) // 2], 'short': data[:100], 'empty': b'',
                      'garbage': b'not a checkpoint\n' * 50}[kind])


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    text = ' '.join(err.split())   # rich wraps one long line at the terminal width
    assert text.startswith('error: ') and text.count('error:') == 1, text
    return text


@pytest.mark.parametrize('kind', ['truncated', 'short', 'empty', 'garbage'])
def test_test_names_the_corrupt_checkpoint(tmp_path, synthetic_root, monkeypatch, capsys, kind) -> None:
    monkeypatch.setenv('CSA_DATA_ROOT', str(synthetic_root))
    ckpt = tmp_path / 'iter_4.pth'
    _corrupt(ckpt, kind)
    assert main(['test', TINY_ICL, str(ckpt), '--work-dir', str(tmp_path)]) == 2
    text = _one_error_line(capsys)
    assert f'checkpoint {ckpt} is corrupt or truncated' in text


def test_resume_names_the_corrupt_checkpoint(tmp_path, synthetic_root, monkeypatch, capsys) -> None:
    monkeypatch.setenv('CSA_DATA_ROOT', str(synthetic_root))
    ckpt = tmp_path / 'iter_4.pth'
    _corrupt(ckpt, 'truncated')
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    code = main(['train', TINY_ICL, '--work-dir', str(tmp_path), '--resume',
                 '--cfg-options', 'train_cfg.max_iters=8'])
    assert code == 2
    text = _one_error_line(capsys)
    assert f'checkpoint {ckpt} is corrupt or truncated' in text and 'resume from an earlier' in text
