# TimeSformer-lite (baselines.md §8) on the synthetic-lpr4m benchmark (CPU): tiny random-init model,
# 4 frames of 64 px, global batch 16, 300 iterations (~0.04 s of CPU time per iteration on one
# thread, measured on random batches: within the ~40 s synthetic training budget).
_base_ = ['../../_base_/datasets/synthetic_lpr4m.py', '../../_base_/default_runtime.py',
          './_base_/timesformer_vit-tiny.py']
max_iters = 300
warmup_iters = 30  # 10% linear warmup
optim_wrapper = dict(
    type='OptimWrapper',
    # Random init: 1e-3 is a usual from-scratch AdamW lr (as rice_adamw-300it_cpu.py argues).
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=5.0),  # guards the first steps of the randomly initialised model
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, begin=0, end=warmup_iters, by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, begin=warmup_iters, end=max_iters,
         by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters, save_last=True),  # the final one
                     logger=dict(interval=20))
method_name = 'TimeSformer-lite'  # the leaderboard's method column
