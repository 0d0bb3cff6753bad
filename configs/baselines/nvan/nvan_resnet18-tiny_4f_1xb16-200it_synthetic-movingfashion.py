# NVAN-lite (baselines.md §7) on the synthetic-movingfashion benchmark (CPU): tiny random-init model,
# 4 frames of 64 px, global batch 16, 200 iterations (~0.12 s of CPU time per iteration on one
# thread, measured on random batches: within the ~40 s synthetic training budget).
_base_ = ['../../_base_/schedules/baseline_adamw-200it_cpu.py',
          '../../_base_/datasets/synthetic_movingfashion.py', '../../_base_/default_runtime.py',
          './_base_/nvan_resnet18.py']
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=200, save_last=True),  # the final one
                     logger=dict(interval=20))
# MovingFashion has no category ids (every category_id is -1), so the category CE would
# learn nothing: batch-hard triplet only (product-id CE is optional and off by default,
# baselines.md §4).
model = dict(losses=[dict(type='BatchHardTripletLoss', margin=0.3, mode='joint')])
method_name = 'NVAN-lite'  # the leaderboard's method column
