"""Hand-made result files for the leaderboard tests (real schema-1 records, written in tmp_path)."""
from __future__ import annotations

from pathlib import Path

import pytest

from csa_bench.results import make_result, write_result


def write_run(root: Path, stem: str, seed: int, metrics: dict, *, dataset: str = 'synthetic-lpr4m',
              protocol: str = 'lpr4m-csa', components: tuple = ('ICL',), cfg_hash: str = 'a' * 64,
              method: str = 'rice', annotations: dict | None = None, **extra) -> Path:
    """Write one result JSON as ``reproduce`` names it: ``<stem>/seed<seed>.json``."""
    record = make_result(metrics, protocol=protocol, dataset=dataset, split='test', method=method,
                         config=f'configs/x/{stem}.py', cfg_hash=cfg_hash, components=list(components),
                         annotations=annotations or {'sha256': 'f' * 64, 'files': 3}, seed=seed,
                         num_params=1_234_567, train_time_s=12.0, test_time_s=2.0, **extra)
    # Fixed provenance so that generated markdown is comparable across test runs.
    record.update(date=f'2026-01-0{seed + 1}T00:00:00+00:00', git={'commit': 'c' * 40, 'dirty': False})
    path = root / stem / f'seed{seed}.json'
    write_result(path, record)
    return path


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    """Three CSA rows (two seeds each), one baseline, one zero-shot row; a MovingFashion-format table."""
    root = tmp_path / 'results'
    for seed, delta in ((0, 0.0), (1, 2.0)):
        write_run(root, 'rice-icl_tiny_synthetic-lpr4m', seed,
                  {'R@1': 10 + delta, 'R@3': 20, 'R@5': 30, 'R@10': 40})
        # mmengine-prefixed keys, as a metric with a default_prefix writes them.
        write_run(root, 'rice-pmd_tiny_synthetic-lpr4m', seed,
                  {'retrieval/R@1': 14 + delta, 'retrieval/R@3': 24, 'retrieval/R@5': 34,
                   'retrieval/R@10': 44},
                  components=('ICL', 'PMD'), cfg_hash='b' * 64)
        write_run(root, 'rice-pfr_tiny_synthetic-lpr4m', seed, {'R@1': 12 + delta, 'R@3': 22, 'R@5': 36,
                                                               'R@10': 46},
                  components=('ICL', 'PMD', 'PFR'), cfg_hash='c' * 64)
    write_run(root, 'fashionnet_r18_synthetic-lpr4m', 0, {'R@1': 5, 'R@3': 9, 'R@5': 12, 'R@10': 20},
              components=(), cfg_hash='d' * 64, method='fashionnet')
    write_run(root, 'clip-zs_tiny_synthetic-movingfashion', 0, {'R@1': 3, 'R@3': 4, 'R@5': 5, 'R@10': 6},
              dataset='synthetic-movingfashion', protocol='movingfashion-csa', components=(),
              cfg_hash='e' * 64, method='clip-zs', zero_shot=True)
    return root
