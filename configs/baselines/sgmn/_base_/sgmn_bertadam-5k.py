# SGMN's released optimiser (baselines.md §11.4) over the shared baseline length: BertAdam, β (0.9, 0.98),
# eps 1e-6, weight decay 0.2 on every name without "bias", lr 3e-4 for the new modules and 3e-7 for
# CLIP (coef_lr 1e-3), BertAdam's per-parameter clip and a global grad-norm clip at 1.0, warmup 10%
# then warmup_cosine inside the optimiser (no mmengine param scheduler), fp32 (the release's --fp16
# is never used). Length: the release's 10 epochs at batch 256 have no published iteration count, so
# 5,000 iterations at global batch 96, as the other real-data baselines.
max_iters = 5000
global_batch_size = 96
optim_wrapper = dict(
    type='OptimWrapper',
    clip_grad=dict(max_norm=1.0),
    optimizer=dict(type='BertAdam', lr=3e-7, warmup=0.1, t_total=max_iters, schedule='warmup_cosine',
                   b1=0.9, b2=0.98, e=1e-6, weight_decay=0.2, max_grad_norm=1.0),
    constructor='NameRuleOptimWrapperConstructor',
    # Everything but the CLIP towers (the text tower is frozen): x1000 -> 3e-4.
    paramwise_cfg=dict(lr_mult_keys=['tdb.', 'fusion.', 'decoder.', 'fc_asr.', 'fc_title.', 'losses.'],
                       lr_mult=1000.0, no_decay_keys=['bias']),
)
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
