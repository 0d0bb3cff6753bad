"""Hostile and inconsistent result files: out-of-range metrics, path spellings, copies filed as seeds,
override rows, "best" identity, and markdown / HTML / README-marker injection through result fields."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import leaderboard
from csa_bench.cli.leaderboard import generate
from leaderboard import LeaderboardError
from leaderboard.escape import code, text
from leaderboard.readme import END, START

from .conftest import write_run

METRICS = {'R@1': 10.0, 'R@3': 20.0, 'R@5': 30.0, 'R@10': 40.0}


def _per_query(first_ranks: list[int]) -> dict:
    return {'query_ids': [f'q{i:04d}' for i in range(len(first_ranks))], 'first_rank': first_ranks}


def _metrics(first_ranks: list[int]) -> dict:
    return {f'R@{k}': 100 * sum(r <= k for r in first_ranks) / len(first_ranks) for k in (1, 3, 5, 10)}


def _edit(path: Path, **fields) -> None:
    record = json.loads(path.read_text())
    record.update(fields)
    path.write_text(json.dumps(record))


def _rows(root: Path):
    return next(t for t in leaderboard.build(root, reported=None).tables).reproduced


@pytest.mark.parametrize('key, value', [('R@1', 250.0), ('R@1', -50.0), ('mAP', 100.5),
                                        ('R@1/product_scale=small', 101.0)])
def test_metric_outside_0_100_names_file_and_key(tmp_path: Path, key: str, value: float) -> None:
    path = write_run(tmp_path, 'rice_a_synthetic-lpr4m', 0, METRICS)
    record = json.loads(path.read_text())
    record['metrics'][key] = value
    path.write_text(json.dumps(record))
    with pytest.raises(LeaderboardError) as info:
        leaderboard.build(tmp_path, reported=None)
    (message,) = info.value.errors
    assert message.startswith(f"{path}: field 'metrics.{key}'") and 'outside [0, 100]' in message
    assert '\n' not in message


def test_non_finite_metric_in_json_is_refused(tmp_path: Path) -> None:
    path = write_run(tmp_path, 'rice_a_synthetic-lpr4m', 0, METRICS)
    path.write_text(path.read_text().replace('"R@1": 10.0', '"R@1": NaN'))
    with pytest.raises(LeaderboardError, match=r"field 'metrics\.R@1': expected a finite number"):
        leaderboard.build(tmp_path, reported=None)


@pytest.mark.parametrize('field, value', [('config_hash', 'zz' * 32), ('checkpoint_sha256', '<script>'),
                                          ('git', {'commit': 'abc`|', 'dirty': False}), ('date', 'yesterday')])
def test_identity_fields_must_be_digests_and_dates(tmp_path: Path, field: str, value) -> None:
    path = write_run(tmp_path, 'rice_a_synthetic-lpr4m', 0, METRICS)
    _edit(path, **{field: value})
    with pytest.raises(LeaderboardError, match=rf"{path}: field '{field}"):
        leaderboard.build(tmp_path, reported=None)


def test_one_checkpoint_under_three_path_spellings_is_one_run(tmp_path: Path) -> None:
    ckpt = 'e' * 64
    spellings = ['configs/x/rice_a_synthetic-lpr4m.py', './configs/x/../x/rice_a_synthetic-lpr4m.py',
                 '/home/someone/clone/configs/x/rice_a_synthetic-lpr4m.py']
    for index, spelling in enumerate(spellings):
        path = write_run(tmp_path / f'copy{index}', 'rice_a_synthetic-lpr4m', 0, METRICS)
        _edit(path, config=spelling, checkpoint_sha256=ckpt, checkpoint=f'work{index}/iter_10.pth')
    (row,) = _rows(tmp_path)
    assert row.seeds == (0,) and len(row.files) == 3 and row.recall[1].n == 1
    assert row.label == 'rice_a_synthetic-lpr4m' and row.key == 'configs/x/rice_a_synthetic-lpr4m.py'
    # The same checkpoint under an unrelated config path (a copy outside any configs/ folder) also joins.
    other = write_run(tmp_path / 'elsewhere', 'rice_a_synthetic-lpr4m', 0, METRICS)
    _edit(other, config='/tmp/rice_a_synthetic-lpr4m.py', checkpoint_sha256=ckpt)
    (row,) = _rows(tmp_path)
    assert len(row.files) == 4
    # Same checkpoint, other metrics: not the same run any more, a conflict.
    _edit(other, metrics=dict(METRICS, **{'R@1': 11.0}))
    with pytest.raises(LeaderboardError, match="field 'seed': duplicate of"):
        leaderboard.build(tmp_path, reported=None)


def test_checkpoint_filed_as_another_seed_is_refused(tmp_path: Path) -> None:
    first = write_run(tmp_path, 'rice_a_synthetic-lpr4m', 0, METRICS)
    second = write_run(tmp_path, 'rice_a_synthetic-lpr4m', 1, dict(METRICS, **{'R@1': 12.0}))
    _edit(first, checkpoint_sha256='e' * 64)
    _edit(second, checkpoint_sha256='e' * 64)
    with pytest.raises(LeaderboardError, match=rf"{second}: field 'seed': 1 but its checkpoint .* is the one of"):
        leaderboard.build(tmp_path, reported=None)


def test_identical_file_filed_as_another_seed_is_refused(tmp_path: Path) -> None:
    """A zero-shot run (no checkpoint) copied to seed1.json with only the seed edited."""
    first = write_run(tmp_path, 'clip_a_synthetic-lpr4m', 0, METRICS, zero_shot=True)
    copy = first.parent / 'seed1.json'
    shutil.copy(first, copy)
    _edit(copy, seed=1)
    with pytest.raises(LeaderboardError, match=rf"{copy}: field 'seed': the file is identical to .*seed0.json"):
        leaderboard.build(tmp_path, reported=None)
    # A genuine second seed (its own date and numbers) is accepted.
    write_run(tmp_path, 'clip_a_synthetic-lpr4m', 1, dict(METRICS, **{'R@1': 9.0}), zero_shot=True)
    (row,) = _rows(tmp_path)
    assert row.seeds == (0, 1)


def test_overrides_make_their_own_labelled_row(tmp_path: Path) -> None:
    write_run(tmp_path, 'rice_a_synthetic-lpr4m', 0, METRICS)
    short = write_run(tmp_path / 'short', 'rice_a_synthetic-lpr4m', 0, dict(METRICS, **{'R@1': 5.0}),
                      cfg_hash='1' * 64)
    # Logging and the seed are neutral: they do not split the row; max_iters does.
    _edit(short, cfg_options={'train_cfg.max_iters': 200, 'randomness.seed': 0,
                              'default_hooks.logger.interval': 1})
    rows = _rows(tmp_path)
    assert [r.label for r in rows] == ['rice_a_synthetic-lpr4m', 'rice_a_synthetic-lpr4m [train_cfg.max_iters=200]']
    assert rows[1].overrides == {'train_cfg.max_iters': 200}
    markdown = leaderboard.build(tmp_path, reported=None).markdown
    assert '`rice_a_synthetic-lpr4m [train_cfg.max_iters=200]`' in markdown


def test_best_is_keyed_by_run_not_by_config_stem(tmp_path: Path) -> None:
    """Two configs with one file stem in different folders: distinct rows, labels and best marks."""
    # 30% vs 20% hits at rank 1 on the same 200 queries (paired: 20 discordant queries, all for A).
    high_ranks, low_ranks = [1] * 60 + [5] * 140, [1] * 40 + [5] * 160
    write_run(tmp_path / 'a', 'rice_a_synthetic-lpr4m', 0, _metrics(high_ranks), per_query=_per_query(high_ranks))
    low = write_run(tmp_path / 'b', 'rice_a_synthetic-lpr4m', 0, _metrics(low_ranks),
                    cfg_hash='2' * 64, per_query=_per_query(low_ranks))
    _edit(low, config='configs/y/rice_a_synthetic-lpr4m.py')
    board = leaderboard.build(tmp_path, reported=None)
    table = board.tables[0]
    assert [r.label for r in table.reproduced] == ['x/rice_a_synthetic-lpr4m', 'y/rice_a_synthetic-lpr4m']
    assert ('configs/x/rice_a_synthetic-lpr4m.py', 1) in table.best
    assert ('configs/y/rice_a_synthetic-lpr4m.py', 1) not in table.best
    assert '**30.0 [' in board.markdown and '**20.0 [' not in board.markdown


def test_best_only_within_one_annotation_checksum(tmp_path: Path) -> None:
    write_run(tmp_path, 'rice_a_synthetic-lpr4m', 0, dict(METRICS, **{'R@1': 30.0}))
    write_run(tmp_path, 'rice_b_synthetic-lpr4m', 0, dict(METRICS, **{'R@1': 20.0}), cfg_hash='3' * 64,
              annotations={'sha256': '9' * 64, 'files': 3})
    assert not leaderboard.build(tmp_path, reported=None).tables[0].best   # two classes of one row each


HOSTILE = 'evil | row\n<script>alert(1)</script> `tick` [link](http://x) **b** ' + START + ' ' + END


def test_hostile_text_fields_are_escaped(tmp_path: Path) -> None:
    path = write_run(tmp_path, 'rice_a_synthetic-lpr4m', 0, METRICS)
    write_run(tmp_path, 'rice_b_synthetic-lpr4m', 0, METRICS, cfg_hash='4' * 64)
    _edit(path, method=HOSTILE, train_data=HOSTILE, scoring=HOSTILE, tta=HOSTILE,
          config='configs/x/rice_a`|<b>.py', cfg_options={'model.name': HOSTILE})
    markdown = leaderboard.build(tmp_path, reported=None).markdown
    assert '<script>' not in markdown and '&lt;script&gt;' in markdown
    assert '<!--' not in markdown.split('-->', 1)[1]   # only the header's own comment
    assert START not in markdown and END not in markdown
    assert '[link](' not in markdown and '\\[link\\]' in markdown
    table_lines = [line for line in markdown.splitlines() if line.startswith('| ')]
    header_cells = table_lines[0].count(' | ')
    for line in table_lines:   # no injected cell separator: every row has the header's cell count
        assert line.replace('\\|', '').count(' | ') == header_cells, line


def test_hostile_dataset_and_protocol_info(tmp_path: Path) -> None:
    from csa_bench.evaluation.protocols import get_protocol
    info = dict(get_protocol('movingfashion-seam-aggr').describe(), gallery_text='<img src=x onerror=alert(1)>')
    write_run(tmp_path, 'seam_synthetic-movingfashion', 0, {'top1': 20.0, 'top5': 40.0},
              dataset='synthetic-movingfashion', protocol='movingfashion-seam-aggr', components=(),
              protocol_info=info)
    markdown = leaderboard.build(tmp_path, reported=None).markdown
    assert '<img' not in markdown and '&lt;img src=x onerror=alert(1)&gt;' in markdown


def test_readme_markers_cannot_be_forged(tmp_path: Path) -> None:
    results = tmp_path / 'results'
    path = write_run(results, 'rice_a_synthetic-lpr4m', 0, METRICS)
    _edit(path, method=f'x {END} injected {START}')
    readme = tmp_path / 'README.md'
    readme.write_text(f'# p\n\n{START}\nold\n{END}\n\n## after\n')
    assert generate(str(results), str(tmp_path / 'LEADERBOARD.md'), figures=False, readme=str(readme)) == 0
    written = readme.read_text()
    assert written.count(START) == 1 and written.count(END) == 1 and written.endswith('\n\n## after\n')
    # Regenerating from the written README is stable (the block is found again, not split inside).
    assert generate(str(results), str(tmp_path / 'LEADERBOARD.md'), check=True, figures=False,
                    readme=str(readme)) == 0
    readme.write_text(written + f'\n{START}\n')
    with pytest.raises(ValueError, match='more than once'):
        generate(str(results), str(tmp_path / 'LEADERBOARD.md'), figures=False, readme=str(readme))


@pytest.mark.parametrize('value, expected', [
    ('plain text (ok)', 'plain text (ok)'), ('gallery_main.txt', 'gallery_main.txt'),
    ('a|b', 'a\\|b'), ('<b>&', '&lt;b&gt;&amp;'), ('_em_', '\\_em\\_'), ('x\ny', 'x y'),
    ('`c`', '\\`c\\`'), ('[l](u)', '\\[l\\](u)'),
])
def test_text_escape(value: str, expected: str) -> None:
    assert text(value) == expected


def test_code_span_only_for_safe_values() -> None:
    assert code('rice_a [train_cfg.max_iters=200]') == '`rice_a [train_cfg.max_iters=200]`'
    assert code('a`b') == 'a\\`b' and code('a|b') == 'a\\|b' and code('<x>') == '&lt;x&gt;'


def test_files_without_the_newer_optional_fields_still_load(tmp_path: Path) -> None:
    """Committed result files predate cfg_options / coverage: they load with the defaults."""
    from csa_bench.results import ResultError, load_result
    path = write_run(tmp_path, 'rice_a_synthetic-lpr4m', 0, METRICS)
    record = json.loads(path.read_text())
    del record['cfg_options'], record['coverage']
    path.write_text(json.dumps(record))
    loaded = load_result(path)
    assert loaded['cfg_options'] == {} and loaded['coverage'] is None
    _edit(path, cfg_options=['train_cfg.max_iters=5'])
    with pytest.raises(ResultError, match=rf"{path}: field 'cfg_options': expected dict"):
        load_result(path)


def test_seeds_with_different_pretrained_weights_are_refused(tmp_path: Path) -> None:
    write_run(tmp_path, 'rice_a_lpr4m', 0, METRICS, dataset='lpr4m')
    other = write_run(tmp_path, 'rice_a_lpr4m', 1, dict(METRICS, **{'R@1': 11.0}), dataset='lpr4m')
    _edit(other, pretrained={'{{$CSA_PRETRAINED}}/ViT-B-32.pt': 'a' * 64})
    with pytest.raises(LeaderboardError, match=rf"{other}: field 'pretrained'"):
        leaderboard.build(tmp_path, reported=None)


def test_partial_load_runs_are_their_own_labelled_row(tmp_path: Path) -> None:
    write_run(tmp_path, 'rice_a_synthetic-lpr4m', 0, METRICS)
    partial = write_run(tmp_path / 'p', 'rice_a_synthetic-lpr4m', 1, METRICS, cfg_hash='4' * 64)
    _edit(partial, allow_partial=True, partial_load={'missing': 3, 'unexpected': 0, 'shape_mismatch': 0})
    rows = leaderboard.build(tmp_path, reported=None).tables[0].reproduced
    assert sorted(r.label for r in rows) == ['rice_a_synthetic-lpr4m', 'rice_a_synthetic-lpr4m [partial load]']
    assert len({r.key for r in rows}) == 2
