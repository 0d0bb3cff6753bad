"""One Runner train -> val -> test -> checkpoint -> resume run on CPU, through the CLI's main()."""
from __future__ import annotations

import json

import torch

from csa_bench.cli import main

CONFIG = 'configs/rice/rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'
# A few iterations, validation at the end, a checkpoint every 2 iterations.
SHORT = ['train_cfg.max_iters={n}', 'train_cfg.val_interval={n}', 'default_hooks.checkpoint.interval=2',
         'global_batch_size=8']


def _opts(n: int) -> list[str]:
    return [o.format(n=n) for o in SHORT]


def test_train_val_test_resume(use_synthetic_data, tmp_path, repo_root, monkeypatch, capsys) -> None:
    monkeypatch.chdir(repo_root)
    work_dir = tmp_path / 'wd'
    # 1. Train 2 iterations: val runs at the end, iter_2.pth is written.
    assert main(['train', CONFIG, '--work-dir', str(work_dir), '--cfg-options', *_opts(2)]) == 0
    first = torch.load(work_dir / 'iter_2.pth', map_location='cpu', weights_only=False)
    assert first['meta']['iter'] == 2
    # 2. Resume the same run to 4 iterations: it must start from iter_2, not from scratch.
    assert main(['train', CONFIG, '--work-dir', str(work_dir), '--resume', '--cfg-options', *_opts(4)]) == 0
    resumed = torch.load(work_dir / 'iter_4.pth', map_location='cpu', weights_only=False)
    assert resumed['meta']['iter'] == 4
    logs = '\n'.join(p.read_text() for p in work_dir.glob('*/*.log'))
    assert 'resumed' in logs.lower() or 'Load checkpoint from' in logs
    # Resuming continued training: the weights moved on from iter_2.
    changed = [k for k, v in resumed['state_dict'].items()
               if v.is_floating_point() and not torch.equal(v, first['state_dict'][k])]
    assert changed
    # 3. Test the checkpoint and write the result JSON.
    out = tmp_path / 'result.json'
    assert main(['test', CONFIG, str(work_dir / 'iter_4.pth'), '--work-dir', str(work_dir),
                 '--out', str(out)]) == 0
    record = json.loads(out.read_text())
    metrics = record['metrics']
    for k in ('R@1', 'R@3', 'R@5', 'R@10'):
        assert 0.0 <= metrics[k] <= 100.0
    assert metrics['R@1'] <= metrics['R@3'] <= metrics['R@5'] <= metrics['R@10']
    assert record['protocol'] == 'lpr4m-csa'
    assert 'R@1' in capsys.readouterr().out
