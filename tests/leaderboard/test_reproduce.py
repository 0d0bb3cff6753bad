"""``csa-bench reproduce``: suite selection, seeds, skip/resume logic (train/test monkeypatched),
failure counting, and the leaderboard it regenerates."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from csa_bench.cli import main
from csa_bench.cli.reproduce import suite_configs
from csa_bench.engine import api

CONFIG = """
model = dict(type='FakeRetriever', losses=[{losses}])
train_cfg = {train_cfg}
test_dataloader = dict(dataset=dict(type='LPR4MDataset', data_root=r'{root}', split='test'))
test_evaluator = dict(type='RetrievalMetric', protocol='lpr4m-csa')
randomness = dict(seed=42)
"""


def _write_config(path: Path, data_root: Path, losses: str = "dict(type='ICLLoss')",
                  train_cfg: str = "dict(type='IterBasedTrainLoop', max_iters=2)") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG.format(losses=losses, train_cfg=train_cfg, root=data_root))
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    data_root = tmp_path / 'data' / 'synthetic-lpr4m'
    (data_root / 'annotations').mkdir(parents=True)
    (data_root / 'annotations' / 'gallery_main.txt').write_text('live-1/img-0.jpg\n')
    configs = tmp_path / 'configs'
    _write_config(configs / 'rice' / 'rice-icl_tiny_synthetic-lpr4m.py', data_root)
    _write_config(configs / 'rice' / 'rice-pmd_tiny_synthetic-lpr4m.py', data_root,
                  losses="dict(type='ICLLoss'), dict(type='PMDLoss')")
    _write_config(configs / 'rice' / 'rice-icl_b32_lpr4m.py', data_root)   # real-data config: not synthetic
    _write_config(configs / 'baselines' / 'clip_zeroshot' / 'clip-zs_tiny_synthetic-lpr4m.py', data_root,
                  losses='', train_cfg='None')
    _write_config(configs / 'baselines' / '_base_' / 'base_synthetic-lpr4m.py', data_root)
    return tmp_path


@pytest.fixture
def calls(monkeypatch) -> list:
    """Fake api.train / api.test: record calls, write a checkpoint, return real-shaped outcomes."""
    class Log(list):
        test = None

    log = Log()

    def train(config, *, work_dir, cfg_options=None, resume=False, seed=None, **_):
        log.append(('train', Path(config).stem, seed, resume))
        ckpt = Path(work_dir) / 'iter_2.pth'
        ckpt.write_bytes(f'{config}{seed}'.encode())
        return api.TrainOutcome(work_dir, str(ckpt), 1.0, api.load_config(config, cfg_options, work_dir))

    def test(config, checkpoint=None, *, work_dir=None, cfg_options=None, **_):
        cfg = api.load_config(config, cfg_options, work_dir)
        log.append(('test', Path(config).stem, cfg.randomness.seed, checkpoint is not None))
        if 'pmd' in str(config) and getattr(test, 'fail_pmd', False):
            raise RuntimeError('boom')
        r1 = 10.0 + cfg.randomness.seed - 42 + (5 if 'pmd' in str(config) else 0)
        metrics = {'R@1': r1, 'R@3': 20.0, 'R@5': 30.0, 'R@10': 40.0}
        return SimpleNamespace(metrics=metrics, work_dir=work_dir, test_time_s=0.5, config=cfg,
                               num_params=1000)

    monkeypatch.setattr(api, 'train', train)
    monkeypatch.setattr(api, 'test', test)
    log.test = test
    return log


def _argv(tree: Path, *extra: str) -> list[str]:
    return ['reproduce', '--configs', str(tree / 'configs'), '--results', str(tree / 'results'),
            '--work-dir', str(tree / 'work'), '--leaderboard-out', str(tree / 'board' / 'LEADERBOARD.md'),
            *extra]


def test_suite_selection(tree: Path) -> None:
    names = [p.stem for p in suite_configs('all', 'synthetic', tree / 'configs')]
    assert names == ['clip-zs_tiny_synthetic-lpr4m', 'rice-icl_tiny_synthetic-lpr4m',
                     'rice-pmd_tiny_synthetic-lpr4m']
    real = suite_configs('csa-ablation', 'lpr4m', tree / 'configs')
    assert [p.stem for p in real] == ['rice-icl_b32_lpr4m']
    assert suite_configs('baselines', 'movingfashion', tree / 'configs') == []


def test_runs_then_skips_then_reruns_changed_config(tree: Path, calls: list) -> None:
    assert main(_argv(tree, '--seeds', '2')) == 0
    trained = sorted(c[1:3] for c in calls if c[0] == 'train')
    assert trained == [('rice-icl_tiny_synthetic-lpr4m', 42), ('rice-icl_tiny_synthetic-lpr4m', 43),
                       ('rice-pmd_tiny_synthetic-lpr4m', 42), ('rice-pmd_tiny_synthetic-lpr4m', 43)]
    zero_shot = [c for c in calls if c[1].startswith('clip-zs')]
    assert zero_shot == [('test', 'clip-zs_tiny_synthetic-lpr4m', 42, False),
                         ('test', 'clip-zs_tiny_synthetic-lpr4m', 43, False)]   # tested only, seeded
    record = json.loads((tree / 'results' / 'rice-pmd_tiny_synthetic-lpr4m' / 'seed43.json').read_text())
    assert record['seed'] == 43 and record['components'] == ['ICL', 'PMD'] and record['num_params'] == 1000
    assert record['annotations']['files'] == 1 and record['train_time_s'] == 1.0
    board = (tree / 'board' / 'LEADERBOARD.md').read_text()
    assert '15.50 ± 0.71 †' in board and 'none (zero-shot)' in board

    calls.clear()
    assert main(_argv(tree, '--seeds', '2')) == 0
    assert calls == []   # everything matched: nothing re-run
    assert main(_argv(tree, '--only', 'rice-icl*', '--force')) == 0
    assert calls == [('train', 'rice-icl_tiny_synthetic-lpr4m', 42, False),   # from scratch, not resumed
                     ('test', 'rice-icl_tiny_synthetic-lpr4m', 42, True)]
    # Regenerated test data (another annotation checksum) re-runs every config on it.
    calls.clear()
    (tree / 'data' / 'synthetic-lpr4m' / 'annotations' / 'gallery_main.txt').write_text('live-1/img-1.jpg\n')
    assert main(_argv(tree, '--only', 'rice-pmd*', '--seeds', '2')) == 0
    assert sorted(c[2] for c in calls if c[0] == 'train') == [42, 43]

    # A changed config (new hash) re-runs that config only; training does not resume the old work dir.
    calls.clear()
    cfg = tree / 'configs' / 'rice' / 'rice-icl_tiny_synthetic-lpr4m.py'
    cfg.write_text(cfg.read_text().replace('max_iters=2', 'max_iters=3'))
    assert main(_argv(tree, '--seeds', '2')) == 0
    assert sorted(c[1:] for c in calls if c[0] == 'train') == [
        ('rice-icl_tiny_synthetic-lpr4m', 42, False), ('rice-icl_tiny_synthetic-lpr4m', 43, False)]

    # --cfg-options are part of the config hash too; an interrupted run with the same hash resumes.
    calls.clear()
    (tree / 'results' / 'rice-pmd_tiny_synthetic-lpr4m' / 'seed42.json').unlink()
    assert main(_argv(tree, '--seeds', '1', '--suite', 'csa-ablation')) == 0
    assert [c for c in calls if c[0] == 'train'] == [('train', 'rice-pmd_tiny_synthetic-lpr4m', 42, 'auto')]


def test_failures_are_counted_and_the_rest_still_runs(tree: Path, calls: list, capsys) -> None:
    calls.test.fail_pmd = True
    assert main(_argv(tree, '--suite', 'csa-ablation')) == 1
    out = capsys.readouterr().out
    assert 'RuntimeError: boom' in out and '1 of 2 run(s) failed' in out
    assert (tree / 'results' / 'rice-icl_tiny_synthetic-lpr4m' / 'seed42.json').is_file()
    assert not (tree / 'results' / 'rice-pmd_tiny_synthetic-lpr4m').exists()


def test_invalid_existing_result_is_rerun(tree: Path, calls: list) -> None:
    stale = tree / 'results' / 'rice-icl_tiny_synthetic-lpr4m' / 'seed42.json'
    stale.parent.mkdir(parents=True)
    stale.write_text('{"schema": 1}')
    assert main(_argv(tree, '--suite', 'csa-ablation', '--dry-run')) == 0
    assert calls == []
    assert main(_argv(tree, '--suite', 'csa-ablation')) == 0
    assert json.loads(stale.read_text())['seed'] == 42


def test_no_configs_is_a_clear_error(tree: Path, capsys) -> None:
    assert main(_argv(tree, '--dataset', 'movingfashion')) == 2
    assert 'no configs for suite' in capsys.readouterr().err


def test_training_options_are_not_applied_to_zero_shot_configs(tree: Path, calls: list) -> None:
    argv = _argv(tree, '--only', 'clip-zs*', '--cfg-options', 'train_cfg.max_iters=5', 'test_cfg.x=1')
    assert main(argv) == 0
    assert calls == [('test', 'clip-zs_tiny_synthetic-lpr4m', 42, False)]
    # test_cfg.x changes results: the run is its own row, in its own folder, with its overrides recorded.
    (path,) = (tree / 'results').glob('clip-zs_tiny_synthetic-lpr4m@*/seed42.json')
    record = json.loads(path.read_text())
    assert record['zero_shot'] and record['checkpoint'] is None and record['train_time_s'] is None
    assert record['cfg_options'] == {'test_cfg.x': 1, 'randomness.seed': 42}


@pytest.mark.slow
def test_real_tiny_reproduce_end_to_end(tmp_path: Path, repo_root: Path, monkeypatch) -> None:
    """One real CSA config on generated tiny data: train 2 iterations, test, result JSON, leaderboard."""
    configs = sorted((repo_root / 'configs' / 'rice').glob('rice-icl_*synthetic-lpr4m.py'))
    assert configs, 'the RICE synthetic configs are missing from configs/rice/'
    data = tmp_path / 'data'
    assert main(['data', 'synth', '--format', 'lpr4m', '--size', 'tiny', '--out',
                 str(data / 'synthetic-lpr4m')]) == 0
    monkeypatch.setenv('CSA_DATA_ROOT', str(data))
    argv = ['reproduce', '--suite', 'csa-ablation', '--only', configs[0].stem, '--configs',
            str(repo_root / 'configs'), '--results', str(tmp_path / 'results'),
            '--work-dir', str(tmp_path / 'w'),
            '--leaderboard-out', str(tmp_path / 'board' / 'LEADERBOARD.md'), '--cfg-options',
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2']
    assert main(argv) == 0
    # The overrides change results: their own folder and row, recorded in the file, shown in the label.
    (result,) = (tmp_path / 'results').glob(f'{configs[0].stem}@*/seed42.json')
    record = json.loads(result.read_text())
    assert record['cfg_options']['train_cfg.max_iters'] == 2
    assert record['components'] == ['ICL'] and record['dataset'] == 'synthetic-lpr4m'
    assert record['protocol'] == 'lpr4m-csa' and record['protocol_info']['k_list'] == [1, 3, 5, 10]
    assert len(record['checkpoint_sha256']) == 64 and record['num_params'] > 0
    assert record['annotations']['files'] > 0 and record['train_time_s'] > 0
    assert len(record['per_query']['query_ids']) == record['metrics']['n_queries'] > 0   # per-query outcome kept
    label = f'`{configs[0].stem} [train_cfg.max_iters=2, train_cfg.val_interval=2]`'
    assert label in (tmp_path / 'board' / 'LEADERBOARD.md').read_text()
    before = result.read_bytes()
    assert main(argv) == 0 and result.read_bytes() == before   # resumed: nothing re-run


def test_parallel_jobs_write_the_same_results(tree: Path, calls: list, capsys) -> None:
    """--jobs 2: worker processes (fork: the fake api is inherited) run every job once; each job's
    console output goes to its work dir, and the results equal a sequential run's."""
    assert main(_argv(tree, '--seeds', '2', '--jobs', '2')) == 0
    results = sorted(p.relative_to(tree / 'results') for p in (tree / 'results').rglob('seed*.json'))
    assert [str(p) for p in results] == [
        f'{stem}/seed{s}.json' for stem in ('clip-zs_tiny_synthetic-lpr4m', 'rice-icl_tiny_synthetic-lpr4m',
                                            'rice-pmd_tiny_synthetic-lpr4m') for s in (42, 43)]
    assert all((tree / 'work' / p.parent / p.stem / 'reproduce.log').is_file() for p in results)
    parallel = {str(p): json.loads((tree / 'results' / p).read_text())['metrics'] for p in results}
    assert '6 to run' in capsys.readouterr().out
    assert main(_argv(tree, '--seeds', '2', '--jobs', '1', '--force')) == 0
    sequential = {str(p): json.loads((tree / 'results' / p).read_text())['metrics'] for p in results}
    assert parallel == sequential


def test_jobs_must_be_positive(tree: Path, capsys) -> None:
    assert main(_argv(tree, '--jobs', '0')) == 2
    assert '--jobs must be >= 1' in capsys.readouterr().err
