"""2 processes (torchrun, gloo, CPU) train exactly like 1 process with the same global batch.

Driven through the real entry points: ``python -m csa_bench train CONFIG`` (1 process) against
``torchrun --nproc_per_node 2 -m csa_bench train CONFIG --launcher pytorch`` (2 processes), then
``torchrun ... -m csa_bench test CONFIG CKPT --launcher pytorch`` on the 1-process checkpoint. One
iteration also runs under ``--launcher slurm``, with the variables ``srun`` would set.

What is compared, and why it must agree:

* **Data.** Both runs use the config's ``InfiniteSampler(shuffle=True)`` with the same seed: one
  permutation; rank ``r`` of ``W`` takes positions ``r, r+W, ...``. The rows of the 2-process
  iteration ``i`` are therefore positions ``[i·G, (i+1)·G)`` of the permutation, the 1-process
  batch ``i`` itself, in another order. A probe hook records the sample ids of every rank's batch
  and the test checks the sets per iteration. The pipeline is the deterministic test pipeline (no
  random crop/flip/tail cut), because each rank draws its augmentation from its own RNG stream.
* **Losses.** ICL/PMD/PFR run over the all-gathered global batch with labels ``r·B + i``; each is a
  mean of per-row terms whose value does not depend on the row order (the positive is tied to the
  row, the negatives are a set), so ``mean over ranks (GlobalBatchLogHook) == 1-process loss``
  per iteration, up to float summation order. Gradients match too (all-reduce-sum gather backward +
  DDP averaging), so later iterations stay equal. PMD attention dropout is off (random masks).
  The optimizer is SGD: Adam would turn float noise in near-zero gradients into full-size steps.
* **Metrics.** mmengine's distributed evaluation (``collect_results`` over the ranks) of the 1-process
  checkpoint equals the 1-process evaluation of the same weights, and the 2-process run's own final
  validation matches too.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ITERS = 4
GLOBAL_BATCH = 8  # the tiny synthetic train split has 16 pairs: 2 global batches per epoch

PROBE = '''
import json
from pathlib import Path

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from csa_bench.registry import HOOKS


@HOOKS.register_module()
class SampleIdProbeHook(Hook):
    """Append every training batch's sample ids to work_dir/ids_rank{rank}.jsonl."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        ids = [sample['sample_id'] for sample in data_batch['data_samples']]
        with open(Path(runner.work_dir) / f'ids_rank{get_rank()}.jsonl', 'a') as handle:
            handle.write(json.dumps(ids) + '\\n')
'''

CONFIG = '''
_base_ = ['{repo}/configs/_base_/default_runtime.py',
          '{repo}/configs/_base_/models/rice-icl-pmd-pfr_clipvit-tiny.py',
          '{repo}/configs/_base_/datasets/synthetic_lpr4m.py']
