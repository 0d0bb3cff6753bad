# CLIP zero-shot meanP (baselines.md §3) on lpr4m: no training; evaluate with
# `csa-bench test CONFIG` and no checkpoint. See the model base for the weights and the row label.
_base_ = ['../../_base_/datasets/lpr4m.py', '../../_base_/default_runtime.py',
          './_base_/clip-zeroshot_clipvit-b32.py']
test_cfg = dict(type='TestLoop')
