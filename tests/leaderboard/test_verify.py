"""``csa-bench reproduce --verify``: verdicts of :mod:`csa_bench.engine.verify` and the CLI around them
(train/test faked as in ``test_reproduce``; the committed results are never written)."""
from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from csa_bench.cli import main
from csa_bench.engine import api
from csa_bench.engine.verify import compare_row
from csa_bench.results import make_result

from .test_reproduce import _argv, tree  # noqa: F401  (fixture re-used)

N_QUERIES = 300


def _per_query(seed: int, shift: int = 0) -> dict:
    """Deterministic ranks per seed; ``shift`` queries turn from miss to hit (another machine's drift)."""
    rng = random.Random(seed)
    ranks = [1 if rng.random() < 0.3 else rng.randint(2, 30) for _ in range(N_QUERIES)]
    for i in [i for i, r in enumerate(ranks) if r != 1][:shift]:
        ranks[i] = 1
    return {'query_ids': [f'q{i:04d}' for i in range(N_QUERIES)], 'first_rank': ranks}


def _metrics(per_query: dict) -> dict:
    ranks = per_query['first_rank']
    return {f'R@{k}': 100 * sum(1 for r in ranks if r <= k) / len(ranks) for k in (1, 3, 5, 10)}


def _record(seed: int, shift: int = 0, cfg_hash: str = 'a' * 64, per_query: bool = True) -> dict:
    pq = _per_query(seed, shift)
    record = make_result(_metrics(pq), protocol='lpr4m-csa', dataset='synthetic-lpr4m', split='test',
                         config='configs/x/row.py', cfg_hash=cfg_hash, seed=seed,
                         annotations={'sha256': 'f' * 64, 'files': 3}, per_query=pq if per_query else None,
                         protocol_info={'k_list': [1, 3, 5, 10], 'scale': 100.0})
    return record


def test_verdicts() -> None:
    committed = [_record(42), _record(43), _record(44)]
    same = compare_row('row', committed, {s: _record(s) for s in (42, 43, 44)})
    assert same.status == 'identical' and same.passed and same.metric == 'R@1'
    assert same.interval.low < same.committed < same.interval.high
    near = compare_row('row', committed, {s: _record(s, shift=3) for s in (42, 43, 44)})
    assert near.status == 'inside' and near.passed and near.rerun == pytest.approx(near.committed + 1.0)
    far = compare_row('row', committed, {s: _record(s, shift=40) for s in (42, 43, 44)})
    assert far.status == 'outside' and not far.passed and 'Δ +13.33' in far.note
    stale = compare_row('row', committed, {s: _record(s, cfg_hash='b' * 64) for s in (42, 43, 44)})
    assert stale.status == 'stale' and 'config hash' in stale.note
    missing = compare_row('row', committed, {42: _record(42), 43: None, 44: _record(44)})
    assert missing.status == 'missing' and 'seed 43' in missing.note
    failed = compare_row('row', committed, {42: None, 43: None, 44: None}, {42: 'RuntimeError: boom'})
    assert failed.status == 'failed' and 'boom' in failed.note
    old = [_record(s, per_query=False) for s in (42, 43)]
    assert compare_row('row', old, {s: _record(s, shift=1, per_query=False) for s in (42, 43)}).status == \
        'no interval'
    assert compare_row('row', old, {s: _record(s, per_query=False) for s in (42, 43)}).status == 'identical'


