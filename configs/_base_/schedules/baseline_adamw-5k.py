# Real-data schedule shared by the baselines (FashionNet, NVAN, DPRNet, Swin, TimeSformer): the papers'
# schedules are unverified, so this uses the RICE V2 length and batch (5,000 iterations, global batch 96,
# 500 warmup + cosine) for a like-for-like comparison, AdamW at 1e-4 (a usual fine-tuning lr for
# pretrained backbones), fp16 AMP on GPU. Rows set train_dataloader.batch_size=None (derived per process).
max_iters = 5000
warmup_iters = 500
global_batch_size = 96
optim_wrapper = dict(
    type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, begin=0, end=warmup_iters, by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, eta_min=0.0, begin=warmup_iters,
         end=max_iters, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
