"""``csa-bench score``: official JSON round trip, npz (dump / score matrix), groups, errors, result JSON."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from csa_bench.cli import score
from csa_bench.cli.errors import CliError
from csa_bench.evaluation import RetrievalMetric

from .test_metric import LIVES, make_predictions


def _args(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    score.add_parser(sub)
    argv = ['score']
    for key, value in kw.items():
        argv += [f'--{key}', *([str(v) for v in value] if isinstance(value, list) else [str(value)])]
    return parser.parse_args(argv)


@pytest.fixture
def dumped(tmp_path):
    """A metric run with a full-length dump (lists cover each live's whole gallery)."""
    preds = make_predictions()
    metric = RetrievalMetric(protocol='lpr4m-csa', dump_dir=str(tmp_path / 'dump'), dump_topk=100)
    metric.dataset_meta = {'missing_queries': {f'{LIVES[1]}-1690443120000-1690449999999': ['img1']}}
    metric.process({}, preds)
    metrics = metric.evaluate(len(preds))
    # The metric's per-query outcome, for comparison with what `score --out` records.
    (tmp_path / 'metric_per_query.json').write_text(json.dumps(metric.last_result['per_query']))
    return tmp_path / 'dump', metrics


def _table_metrics(capsys) -> str:
    return capsys.readouterr().out


def test_json_round_trip_equals_metric(dumped, tmp_path) -> None:
    dump, expected = dumped
    out = tmp_path / 'result.json'
    assert (
        score.run(_args(pred=dump / 'rankings.json', gt=dump / 'gt.json', protocol='lpr4m-csa', out=out)) == 0
    )
    record = json.loads(out.read_text())
    assert record['protocol'] == 'lpr4m-csa' and record['source_files']['gt']['sha256']
    for key in ('R@1', 'R@3', 'R@5', 'R@10', 'mAP', 'n_missing', 'n_queries'):
        assert record['metrics'][key] == pytest.approx(expected[key])
    # The per-query outcome (for intervals and paired tests) is the metric's own, query for query.
    metric_per_query = json.loads((dump.parent / 'metric_per_query.json').read_text())
    assert record['per_query']['query_ids'] == metric_per_query['query_ids']
    assert record['per_query']['first_rank'] == metric_per_query['first_rank']


def test_npz_dump_rescored_equals_metric(dumped, tmp_path) -> None:
    dump, expected = dumped
    out = tmp_path / 'r.json'
    score.run(_args(pred=dump, gt=dump / 'gt.json', protocol='lpr4m-csa', out=out))
    record = json.loads(out.read_text())
    metric_per_query = json.loads((dump.parent / 'metric_per_query.json').read_text())
    assert record['per_query']['first_rank'] == metric_per_query['first_rank']
    for key, value in expected.items():
        if '/' in key:
            continue  # gt.json is the official {id: [ids]}: it carries no breakdown meta
        if value == float('inf'):
            assert record['metrics_non_finite'][key] is None
        else:
            assert record['metrics'][key] == pytest.approx(value), key


def test_score_matrix_with_official_groups_file(dumped, tmp_path) -> None:
    dump, expected = dumped
    npz = np.load(dump / 'embeddings.npz')
    scores = npz['query_emb'] @ npz['gallery_emb'].T
    np.savez(
        tmp_path / 'scores.npz', scores=scores, query_ids=npz['query_ids'], gallery_ids=npz['gallery_ids']
    )
    groups = {}
    for gid, group in zip(npz['gallery_ids'], npz['gallery_groups'], strict=True):
        groups.setdefault(str(group), []).append(str(gid))
    (tmp_path / 'groups.json').write_text(json.dumps(groups))
    out = tmp_path / 'r.json'
    score.run(
        _args(
            pred=tmp_path / 'scores.npz',
            gt=dump / 'gt.json',
            protocol='lpr4m-csa',
            groups=tmp_path / 'groups.json',
            out=out,
        )
    )
    got = json.loads(out.read_text())['metrics']
    for key in ('R@1', 'R@3', 'mAP', 'n_unreachable_gt'):
        assert got[key] == pytest.approx(expected[key])
    with pytest.raises(CliError, match='--groups'):
        score.run(_args(pred=tmp_path / 'scores.npz', gt=dump / 'gt.json', protocol='lpr4m-csa'))


def test_single_pair_and_string_gt_accepted(tmp_path, capsys) -> None:
    (tmp_path / 'p.json').write_text(json.dumps({'v1': ['a', 0.9], 'v2': [['b', 0.5], ['a', 0.4]]}))
    (tmp_path / 'g.json').write_text(json.dumps({'v1': 'a', 'v2': {'gt': 'a', 'source': 0}, 'v3': ['c']}))
    out = tmp_path / 'r.json'
    score.run(
        _args(
            pred=tmp_path / 'p.json', gt=tmp_path / 'g.json', protocol='movingfashion-csa', out=out, k=[1, 2]
        )
    )
    record = json.loads(out.read_text())
    assert record['metrics']['R@1'] == pytest.approx(100 / 3) and record['metrics']['R@2'] == pytest.approx(
        200 / 3
    )
    assert record['metrics']['n_missing'] == 1 and record['metrics']['R@1/source=0'] == 0.0
    assert 'movingfashion-csa' in capsys.readouterr().out


@pytest.mark.parametrize(
    'pred, gt, match',
    [
        ({'v9': [['a', 1.0]]}, {'v1': ['a']}, "query id 'v9'"),
        ({'v1': [['a', 'x']]}, {'v1': ['a']}, "key 'v1'"),
        ({'v1': [['a', 1.0]]}, {'v1': []}, "key 'v1'"),
        ([1, 2], {'v1': ['a']}, 'p.json'),
    ],
)
def test_bad_json_inputs_name_file_and_key(tmp_path, pred, gt, match) -> None:
    (tmp_path / 'p.json').write_text(json.dumps(pred))
    (tmp_path / 'g.json').write_text(json.dumps(gt))
    with pytest.raises(CliError, match=match):
        score.run(_args(pred=tmp_path / 'p.json', gt=tmp_path / 'g.json', protocol='movingfashion-csa'))


def test_bad_npz_and_files(tmp_path) -> None:
    (tmp_path / 'g.json').write_text(json.dumps({'q': ['a']}))
    np.savez(
        tmp_path / 's.npz', scores=np.zeros((2, 3)), query_ids=np.array(['q']), gallery_ids=np.array(['a'])
    )
    with pytest.raises(CliError, match=r"s\.npz.*'scores' has shape"):
        score.run(_args(pred=tmp_path / 's.npz', gt=tmp_path / 'g.json', protocol='movingfashion-csa'))
    (tmp_path / 'broken.json').write_text('{"q": [')
    with pytest.raises(CliError, match='broken.json'):
        score.run(_args(pred=tmp_path / 'broken.json', gt=tmp_path / 'g.json', protocol='movingfashion-csa'))
    with pytest.raises(CliError, match='does not exist'):
        score.run(_args(pred=tmp_path / 'nope.json', gt=tmp_path / 'g.json', protocol='movingfashion-csa'))
    with pytest.raises(CliError, match='unknown protocol'):
        score.run(_args(pred=tmp_path / 's.npz', gt=tmp_path / 'g.json', protocol='nope'))


def test_main_dispatches_score(tmp_path) -> None:
    from csa_bench.cli import main

    (tmp_path / 'p.json').write_text(json.dumps({'v1': [['a', 0.9]]}))
    (tmp_path / 'g.json').write_text(json.dumps({'v1': ['a']}))
    assert (
        main(
            [
                'score',
                '--pred',
                str(tmp_path / 'p.json'),
                '--gt',
                str(tmp_path / 'g.json'),
                '--protocol',
                'movingfashion-csa',
            ]
        )
        == 0
    )
    assert (
        main(
            [
                'score',
                '--pred',
                str(tmp_path / 'x.json'),
                '--gt',
                str(tmp_path / 'g.json'),
                '--protocol',
                'movingfashion-csa',
            ]
        )
        == 2
    )
