"""``reproduce``, ``leaderboard`` and ``list`` give the same answers from any directory (issue 17)."""
from __future__ import annotations

from pathlib import Path

import pytest

from csa_bench.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch) -> Path:
    cwd = tmp_path / 'elsewhere'
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_leaderboard_and_reproduce_default_to_the_project(elsewhere: Path) -> None:
    board = build_parser().parse_args(['leaderboard'])
    assert Path(board.results) == REPO / 'leaderboard' / 'results'
    assert Path(board.out) == REPO / 'leaderboard' / 'LEADERBOARD.md'
    assert Path(build_parser().parse_args(['reproduce']).results) == REPO / 'leaderboard' / 'results'


@pytest.mark.parametrize('make', [True, False])
def test_leaderboard_without_results_refuses(make: bool, elsewhere: Path, capsys) -> None:
    results = elsewhere / 'results'
    if make:
        (results / 'sub').mkdir(parents=True)
        (results / 'notes.txt').write_text('no json here')
    out = elsewhere / 'LEADERBOARD.md'
    assert main(['leaderboard', '--results', str(results), '--out', str(out)]) == 2
    assert main(['leaderboard', '--check', '--results', str(results), '--out', str(out)]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith('error:')]
    assert len(errors) == 2 and f'no result files (*.json) under {results}' in errors[0]
    assert not out.exists() and not (elsewhere / 'figures').exists()


def test_list_from_elsewhere(elsewhere: Path, capsys) -> None:
    assert main(['list', 'datasets']) == 0
    assert 'LPR4MDataset' in capsys.readouterr().out


def test_reproduce_dry_run_from_elsewhere_finds_the_project_configs(elsewhere: Path, capsys) -> None:
    stem = 'rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m'
    assert main(['reproduce', '--dry-run', '--only', stem, '--results', str(elsewhere / 'results')]) == 0
    out = capsys.readouterr().out
    assert '1 config(s) x 1 seed(s): 1 to run' in out and stem in out
    assert not list(elsewhere.iterdir())          # a dry run writes nothing
