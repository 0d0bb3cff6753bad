"""``csa-bench score`` sanity: repeated ids cannot add positives, partial lists are reported (errors
with --strict), and the coverage travels into the result file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from csa_bench.cli import main, score
from csa_bench.cli.errors import CliError
from csa_bench.evaluation.coverage import dedupe_ranked, list_coverage

from .test_score_cli import _args, dumped  # noqa: F401  (fixture)

GALLERY = [f'g{i}' for i in range(6)]


def _write(tmp_path, pred: dict, gt: dict) -> tuple:
    (tmp_path / 'p.json').write_text(json.dumps(pred))
    (tmp_path / 'g.json').write_text(json.dumps(gt))
    return tmp_path / 'p.json', tmp_path / 'g.json'


def _full(order: list[str]) -> list[list]:
    return [[gid, 1.0 - i / 100] for i, gid in enumerate(order)]


def test_repeated_gt_id_does_not_inflate_map(tmp_path, capsys) -> None:
    """The reproduction: the GT id at rank 3, then repeated 100 times. mAP was 93 (100 'positives')."""
    order = ['g1', 'g2', 'g0', 'g3', 'g4', 'g5']
    pred = {'q0': _full(order[:3]) + [['g0', 0.5]] * 100 + _full(order[3:])}
    p, g = _write(tmp_path, pred, {'q0': ['g0']})
    out = tmp_path / 'r.json'
    assert score.run(_args(pred=p, gt=g, protocol='movingfashion-csa', out=out)) == 0
    record = json.loads(out.read_text())
    assert record['metrics']['mAP'] == pytest.approx(100 / 3) and record['metrics']['R@1'] == 0.0
    assert record['metrics']['R@3'] == 100.0
    assert record['coverage']['repeated_ids_dropped'] == 100 and record['coverage']['queries_with_repeats'] == 1
    assert record['coverage']['full_coverage'] == 1.0
    err = ' '.join(capsys.readouterr().err.split())
    assert 'warning:' in err and '100 repeated gallery ids in 1 ranked lists were dropped' in err
    # Without the dedupe, the same list scores mAP ~93 (the reproduction).
    from csa_bench.evaluation.functional import positive_ranks_from_lists, summarize
    _, ranks, sizes, _ = positive_ranks_from_lists({'q0': [gid for gid, _ in pred['q0']]}, {'q0': ['g0']})
    assert summarize(ranks, sizes, (1,))['mAP'] > 90
    with pytest.raises(CliError, match=r'100 repeated gallery ids .*--strict'):
        score.run(_strict_args(pred=p, gt=g, protocol='movingfashion-csa'))


def _strict_args(**kw):
    args = _args(**kw)
    args.strict = True
    return args


def test_lists_of_only_the_gt_ids_are_flagged(tmp_path, capsys) -> None:
    """R@1 = 100 from lists holding only each query's GT: a warning, an error with --strict."""
    gt = {f'q{i}': [GALLERY[i]] for i in range(4)}
    pred = {q: [[ids[0], 1.0]] for q, ids in gt.items()}
    p, g = _write(tmp_path, pred, gt)
    out = tmp_path / 'r.json'
    assert score.run(_args(pred=p, gt=g, protocol='movingfashion-csa', out=out)) == 0
    record = json.loads(out.read_text())
    assert record['metrics']['R@1'] == 100.0   # the number itself is what the lists say ...
    coverage = record['coverage']               # ... and the file says how little they covered
    assert coverage['full_coverage'] == 0.0 and coverage['queries'] == 4 and coverage['shortest_list'] == 1
    assert coverage['gallery'].startswith('estimated')
    err = ' '.join(capsys.readouterr().err.split())
    assert '4 of 4 ranked lists do not cover their query\'s gallery' in err
    with pytest.raises(CliError, match=r'4 of 4 ranked lists do not cover .*\(--strict\)'):
        score.run(_strict_args(pred=p, gt=g, protocol='movingfashion-csa'))
    assert main(['score', '--pred', str(p), '--gt', str(g), '--protocol', 'movingfashion-csa', '--strict']) == 2


def test_complete_lists_pass_strict(tmp_path, capsys) -> None:
    gt = {f'q{i}': [GALLERY[i]] for i in range(4)}
    pred = {q: _full(GALLERY[::-1]) for q in gt}
    p, g = _write(tmp_path, pred, gt)
    assert score.run(_strict_args(pred=p, gt=g, protocol='movingfashion-csa')) == 0
    assert 'warning' not in capsys.readouterr().err


def test_full_dump_lists_cover_each_live(dumped, tmp_path, capsys) -> None:  # noqa: F811
    """Per-live galleries estimated from the query id rule: the dump's full lists pass --strict."""
    dump, _ = dumped
    out = tmp_path / 'r.json'
    assert score.run(_strict_args(pred=dump / 'rankings.json', gt=dump / 'gt.json', protocol='lpr4m-csa',
                                  out=out)) == 0
    assert json.loads(out.read_text())['coverage']['full_coverage'] == 1.0
    # The npz of the same dump scores every gallery column: complete by construction.
    assert score.run(_args(pred=dump, gt=dump / 'gt.json', protocol='lpr4m-csa', out=out)) == 0
    assert json.loads(out.read_text())['coverage']['gallery'].startswith('complete')


def test_groups_file_gives_the_exact_gallery(dumped, tmp_path) -> None:  # noqa: F811
    dump, _ = dumped
    npz = np.load(dump / 'embeddings.npz')
    groups: dict[str, list[str]] = {}
    for gid, group in zip(npz['gallery_ids'], npz['gallery_groups'], strict=True):
        groups.setdefault(str(group), []).append(str(gid))
    lists = json.loads((dump / 'rankings.json').read_text())
    first = next(iter(lists))
    lists[first] = lists[first][:-1]   # one list misses the last of its live's gallery ids
    (tmp_path / 'p.json').write_text(json.dumps(lists))
    (tmp_path / 'groups.json').write_text(json.dumps(groups))
    out = tmp_path / 'r.json'
    assert score.run(_args(pred=tmp_path / 'p.json', gt=dump / 'gt.json', protocol='lpr4m-csa',
                           groups=tmp_path / 'groups.json', out=out)) == 0
    coverage = json.loads(out.read_text())['coverage']
    assert coverage['gallery'] == 'exact: the groups file'
    assert coverage['queries_full_coverage'] == coverage['queries'] - 1


def test_pure_helpers() -> None:
    lists, dropped, queries = dedupe_ranked({'a': ['x', 'y', 'x', 'x'], 'b': ['y']})
    assert lists == {'a': ['x', 'y'], 'b': ['y']} and (dropped, queries) == (2, 1)
    cov = list_coverage({'a': ['x', 'y'], 'b': ['y']}, lambda q: None)
    assert (cov.queries, cov.full, cov.shortest_list) == (2, 1, 1)   # estimated gallery {x, y}
    exact = list_coverage({'a': ['x']}, lambda q: 'g', {'g': {'x', 'w'}})
    assert exact.full == 0 and exact.problems('p.json')[0].startswith('p.json: 1 of 1 ranked lists')
