# CPU schedule shared by the CNN baselines' synthetic twins (FashionNet, NVAN, DPRNet): tiny random-init
# models, 200 iterations (~0.10-0.12 s of CPU time per iteration on one thread: within the ~40 s
# synthetic training budget). Rows keep their own default_hooks (default_runtime.py owns the key).
max_iters = 200
warmup_iters = 20  # 10% linear warmup
optim_wrapper = dict(
    type='OptimWrapper',
    # Random init: 1e-3 is a usual from-scratch AdamW lr (as rice_adamw-1000it_cpu.py argues).
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
