# NVAN-lite (baselines.md §7) on the synthetic-lpr4m benchmark (CPU): tiny random-init model,
# 4 frames of 64 px, global batch 16, 200 iterations (~0.12 s of CPU time per iteration on one
# thread, measured on random batches: within the ~40 s synthetic training budget).
_base_ = ['../../_base_/schedules/baseline_adamw-200it_cpu.py',
          '../../_base_/datasets/synthetic_lpr4m.py', '../../_base_/default_runtime.py',
          './_base_/nvan_resnet18.py']
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=200, save_last=True),  # the final one
                     logger=dict(interval=20))
num_categories = 8  # the synthetic LPR4M writes 8 shape families as categories
model = dict(losses=[
    dict(type='BatchHardTripletLoss', margin=0.3, mode='joint'),
    dict(type='CategoryCELoss', num_classes=num_categories, in_dim=512, loss_weight=1.0, scale=16.0),
])
method_name = 'NVAN-lite'  # the leaderboard's method column
