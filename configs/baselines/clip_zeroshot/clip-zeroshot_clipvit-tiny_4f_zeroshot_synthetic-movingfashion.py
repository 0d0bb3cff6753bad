# CLIP zero-shot meanP (baselines.md §3) on synthetic-movingfashion: no training; evaluate with
# `csa-bench test CONFIG` and no checkpoint. See the model base for the weights and the row label.
_base_ = ['../../_base_/datasets/synthetic_movingfashion.py', '../../_base_/default_runtime.py',
          './_base_/clip-zeroshot_clipvit-tiny.py']
# Nothing to train: drop the dataset base's training loader (mmengine's Runner wants a training
# loader, train_cfg and optim_wrapper all set or all None).
train_dataloader = None
val_cfg = dict(type='ValLoop')  # the dataset base defines a val loader and evaluator
test_cfg = dict(type='TestLoop')
