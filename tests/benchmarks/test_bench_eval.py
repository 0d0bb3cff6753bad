"""Evaluation benchmarks at full LPR4M test scale (``make bench``) + a tiny smoke run of ``bench eval``.

Full scale: 20,079 queries, 110 lives, 512-d; per-live gallery 110 x 55 main images, global gallery
66,358 images. Compare ``ours`` with ``bound`` (bare matmul + top-k) and ``naive`` (official-style
per-query loop, timed on 500 queries: multiply its mean by 20,079 / 500 to extrapolate).
"""

from __future__ import annotations

import argparse

import pytest

from csa_bench.benchmarks import eval as bench_eval

FULL = dict(n_query=20079, n_groups=110, dim=512)


@pytest.fixture(scope='module')
def per_live():
    return bench_eval.make_features(FULL['n_query'], 110 * 55, FULL['n_groups'], FULL['dim'], 0, 'cpu')


@pytest.fixture(scope='module')
def global_case():
    return bench_eval.make_features(FULL['n_query'], 66358, FULL['n_groups'], FULL['dim'], 0, 'cpu')


@pytest.mark.benchmark
@pytest.mark.parametrize('case', ['per_live', 'global_case'])
def test_bench_ours(benchmark, request, case) -> None:
    feat = request.getfixturevalue(case)
    seconds, metrics = benchmark.pedantic(
        bench_eval.time_ours, args=(feat, case == 'per_live', 'cpu'), rounds=1, iterations=1
    )
    assert metrics['n_queries'] == FULL['n_query']


@pytest.mark.benchmark
@pytest.mark.parametrize('case', ['per_live', 'global_case'])
def test_bench_bound(benchmark, request, case) -> None:
    feat = request.getfixturevalue(case)
    benchmark.pedantic(bench_eval.time_bound, args=(feat, case == 'per_live', 'cpu'), rounds=1, iterations=1)


@pytest.mark.benchmark
@pytest.mark.parametrize('case', ['per_live', 'global_case'])
def test_bench_naive_500_queries(benchmark, request, case) -> None:
    feat = request.getfixturevalue(case)
    benchmark.pedantic(bench_eval.time_naive, args=(feat, case == 'per_live', 500), rounds=1, iterations=1)


def test_bench_eval_smoke() -> None:
    """``csa-bench bench eval`` end to end on a tiny problem: figures present and consistent."""
    parser = argparse.ArgumentParser()
    bench_eval.add_arguments(parser)
    args = parser.parse_args(
        [
            '--queries',
            '300',
            '--groups',
            '5',
            '--gallery',
            '900',
            '--main-per-group',
            '20',
            '--dim',
            '16',
            '--naive-queries',
            '50',
            '--official-queries',
            '20',
        ]
    )
    figures = bench_eval.run(args)
    for case in ('per-live', 'global'):
        assert (
            figures[f'{case}/ours_s'] > 0
            and figures[f'{case}/bound_s'] > 0
            and figures[f'{case}/naive_s'] > 0
            and figures[f'{case}/official_s'] > 0
        )
        assert 0.0 <= figures[f'{case}/R@1'] <= 100.0
