"""``csa-bench --help`` and every ``csa-bench COMMAND --help`` start without torch or mmengine (issue 17).

Each check runs in a fresh interpreter: the parent test process has long imported both.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from csa_bench.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
HEAVY = ('torch', 'mmengine')
# Parses ARGV (``--help`` exits), then prints which heavy modules the parse imported.
PROBE = ('import sys\n'
         'from csa_bench.cli import main\n'
         'try:\n'
         '    main(sys.argv[1:])\n'
         'except SystemExit:\n'
         '    pass\n'
         f'print("IMPORTED", ",".join(m for m in {HEAVY!r} if m in sys.modules))\n')


def _commands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == 'command')
    return sorted(action.choices)


def _imported(*argv: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, '-c', PROBE, *argv], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith('IMPORTED')), None)
    assert line is not None, done.stderr
    assert 'usage: csa-bench' in done.stdout, done.stdout[-2000:]   # the help really was printed
    return [m for m in line.removeprefix('IMPORTED').strip().split(',') if m]


def test_every_command_is_probed() -> None:
    assert {'train', 'test', 'list', 'data', 'score', 'reproduce', 'leaderboard', 'bench'} <= set(_commands())


@pytest.mark.parametrize('command', [None, *_commands()])
def test_help_imports_neither_torch_nor_mmengine(command: str | None) -> None:
    argv = ['--help'] if command is None else [command, '--help']
    assert _imported(*argv) == [], f'csa-bench {" ".join(argv)} imported torch/mmengine'


def test_data_action_help_stays_light() -> None:
    assert _imported('data', 'check', '--help') == []
    assert _imported('data', 'synth', '--help') == []
