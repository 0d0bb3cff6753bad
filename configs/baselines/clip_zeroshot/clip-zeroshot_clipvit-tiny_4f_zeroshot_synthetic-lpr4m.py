# CLIP zero-shot meanP (baselines.md §3) on synthetic-lpr4m: no training; evaluate with
# `csa-bench test CONFIG` and no checkpoint. See the model base for the weights and the row label.
_base_ = ['../../_base_/datasets/synthetic_lpr4m.py', '../../_base_/default_runtime.py',
          './_base_/clip-zeroshot_clipvit-tiny.py']
test_cfg = dict(type='TestLoop')