@pytest.fixture
def fake(monkeypatch) -> SimpleNamespace:
    """Fake api.train / api.test whose outcome carries per-query ranks; ``state.shift`` simulates drift."""
    state = SimpleNamespace(shift=0, calls=[])

    def train(config, *, work_dir, cfg_options=None, resume=False, seed=None, **_):
        state.calls.append(('train', Path(config).stem, seed))
        ckpt = Path(work_dir) / 'iter_2.pth'
        ckpt.write_bytes(f'{config}{seed}'.encode())
        return api.TrainOutcome(work_dir, str(ckpt), 1.0, api.load_config(config, cfg_options, work_dir))

    def test(config, checkpoint=None, *, work_dir=None, cfg_options=None, **_):
        cfg = api.load_config(config, cfg_options, work_dir)
        state.calls.append(('test', Path(config).stem, cfg.randomness.seed))
        pq = _per_query(cfg.randomness.seed, state.shift)
        metrics = dict(_metrics(pq), n_queries=N_QUERIES)
        return SimpleNamespace(metrics=metrics, work_dir=work_dir, test_time_s=0.5, config=cfg, num_params=1000,
                               per_query=pq)

    monkeypatch.setattr(api, 'train', train)
    monkeypatch.setattr(api, 'test', test)
    return state


def test_verify_cli(tree: Path, fake: SimpleNamespace, capsys) -> None:  # noqa: F811
    only = ('--only', 'rice-icl_*')
    assert main(_argv(tree, '--seeds', '3', '--no-leaderboard', *only)) == 0
    committed = {p: p.read_bytes() for p in (tree / 'results').rglob('*.json')}
    assert len(committed) == 3
    fake.calls.clear()
    out = tree / 'verify'
    assert main(_argv(tree, '--verify', '--verify-out', str(out), *only)) == 0
    assert [c[2] for c in fake.calls if c[0] == 'train'] == [42, 43, 44]   # every committed seed re-trained
    text = ' '.join(capsys.readouterr().out.split())
    assert 'identical' in text and '1 of 1 row(s) reproduced' in text
    assert {p: p.read_bytes() for p in (tree / 'results').rglob('*.json')} == committed   # untouched
    assert not (tree / 'board').exists()
    record = json.loads((out / 'results' / 'rice-icl_tiny_synthetic-lpr4m' / 'seed43.json').read_text())
    assert record['per_query']['query_ids'][0] == 'q0000'
    fake.shift = 2
    assert main(_argv(tree, '--verify', '--verify-out', str(out), *only)) == 0
    assert 'inside' in capsys.readouterr().out
    fake.shift = 60
    assert main(_argv(tree, '--verify', '--verify-out', str(out), *only)) == 1
    text = ' '.join(capsys.readouterr().out.split())   # rich wraps long lines
    assert 'outside' in text and 'not reproduced: rice-icl_tiny_synthetic-lpr4m' in text
    assert {p: p.read_bytes() for p in (tree / 'results').rglob('*.json')} == committed


def test_verify_refuses_to_write_into_the_results(tree: Path, fake: SimpleNamespace, capsys) -> None:  # noqa: F811
    assert main(_argv(tree, '--no-leaderboard', '--only', 'rice-icl_*')) == 0
    assert main(_argv(tree, '--verify', '--verify-out', str(tree / 'results' / 'x'))) == 2
    assert 'must not be overwritten' in capsys.readouterr().err
    assert main(_argv(tree, '--verify', '--only', 'rice-pmd_*')) == 2
    assert 'no committed results' in capsys.readouterr().err


def test_only_accepts_several_globs_and_trains_before_testing_only(tree: Path, fake: SimpleNamespace,  # noqa: F811
                                                                   capsys) -> None:
    """``make demo`` runs the ablation and its zero-shot reference in one pool: --only takes several globs,
    and the short test-only runs are queued after the trained ones."""
    assert main(_argv(tree, '--only', 'rice-icl*', 'clip-zs*', '--no-leaderboard')) == 0
    assert '2 config(s) x 1 seed(s): 2 to run' in ' '.join(capsys.readouterr().out.split())
    assert fake.calls == [('train', 'rice-icl_tiny_synthetic-lpr4m', 42), ('test', 'rice-icl_tiny_synthetic-lpr4m', 42),
                          ('test', 'clip-zs_tiny_synthetic-lpr4m', 42)]   # sorted by name, clip-zs would be first
