"""Leaderboard generation from hand-made result files: grouping, seeds, reported rows, check marks,
determinism, --check, and rejection of invalid or conflicting inputs."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import leaderboard
from csa_bench.cli import main
from leaderboard import LeaderboardError

from .conftest import write_run

REPORTED = Path(leaderboard.__file__).parent / 'reported.yaml'


def _table(board, dataset, protocol):
    return next(t for t in board.tables if (t.dataset, t.protocol) == (dataset, protocol))


def _section(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    end = markdown.find('\n### ', start + 1)
    return markdown[start:end if end > 0 else None]


def test_tables_grouping_and_seed_statistics(results_dir: Path) -> None:
    board = leaderboard.build(results_dir)
    keys = [(t.dataset, t.protocol) for t in board.tables]
    # Real datasets (reported rows only) first, synthetic tables after; one table per (dataset, protocol).
    assert keys == [('lpr4m', 'lpr4m-csa'), ('lpr4m', 'lpr4m-csa-v1'), ('movingfashion', 'movingfashion-csa'),
                    ('movingfashion', 'movingfashion-seam'), ('synthetic-lpr4m', 'lpr4m-csa'),
                    ('synthetic-movingfashion', 'movingfashion-csa')]
    synth = _table(board, 'synthetic-lpr4m', 'lpr4m-csa')
    assert not synth.reported   # reported rows never share a table with synthetic rows
    assert [r.label for r in synth.reproduced] == [
        'rice-pmd_tiny_synthetic-lpr4m', 'rice-pfr_tiny_synthetic-lpr4m', 'rice-icl_tiny_synthetic-lpr4m',
        'fashionnet_r18_synthetic-lpr4m']
    pmd = synth.reproduced[0]
    assert pmd.seeds == (0, 1) and pmd.recall[1].mean == pytest.approx(15.0)
    assert pmd.recall[1].std == pytest.approx(2 ** 0.5)   # sample std of {14, 16}
    assert pmd.recall[3].std == 0.0 and pmd.recall[1].n == 2
    section = _section(board.markdown, '### synthetic-lpr4m')
    # No per-query outcome in these files: mean ± std marked †, and no row can be tested, so none is bold.
    assert '15.00 ± 1.41 †' in section and '46.00 ± 0.00 †' in section
    assert '**' not in section.split('| # |')[1] and '≈' not in section.split('| # |')[1]
    assert '| 4 | fashionnet |' in section and '5.00 † |' in section and '1.2M' in section


def test_component_check_marks_and_reported_rows(results_dir: Path) -> None:
    board = leaderboard.build(results_dir)
    section = _section(board.markdown, '### synthetic-lpr4m')
    assert '| `rice-pfr_tiny_synthetic-lpr4m` | ✔ | ✔ | ✔ |' in section
    assert '| `rice-icl_tiny_synthetic-lpr4m` | ✔ |  |  |' in section
    assert '| `fashionnet_r18_synthetic-lpr4m` |  |  |  |' in section
    lpr = _section(board.markdown, '### lpr4m · `lpr4m-csa`')
    assert '| — | RICE *(reported)* | `csa-readme-v2-pfr` | ✔ | ✔ | ✔ | 33.77 |  |  |  |' in lpr
    assert '*reported* (verified): deepalchemist/crossview-semantic-alignment:README.md@f0baa6f' in lpr
    assert '**' not in lpr.split('| # |')[1]   # no best markers on reported rows
    seam = _section(board.markdown, '### movingfashion · `movingfashion-seam`')
    assert '| top-1 | top-5 | top-10 | top-20 |' in seam and 'R@3' not in seam
    zs = _section(board.markdown, '### synthetic-movingfashion')
    assert 'ICL' not in zs.split('| # |')[1].splitlines()[0] and 'none (zero-shot)' in zs


def test_reported_rows_against_reproduced_rows_of_the_same_protocol(tmp_path: Path) -> None:
    write_run(tmp_path, 'rice_b32_lpr4m', 0, {'R@1': 90.0, 'R@3': 95, 'R@5': 96, 'R@10': 97}, dataset='lpr4m',
              components=('ICL', 'PMD', 'PFR'))
    write_run(tmp_path, 'rice-icl_b32_lpr4m', 0, {'R@1': 1.0, 'R@3': 2, 'R@5': 3, 'R@10': 4}, dataset='lpr4m',
              cfg_hash='9' * 64)
    table = _table(leaderboard.build(tmp_path), 'lpr4m', 'lpr4m-csa')
    assert [r.label for r in table.reproduced] == ['rice_b32_lpr4m', 'rice-icl_b32_lpr4m']
    assert [r.label for r in table.reported] == [f'csa-readme-v2-{c}' for c in ('icl', 'pmd', 'pfr')]
    assert all(key.startswith('configs/x/rice') for key, _ in table.best)


def test_generation_is_deterministic_and_check(results_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / 'board' / 'LEADERBOARD.md'
    assert main(['leaderboard', '--results', str(results_dir), '--out', str(out)]) == 0
    first = out.read_bytes()
    figures = sorted(p.name for p in (out.parent / 'figures').glob('*.png'))
    assert 'synthetic-lpr4m__lpr4m-csa__recall.png' in figures and 'synthetic-lpr4m__ablation.png' in figures
    for name in figures:
        assert f'(figures/{name})' in first.decode()
    # A copy of the inputs elsewhere generates the same bytes (no path or clock in the text).
    shutil.copytree(results_dir, tmp_path / 'copy')
    assert leaderboard.build(tmp_path / 'copy').markdown.encode() == first
    assert main(['leaderboard', '--results', str(results_dir), '--out', str(out), '--check']) == 0
    write_run(results_dir, 'rice-icl_tiny_synthetic-lpr4m', 2, {'R@1': 11, 'R@3': 20, 'R@5': 3, 'R@10': 4})
    assert main(['leaderboard', '--results', str(results_dir), '--out', str(out), '--check']) == 1
    assert out.read_bytes() == first   # --check writes nothing
    missing = tmp_path / 'none.md'
    assert main(['leaderboard', '--check', '--results', str(results_dir), '--out', str(missing)]) == 1


def test_conflicting_config_hash_for_same_seed(results_dir: Path, capsys) -> None:
    path = write_run(results_dir / 'moved', 'rice-icl_tiny_synthetic-lpr4m', 0, {'R@1': 1.0},
                     cfg_hash='0' * 64)
    with pytest.raises(LeaderboardError) as info:
        leaderboard.build(results_dir)
    assert any(str(path) in e and "'config_hash'" in e for e in info.value.errors)
    assert main(['leaderboard', '--results', str(results_dir), '--out', str(results_dir / 'x.md')]) == 2
    assert "field 'config_hash'" in capsys.readouterr().err


def test_seeds_of_two_config_versions_are_rejected(results_dir: Path) -> None:
    path = write_run(results_dir, 'rice-icl_tiny_synthetic-lpr4m', 5, {'R@1': 1.0},
                     cfg_hash='1' * 64)
    with pytest.raises(LeaderboardError, match=rf"{path}: field 'config_hash'.*stale"):
        leaderboard.build(results_dir)


def test_duplicate_and_unknown_protocol_and_missing_field(results_dir: Path) -> None:
    dup = results_dir / 'copies' / 'seed0.json'
    dup.parent.mkdir()
    shutil.copy(results_dir / 'rice-icl_tiny_synthetic-lpr4m' / 'seed0.json', dup)
    with pytest.raises(LeaderboardError, match=r"field 'seed': duplicate of") as info:
        leaderboard.build(results_dir)
    assert str(dup) in str(info.value) and 'rice-icl_tiny_synthetic-lpr4m/seed0.json' in str(info.value)
    dup.unlink()
    bad = write_run(results_dir, 'odd', 0, {'R@1': 1.0}, protocol='made-up-protocol', cfg_hash='2' * 64)
    with pytest.raises(LeaderboardError, match=rf"{bad}: field 'protocol': unknown protocol id 'made-up"):
        leaderboard.build(results_dir)
    record = json.loads(bad.read_text())
    record['protocol'] = 'lpr4m-csa'
    del record['checkpoint_sha256']
    bad.write_text(json.dumps(record))
    with pytest.raises(LeaderboardError, match=rf"{bad}: field 'checkpoint_sha256': missing"):
        leaderboard.build(results_dir)


def test_reported_file_validation(tmp_path: Path) -> None:
    text = REPORTED.read_text().replace('status: quoted}', 'status: unverified}', 1)
    (tmp_path / 'r.yaml').write_text(text)
    with pytest.raises(LeaderboardError, match="entry 'seam-paper-overall': field 'status'"):
        leaderboard.build(tmp_path / 'none', reported=tmp_path / 'r.yaml')
    board = leaderboard.build(tmp_path / 'none', reported=None)
    assert board.tables == [] and 'No results yet' in board.markdown


def test_reported_numbers_match_the_reference_data() -> None:
    """The transcription of published_results.md §5: every row, exactly once, numbers unchanged."""
    import yaml
    rows = {r['id']: r for r in yaml.safe_load(REPORTED.read_text())}
    assert len(rows) == 12
    assert rows['csa-readme-v2-pfr']['metrics'] == {'R@1': 33.77}
    assert rows['csa-readme-v1-pmd']['metrics'] == {'R@1': 25.99, 'R@5': 51.16, 'R@10': 64.33}
    assert rows['seam-paper-hard']['metrics'] == {'top1': 30.0, 'top5': 62.0, 'top10': 76.0, 'top20': 87.0}
    assert {r['status'] for r in rows.values()} == {'verified', 'quoted'}


def test_committed_leaderboard_is_up_to_date(repo_root: Path) -> None:
    assert main(['leaderboard', '--check', '--results', str(repo_root / 'leaderboard' / 'results'),
                 '--out', str(repo_root / 'leaderboard' / 'LEADERBOARD.md')]) == 0


def test_registered_protocol_without_yaml_entry_describes_itself(tmp_path: Path) -> None:
    from csa_bench.evaluation.protocols import get_protocol
    info = get_protocol('movingfashion-seam-aggr').describe()
    write_run(tmp_path, 'seam_r18_synthetic-movingfashion', 0, {'top1': 20.0, 'top5': 40.0},
              dataset='synthetic-movingfashion', protocol='movingfashion-seam-aggr', components=(),
              protocol_info=info)
    table = _table(leaderboard.build(tmp_path), 'synthetic-movingfashion', 'movingfashion-seam-aggr')
    assert table.ks == [1, 5, 10, 20] and table.column(5) == 'top-5'
    section = _section(leaderboard.build(tmp_path).markdown, '### synthetic-movingfashion')
    assert "- Gallery: global, all test products' shop descriptors (\\~1.3K)" in section