custom_imports = dict(imports=['plugins', 'baselines', 'scale_probe'], allow_failed_imports=False)
data_root = '{data}'
global_batch_size = {global_batch}
train_dataloader = dict(
    batch_size=None,  # derived: global_batch_size // world size
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline={{{{_base_.test_pipeline}}}}))
test_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = test_dataloader
model = dict(losses=[
    dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True),
    dict(type='PMDLoss', width=64, num_heads=8, num_negatives=3, chunk_anchors=2, attn_drop=0.0,
         pmd_init='visual_last2', gather=True),
    dict(type='PFRLoss', num_heads=8, loss_weight=1.0, mask_padded=True),
])
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_cfg = dict(type='IterBasedTrainLoop', max_iters={iters}, val_interval={iters})
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(by_epoch=False, interval={iters}))
custom_hooks = [dict(type='SampleIdProbeHook')]
log_processor = dict(by_epoch=False, window_size=1)  # per-iteration values, not a running mean
env_cfg = dict(dist_cfg=dict(backend='gloo'))
'''


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _env(tmp: Path) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(tmp), str(REPO), os.environ.get('PYTHONPATH', '')]))
    env.pop('CUDA_VISIBLE_DEVICES', None)
    return env


def _run(*commands: tuple, tmp: Path) -> None:
    """Run ``(name, cmd[, extra env])`` concurrently (runs overlap their start-up); fail loudly."""
    procs = [(name, cmd, subprocess.Popen(cmd, cwd=REPO, env=dict(_env(tmp), **(extra[0] if extra else {})),
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
             for name, cmd, *extra in commands]
    for name, cmd, proc in procs:
        out, _ = proc.communicate(timeout=300)
        log = tmp / f'{name}.log'
        log.write_text(out)
        if proc.returncode:
            # torchrun's own summary hides the rank's error: show the traceback lines of every rank.
            lines = [ln for ln in out.splitlines() if 'Error' in ln or ln.lstrip().startswith('File "')]
            raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}), full log {log}:\n'
                                 + '\n'.join(lines[-60:]))


def _torchrun(nproc: int) -> list[str]:
    return [sys.executable, '-m', 'torch.distributed.run', '--nnodes', '1', '--nproc_per_node', str(nproc),
            '--master_addr', '127.0.0.1', '--master_port', str(_free_port())]


def _slurm_tasks(config: Path, work_dir: Path, iters: int = 1) -> list[tuple]:
    """Two tasks as ``srun --ntasks 2`` starts them: mmengine's slurm launcher reads these variables
    (``scontrol`` is not called for the address when ``MASTER_ADDR`` is set)."""
    port = str(_free_port())
    cmd = [sys.executable, '-m', 'csa_bench', 'train', str(config), '--launcher', 'slurm', '--work-dir',
           str(work_dir), '--cfg-options', f'train_cfg.max_iters={iters}', 'train_cfg.val_interval=1000']
    return [(f'slurm{rank}', cmd, dict(SLURM_PROCID=str(rank), SLURM_LOCALID=str(rank), SLURM_NTASKS='2',
                                       SLURM_NODELIST='localhost', MASTER_ADDR='127.0.0.1', MASTER_PORT=port))
            for rank in range(2)]


def _scalars(work_dir: Path) -> list[dict]:
    files = sorted(work_dir.glob('*/vis_data/scalars.json'))
    assert len(files) == 1, f'expected one scalars.json under {work_dir}, found {files}'
    return [json.loads(line) for line in files[0].read_text().splitlines()]


def _ids(work_dir: Path, world: int, iters: int = ITERS) -> list[set[str]]:
    per_rank = [[json.loads(line) for line in (work_dir / f'ids_rank{r}.jsonl').read_text().splitlines()]
                for r in range(world)]
    assert all(len(rows) == iters for rows in per_rank)
    return [set().union(*(rows[i] for rows in per_rank)) for i in range(iters)]


@pytest.fixture(scope='module')
def runs(tmp_path_factory) -> dict:
    from plugins.datasets.synthetic import write_lpr4m

    tmp = tmp_path_factory.mktemp('ddp')
    data = tmp / 'synthetic-lpr4m'
    write_lpr4m(data, seed=0, size='tiny')
    (tmp / 'scale_probe.py').write_text(PROBE)
    config = tmp / 'rice_ddp_equivalence.py'
    config.write_text(CONFIG.format(repo=REPO, data=data, global_batch=GLOBAL_BATCH, iters=ITERS))
    one, two, test = tmp / 'one', tmp / 'two', tmp / 'test'
    dump = lambda where: ['--cfg-options', f'val_evaluator.dump_dir={where}',
                          f'test_evaluator.dump_dir={where}']
    _run(('one', [sys.executable, '-m', 'csa_bench', 'train', str(config), '--work-dir', str(one)]
          + dump(one / 'dump')),
         ('two', _torchrun(2) + ['-m', 'csa_bench', 'train', str(config), '--launcher', 'pytorch',
                                 '--work-dir', str(two)] + dump(two / 'dump')),
         *_slurm_tasks(config, tmp / 'slurm'), tmp=tmp)
    _run(('test', _torchrun(2) + ['-m', 'csa_bench', 'test', str(config), str(one / f'iter_{ITERS}.pth'),
                                  '--launcher', 'pytorch', '--work-dir', str(test)] + dump(test / 'dump')),
         tmp=tmp)
    return {'one': one, 'two': two, 'test': test, 'slurm': tmp / 'slurm'}


def test_global_batches_hold_the_same_samples(runs) -> None:
    assert _ids(runs['one'], 1) == _ids(runs['two'], 2)
    first = (runs['two'] / 'ids_rank0.jsonl').read_text().splitlines()[0]
    assert len(json.loads(first)) == GLOBAL_BATCH // 2  # per-process batch derived from the world size


def test_two_processes_reach_the_one_process_losses(runs) -> None:
    train_one = [row for row in _scalars(runs['one']) if 'loss' in row]
    train_two = [row for row in _scalars(runs['two']) if 'loss' in row]
    steps = list(range(1, ITERS + 1))
    assert [row['step'] for row in train_one] == [row['step'] for row in train_two] == steps
    for a, b in zip(train_one, train_two, strict=True):
        for key in ('loss', 'loss_icl', 'loss_pmd', 'loss_pfr', 'icl_acc', 'pmd_acc', 'logit_scale'):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), (a['step'], key)
    # Training moved the weights: equal losses are not equal because nothing happened.
    assert train_one[-1]['loss'] != pytest.approx(train_one[0]['loss'], rel=1e-3)


def test_slurm_launcher_splits_the_same_global_batch(runs) -> None:
    # Slurm sets no WORLD_SIZE before mmengine's launcher does: the batch is derived after init.
    log = (runs['slurm'].parent / 'slurm0.log').read_text()
    assert 'global batch 8 = 2 process(es) × 4 per process' in log
    assert _ids(runs['slurm'], 2, iters=1) == _ids(runs['one'], 1)[:1]
    first = [row for row in _scalars(runs['slurm']) if 'loss' in row]
    reference = [row for row in _scalars(runs['one']) if 'loss' in row][0]
    assert len(first) == 1 and first[0]['loss'] == pytest.approx(reference['loss'], rel=1e-5)


def _evaluation(dump: Path) -> tuple[dict, dict]:
    """``(metrics, {query: {gallery: score}})`` from a RetrievalMetric dump."""
    result = json.loads((dump / 'result.json').read_text())
    metrics = {k: v for k, v in result['metrics'].items() if isinstance(v, (int, float)) and v == v}
    rankings = json.loads((dump / 'rankings.json').read_text())
    return metrics, {query: dict(map(tuple, ranked)) for query, ranked in rankings.items()}


def _assert_same_evaluation(a: tuple[dict, dict], b: tuple[dict, dict], abs_tol: float) -> None:
    metrics_a, scores_a = a
    metrics_b, scores_b = b
    assert metrics_b == pytest.approx(metrics_a, abs=1e-9)
    assert metrics_a['n_queries'] == len(scores_a) > 0  # every query evaluated once, none lost in the gather
    assert scores_a.keys() == scores_b.keys()
    for query in scores_a:
        assert scores_b[query].keys() == scores_a[query].keys(), query
        assert scores_b[query] == pytest.approx(scores_a[query], abs=abs_tol), query


def test_distributed_evaluation_matches_one_process(runs) -> None:
    one = _evaluation(runs['one'] / 'dump')
    # The same weights (the 1-process checkpoint) evaluated by 2 processes: the same ranking.
    _assert_same_evaluation(one, _evaluation(runs['test'] / 'dump'), abs_tol=1e-6)
    # The 2-process run's own final validation: weights equal up to float summation order.
    _assert_same_evaluation(one, _evaluation(runs['two'] / 'dump'), abs_tol=1e-4)
