# A CPU-sized RICE schedule for the synthetic benchmark: same optimizer rules as
# rice_adamw-5k.py (AdamW, name-rule groups, linear warmup then cosine) at 300 iterations.
max_iters = 300  # a tiny twin: ~1 minute on one CPU core with the tiny encoder
warmup_iters = 30  # the official 10% warmup proportion (500 / 5000)
global_batch_size = 16  # the synthetic splits are small; 16 keeps >= 3 hard negatives per anchor
optim_wrapper = dict(
    # Plain fp32: AMP is a CUDA feature and buys nothing on CPU.
    type='OptimWrapper',
    # The encoder is randomly initialised here (no tiny CLIP weights exist), so the official 1e-6
    # fine-tuning lr would leave it untrained in 300 steps: 1e-3, a usual from-scratch AdamW lr for
    # small ViTs. The official x100 decoder multiplier exists to fine-tune pretrained CLIP slowly
    # while training new layers fast; with everything random, both parts use the same lr.
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.2),
    constructor='NameRuleOptimWrapperConstructor',
    paramwise_cfg=dict(lr_mult_keys=['decoder.', 'attn_head.'], lr_mult=1.0, no_decay_keys=['bias']),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-8, end_factor=1.0, begin=0, end=warmup_iters + 1, by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, eta_min=0.0, begin=warmup_iters,
         end=max_iters, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Checkpoint/log hooks are set by the rows: default_runtime.py owns default_hooks, and mmengine
# refuses the same key in two bases.
