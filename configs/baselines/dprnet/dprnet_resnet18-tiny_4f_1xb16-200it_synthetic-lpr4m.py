# DPRNet-lite (baselines.md §10) on the synthetic-lpr4m benchmark (CPU): tiny random-init model,
# 4 frames of 64 px, global batch 16, 200 iterations (~0.11 s of CPU time per iteration on one
# thread, measured on random batches: within the ~40 s synthetic training budget).
_base_ = ['../../_base_/datasets/synthetic_lpr4m.py', '../../_base_/default_runtime.py',
          './_base_/dprnet_resnet18.py']
max_iters = 200
warmup_iters = 20  # 10% linear warmup
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
num_categories = 8  # the synthetic LPR4M writes 8 shape families as categories
model = dict(losses=[
    dict(type='BatchHardTripletLoss', margin=0.3, mode='cross'),
    dict(type='CategoryCELoss', num_classes=num_categories, in_dim=512, loss_weight=1.0, scale=16.0),
])
method_name = 'DPRNet-lite'  # the leaderboard's method column
