# A CPU-sized RICE schedule for the synthetic benchmark: same optimizer rules as
# rice_adamw-5k.py (AdamW, name-rule groups, linear warmup then cosine) at 1,000 iterations.
# A tiny twin: measured on a quiet 2-core machine, 1 thread, ICL 0.034 s/it, +PMD 0.062, +PMD+PFR
# 0.098 (about 35-100 s a run). At 300 iterations ICL reached R@1 ~20% on synthetic-lpr4m (chance 10%,
# untrained 12.6%); at 1,000 it reached ~29%, so the rows are compared after 1,000.
max_iters = 1000
warmup_iters = 100  # the official 10% warmup proportion (500 / 5000)
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
