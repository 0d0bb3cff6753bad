"""The README's generated leaderboard block: written by `csa-bench leaderboard`, verified by --check."""
from __future__ import annotations

from pathlib import Path

from csa_bench.cli.leaderboard import generate
from leaderboard.readme import END, START

from .conftest import write_run


def _readme(tmp_path: Path) -> Path:
    readme = tmp_path / 'README.md'
    readme.write_text(f'# project\n\nintro\n\n{START}\nold text\n{END}\n\n## after\n')
    return readme


def test_block_is_written_then_checked(tmp_path: Path) -> None:
    results = tmp_path / 'results'
    write_run(results, 'rice-icl_tiny_synthetic-lpr4m', 0, {'R@1': 31.0, 'R@3': 40, 'R@5': 50, 'R@10': 60},
              method='RICE')
    readme, out = _readme(tmp_path), tmp_path / 'board' / 'LEADERBOARD.md'
    assert generate(str(results), str(out), figures=False, readme=str(readme)) == 0
    text = readme.read_text()
    assert text.startswith('# project\n\nintro\n\n') and text.endswith('\n\n## after\n')
    assert 'old text' not in text and '| RICE | ✔ |  |  | 31.00 † |' in text
    assert '(../board/LEADERBOARD.md)' not in text and '(board/LEADERBOARD.md)' in text
    assert generate(str(results), str(out), check=True, figures=False, readme=str(readme)) == 0
    # A new result makes the README block stale: --check fails until it is regenerated.
    write_run(results, 'rice-icl_tiny_synthetic-lpr4m', 1, {'R@1': 35.0, 'R@3': 40, 'R@5': 50, 'R@10': 60},
              method='RICE')
    assert generate(str(results), str(out), check=True, figures=False, readme=str(readme)) == 1
    assert generate(str(results), str(out), figures=False, readme=str(readme)) == 0
    assert '33.00 ± 2.83' in readme.read_text()


def test_readme_without_markers_is_an_error(tmp_path: Path) -> None:
    import pytest

    readme = tmp_path / 'README.md'
    readme.write_text('# no block\n')
    with pytest.raises(ValueError, match='no leaderboard block'):
        generate(str(tmp_path / 'results'), str(tmp_path / 'LEADERBOARD.md'), figures=False, readme=str(readme))
