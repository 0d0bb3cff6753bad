"""Output that survives pipes (issue 17): outside a terminal nothing is wrapped or cut."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from csa_bench.cli import main
from csa_bench.cli._console import make_console

REPO = Path(__file__).resolve().parents[2]


def _cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS='80')
    return subprocess.run([sys.executable, '-m', 'csa_bench', *argv], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300, check=False)


@pytest.mark.slow
def test_piped_data_check_names_a_long_corrupt_frame_path_on_one_line(tmp_path: Path) -> None:
    root = tmp_path / ('a-rather-long-folder-name-for-the-dataset-root-' * 3) / 'synthetic-lpr4m'
    assert main(['data', 'synth', '--format', 'lpr4m', '--size', 'tiny', '--out', str(root)]) == 0
    frame = sorted(root.rglob('*.jpg'))[0]
    frame.write_bytes(frame.read_bytes()[:40])            # truncated JPEG: undecodable
    done = _cli('data', 'check', str(root), '--format', 'lpr4m', '--workers', '1', cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    assert len(str(frame)) > 200
    assert any(str(frame) in line for line in done.stdout.splitlines()), done.stdout[-3000:]


def test_piped_error_line_is_whole(tmp_path: Path) -> None:
    missing = tmp_path / ('x' * 150) / 'y[1]' / 'root'
    done = _cli('data', 'check', str(missing), '--format', 'lpr4m', cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f'error: {missing}: dataset root not found'


def test_console_outside_a_terminal_never_wraps(capsys) -> None:
    console = make_console()
    assert not console.is_terminal and console.width > 10_000
    console.print('p' * 500)
    assert capsys.readouterr().out == 'p' * 500 + '\n'
